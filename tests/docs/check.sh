#!/usr/bin/env bash
# tests/docs/check.sh EGRESSD - the examples in docs/*.md and README.md
# are checked against the egressd that was built:
#
#  - every ```yaml block is a complete config that must pass
#    `egressd --check`, unless the line before it says otherwise:
#      <!-- fragment: policy -->          the body of one policy (its keys),
#                                         checked as `policies: {doc: BLOCK}`
#                                         with a sandbox using it
#      <!-- fragment: sandboxes P1 P2 --> a `sandboxes:` list, checked after
#                                         `policies: {P1: {}, P2: {}}`
#      <!-- fragment: policies P1 P2 -->  a `policies:` map, checked with a
#                                         sandbox sbx-1 judged by P1, P2
#      <!-- not-config -->                not an egressd config (skipped)
#    The files HTTPS interception reads are made in the temporary
#    directory: the paths given to ca_cert, ca_key and upstream_ca (but
#    `system`) become a CA made by `egressd --gen-ca` (by openssl when that
#    fails, which is reported as a FAIL), each value_file a one-line
#    value.  A fragment that uses intercept_tls or credentials gets a
#    tls_intercept section with that CA.
#  - a line stating a decision, "`egressd --explain ARGS` -> allow" (or
#    deny), is checked with `egressd -c CONFIG --explain ARGS`, CONFIG
#    being the last yaml block checked above it in the same file (as
#    wrapped), or the repository file named by <!-- explain: PATH -->.
#
# state_dir is pointed at an empty temporary directory, so API state on
# this machine cannot change a result.  Prints "ok FILE:LINE ..." or
# "FAIL FILE:LINE ...", then "N passed, N failed"; exits 0 iff none failed.
# Needs no root and no network.
set -u
if [ $# -ne 1 ] || [ ! -x "$1" ]; then
	echo "usage: $0 EGRESSD" >&2
	exit 2
fi
EGRESSD=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/egressd-docs.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

exec python3 - "$EGRESSD" "$ROOT" "$TMP" <<'PYEOF'
import glob, os, re, shlex, subprocess, sys, textwrap

egressd, root, tmp = sys.argv[1:4]
state = os.path.join(tmp, "state")
passed = failed = 0

def report(ok, where, what, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print("ok %s %s" % (where, what))
    else:
        failed += 1
        print("FAIL %s %s%s" % (where, what, (": " + detail) if detail else ""))

def indent(block, n):
    lines = [l for l in block.split("\n")]
    pad = min((len(l) - len(l.lstrip(" ")) for l in lines if l.strip()),
              default=0)
    return "\n".join((" " * n + l[pad:]) if l.strip() else "" for l in lines)

def with_state_dir(text):
    # ours replaces the block's, so no API state on this host is read
    text = re.sub(r"(?m)^state_dir:.*$", "", text)
    return text.rstrip("\n") + "\nstate_dir: \"%s\"\n" % state

def wrap(kind, args, block):
    if kind == "policy":
        return ("policies:\n  doc:\n" + indent(block, 4) +
                "\nsandboxes:\n  - id: doc\n    policies: [doc]\n")
    if kind == "policies":
        return (block + "sandboxes:\n  - id: sbx-1\n    policies: [%s]\n"
                % ", ".join(args))
    if kind == "sandboxes":
        pre = "policies:\n" + "".join("  %s: {}\n" % p for p in args)
        return pre + block
    raise ValueError("unknown fragment kind %r" % kind)

ca_dir = os.path.join(tmp, "ca")
values = {}

def make_ca():
    # Once: the CA the docs' tls_intercept paths are pointed at.
    if os.path.exists(os.path.join(ca_dir, "ca.crt")):
        return
    rc, out = run(["--gen-ca", ca_dir])
    made = [os.path.join(ca_dir, f) for f in ("ca.crt", "ca.key")]
    ok = rc == 0 and all(os.path.isfile(f) and os.path.getsize(f) > 0
                         for f in made)
    report(ok, "tests/docs/check.sh", "egressd --gen-ca", out.strip())
    if ok:
        return
    os.makedirs(ca_dir, exist_ok=True)
    for f in made:
        if os.path.exists(f):
            os.unlink(f)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", os.path.join(ca_dir, "ca.key"),
                    "-out", os.path.join(ca_dir, "ca.crt"), "-days", "30",
                    "-subj", "/CN=egressd docs check CA (openssl)",
                    "-addext", "basicConstraints=critical,CA:TRUE",
                    "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=30)
    os.chmod(os.path.join(ca_dir, "ca.key"), 0o600)

def value_file(path):
    if path not in values:
        values[path] = os.path.join(tmp, "value%d" % len(values))
        with open(values[path], "w") as f:
            f.write("Bearer docs-check-not-a-key\n")
        os.chmod(values[path], 0o600)
    return values[path]

file_key = re.compile(r"""(^|[\s{,])(ca_cert|ca_key|upstream_ca|value_file)"""
                      r"""(:[ \t]*)("[^"\n]*"|'[^'\n]*'|[^\s,}\]#]+)""", re.M)

def with_files(text, fragment):
    if fragment and re.search(r"(?m)^\s*(intercept_tls|credentials):", text) \
            and not re.search(r"(?m)^tls_intercept:", text):
        text += "tls_intercept: {ca_cert: ca.crt, ca_key: ca.key}\n"
    def sub(m):
        key, val = m.group(2), m.group(4).strip("\"'")
        if key == "upstream_ca" and val == "system":
            return m.group(0)
        if key == "value_file":
            path = value_file(val)
        else:
            make_ca()
            path = os.path.join(ca_dir, "ca.key" if key == "ca_key"
                                else "ca.crt")
        return '%s%s%s"%s"' % (m.group(1), key, m.group(3), path)
    return file_key.sub(sub, text)

def run(args):
    p = subprocess.run([egressd] + args, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=30)
    return p.returncode, p.stdout.decode("utf-8", "replace")

files = sorted(glob.glob(os.path.join(root, "docs", "*.md")))
files.append(os.path.join(root, "README.md"))
n = 0
decision = re.compile(r"`egressd (?:-c \S+ )?--explain ([^`]+)` -> (allow|deny)\b")
for path in files:
    rel = os.path.relpath(path, root)
    lines = open(path, encoding="utf-8").read().split("\n")
    config = None
    i = 0
    prev = ""
    while i < len(lines):
        line = lines[i]
        m = re.match(r"\s*<!-- explain: (\S+) -->", line)
        if m:
            config = os.path.join(root, m.group(1))
        if line.strip() == "```yaml":
            start = i + 1
            j = start
            while j < len(lines) and lines[j].strip() != "```":
                j += 1
            # A block inside a list item is indented with it.
            block = textwrap.dedent("\n".join(lines[start:j])) + "\n"
            where = "%s:%d" % (rel, start)
            marker = re.match(r"\s*<!-- (fragment: (\S+)((?: \S+)*)|not-config|egressd --check) -->", prev)
            i = j + 1
            prev = ""
            if marker and marker.group(1) == "not-config":
                continue
            try:
                if marker and marker.group(2):
                    text = wrap(marker.group(2), marker.group(3).split(), block)
                    what = "yaml (fragment: %s)" % marker.group(2)
                else:
                    text, what = block, "yaml (complete)"
            except ValueError as e:
                report(False, where, "yaml", str(e))
                continue
            n += 1
            cfg = os.path.join(tmp, "doc%d.yaml" % n)
            text = with_files(text, bool(marker and marker.group(2)))
            with open(cfg, "w") as f:
                f.write(with_state_dir(text))
            rc, out = run(["-c", cfg, "--check"])
            report(rc == 0, where, what + " passes egressd --check",
                   out.strip().replace(cfg, "BLOCK"))
            config = cfg
            continue
        for m in decision.finditer(line):
            where = "%s:%d" % (rel, i + 1)
            args, want = shlex.split(m.group(1)), m.group(2)
            if config is None:
                report(False, where, "--explain %s" % m.group(1),
                       "no config above it (a yaml block or <!-- explain: PATH -->)")
                continue
            rc, out = run(["-c", config, "--explain"] + args)
            first = out.split("\n", 1)[0]
            ok = rc == 0 and first.endswith("-> " + want)
            report(ok, where, "--explain %s -> %s" % (m.group(1), want),
                   out.strip()[:300])
        if line.strip():
            prev = line
        i += 1
print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
PYEOF
