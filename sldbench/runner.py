"""Run SLDBench submissions inside a sandbox and report their predictions.

This file is run inside the sandbox with the sandbox's Python. It never sees
test targets: the host sends features, gets predictions back and computes the
metrics itself. Every run happens in a forked worker process under resource
limits, in its own session; the process that forked it is a child subreaper,
so every process the submission starts (even one that calls setsid) is
re-parented to it and killed at the end of the run.

Two ways to use it (host side: ``sldbench.execution``)::

    python runner.py                        one run: the job on stdin, the reply on stdout
    python runner.py --serve SOCKET         start a warm runner in the background (numpy and
                                            scipy imported once) and print "ready PID"
    python -S -c CLIENT_SOURCE SOCKET       one run through the warm runner: stdin and stdout
                                            as in the one-run form

The job on stdin is a first line holding a nonce, then one JSON object::

    program      source of the submission
    shape        "auto" | "law" | "fit_predict"
    features     feature column names, in order
    targets      target column names, in order
    fit          {group: {"X": [[...]], "y": [[...]]}}   train rows (fit_predict only)
    predict      {group: [[...]]}                         points to predict
    timeout      wall seconds for the whole run
    limits       {"cpu_seconds", "memory_mb", "file_size_mb", "processes"}
    batch_check  optional: also predict each group's points in two halves and list in
                 ``batch_dependent`` the groups whose predictions change (fit_predict only)

The reply is one line, ``{"nonce": NONCE, "ok": ..., ...}``. The nonce comes
from the host on stdin, so a submission that prints a fake reply cannot guess
it. The warm runner forks a fresh worker per job from a process that has
imported numpy and scipy but never run a submission, so jobs cannot affect
one another; it exits when its socket file is removed or after it has been
idle for ``--idle`` seconds.
"""

from __future__ import annotations

import ctypes
import json
import os
import select
import shutil
import signal
import socket
import sys
import tempfile
import time
import traceback

TAIL_CHARS = 4000
PR_SET_CHILD_SUBREAPER = 36
PR_SET_PDEATHSIG = 1
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")
EXIT_NO_SERVER = 75  # client: nothing listens on the socket (the host starts a new warm runner)
EXIT_NO_REPLY = 76  # client: the warm runner closed the connection without a reply
DEFAULT_IDLE_SECONDS = 900
JOB_RECEIVE_SECONDS = 60


def _tail(path: str) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - TAIL_CHARS))
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return ""


# ---------------------------------------------------------------- worker side


def _load_program(path: str):
    import importlib.util

    spec = importlib.util.spec_from_file_location("submission", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["submission"] = module
    spec.loader.exec_module(module)
    return module


def _detect_shape(module, requested: str) -> str:
    has_law = callable(getattr(module, "law", None))
    has_pair = callable(getattr(module, "scaling_law_func", None)) and callable(
        getattr(module, "fit_scaling_law", None)
    )
    if requested == "law" or (requested == "auto" and has_law):
        if not has_law:
            raise LookupError("missing function law(input_data, group) in the submission")
        return "law"
    if not has_pair:
        raise LookupError(
            "the submission defines neither law(input_data, group) nor the pair "
            "scaling_law_func(data_points, params) + fit_scaling_law(data_points, loss_values)"
        )
    return "fit_predict"


def _jsonable_matrix(values, targets: list) -> list:
    """Turn a law's output into a list of rows; shape errors are left to the host."""
    import numpy as np

    if isinstance(values, list) and values and all(isinstance(v, dict) for v in values):
        missing = [t for t in targets if t not in values[0]]
        if missing:
            raise KeyError(f"law() returned dicts without key(s) {missing}; expected keys {targets}")
        values = [[row[t] for t in targets] for row in values]
    matrix = np.asarray(values, dtype=float)
    return matrix.tolist()


def _run_law(module, job: dict) -> dict:
    features, targets = job["features"], job["targets"]
    predictions = {}
    for group, rows in job["predict"].items():
        points = [dict(zip(features, row)) for row in rows]
        output = module.law(points, group)
        if not isinstance(output, list):
            raise TypeError(f"law() must return a list of dicts, got {type(output).__name__}")
        predictions[group] = _jsonable_matrix(output, targets)
    return {"shape": "law", "predictions": predictions, "param_counts": {}}


def _run_fit_predict(module, job: dict) -> dict:
    import numpy as np

    targets = job["targets"]
    predictions, param_counts, fit_seconds, batch_dependent = {}, {}, 0.0, []
    for group, rows in job["predict"].items():
        train = job["fit"].get(group)
        if train is None:
            raise LookupError(f"no training rows for group {group!r}: cannot fit it")
        x_train = np.asarray(train["X"], dtype=float)
        y_train = np.asarray(train["y"], dtype=float)
        if len(targets) == 1:
            y_train = y_train[:, 0]
        started = time.perf_counter()
        params = module.fit_scaling_law(x_train, y_train)
        fit_seconds += time.perf_counter() - started
        param_counts[group] = int(np.asarray(params, dtype=float).size)
        points = np.asarray(rows, dtype=float)
        output = module.scaling_law_func(points, params)
        predictions[group] = _jsonable_matrix(output, targets)
        if job.get("batch_check") and _depends_on_batch(module, points, params, predictions[group]):
            batch_dependent.append(group)
    return {
        "shape": "fit_predict",
        "predictions": predictions,
        "param_counts": param_counts,
        "fit_seconds": fit_seconds,
        "batch_dependent": batch_dependent,
    }


def _depends_on_batch(module, points, params, whole: list) -> bool:
    """Whether predicting the points in two halves changes them: a law may not use statistics of its input."""
    import numpy as np

    if len(points) < 2:
        return False
    half = len(points) // 2
    try:
        parts = [np.asarray(module.scaling_law_func(part, params), dtype=float).reshape(len(part), -1) for part in (points[:half], points[half:])]
        return not np.allclose(np.concatenate(parts), np.asarray(whole, dtype=float).reshape(len(points), -1), rtol=1e-6, atol=1e-12, equal_nan=True)
    except Exception:
        return False  # the whole-batch prediction is judged on its own by the host


def _work(job: dict, program_path: str, result_path: str) -> None:
    """Import the submission, run it on the job, write the result JSON."""
    try:
        module = _load_program(program_path)
        shape = _detect_shape(module, job.get("shape", "auto"))
        result = _run_law(module, job) if shape == "law" else _run_fit_predict(module, job)
        result["ok"] = True
    except BaseException as err:  # SystemExit from the submission is a failure too
        result = {
            "ok": False,
            "kind": "exception",
            "error": f"{type(err).__name__}: {err}",
            "traceback": traceback.format_exc()[-TAIL_CHARS:],
        }
    text = json.dumps(result)
    with open(result_path, "w") as handle:
        handle.write(text)


# ------------------------------------------------------------ supervisor side


def _apply_limits(limits: dict) -> None:
    import resource

    def cap(which: int, value: int, grace: int = 0) -> None:
        soft, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard - grace)
        resource.setrlimit(which, (value, value + grace))

    if limits.get("cpu_seconds"):
        # one second between soft and hard limit, so the kernel sends SIGXCPU before SIGKILL
        cap(resource.RLIMIT_CPU, int(limits["cpu_seconds"]), grace=1)
    if limits.get("memory_mb"):
        cap(resource.RLIMIT_AS, int(limits["memory_mb"]) * 1024 * 1024)
    if limits.get("file_size_mb"):
        cap(resource.RLIMIT_FSIZE, int(limits["file_size_mb"]) * 1024 * 1024)
    if limits.get("processes"):
        cap(resource.RLIMIT_NPROC, int(limits["processes"]))


def _become_subreaper() -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: the process-group kill below still applies


def _die_with(supervisor: int) -> None:
    """Have the kernel kill this worker when its supervisor dies (a submission may kill it)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return  # not Linux
    if os.getppid() != supervisor:  # it died before the request took effect
        os._exit(1)


def own_children() -> list[int]:
    """Process ids whose parent is this process (read from /proc)."""
    me = os.getpid()
    children = []
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                stat = handle.read()
        except OSError:
            continue
        # the command name may hold spaces and parentheses: fields start after the last ')'
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 1 and int(fields[1]) == me:
            children.append(int(entry))
    return children


def kill_children(keep: frozenset = frozenset()) -> None:
    """SIGKILL and reap every child of this process (orphans re-parented to us included) not in ``keep``."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        doomed = [pid for pid in own_children() if pid not in keep]
        if not doomed:
            return
        for pid in doomed:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid in doomed:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass


def _wait(pid: int, timeout: float) -> int | None:
    """Wait for child ``pid`` up to ``timeout`` seconds; its exit code (negative: signal), or None."""
    deadline = time.monotonic() + timeout
    try:
        handle = os.pidfd_open(pid)
    except (AttributeError, OSError):
        handle = None
    try:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return os.waitstatus_to_exitcode(status)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            if handle is not None:
                select.select([handle], [], [], remaining)
            else:
                time.sleep(min(0.01, remaining))
    finally:
        if handle is not None:
            os.close(handle)


def _describe_exit(code: int) -> tuple[str, str]:
    if code < 0:
        sig = -code
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        if sig == signal.SIGXCPU:
            return "cpu_limit", f"killed by {name}: CPU time limit of the run exceeded"
        if sig == signal.SIGXFSZ:
            return "file_limit", f"killed by {name}: file size limit exceeded"
        return "killed", f"the submission process was killed by {name} (memory limit or a kill)"
    return "no_result", f"the submission exited with code {code} before producing predictions"


def _start_worker(job: dict, scratch: str) -> int:
    """Fork the worker: own session, limits, output to a log file; it runs the job and exits."""
    program_path = os.path.join(scratch, "program.py")
    with open(program_path, "w") as handle:
        handle.write(job["program"])
    supervisor = os.getpid()
    pid = os.fork()
    if pid:
        return pid
    try:  # the worker: never return into the supervisor's code
        _die_with(supervisor)
        os.setsid()
        log = os.open(os.path.join(scratch, "output.log"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.closerange(3, 65536)  # the supervisor's sockets and pipes are not the submission's
        sys.stdin = open(0, closefd=False)
        sys.stdout = open(1, "w", buffering=1, closefd=False)
        sys.stderr = open(2, "w", buffering=1, closefd=False)
        _apply_limits(job.get("limits", {}))
        _work(job, program_path, os.path.join(scratch, "result.json"))
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    except BaseException:
        os._exit(70)


def run_job(job: dict) -> dict:
    """Run one job in a forked, limited worker under a wall timeout; return the reply (without nonce).

    Parameters
    ----------
    job : dict
        The job object of the protocol (see the module docstring).

    Returns
    -------
    dict
        ``ok`` and either ``predictions``/``shape``/``param_counts``/``fit_seconds`` or
        ``kind``/``error``/``traceback``; always ``seconds`` (wall time) and ``output``
        (the tail of what the submission printed).
    """
    timeout = float(job.get("timeout", 600))
    _become_subreaper()
    scratch = tempfile.mkdtemp(prefix="sldbench-run-")
    started = time.perf_counter()
    try:
        worker = _start_worker(job, scratch)
        code = _wait(worker, timeout)
        try:
            os.killpg(worker, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        kill_children()
        elapsed = time.perf_counter() - started
        output = _tail(os.path.join(scratch, "output.log"))
        if code is None:
            reply = {"ok": False, "kind": "timeout", "error": f"timed out after {timeout:g} s; the process tree was killed"}
        else:
            try:
                with open(os.path.join(scratch, "result.json")) as handle:
                    reply = json.load(handle)
                if not isinstance(reply, dict) or "ok" not in reply:
                    raise ValueError("malformed result")
            except (OSError, ValueError):
                kind, error = _describe_exit(code)
                reply = {"ok": False, "kind": kind, "error": error}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    reply["seconds"] = elapsed
    reply["output"] = output
    return reply


def _prepare_interpreter() -> None:
    """Settings every worker inherits: single-threaded BLAS (set before numpy loads, and safe to
    fork), and no bytecode files (a submission's .pyc would sit beside it; -I ignores the variable)."""
    for name in THREAD_VARS:
        os.environ[name] = "1"
    sys.dont_write_bytecode = True


def _read_job(data: bytes) -> tuple[str, dict]:
    nonce, _, body = data.decode("utf-8").partition("\n")
    return nonce.strip(), json.loads(body)


def _reply_line(nonce: str, reply: dict) -> bytes:
    reply["nonce"] = nonce
    return (json.dumps(reply) + "\n").encode("utf-8")


def _answer(data: bytes) -> bytes:
    try:
        nonce, job = _read_job(data)
    except ValueError as err:
        return (json.dumps({"ok": False, "kind": "runner", "error": f"malformed job: {err}"}) + "\n").encode()
    return _reply_line(nonce, run_job(job))


# ------------------------------------------------------------ warm runner


def _handle_connection(connection: socket.socket) -> None:
    connection.settimeout(JOB_RECEIVE_SECONDS)  # a peer that connects and sends nothing must not hold a handler
    chunks = []
    while True:
        chunk = connection.recv(1 << 20)
        if not chunk:
            break
        chunks.append(chunk)
    connection.settimeout(None)
    connection.sendall(_answer(b"".join(chunks)))
    connection.close()


def _socket_is_ours(path: str, inode: int) -> bool:
    try:
        return os.stat(path).st_ino == inode
    except OSError:
        return False


def serve(path: str, idle_seconds: float, ready) -> None:
    """Accept jobs on the Unix socket ``path`` until it is removed or idle; one forked handler per job."""
    _prepare_interpreter()
    import numpy  # noqa: F401  (imported once here, inherited by every worker)

    try:
        import scipy.optimize  # noqa: F401
    except ImportError:
        pass
    _become_subreaper()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if os.path.exists(path):
        os.unlink(path)
    listener.bind(path)
    listener.listen(64)
    inode = os.stat(path).st_ino
    ready(f"ready {os.getpid()}")
    handlers: set[int] = set()
    last_active = time.monotonic()
    while _socket_is_ours(path, inode) and (handlers or time.monotonic() - last_active < idle_seconds):
        readable, _, _ = select.select([listener], [], [], 1.0)
        if readable:
            connection, _ = listener.accept()
            pid = os.fork()
            if pid == 0:
                try:
                    listener.close()
                    _handle_connection(connection)
                finally:
                    os._exit(0)
            connection.close()
            handlers.add(pid)
            last_active = time.monotonic()
        finished = False
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            finished = finished or pid in handlers
            handlers.discard(pid)
        if finished:  # a worker whose handler was killed is re-parented here: nothing else may live
            kill_children(keep=frozenset(handlers))
    listener.close()
    kill_children()


def start_server(path: str, idle_seconds: float) -> int:
    """Start ``serve`` as a daemon (own session, stdio detached); print its "ready PID" line."""
    read_end, write_end = os.pipe()
    first = os.fork()
    if first:
        os.close(write_end)
        os.waitpid(first, 0)
        message = b""
        while chunk := os.read(read_end, 4096):
            message += chunk
        text = message.decode("utf-8", "replace").strip()
        print(text or "the warm runner exited before it was ready", file=sys.stdout if text.startswith("ready") else sys.stderr)
        return 0 if text.startswith("ready") else 1
    os.close(read_end)
    os.setsid()
    if os.fork():
        os._exit(0)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)

    def ready(text: str) -> None:
        os.write(write_end, text.encode())
        os.close(write_end)

    try:
        serve(path, idle_seconds, ready)
    except BaseException as err:
        try:
            os.write(write_end, f"error: {type(err).__name__}: {err}".encode())
        except OSError:
            pass
    os._exit(0)


# The client runs once per job: a few lines importing only socket and sys, so it starts in milliseconds.
CLIENT_SOURCE = f"""
import socket, sys
data = sys.stdin.buffer.read()
connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    connection.connect(sys.argv[1])
except OSError as err:
    print(f"no warm runner at {{sys.argv[1]}}: {{err}}", file=sys.stderr)
    sys.exit({EXIT_NO_SERVER})
connection.sendall(data)
connection.shutdown(socket.SHUT_WR)
chunks = []
while chunk := connection.recv(1 << 20):
    chunks.append(chunk)
if not chunks:
    print("the warm runner closed the connection without a reply", file=sys.stderr)
    sys.exit({EXIT_NO_REPLY})
sys.stdout.buffer.write(b"".join(chunks))
"""


def main(argv: list[str]) -> int:
    if argv[:1] == ["--serve"] and len(argv) in (2, 4):
        idle = float(argv[3]) if len(argv) == 4 and argv[2] == "--idle" else DEFAULT_IDLE_SECONDS
        return start_server(argv[1], idle)
    if argv:
        print("usage: runner.py | runner.py --serve SOCKET [--idle S]  (job on stdin)", file=sys.stderr)
        return 2
    _prepare_interpreter()
    sys.stdout.buffer.write(_answer(sys.stdin.buffer.read()))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
