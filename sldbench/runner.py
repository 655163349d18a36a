"""Run one SLDBench submission inside a sandbox and print its predictions.

This file is copied into the sandbox and run there with the sandbox's Python;
it imports only the standard library in the supervising process, and numpy in
the worker. It never sees test targets: the host sends features, gets
predictions back and computes the metrics itself.

Protocol (host side: ``sldbench.execution``)::

    python runner.py REQUEST.json  < NONCE
    -> one line on stdout: {"nonce": NONCE, "ok": ..., ...}

REQUEST.json holds::

    program      path of the submission file
    shape        "auto" | "law" | "fit_predict"
    features     feature column names, in order
    targets      target column names, in order
    fit          {group: {"X": [[...]], "y": [[...]]}}   train rows (fit_predict only)
    predict      {group: [[...]]}                         points to predict
    timeout      wall seconds for the whole run
    limits       {"cpu_seconds", "memory_mb", "file_size_mb", "processes"}

The worker (this file with ``--worker``) runs in its own session under the
resource limits; the supervisor becomes a child subreaper, so every process
the submission starts (even one that calls setsid) is re-parented to it and
killed at the end. The nonce travels on stdin, so a submission cannot forge
the supervisor's reply line.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import traceback

TAIL_CHARS = 4000
PR_SET_CHILD_SUBREAPER = 36
PR_SET_PDEATHSIG = 1
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")


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


def _jsonable_matrix(values, n_rows: int, targets: list) -> list:
    """Turn a law's output into a list of rows; shape errors are left to the host."""
    import numpy as np

    if isinstance(values, list) and values and all(isinstance(v, dict) for v in values):
        missing = [t for t in targets if t not in values[0]]
        if missing:
            raise KeyError(f"law() returned dicts without key(s) {missing}; expected keys {targets}")
        values = [[row[t] for t in targets] for row in values]
    matrix = np.asarray(values, dtype=float)
    return matrix.tolist()


def _run_law(module, request: dict) -> dict:
    features, targets = request["features"], request["targets"]
    predictions = {}
    for group, rows in request["predict"].items():
        points = [dict(zip(features, row)) for row in rows]
        output = module.law(points, group)
        if not isinstance(output, list):
            raise TypeError(f"law() must return a list of dicts, got {type(output).__name__}")
        predictions[group] = _jsonable_matrix(output, len(rows), targets)
    return {"shape": "law", "predictions": predictions, "param_counts": {}}


def _run_fit_predict(module, request: dict) -> dict:
    import numpy as np

    targets = request["targets"]
    predictions, param_counts, fit_seconds = {}, {}, 0.0
    for group, rows in request["predict"].items():
        train = request["fit"].get(group)
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
        output = module.scaling_law_func(np.asarray(rows, dtype=float), params)
        predictions[group] = _jsonable_matrix(output, len(rows), targets)
    return {
        "shape": "fit_predict",
        "predictions": predictions,
        "param_counts": param_counts,
        "fit_seconds": fit_seconds,
    }


def worker_main(request_path: str, result_path: str) -> None:
    """Import the submission, run it on the request, write the result JSON."""
    with open(request_path) as handle:
        request = json.load(handle)
    try:
        module = _load_program(request["program"])
        shape = _detect_shape(module, request.get("shape", "auto"))
        result = _run_law(module, request) if shape == "law" else _run_fit_predict(module, request)
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


def _own_children() -> list[int]:
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


def kill_descendants(worker: subprocess.Popen) -> int:
    """Kill the worker's process group and every process re-parented to us; return how many rounds it took."""
    try:
        os.killpg(worker.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    rounds = 0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        rounds += 1
        children = _own_children()
        if not children:
            break
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid in children:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
    try:
        worker.wait(timeout=1)
    except subprocess.TimeoutExpired:
        pass
    return rounds


def _describe_exit(code: int, timeout: float) -> tuple[str, str]:
    if code < 0:
        sig = -code
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        if sig == signal.SIGXCPU:
            return "cpu_limit", f"killed by {name}: CPU time limit of the run exceeded"
        if sig == signal.SIGXFSZ:
            return "file_limit", f"killed by {name}: file size limit exceeded"
        return "killed", f"the submission process was killed by {name} (memory limit or a kill)"
    return "no_result", f"the submission exited with code {code} before producing predictions"


def supervise(request_path: str, nonce: str) -> dict:
    """Run the worker under limits and a wall timeout; return the reply (without nonce)."""
    with open(request_path) as handle:
        request = json.load(handle)
    timeout = float(request.get("timeout", 600))
    limits = request.get("limits", {})
    _become_subreaper()
    scratch = tempfile.mkdtemp(prefix="sldbench-run-")
    result_path = os.path.join(scratch, "result.json")
    log_path = os.path.join(scratch, "output.log")
    env = dict(os.environ)
    env.update({name: "1" for name in THREAD_VARS})
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    started = time.perf_counter()
    supervisor = os.getpid()
    with open(log_path, "wb") as log:
        worker = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--worker", request_path, result_path],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            preexec_fn=lambda: (_die_with(supervisor), _apply_limits(limits)),
        )
        try:
            code = worker.wait(timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            code, timed_out = None, True
        kill_descendants(worker)
    elapsed = time.perf_counter() - started
    output = _tail(log_path)
    if timed_out:
        reply = {"ok": False, "kind": "timeout", "error": f"timed out after {timeout:g} s; the process tree was killed"}
    else:
        try:
            with open(result_path) as handle:
                reply = json.load(handle)
            if not isinstance(reply, dict) or "ok" not in reply:
                raise ValueError("malformed result")
        except (OSError, ValueError):
            kind, error = _describe_exit(code, timeout)
            reply = {"ok": False, "kind": kind, "error": error}
    reply["seconds"] = elapsed
    reply["output"] = output
    for name in os.listdir(scratch):
        os.unlink(os.path.join(scratch, name))
    os.rmdir(scratch)
    return reply


def main(argv: list[str]) -> int:
    if argv[:1] == ["--worker"]:
        worker_main(argv[1], argv[2])
        return 0
    if len(argv) != 1:
        print("usage: runner.py REQUEST.json  (nonce on stdin)", file=sys.stderr)
        return 2
    nonce = sys.stdin.readline().strip()
    reply = supervise(argv[0], nonce)
    reply["nonce"] = nonce
    sys.stdout.write(json.dumps(reply) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
