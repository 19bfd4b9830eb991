"""`pip install ./clients/python` works: into a fresh venv, offline.

The package is pure Python with no dependencies, so pip needs nothing from
the network provided the venv can build it: ``--no-build-isolation`` uses
the venv's own setuptools instead of fetching one.  setuptools before 70.1
also needs the ``wheel`` package to build a wheel; when the venv lacks it,
one is taken from pip's configured local sources (``--no-index``) if there
is one.  When the venv cannot build at all offline, the test is skipped
and says why, rather than reaching for the network.

The installed copy is then imported from outside the source tree and
talks to a real egressd, so the test proves the package as installed
works, not just that pip exited 0.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
PKG = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from daemon import Daemon  # noqa: E402


def run(*args: str, cwd: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)  # the source tree must not leak in
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return subprocess.run(args, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=300)


class TestPipInstall(unittest.TestCase):
    def test_pip_install_into_venv(self) -> None:
        tmp = tempfile.mkdtemp(prefix="egressd-pyclient-venv.")
        self.addCleanup(shutil.rmtree, tmp, True)
        venv = os.path.join(tmp, "venv")
        r = run(sys.executable, "-m", "venv", venv, cwd=tmp)
        if r.returncode != 0:
            self.skipTest(f"python3 -m venv failed (no ensurepip?): {r.stdout.strip()[-300:]}")
        py = os.path.join(venv, "bin", "python")

        if run(py, "-c", "import setuptools", cwd=tmp).returncode != 0:
            self.skipTest("the venv has no setuptools (venvs of Python 3.12+ ship "
                          "none) and installing one would need the network")
        can_build = ("import importlib.util as u, sys; sys.exit(not ("
                     "u.find_spec('setuptools.command.bdist_wheel') or "
                     "u.find_spec('wheel')))")
        if run(py, "-c", can_build, cwd=tmp).returncode != 0:
            run(py, "-m", "pip", "install", "--no-index", "wheel", cwd=tmp)
            if run(py, "-c", can_build, cwd=tmp).returncode != 0:
                ver = run(py, "-c", "import setuptools; print(setuptools.__version__)",
                          cwd=tmp).stdout.strip()
                self.skipTest(f"setuptools {ver} in the venv cannot build a wheel "
                              "without the 'wheel' package, and no copy of it is "
                              "available offline (pip install --no-index wheel failed)")

        # Build from a copy: pip builds in the tree, and the source tree
        # must not collect build/ and *.egg-info (others may be using it).
        src = os.path.join(tmp, "src")
        shutil.copytree(PKG, src, ignore=shutil.ignore_patterns(
            "tests", "__pycache__", "build", "*.egg-info", "dist"))
        r = run(py, "-m", "pip", "install", "--no-build-isolation", "--no-index", src, cwd=tmp)
        self.assertEqual(r.returncode, 0, r.stdout)

        d = Daemon()
        self.addCleanup(d.stop)
        d.start()
        probe = (
            "import os, sys, egressd\n"
            "assert egressd.__file__.startswith(sys.prefix), egressd.__file__\n"
            "assert os.path.exists(os.path.join(os.path.dirname(egressd.__file__), 'py.typed'))\n"
            "c = egressd.Egressd(socket=sys.argv[1])\n"
            "assert c.health()\n"
            "print(egressd.__version__, [s['id'] for s in c.sandboxes()])\n"
        )
        r = run(py, "-c", probe, d.socket, cwd=tmp)
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertIn("agent-1", r.stdout)


if __name__ == "__main__":
    unittest.main()
