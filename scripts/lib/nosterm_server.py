"""The one launcher of nosterm for scripts: start the server on a loopback port, wait until it
answers, stop it, never leave it behind. Python standard library only.

From python (scripts/check-svs-schema, check-cda-fixtures, limits-transcript, slow-client.py):

    with NostermServer(root) as srv:      # cargo build --release, then target/release/nosterm
        srv.base                          # http://127.0.0.1:PORT  (srv.fhir = base + /fhir)
        srv.addr                          # ("127.0.0.1", PORT), for raw sockets
        srv.proc.pid, srv.log_path

    NostermServer(root, args=["--workers", "1"], env={...}, port=P, index=DIR, workdir=DIR,
                  name="small", ready="listening")

From bash, through scripts/lib/server.sh (nosterm_start / nosterm_stop), which calls the
commands below, so that both entries pick the binary, the port and the readiness the same way:

    nosterm_server.py binary        # prints the binary (builds it unless $NOSTERM_BIN)
    nosterm_server.py port          # prints a free loopback port
    nosterm_server.py wait --pid PID --port P [--ready health|listening] [--log FILE]
                           [--tail FILE] [--timeout S] [--name N]
                                    # exit 0 once ready, 1 (log tail on stderr) otherwise

The binary: $NOSTERM_BIN when set (then nothing is built), else target/release/nosterm after
`cargo build --release --quiet` (a no-op when fresh, so a stale binary is never run).
--data is $NOSTERM_DATA or data/. Ready: GET /health/ready answers 200 (`health`, the default)
or the server printed `listening on` on its standard output (`listening`).
"""
import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

READY_TIMEOUT = 120.0
STOP_TIMEOUT = 10.0
LOG_TAIL_LINES = 20
# Loopback never goes through an http_proxy of the environment.
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class ServerError(Exception):
    pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def binary(root):
    """$NOSTERM_BIN, or the release binary built through cargo."""
    env_bin = os.environ.get("NOSTERM_BIN")
    if env_bin:
        return env_bin
    # Always through cargo, so that a stale binary is never checked (a no-op when fresh).
    # Its messages go to stderr: the `binary` command prints only the path on stdout.
    r = subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=root, stdout=sys.stderr)
    if r.returncode != 0:
        raise ServerError("cargo build --release failed")
    return os.path.join(root, "target", "release", "nosterm")


def log_tail(path, lines=LOG_TAIL_LINES):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except (OSError, TypeError):
        return ""


def is_ready(port, ready, stdout_path):
    if ready == "listening":
        try:
            with open(stdout_path, encoding="utf-8", errors="replace") as f:
                return "listening on" in f.read()
        except (OSError, TypeError):
            return False
    try:
        with DIRECT.open(f"http://127.0.0.1:{port}/health/ready", timeout=2) as r:
            return r.status == 200
    except (urllib.error.URLError, OSError):
        return False


def wait_ready(port, alive, ready="health", stdout_path=None, timeout=READY_TIMEOUT):
    """Returns once the server answers; raises ServerError if `alive()` turns false first or
    after `timeout` seconds."""
    interval = 0.05 if ready == "listening" else 0.1
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answers = is_ready(port, ready, stdout_path)
        # Alive after the answer: what answered was not another server on that port.
        if not alive():
            raise ServerError("exited before it was ready")
        if answers:
            return
        time.sleep(interval)
    raise ServerError(f"not ready after {timeout:.0f} s")


def pid_alive(pid):
    """True while the process runs (a zombie, dead but not yet reaped, counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def exit_on_sigterm():
    """A SIGTERM (a CI timeout) becomes SystemExit, so that `with` and `finally` blocks still
    stop the server; left alone when the script handles SIGTERM itself."""
    main = threading.current_thread() is threading.main_thread()
    if main and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))


class NostermServer:
    """`nosterm serve` on 127.0.0.1 for the time of a `with` block (or start() ... stop()).

    args: more `serve` arguments; env: the server's whole environment (default: ours);
    port: default a free one; index: default a folder in workdir; workdir: where the log
    (NAME.log) and the index go: kept when given, else a temp folder removed at stop.
    """

    def __init__(self, root, data=None, ready_timeout=READY_TIMEOUT, log=None, *, name="server",
                 args=(), env=None, port=None, index=None, workdir=None, ready="health"):
        self.root = root
        self.data = data or os.environ.get("NOSTERM_DATA") or os.path.join(root, "data")
        self.ready_timeout = ready_timeout
        self.log = log or (lambda m: print(m, file=sys.stderr))
        self.name = name
        self.args = list(args)
        self.env = env
        self.port = port
        self.index = index
        self.workdir = workdir
        self.ready = ready
        self.proc = None
        self.tmp = None
        self.addr = None
        self.base = None
        self.fhir = None
        self.log_path = None

    def binary(self):
        return binary(self.root)

    def start(self):
        exit_on_sigterm()
        exe = self.binary()
        if self.workdir is None:
            self.tmp = tempfile.mkdtemp(prefix="nosterm-check-")
        folder = self.workdir or self.tmp
        self.port = self.port or free_port()
        self.addr = ("127.0.0.1", self.port)
        self.base = f"http://127.0.0.1:{self.port}"
        self.fhir = self.base + "/fhir"
        self.log_path = os.path.join(folder, f"{self.name}.log")
        index = self.index or os.path.join(folder, f"{self.name}-index")
        with open(self.log_path, "wb") as out:
            self.proc = subprocess.Popen(
                [exe, "serve", "--addr", f"127.0.0.1:{self.port}", "--data", self.data,
                 "--index", index] + self.args,
                stdout=out, stderr=subprocess.STDOUT, cwd=self.root, env=self.env)
        try:
            wait_ready(self.port, lambda: self.proc.poll() is None, self.ready, self.log_path,
                       self.ready_timeout)
        except ServerError as e:
            status = self.proc.poll()
            why = f"exited with status {status} before it was ready" if status is not None \
                else str(e)
            tail = log_tail(self.log_path)
            self.stop()
            raise ServerError(f"nosterm {why}\n{tail}") from None
        return self

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


def main(argv=None):
    """The commands scripts/lib/server.sh calls."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap = argparse.ArgumentParser(prog="nosterm_server.py")
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("binary", help="print the binary, built unless $NOSTERM_BIN")
    sub.add_parser("port", help="print a free loopback port")
    w = sub.add_parser("wait", help="wait until the server of PID on PORT is ready")
    w.add_argument("--pid", type=int, required=True)
    w.add_argument("--port", type=int, required=True)
    w.add_argument("--ready", choices=("health", "listening"), default="health")
    w.add_argument("--log", help="its standard output (read for `listening`)")
    w.add_argument("--tail", help="the file whose tail is shown on failure (default --log)")
    w.add_argument("--timeout", type=float, default=READY_TIMEOUT)
    w.add_argument("--name", default="nosterm")
    a = ap.parse_args(argv)
    try:
        if a.cmd == "binary":
            print(binary(root))
        elif a.cmd == "port":
            print(free_port())
        else:
            wait_ready(a.port, lambda: pid_alive(a.pid), a.ready, a.log, a.timeout)
    except ServerError as e:
        waiting = a.cmd == "wait"
        print(f"{a.name if waiting else 'nosterm'}: {e}", file=sys.stderr)
        sys.stderr.write(log_tail(a.tail or a.log) if waiting else "")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
