"""A sandbox proves itself before it is trusted: one known law through the real path, exactly.

`prove` runs `PROBE_PROGRAM` (a straight line, fitted and predicted in separate
workers, under every guard) in a sandbox through `sldbench.sandbox.host.run_program`,
the path every score takes, and checks what comes back against what the host
computes itself: the predictions to 1e-9, the shape, the parameter count. A
sandbox that cannot do that (a runner that cannot start, an interpreter its view
does not hold, a guard that fails) would turn every submission into a -1; the run
stops instead, with the cause and the fix (`SandboxProbeError`).

Where it runs: at the start of every task in the ``sldbench-local`` and
``sldbench-docker`` sandboxes (their ``task_init``), at the start of
``sldbench score`` and ``sldbench discover``, and in ``sldbench doctor``, which
says what it saw.
"""

from __future__ import annotations

import numpy as np
from inspect_ai.util import SandboxEnvironment

from ..specs import TaskSpec
from .errors import HarnessError
from .host import Limits, RunResult, run_program

PROBE_PROGRAM = '''
import numpy as np

def fit_scaling_law(data_points, loss_values):
    x = np.asarray(data_points, dtype=float)[:, 0]
    return np.polyfit(x, np.asarray(loss_values, dtype=float), 1)

def scaling_law_func(data_points, params):
    return np.polyval(params, np.asarray(data_points, dtype=float)[:, 0])
'''
PROBE_SPEC = TaskSpec(
    name="sandbox_probe", config="sandbox_probe", features=("x",), targets=("y",), param_limit=2,
    description="the sandbox's self-test: a straight line", group=None,
)  # fmt: skip
PROBE_GROUP = "probe"
PROBE_TOLERANCE = 1e-9
PROBE_TIMEOUT = 120.0  # a loaded machine may take seconds to import numpy twice


class SandboxProbeError(HarnessError):
    """The sandbox did not score the known law exactly; the message names the cause and the fix."""


def _probe_points() -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray, np.ndarray]:
    x_train = np.arange(1.0, 9.0).reshape(-1, 1)
    x_test = np.array([[10.0], [12.0], [20.0]])
    return (x_train, 2.5 * x_train + 0.75), x_test, 2.5 * x_test[:, 0] + 0.75


async def prove(sandbox: SandboxEnvironment, fix: str) -> RunResult:
    """Score the known law in ``sandbox`` through the real path; return the run, or raise with the cause.

    Parameters
    ----------
    sandbox : SandboxEnvironment
        The sandbox to check (a sample's, or one made for the check).
    fix : str
        What the user can do when it fails, for the message (it depends on the sandbox).

    Returns
    -------
    RunResult
        The probe's run: its ``isolation`` and ``write_guard`` say what a submission gets.

    Raises
    ------
    SandboxProbeError
        When the runner fails or the predictions, shape or parameter count are not exact.
    """
    train, x_test, expected = _probe_points()
    try:
        result = await run_program(
            sandbox, PROBE_PROGRAM, PROBE_SPEC, predict={PROBE_GROUP: x_test}, fit={PROBE_GROUP: train},
            limits=Limits(timeout=PROBE_TIMEOUT), shape="fit_predict",
        )  # fmt: skip
    except HarnessError as err:
        raise SandboxProbeError(f"the sandbox failed its self-test (a known law through the real path): {err}. {fix}") from err
    problem = _problem(result, expected)
    if problem:
        raise SandboxProbeError(f"the sandbox failed its self-test (a known law through the real path): {problem}. {fix}")
    return result


def _problem(result: RunResult, expected: np.ndarray) -> str:
    """Why ``result`` is not the probe's exact answer, or ""."""
    if not result.ok:
        return f"the known law failed: {result.kind}: {result.error}"
    if result.shape != "fit_predict" or result.param_counts != {PROBE_GROUP: 2}:
        return f"expected a fit-and-predict run with 2 parameters, got shape {result.shape!r} and counts {result.param_counts}"
    got = result.predictions[PROBE_GROUP][:, 0]
    if not np.allclose(got, expected, rtol=0, atol=PROBE_TOLERANCE):
        return f"predicted {got.tolist()} where the law gives {expected.tolist()}"
    return ""
