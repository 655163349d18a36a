"""The ``sldbench-local`` sandbox: Inspect's local sandbox, with every submission run under bubblewrap.

``-T sandbox=local`` selects it. Commands of a solver run on this machine as in
Inspect's own ``local`` sandbox; what a submission runs (the scorer's run, every
SLDAgent candidate) goes through the runner, which starts under bubblewrap
(`sldbench.sandbox.bubblewrap`) whenever bubblewrap works here. The isolation
policy is the task argument ``-T isolation=``:

============  =====================================================================
``auto``      bubblewrap when it works here; otherwise rlimits only, with a warning
``required``  bubblewrap or nothing: the task fails at start with the fix
``rlimits``   no bubblewrap (an explicit choice, for debugging or timing)
============  =====================================================================

Without bubblewrap the runner still runs under resource limits (CPU, memory,
file size, processes), with a cleared environment and a wall timeout that kills
its process tree, but it can read and write what you can. Score metadata and
logs name the isolation a run had: ``bubblewrap`` or ``rlimits-only``.
A plain Inspect ``local`` sandbox is treated as ``auto``.
"""

from __future__ import annotations

import os
from logging import getLogger
from typing import Any, Literal

from inspect_ai.util import SandboxEnvironment, SandboxEnvironmentConfigType, sandboxenv
from inspect_ai.util._sandbox.local import LocalSandboxEnvironment  # inspect-evals-lint: ignore[private_api_imports] -- Inspect's local sandbox class is not exported; sldbench-local extends it
from pydantic import BaseModel

from . import bubblewrap
from .errors import prerequisite_error

SANDBOX_TYPE = "sldbench-local"
POLICIES = ("auto", "required", "rlimits")
BUBBLEWRAP = "bubblewrap"
RLIMITS_ONLY = "rlimits-only"
# Variables a runner keeps: its thread settings, and OpenBLAS settings some machines need for
# correct results (older OpenBLAS builds compute wrong values on some processors without them).
PASSED_VARIABLES = (
    "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
    "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
)  # fmt: skip
RUNNER_PATH = "/usr/local/bin:/usr/bin:/bin"
logger = getLogger(__name__)


class LocalSandboxConfig(BaseModel, frozen=True):
    """Configuration of ``sldbench-local``.

    Attributes
    ----------
    isolation : {"auto", "required", "rlimits"}
        See the module docstring.
    """

    isolation: Literal["auto", "required", "rlimits"] = "auto"


def _config(config: SandboxEnvironmentConfigType | None) -> LocalSandboxConfig:
    if config is None:
        return LocalSandboxConfig()
    if isinstance(config, LocalSandboxConfig):
        return config
    if isinstance(config, BaseModel):
        return LocalSandboxConfig.model_validate(config.model_dump())
    raise ValueError(f"{SANDBOX_TYPE}: expected a LocalSandboxConfig, got {config!r}")


def required_message(problem: str) -> str:
    """The one-line error of ``isolation=required`` on a machine where bubblewrap does not work."""
    return (
        f"-T isolation=required: {problem}. Install it ({bubblewrap.INSTALL_HINT}), run in a container "
        "(-T sandbox=docker; docker/engine.sh, docker/build.sh scoring), or drop isolation=required."
    )


_warned = False


def _warn_once(problem: str) -> None:
    global _warned
    if not _warned:
        _warned = True
        logger.warning(
            f"{problem}: submissions run with resource limits only (isolation: {RLIMITS_ONLY}); they can read "
            f"what you can. For isolation: {bubblewrap.INSTALL_HINT}, or -T sandbox=docker."
        )


@sandboxenv(name=SANDBOX_TYPE)
class IsolatedLocalSandbox(LocalSandboxEnvironment):
    """Inspect's local sandbox that runs submissions under bubblewrap (see the module docstring)."""

    def __init__(self, policy: str = "auto") -> None:
        super().__init__()
        if policy not in POLICIES:
            raise ValueError(f"isolation must be one of {', '.join(POLICIES)}, got {policy!r}")
        self.policy = policy

    @classmethod
    def config_deserialize(cls, config: dict[str, Any]) -> BaseModel:
        return LocalSandboxConfig(**config)

    @classmethod
    async def task_init(cls, task_name: str, config: SandboxEnvironmentConfigType | None) -> None:
        # fails now, not at the first run: when bubblewrap is required and missing, or a known law does not score exactly
        await prove_policy(_config(config).isolation)

    @classmethod
    async def sample_init(
        cls, task_name: str, config: SandboxEnvironmentConfigType | None, metadata: dict[str, str]
    ) -> dict[str, SandboxEnvironment]:
        return {"default": cls(_config(config).isolation)}


def policy_of(sandbox: LocalSandboxEnvironment) -> str:
    """The isolation policy of a local sandbox (a plain Inspect ``local`` sandbox: ``auto``)."""
    return getattr(sandbox, "policy", "auto")


def isolation(sandbox: LocalSandboxEnvironment) -> str:
    """What a run in this local sandbox gets: ``bubblewrap`` or ``rlimits-only`` (see `resolve`)."""
    return resolve(policy_of(sandbox))


def resolve(policy: str) -> str:
    """What a run gets under ``policy`` on this machine: ``bubblewrap`` or ``rlimits-only`` (``auto`` warns once).

    Raises
    ------
    PrerequisiteError
        With policy ``required`` on a machine where bubblewrap does not work.
    """
    if policy == "rlimits":
        return RLIMITS_ONLY
    problem = bubblewrap.problem()
    if problem is None:
        return BUBBLEWRAP
    if policy == "required":
        raise prerequisite_error(required_message(problem))
    _warn_once(problem)
    return RLIMITS_ONLY


async def prove_policy(policy: str):
    """Score a known law in a fresh local sandbox under ``policy`` (`sldbench.sandbox.probe.prove`).

    Parameters
    ----------
    policy : {"auto", "required", "rlimits"}

    Returns
    -------
    RunResult
        The probe's run (its isolation and guards).

    Raises
    ------
    PrerequisiteError
        When bubblewrap is required and does not work, or the known law does not score
        exactly; one line with the cause and the fix.
    """
    from .probe import SandboxProbeError, prove

    mode = resolve(policy)
    fix = (
        "Run sldbench doctor for what this machine gives; -T isolation=rlimits (--isolation rlimits) runs without "
        "bubblewrap, with no isolation of files" if mode == BUBBLEWRAP else "Run sldbench doctor for what this machine gives"
    )
    sandbox = IsolatedLocalSandbox(policy)
    try:
        return await prove(sandbox, fix)
    except SandboxProbeError as err:
        raise prerequisite_error(f"{SANDBOX_TYPE} ({mode}): {err}") from err
    finally:
        sandbox.directory.cleanup()


def runner_environment(workdir: str) -> dict[str, str]:
    """The whole environment of a runner, with or without bubblewrap: nothing of the eval's own."""
    environment = {"PATH": RUNNER_PATH, "HOME": workdir, "LANG": "C.UTF-8"}
    environment.update({name: os.environ[name] for name in PASSED_VARIABLES if name in os.environ})
    return environment


def command(sandbox: LocalSandboxEnvironment, argv: list[str]) -> tuple[list[str], str]:
    """``argv`` as the local sandbox runs a submission's runner, and the isolation it gets.

    The command runs under ``env -i`` with `runner_environment`, so the eval's variables
    never reach it or anything it starts, and under bubblewrap (`bubblewrap.wrap`) when
    the sandbox's isolation is ``bubblewrap``.
    """
    workdir = os.path.realpath(sandbox.directory.name)
    mode, environment = isolation(sandbox), runner_environment(workdir)
    if mode == BUBBLEWRAP:
        argv = bubblewrap.wrap(argv, workdir, environment)
    # bubblewrap itself starts with a clean environment too: its monitor process (PID 1 in the
    # namespace) keeps the environment it was started with, and /proc/1/environ is readable inside
    return ["/usr/bin/env", "-i", *(f"{name}={value}" for name, value in environment.items()), *argv], mode
