"""What ``-T sandbox=...`` means for an SLDBench task.

==================  ==========================================================================
``local``           ``sldbench-local``: commands run on this machine; submissions run under
                    bubblewrap where it works (``-T isolation=``, see `sldbench.sandbox.local`)
``docker``          ``sldbench-docker``: a locked-down container per sample, image
                    ``sldbench-agents`` where it is built (``docker/build.sh agents``: the
                    scoring image plus the agent CLIs), else ``sldbench-scoring``
                    (``docker/build.sh scoring``)
``docker:IMAGE``    the same with another image
``k8s``             Inspect's Kubernetes sandbox (``pip install 'sldbench[k8s]'``) with
                    ``docker/k8s-values.yaml``
``k8s:agents``      the same pods with the agents image (``docker/k8s-agents-values.yaml``)
``k8s:VALUES``      the same with another Helm values file
anything else       passed to Inspect unchanged (another provider's type name)
==================  ==========================================================================

Inspect's own ``docker`` type needs Docker Compose v2; ``docker`` here selects the
``sldbench-docker`` provider, which needs only a Docker engine. A missing prerequisite
(the ``docker`` or ``k8s`` extra, an engine, an image, bubblewrap with
``isolation=required``) ends the run with one line that names the fix.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from inspect_ai.util import SandboxEnvironmentSpec

from .docker import SANDBOX_TYPE as DOCKER_TYPE
from .docker import DockerSandboxConfig, default_image
from .errors import prerequisite_error
from .isolation import POLICIES
from .local import LocalSandboxConfig
from .local import SANDBOX_TYPE as LOCAL_TYPE

IMAGES_DIR = Path(__file__).resolve().parents[2] / "docker"
K8S_VALUES = IMAGES_DIR / "k8s-values.yaml"
K8S_AGENTS_VALUES = IMAGES_DIR / "k8s-agents-values.yaml"  # -T sandbox=k8s:agents
K8S_TYPE = "k8s"


def sandbox_spec(sandbox: str, isolation: str = "auto") -> SandboxEnvironmentSpec:
    """Turn a task's ``sandbox`` and ``isolation`` arguments into the spec Inspect runs.

    Parameters
    ----------
    sandbox : str
        ``local``, ``docker``, ``docker:IMAGE``, ``k8s``, ``k8s:VALUES.yaml`` or another
        provider's type name.
    isolation : {"auto", "required", "rlimits"}
        The local sandbox's policy (`sldbench.sandbox.local`); a container always isolates,
        so there only ``rlimits`` is refused.

    Returns
    -------
    SandboxEnvironmentSpec

    Raises
    ------
    ValueError
        When an argument is empty or unknown, or a values file is missing.
    PrerequisiteError
        When the provider's Python package is not installed (the message names the extra).
    """
    if not isinstance(sandbox, str) or not sandbox.strip():
        raise ValueError(f"-T sandbox: expected local, docker[:IMAGE] or k8s[:VALUES.yaml], got {sandbox!r}")
    if isolation not in POLICIES:
        raise ValueError(f"-T isolation: expected one of {', '.join(POLICIES)}, got {isolation!r}")
    kind, _, option = sandbox.strip().partition(":")
    if kind == "local" and not option:
        return SandboxEnvironmentSpec(LOCAL_TYPE, LocalSandboxConfig(isolation=isolation))
    if isolation == "rlimits":
        raise ValueError(f"-T isolation=rlimits turns off the local sandbox's bubblewrap; the {kind} sandbox has no such mode")
    if kind == "docker":
        _require("docker", "the docker sandbox needs the docker package: pip install 'sldbench[docker]' (and an engine: docker/engine.sh)")
        config = DockerSandboxConfig(image=option or default_image())
        return SandboxEnvironmentSpec(DOCKER_TYPE, config)
    if kind == K8S_TYPE:
        _require("k8s_sandbox", "the k8s sandbox needs Inspect's Kubernetes provider: pip install 'sldbench[k8s]'")
        values = {"": K8S_VALUES, "agents": K8S_AGENTS_VALUES}.get(option) or Path(option).expanduser().resolve()
        if not values.is_file():
            raise ValueError(
                f"-T sandbox={sandbox}: no Helm values file at {values}"
                + ("" if option not in ("", "agents") else " (it ships in the source checkout; pass -T sandbox=k8s:VALUES.yaml)")
            )
        return SandboxEnvironmentSpec(K8S_TYPE, str(values))
    return SandboxEnvironmentSpec(sandbox.strip())


def _require(module: str, message: str) -> None:
    try:
        importlib.import_module(module)
    except ImportError:
        raise prerequisite_error(message) from None
