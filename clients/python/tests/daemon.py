"""A real egressd on loopback for the client's tests, without root.

As tests/ctl/run.sh does: the admin API on a unix socket in a temporary
directory and on 127.0.0.1:PORT with a bearer token, the listener and the
DNS filter on free high ports, no SO_MARK, state and audit log in the
temporary directory.  Events come from real traffic: DNS queries to the
filter from 127.0.0.x addresses (each address is a sandbox's source) and
a direct connection to the listener (denied ``loop``).

The binary is $EGRESSD_BIN, else build/egressd at the top of the repo.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
from typing import Optional

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
TOKEN = "sekrit-token-0123456789"

CONFIG = """\
listen: ["127.0.0.1:{lport}"]
workers: 1
# Reloads only when a test asks for one (test_reload_rejected edits the file).
config_watch: false
upstream: {{ mark: 0, connect_timeout_ms: 1000 }}
# Allowed names go to a port nobody answers: SERVFAIL, at once.
dns: {{ listen: ["127.0.0.1:{dport}"], servers: ["127.0.0.1:1"] }}
admin: {{ socket: "{tmp}/admin.sock", listen: "127.0.0.1:{aport}", token_file: "{tmp}/token" }}
audit: {{ file: "{tmp}/audit.jsonl", memory_events: 200 }}
state_dir: "{tmp}/state"
limits: {{ peek_timeout_ms: 500, max_connections: 100 }}
policies:
  agent:
    mode: block-all
    profiles: [package-managers]
    allow: {{ hosts: [pypi.org, "*.allowed.example"], ports: [443, "8000-8100"] }}
  ci:
    allow: {{ hosts: ["*.github.com"], ports: [443] }}
  learning:
    mode: learn
sandboxes:
  - id: agent-1
    sources: ["127.0.0.1/32"]
    policies: [agent]
    deny: {{ cidrs: ["169.254.169.254/32"] }}
  - id: ci-runner
    sources: ["127.0.0.2/32", "127.0.0.3/32"]
    policies: [ci]
    intercept: false
  - id: learner
    sources: ["127.0.0.4/32"]
    policies: [learning]
"""


def egressd_binary() -> str:
    return os.environ.get("EGRESSD_BIN") or os.path.join(REPO, "build", "egressd")


def free_port() -> int:
    """A port free for both TCP and UDP on 127.0.0.1 (the DNS filter
    binds both)."""
    for _ in range(50):
        t = socket.socket()
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            t.bind(("127.0.0.1", 0))
            port = t.getsockname()[1]
            u.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            u.close()
            t.close()
    raise RuntimeError("no free port")


class Daemon:
    """One egressd process and its temporary directory."""

    def __init__(self) -> None:
        self.tmp = tempfile.mkdtemp(prefix="egressd-pyclient.")
        self.proc: Optional[subprocess.Popen] = None
        self.socket = os.path.join(self.tmp, "admin.sock")
        self.token_file = os.path.join(self.tmp, "token")
        self.config = os.path.join(self.tmp, "egressd.yaml")
        self.log = os.path.join(self.tmp, "egressd.log")
        # Trailing newlines, as an editor leaves them: the client strips.
        with open(self.token_file, "w") as f:
            f.write(TOKEN + "\n\n")
        os.chmod(self.token_file, 0o600)
        self.lport = self.dport = self.aport = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.aport}"

    def write_config(self, extra: str = "") -> None:
        with open(self.config, "w") as f:
            f.write(CONFIG.format(tmp=self.tmp, lport=self.lport,
                                  dport=self.dport, aport=self.aport) + extra)

    def start(self) -> None:
        binary = egressd_binary()
        if not os.access(binary, os.X_OK):
            raise RuntimeError(f"no egressd at {binary}: build it "
                               "(BUILD_DIR=build scripts/build.sh) or set EGRESSD_BIN")
        # Free ports can be taken between the look and the bind: a few tries.
        for _ in range(3):
            self.lport, self.dport, self.aport = free_port(), free_port(), free_port()
            self.write_config()
            with open(self.log, "w") as log:
                self.proc = subprocess.Popen([binary, "-c", self.config],
                                             stdout=log, stderr=subprocess.STDOUT,
                                             stdin=subprocess.DEVNULL)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and self.proc.poll() is None:
                with open(self.log) as f:
                    if " started: " in f.read():
                        return
                time.sleep(0.05)
            self._kill()
        raise RuntimeError("egressd did not start within 5 s:\n" + self.log_text())

    def log_text(self) -> str:
        try:
            with open(self.log) as f:
                return f.read()
        except OSError:
            return ""

    def _kill(self) -> None:
        p, self.proc = self.proc, None
        if p is None:
            return
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def stop(self) -> None:
        self._kill()
        shutil.rmtree(self.tmp, ignore_errors=True)

    # ---- traffic ------------------------------------------------------

    def dns(self, name: str, src: str = "127.0.0.1") -> int:
        """One A query to the DNS filter from ``src``; the answer's rcode
        (3 = NXDOMAIN: refused by policy)."""
        qid = random.randrange(65536)
        msg = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
        for label in name.split("."):
            msg += bytes([len(label)]) + label.encode()
        msg += b"\0" + struct.pack(">HH", 1, 1)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(3)
            s.bind((src, 0))
            s.sendto(msg, ("127.0.0.1", self.dport))
            while True:
                r = s.recv(4096)
                if len(r) >= 4 and struct.unpack(">H", r[:2])[0] == qid:
                    return r[3] & 15

    def connect_listener(self, src: str = "127.0.0.1") -> None:
        """A connection straight to the listener: egressd denies it
        ``loop`` (its original destination is egressd itself)."""
        try:
            with socket.socket() as c:
                c.settimeout(3)
                c.bind((src, 0))
                c.connect(("127.0.0.1", self.lport))
                c.sendall(b"GET / HTTP/1.1\r\nHost: x.example\r\n\r\n")
                while c.recv(4096):
                    pass
        except OSError:
            pass  # refused, reset or timed out: all are an answer
