"""Host side of the sandboxed runner: send a submission and points in, get predictions out.

`run_program` writes ``runner.py``, the program and a request into a private
folder of the sandbox, runs the runner there with the sandbox's Python, reads
its one-line reply and removes the folder again (test features are only in
the sandbox for the duration of the call). It works with any Inspect
`SandboxEnvironment`, so the scorer, the CLI and the solvers share it.
"""

from __future__ import annotations

import json
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from inspect_ai.util import SandboxEnvironment

from .metrics import PredictionError, as_prediction_matrix
from .specs import TaskSpec

RUNNER_SOURCE = (Path(__file__).parent / "runner.py").read_text()
SANDBOX_WORKDIR = ".sldbench"
HOST_TIMEOUT_MARGIN = 60
CPU_MARGIN = 10


@dataclass(frozen=True)
class Limits:
    """Resource limits for one run of a submission (applied with setrlimit in the sandbox).

    Attributes
    ----------
    timeout : float
        Wall seconds; the whole process tree is killed after it.
    cpu_seconds : int or None
        CPU seconds; defaults to the timeout plus `CPU_MARGIN`, so a single-threaded
        runaway is reported as a timeout and the CPU limit catches multi-threaded hogs.
    memory_mb : int
        Address-space limit of the worker.
    file_size_mb : int
        Largest file the worker may write.
    processes : int
        RLIMIT_NPROC (not enforced for root, which the kill of the whole tree still covers).
    """

    timeout: float = 600.0
    cpu_seconds: int | None = None
    memory_mb: int = 4096
    file_size_mb: int = 64
    processes: int = 4096

    def as_request(self) -> dict:
        return {
            "cpu_seconds": self.cpu_seconds or int(np.ceil(self.timeout)) + CPU_MARGIN,
            "memory_mb": self.memory_mb,
            "file_size_mb": self.file_size_mb,
            "processes": self.processes,
        }


@dataclass
class RunResult:
    """Outcome of one sandboxed run.

    Attributes
    ----------
    ok : bool
        True when every group produced a well-formed, finite prediction matrix.
    predictions : dict of str to ndarray
        ``{group: (n_points, n_targets)}`` when ok.
    kind : str
        Failure class when not ok: ``exception``, ``timeout``, ``cpu_limit``,
        ``killed``, ``no_result``, ``bad_output``, ``runner``.
    error : str
        One-line reason when not ok.
    detail : str
        Traceback tail and the program's own output tail.
    shape : str
        ``law`` or ``fit_predict``.
    param_counts : dict of str to int
        Size of the fitted parameter vector per group (fit_predict only).
    seconds : float
        Wall time of the worker.
    fit_seconds : float
        Time spent inside ``fit_scaling_law`` (fit_predict only).
    """

    ok: bool
    predictions: dict[str, np.ndarray] = field(default_factory=dict)
    kind: str = ""
    error: str = ""
    detail: str = ""
    shape: str = ""
    param_counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    fit_seconds: float = 0.0

    def stacked(self, groups: list[str]) -> np.ndarray:
        """Predictions of ``groups`` concatenated in the order given, shape ``(N, T)``."""
        return np.concatenate([self.predictions[g] for g in groups])


def sandbox_python(sandbox: SandboxEnvironment) -> str:
    """The interpreter to run the runner with: this one for the local sandbox, else ``python3``."""
    return sys.executable if type(sandbox).__name__ == "LocalSandboxEnvironment" else "python3"


def _rows(matrix: np.ndarray) -> list[list[float]]:
    return np.asarray(matrix, dtype=float).tolist()


async def run_program(
    sandbox: SandboxEnvironment,
    program: str,
    spec: TaskSpec,
    predict: dict[str, np.ndarray],
    fit: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
    limits: Limits | None = None,
    shape: str = "auto",
) -> RunResult:
    """Run a submission in a sandbox and return its validated predictions.

    Parameters
    ----------
    sandbox : SandboxEnvironment
    program : str
        Source of the submission (either shape of the benchmark).
    spec : TaskSpec
    predict : dict of str to ndarray
        ``{group: X}`` with X of shape ``(n, F)``: the points to predict.
    fit : dict of str to (ndarray, ndarray), optional
        ``{group: (X, Y)}`` training rows, used by the fit-and-predict shape.
    limits : Limits, optional
    shape : {"auto", "law", "fit_predict"}

    Returns
    -------
    RunResult
    """
    limits = limits or Limits()
    folder = f"{SANDBOX_WORKDIR}/run-{secrets.token_hex(6)}"
    request = {
        "program": f"{folder}/program.py",
        "shape": shape,
        "features": list(spec.features),
        "targets": list(spec.targets),
        "fit": {g: {"X": _rows(x), "y": _rows(y)} for g, (x, y) in (fit or {}).items()},
        "predict": {g: _rows(x) for g, x in predict.items()},
        "timeout": limits.timeout,
        "limits": limits.as_request(),
    }
    nonce = secrets.token_hex(16)
    await sandbox.write_file(f"{folder}/runner.py", RUNNER_SOURCE)
    await sandbox.write_file(f"{folder}/program.py", program)
    await sandbox.write_file(f"{folder}/request.json", json.dumps(request))
    try:
        completed = await sandbox.exec(
            [sandbox_python(sandbox), f"{folder}/runner.py", f"{folder}/request.json"],
            input=nonce + "\n",
            timeout=int(limits.timeout + HOST_TIMEOUT_MARGIN),
        )
    except TimeoutError:
        return RunResult(ok=False, kind="timeout", error=f"the runner did not answer within {limits.timeout:g} s")
    finally:
        await sandbox.exec(["rm", "-rf", folder], timeout=60)
    return _parse_reply(completed.stdout, completed.stderr, nonce, spec, predict)


def _parse_reply(stdout: str, stderr: str, nonce: str, spec: TaskSpec, predict: dict[str, np.ndarray]) -> RunResult:
    reply = None
    for line in reversed(stdout.splitlines()):
        try:
            candidate = json.loads(line)
        except ValueError:
            continue
        if isinstance(candidate, dict) and candidate.get("nonce") == nonce:
            reply = candidate
            break
    if reply is None:
        return RunResult(
            ok=False, kind="runner", error="the runner gave no valid reply", detail=(stderr or stdout)[-4000:]
        )
    detail = "\n".join(part for part in (reply.get("traceback", ""), reply.get("output", "")) if part)
    common = dict(
        shape=reply.get("shape", ""),
        param_counts=reply.get("param_counts", {}),
        seconds=float(reply.get("seconds", 0.0)),
        fit_seconds=float(reply.get("fit_seconds", 0.0)),
        detail=detail,
    )
    if not reply.get("ok"):
        return RunResult(ok=False, kind=reply.get("kind", "exception"), error=reply.get("error", "failed"), **common)
    predictions = {}
    raw = reply.get("predictions", {})
    for group, points in predict.items():
        if group not in raw:
            return RunResult(ok=False, kind="bad_output", error=f"no predictions for group {group!r}", **common)
        try:
            predictions[group] = as_prediction_matrix(raw[group], len(points), len(spec.targets))
        except PredictionError as err:
            return RunResult(ok=False, kind="bad_output", error=f"group {group!r}: {err}", **common)
    return RunResult(ok=True, predictions=predictions, **common)


async def fit_and_predict(sandbox: SandboxEnvironment, program: str, train, points, timeout: float, shape: str = "auto") -> RunResult:
    """Run a submission fitted on ``train`` (fit-and-predict shape) on every group of ``points``.

    Parameters
    ----------
    train, points : sldbench.data.Split
        Rows to fit on, and rows whose features are predicted (their targets stay on the host).
    timeout : float
        Wall seconds for the run.
    shape : {"auto", "law", "fit_predict"}
    """
    return await run_program(
        sandbox,
        program,
        train.spec,
        predict={g: points.arrays(g)[0] for g in points.groups},
        fit={g: train.arrays(g) for g in train.groups},
        limits=Limits(timeout=timeout),
        shape=shape,
    )
