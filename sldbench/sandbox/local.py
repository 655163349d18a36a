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

from typing import Any, Literal

from inspect_ai.util import SandboxEnvironment, SandboxEnvironmentConfigType, sandboxenv
from inspect_ai.util._sandbox.local import LocalSandboxEnvironment  # inspect-evals-lint: ignore[private_api_imports] -- Inspect's local sandbox class is not exported; sldbench-local extends it
from pydantic import BaseModel

from .errors import prerequisite_error
from .isolation import BUBBLEWRAP, POLICIES, resolve

SANDBOX_TYPE = "sldbench-local"


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


