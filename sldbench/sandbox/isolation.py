"""How a run of a submission on this machine is isolated: the policies of the local sandbox and the runner's command.

A local run (of ``sldbench-local``, or of Inspect's plain ``local`` sandbox, treated as ``auto``)
starts as ``env -i`` with `runner_environment` and, when bubblewrap works here and the policy
allows it, under bubblewrap (`command`). `resolve` says what a policy gets on this machine:
``bubblewrap`` or ``rlimits-only``. The sandbox provider is `sldbench.sandbox.local`; the host
side of a run (`sldbench.sandbox.host`) asks this module, not the provider.
"""

from __future__ import annotations

import os
from logging import getLogger

from inspect_ai.util._sandbox.local import LocalSandboxEnvironment  # inspect-evals-lint: ignore[private_api_imports] -- Inspect's local sandbox class is not exported; sldbench-local extends it

from . import bubblewrap
from .errors import prerequisite_error
from .runner import THREAD_VARS

POLICIES = ("auto", "required", "rlimits")
BUBBLEWRAP = "bubblewrap"
RLIMITS_ONLY = "rlimits-only"
# Variables a runner keeps: its thread settings, and OpenBLAS settings some machines need for
# correct results (older OpenBLAS builds compute wrong values on some processors without them).
PASSED_VARIABLES = (*THREAD_VARS, "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
RUNNER_PATH = "/usr/local/bin:/usr/bin:/bin"
logger = getLogger(__name__)


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
