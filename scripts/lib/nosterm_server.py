"""Starts the release nosterm on a free loopback port for a check script, and stops it.

Used by scripts/check-svs-schema and scripts/check-cda-fixtures. Python standard library only.

    with NostermServer(root) as srv:      # cargo build --release, then target/release/nosterm
        srv.base                          # http://127.0.0.1:PORT  (srv.fhir = base + /fhir)

$NOSTERM_BIN names another binary (then nothing is built); --data is $NOSTERM_DATA or data/.
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerError(Exception):
    pass


class NostermServer:
    def __init__(self, root, data=None, ready_timeout=120.0, log=None):
        self.root = root
        self.data = data or os.environ.get("NOSTERM_DATA") or os.path.join(root, "data")
        self.ready_timeout = ready_timeout
        self.log = log or (lambda m: print(m, file=sys.stderr))
        self.proc = None
        self.tmp = None
        self.base = None
        self.fhir = None

    def binary(self):
        env_bin = os.environ.get("NOSTERM_BIN")
        if env_bin:
            return env_bin
        # Always through cargo, so that a stale binary is never checked (a no-op when fresh).
        r = subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=self.root)
        if r.returncode != 0:
            raise ServerError("cargo build --release failed")
        return os.path.join(self.root, "target", "release", "nosterm")

    def __enter__(self):
        binary = self.binary()
        self.tmp = tempfile.mkdtemp(prefix="nosterm-check-")
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.fhir = self.base + "/fhir"
        self.log_path = os.path.join(self.tmp, "server.log")
        with open(self.log_path, "wb") as out:
            self.proc = subprocess.Popen(
                [binary, "serve", "--addr", f"127.0.0.1:{port}", "--data", self.data,
                 "--index", os.path.join(self.tmp, "index")],
                stdout=out, stderr=subprocess.STDOUT, cwd=self.root)
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._fail(f"nosterm exited with status {self.proc.returncode} before it was ready")
            try:
                with urllib.request.urlopen(self.base + "/health/ready", timeout=2) as r:
                    if r.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        self._fail(f"nosterm not ready after {self.ready_timeout:.0f} s")

    def _fail(self, msg):
        tail = ""
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                tail = "".join(f.readlines()[-20:])
        except OSError:
            pass
        self.__exit__(None, None, None)
        raise ServerError(f"{msg}\n{tail}")

    def __exit__(self, *exc):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None
        return False
