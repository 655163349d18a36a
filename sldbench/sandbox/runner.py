"""Run SLDBench submissions inside a sandbox and report their predictions.

This file is run inside the sandbox with the sandbox's Python. It never sees
test targets: the host sends features, gets predictions back and computes the
metrics itself. Every run happens in a forked worker process under resource
limits, in its own session; the process that forked it is a child subreaper,
so every process the submission starts (even one that calls setsid) is
re-parented to it and killed at the end of the run.

Two ways to use it (host side: ``sldbench.sandbox.host``)::

    python runner.py                        one run: the job on stdin, the reply on stdout
    python runner.py --serve SOCKET         start a warm runner in the background (numpy and
                                            scipy imported once) and print "ready PID"
    python runner.py --serve SOCKET --foreground
                                            the same, served by this process, which dies with
                                            its parent (for a supervisor that keeps it, such as
                                            bubblewrap, whose namespace ends with its first process)
    python -S -c CLIENT_SOURCE SOCKET       one run through the warm runner: stdin and stdout
                                            as in the one-run form

A request is a header line, ``{"nonce": NONCE, "timeout": SECONDS}`` (the wall
time allowed for the whole run), then the job, one JSON object that only the
worker reads::

    program      source of the submission
    shape        "auto" | "law" | "fit_predict"
    features     feature column names, in order
    targets      target column names, in order
    fit          {group: {"X": MATRIX, "y": MATRIX}}   train rows (fit_predict only)
    predict      {group: MATRIX}                        points to predict
    limits       {"cpu_seconds", "memory_mb", "file_size_mb", "processes"}
    batch_check  optional: also predict each group's points in two halves and list in
                 ``batch_dependent`` the groups whose predictions change (fit_predict only)

A MATRIX is ``{"shape": [rows, columns], "float64": BASE64}``, the values as
little-endian float64 in row-major order (exact, and decoded in microseconds).

The reply is one line, ``{"nonce": NONCE, "ok": ..., ...}``, predictions as
``{group: MATRIX}``. The nonce comes
from the host on stdin, so a submission that prints a fake reply cannot guess
it. The warm runner forks a fresh worker per job from a process that has
imported numpy and scipy but never run a submission, so jobs cannot affect
one another. Handlers and their workers are forked before a job arrives, and a
job is answered as soon as its result is read and its processes are sent
SIGKILL (they are reaped just after), so a job pays neither a fork nor a
process exit. The warm runner exits when its socket file is removed or after
it has been idle for ``--idle`` seconds.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import json
import os
import resource
import select
import shutil
import signal
import socket
import sys
import tempfile
import time
import traceback
from typing import Iterator, NamedTuple

TAIL_CHARS = 4000
PR_SET_CHILD_SUBREAPER = 36
PR_SET_PDEATHSIG = 1
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")
EXIT_NO_SERVER = 75  # client: no warm runner took the job (the host starts a new one and resends)
EXIT_NO_REPLY = 76  # client: the warm runner closed the connection without a reply
DEFAULT_IDLE_SECONDS = 900
JOB_RECEIVE_SECONDS = 60
SPARE_HANDLERS = 2  # handlers (each with its worker) forked ahead, so a job never waits for a fork


def _read_to_end(fd: int) -> bytes:
    """Everything readable from ``fd`` until its writers close it."""
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def _write_result(path: str, result: dict) -> None:
    with open(path, "w") as handle:
        handle.write(json.dumps(result))


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


def encode_matrix(values) -> dict:
    """A MATRIX of the protocol: ``{"shape": [...], "float64": BASE64}`` (little-endian, row-major)."""
    import numpy as np

    array = np.ascontiguousarray(values, dtype="<f8")
    return {"shape": list(array.shape), "float64": base64.b64encode(array.tobytes()).decode("ascii")}


def decode_matrix(encoded: dict):
    """The float64 array (writable) of a MATRIX of the protocol.

    Raises KeyError, TypeError or ValueError when ``encoded`` is not a well-formed MATRIX.
    """
    import numpy as np

    data = base64.b64decode(encoded["float64"], validate=True)
    return np.frombuffer(data, dtype="<f8").reshape([int(n) for n in encoded["shape"]]).astype(float)


def _output_matrix(values, targets: list) -> dict:
    """Encode a law's output as a MATRIX; shape errors are left to the host."""
    if isinstance(values, list) and values and all(isinstance(v, dict) for v in values):
        missing = [t for t in targets if t not in values[0]]
        if missing:
            raise KeyError(f"law() returned dicts without key(s) {missing}; expected keys {targets}")
        values = [[row[t] for t in targets] for row in values]
    return encode_matrix(values)


def _run_law(module, job: dict) -> dict:
    features, targets = job["features"], job["targets"]
    predictions = {}
    for group, encoded in job["predict"].items():
        points = [dict(zip(features, row)) for row in decode_matrix(encoded).tolist()]
        output = module.law(points, group)
        if not isinstance(output, list):
            raise TypeError(f"law() must return a list of dicts, got {type(output).__name__}")
        predictions[group] = _output_matrix(output, targets)
    return {"shape": "law", "predictions": predictions, "param_counts": {}}


def _run_fit_predict(module, job: dict) -> dict:
    import numpy as np

    targets = job["targets"]
    predictions, param_counts, fit_seconds, predict_seconds, batch_dependent = {}, {}, 0.0, 0.0, []
    for group, encoded in job["predict"].items():
        train = job["fit"].get(group)
        if train is None:
            raise LookupError(f"no training rows for group {group!r}: cannot fit it")
        x_train = decode_matrix(train["X"])
        y_train = decode_matrix(train["y"])
        if len(targets) == 1:
            y_train = y_train[:, 0]
        started = time.perf_counter()
        params = module.fit_scaling_law(x_train, y_train)
        fit_seconds += time.perf_counter() - started
        param_counts[group] = int(np.asarray(params, dtype=float).size)
        points = decode_matrix(encoded)
        started = time.perf_counter()
        output = module.scaling_law_func(points, params)
        dependent = job.get("batch_check") and _depends_on_batch(module, points, params, output)
        predict_seconds += time.perf_counter() - started
        predictions[group] = _output_matrix(output, targets)
        if dependent:
            batch_dependent.append(group)
    return {
        "shape": "fit_predict",
        "predictions": predictions,
        "param_counts": param_counts,
        "fit_seconds": fit_seconds,
        "predict_seconds": predict_seconds,
        "batch_dependent": batch_dependent,
    }


def _depends_on_batch(module, points, params, whole) -> bool:
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
    _write_result(result_path, result)


# ------------------------------------------------------------ supervisor side


def _apply_limits(limits: dict) -> None:
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


def _prctl(option: int, value: int) -> bool:
    """Linux's prctl(option, value); False where there is none."""
    global _PRCTL
    if _PRCTL is None:
        try:
            _PRCTL = ctypes.CDLL(None, use_errno=True).prctl
        except (OSError, AttributeError):
            _PRCTL = False  # not Linux
    return bool(_PRCTL) and _PRCTL(option, value, 0, 0, 0) == 0


_PRCTL = None


def _become_subreaper() -> None:
    """Orphans of this process's descendants come to it (elsewhere the process-group kill still applies)."""
    _prctl(PR_SET_CHILD_SUBREAPER, 1)


def _set_parent_death_signal(sig: int) -> bool:
    """Have the kernel send ``sig`` to this process when its parent dies (0: nothing); False if not Linux."""
    return _prctl(PR_SET_PDEATHSIG, sig)


def _die_with(parent: int) -> None:
    """Have the kernel kill this process when ``parent`` dies (a submission may kill it)."""
    if _set_parent_death_signal(signal.SIGKILL) and os.getppid() != parent:  # it died before the request took effect
        os._exit(1)


def own_children() -> list[int]:
    """Process ids whose parent is this process (read from /proc).

    The kernel's per-thread ``children`` lists answer in microseconds; without them
    (a kernel built without CONFIG_PROC_CHILDREN) every process's stat is read.
    """
    try:
        children = []
        for thread in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{thread}/children") as handle:
                children.extend(int(pid) for pid in handle.read().split())
        return children
    except OSError:
        pass
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


def _signal_children(keep: frozenset = frozenset()) -> list[int]:
    """SIGKILL every child of this process not in ``keep``; the pids signalled."""
    doomed = [pid for pid in own_children() if pid not in keep]
    for pid in doomed:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return doomed


def kill_children(keep: frozenset = frozenset()) -> None:
    """SIGKILL and reap every child of this process (orphans re-parented to us included) not in ``keep``."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        doomed = _signal_children(keep)
        if not doomed:
            return
        for pid in doomed:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass


def _wait(worker: Worker, timeout: float) -> bool:
    """Wait until ``worker`` says its result is written, or exits; False when ``timeout`` seconds pass first."""
    deadline = time.monotonic() + timeout
    try:
        exited = os.pidfd_open(worker.pid)
    except (AttributeError, OSError):
        exited = None  # no pidfd: poll the exit, without reaping
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            watched = [worker.done] if exited is None else [worker.done, exited]
            readable, _, _ = select.select(watched, [], [], remaining if exited is not None else min(0.01, remaining))
            if readable:
                return True
            if exited is None and os.waitid(os.P_PID, worker.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                return True
    finally:
        if exited is not None:
            os.close(exited)


def _exit_code(pid: int) -> int:
    """Reap child ``pid`` and return its exit code (negative: the signal that ended it)."""
    try:
        return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    except ChildProcessError:
        return -signal.SIGKILL


def _read_result(scratch: str) -> dict | None:
    try:
        with open(os.path.join(scratch, "result.json")) as handle:
            result = json.load(handle)
    except (OSError, ValueError):
        return None
    return result if isinstance(result, dict) and "ok" in result else None


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


class Worker(NamedTuple):
    """A forked worker as its supervisor sees it."""

    pid: int
    job: int  # write end of the pipe the job goes down
    done: int  # read end of the pipe the worker writes one byte to once its result is written


def _spawn_worker() -> Worker:
    """Fork a worker that waits for its job (see `run_job`).

    The worker dies with this process, takes its own session and closes every other
    descriptor (a warm runner's listening socket included) before it waits, so it
    can be forked ahead of the job and the fork costs the job nothing.
    """
    job_read, job_write = os.pipe()
    done_read, done_write = os.pipe()
    supervisor = os.getpid()
    pid = os.fork()
    if pid:
        os.close(job_read)
        os.close(done_write)
        return Worker(pid, job_write, done_read)
    try:  # the worker: never return into the supervisor's code
        _die_with(supervisor)
        os.setsid()
        low = 3
        for fd in sorted((job_read, done_write)):
            os.closerange(low, fd)
            low = fd + 1
        os.closerange(low, 65536)
        message = _read_to_end(job_read)
        os.close(job_read)
        scratch, _, body = message.partition(b"\n")
        if body:  # nothing comes when the supervisor gives up on this worker
            _run_in_worker(body, os.fsdecode(scratch))
            os.write(done_write, b".")
        os._exit(0)
    except BaseException:
        os._exit(70)


def _run_in_worker(body: bytes, scratch: str) -> None:
    """Output to a log file, the program to a file, limits on; then run the job (JSON ``body``)."""
    result_path = os.path.join(scratch, "result.json")
    try:
        job = json.loads(body)
        program = job["program"]
    except (ValueError, KeyError, TypeError) as err:
        _write_result(result_path, {"ok": False, "kind": "runner", "error": f"malformed job: {type(err).__name__}: {err}"})
        return
    program_path = os.path.join(scratch, "program.py")
    with open(program_path, "w") as handle:
        handle.write(program)
    log = os.open(os.path.join(scratch, "output.log"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(null)
    os.close(log)
    sys.stdin = open(0, closefd=False)
    sys.stdout = open(1, "w", buffering=1, closefd=False)
    sys.stderr = open(2, "w", buffering=1, closefd=False)
    _apply_limits(job.get("limits", {}))
    _work(job, program_path, result_path)
    sys.stdout.flush()
    sys.stderr.flush()


def _send_job(channel: int, message: bytes) -> None:
    try:
        view = memoryview(message)
        while view:
            view = view[os.write(channel, view) :]
    except BrokenPipeError:
        pass  # the worker is gone: its exit status says why
    finally:
        os.close(channel)


@contextlib.contextmanager
def run_job(body: bytes, timeout: float, worker: Worker | None = None) -> Iterator[dict]:
    """Run one job in a forked, limited worker under a wall timeout; yield the reply (without nonce).

    By the time the reply is yielded every process of the job has been sent SIGKILL;
    leaving the ``with`` block reaps them and removes the job's files, so a caller
    sends the reply first and the job's clean-up costs it nothing.

    Parameters
    ----------
    body : bytes
        The job object of the protocol as JSON (see the module docstring); only the worker reads it.
    timeout : float
        Wall seconds for the run.
    worker : Worker, optional
        A worker from `_spawn_worker`, forked ahead; by default one is forked now.

    Yields
    ------
    dict
        ``ok`` and either ``predictions``/``shape``/``param_counts``/``fit_seconds``/``predict_seconds`` or
        ``kind``/``error``/``traceback``; always ``seconds`` (wall time) and ``output``
        (the tail of what the submission printed).
    """
    _become_subreaper()
    worker = worker or _spawn_worker()
    scratch = tempfile.mkdtemp(prefix="sldbench-run-")
    try:
        started = time.perf_counter()
        _send_job(worker.job, os.fsencode(scratch) + b"\n" + body)
        finished = _wait(worker, timeout)
        reply = _read_result(scratch) if finished else None
        try:
            os.killpg(worker.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        _signal_children()
        elapsed = time.perf_counter() - started
        if not finished:
            reply = {"ok": False, "kind": "timeout", "error": f"timed out after {timeout:g} s; the process tree was killed"}
        elif reply is None:
            kind, error = _describe_exit(_exit_code(worker.pid))
            reply = {"ok": False, "kind": kind, "error": error}
        reply["seconds"] = elapsed
        reply["output"] = _tail(os.path.join(scratch, "output.log"))
        yield reply
    finally:
        os.close(worker.done)
        kill_children()
        shutil.rmtree(scratch, ignore_errors=True)


def _prepare_interpreter() -> None:
    """Settings every worker inherits: single-threaded BLAS (set before numpy loads, and safe to
    fork), and no bytecode files (a submission's .pyc would sit beside it; -I ignores the variable)."""
    for name in THREAD_VARS:
        os.environ[name] = "1"
    sys.dont_write_bytecode = True


def _read_request(data: bytes) -> tuple[str, float, bytes]:
    """Split a request into its nonce, its timeout and the job's JSON (left unread)."""
    header, _, body = data.partition(b"\n")
    fields = json.loads(header)
    if not isinstance(fields, dict) or not isinstance(fields.get("nonce"), str):
        raise ValueError('the first line must be {"nonce": ..., "timeout": ...}')
    return fields["nonce"], float(fields.get("timeout", 600)), body


def _reply_line(nonce: str, reply: dict) -> bytes:
    reply["nonce"] = nonce
    return (json.dumps(reply) + "\n").encode("utf-8")


@contextlib.contextmanager
def _answer(data: bytes, worker: Worker | None = None) -> Iterator[bytes]:
    """Run the request ``data``; yield the reply line (the job is cleaned up after the block, see `run_job`)."""
    try:
        nonce, timeout, body = _read_request(data)
    except (ValueError, TypeError) as err:
        yield (json.dumps({"ok": False, "kind": "runner", "error": f"malformed request: {err}"}) + "\n").encode()
        return
    with run_job(body, timeout, worker) as reply:
        yield _reply_line(nonce, reply)


# ------------------------------------------------------------ warm runner


def _handle_connection(connection: socket.socket, worker: Worker) -> None:
    connection.settimeout(JOB_RECEIVE_SECONDS)  # a peer that connects and sends nothing must not hold a handler
    chunks = []
    while True:
        chunk = connection.recv(1 << 20)
        if not chunk:
            break
        chunks.append(chunk)
    connection.settimeout(None)
    with _answer(b"".join(chunks), worker) as line:
        connection.sendall(line)
        connection.close()


def _spare_handler(listener: socket.socket, taken: int) -> int:
    """Fork a handler that waits for the next connection with its worker already forked.

    Once it has a connection it writes its pid to ``taken`` (so the warm runner forks
    the next spare) and runs the job. While it waits it dies with the warm runner;
    a job it has taken runs to its end even if the warm runner is killed.
    """
    server = os.getpid()
    pid = os.fork()
    if pid:
        return pid
    try:
        _die_with(server)
        _become_subreaper()
        worker = _spawn_worker()
        connection, _ = listener.accept()
        _set_parent_death_signal(0)
        listener.close()
        os.write(taken, f"{os.getpid()}\n".encode())
        os.close(taken)
        _handle_connection(connection, worker)
    finally:
        os._exit(0)


def _socket_is_ours(path: str, inode: int) -> bool:
    try:
        return os.stat(path).st_ino == inode
    except OSError:
        return False


def serve(path: str, idle_seconds: float, ready) -> None:
    """Serve jobs on the Unix socket ``path`` until it is removed or idle; one forked handler per job.

    Handlers are forked ahead (`SPARE_HANDLERS` wait in ``accept``), each with its
    worker forked too; this process only replaces the spares that were taken, reaps
    handlers and kills what a finished job left behind.
    """
    _prepare_interpreter()
    import numpy  # noqa: F401  (imported once here, inherited by every worker)

    try:
        import scipy.optimize  # noqa: F401
    except ImportError:
        pass
    tempfile.gettempdir()  # found once here, not by probing the disk in every handler
    _become_subreaper()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if os.path.exists(path):
        os.unlink(path)
    listener.bind(path)
    listener.listen(64)
    inode = os.stat(path).st_ino
    taken_read, taken_write = os.pipe()
    spares: set[int] = set()
    busy: set[int] = set()
    ready(f"ready {os.getpid()}")
    last_active = time.monotonic()
    while _socket_is_ours(path, inode) and (busy or time.monotonic() - last_active < idle_seconds):
        while len(spares) < SPARE_HANDLERS:
            spares.add(_spare_handler(listener, taken_write))
        readable, _, _ = select.select([taken_read], [], [], 1.0)
        if readable:
            for pid in os.read(taken_read, 4096).split():
                spares.discard(int(pid))
                busy.add(int(pid))
            last_active = time.monotonic()
        finished = False
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            finished = finished or pid in busy or pid in spares
            busy.discard(pid)
            spares.discard(pid)
        if finished:  # a worker whose handler was killed is re-parented here: nothing else may live
            kill_children(keep=frozenset(busy | spares))
            last_active = time.monotonic()
    listener.close()
    kill_children()


def start_server(path: str, idle_seconds: float) -> int:
    """Start ``serve`` as a daemon (own session, stdio detached); print its "ready PID" line."""
    read_end, write_end = os.pipe()
    first = os.fork()
    if first:
        os.close(write_end)
        os.waitpid(first, 0)
        text = _read_to_end(read_end).decode("utf-8", "replace").strip()
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
chunks = []
try:
    connection.sendall(data)
    connection.shutdown(socket.SHUT_WR)
    while chunk := connection.recv(1 << 20):
        chunks.append(chunk)
except (ConnectionResetError, BrokenPipeError) as err:  # closed with the job unread: it never ran
    print(f"the warm runner at {{sys.argv[1]}} went away: {{err}}", file=sys.stderr)
    sys.exit({EXIT_NO_SERVER})
if not chunks:
    print("the warm runner closed the connection without a reply", file=sys.stderr)
    sys.exit({EXIT_NO_REPLY})
sys.stdout.buffer.write(b"".join(chunks))
"""


def serve_foreground(path: str, idle_seconds: float) -> int:
    """Run ``serve`` in this process: "ready PID" on stdout, then stdio detached; it dies with its parent."""
    _die_with(os.getppid())

    def ready(text: str) -> None:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):  # nobody reads these pipes any more: a write must never block
            os.dup2(null, fd)
        os.close(null)

    serve(path, idle_seconds, ready)
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["--serve"] and len(argv) >= 2:
        path, options = argv[1], argv[2:]
        foreground = "--foreground" in options
        options = [option for option in options if option != "--foreground"]
        if not options or (len(options) == 2 and options[0] == "--idle"):
            idle = float(options[1]) if options else DEFAULT_IDLE_SECONDS
            return serve_foreground(path, idle) if foreground else start_server(path, idle)
    if argv:
        print("usage: runner.py | runner.py --serve SOCKET [--idle S] [--foreground]  (job on stdin)", file=sys.stderr)
        return 2
    _prepare_interpreter()
    with _answer(sys.stdin.buffer.read()) as line:
        sys.stdout.buffer.write(line)
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
