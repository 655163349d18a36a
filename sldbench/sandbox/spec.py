"""What ``-T sandbox=...`` means for an SLDBench task.

==================  ==========================================================================
``local``           Inspect's local sandbox: commands run on this machine, no isolation
``docker``          ``sldbench-docker``: a locked-down container per sample, image
                    ``sldbench-scoring`` (build it with ``docker/build.sh scoring``)
``docker:IMAGE``    the same with another image
``k8s``             Inspect's Kubernetes sandbox (``pip install 'sldbench[k8s]'``) with
                    ``docker/k8s-values.yaml``
``k8s:VALUES``      the same with another Helm values file
anything else       passed to Inspect unchanged (another provider's type name)
==================  ==========================================================================

Inspect's own ``docker`` type needs Docker Compose v2; ``docker`` here selects the
``sldbench-docker`` provider, which needs only a Docker engine.
"""

from __future__ import annotations

from pathlib import Path

from inspect_ai.util import SandboxEnvironmentSpec

from .docker import SANDBOX_TYPE as DOCKER_TYPE
from .docker import DockerSandboxConfig

IMAGES_DIR = Path(__file__).resolve().parents[2] / "docker"
K8S_VALUES = IMAGES_DIR / "k8s-values.yaml"
K8S_TYPE = "k8s"


def sandbox_spec(sandbox: str) -> SandboxEnvironmentSpec:
    """Turn a task's ``sandbox`` argument into the spec Inspect runs.

    Parameters
    ----------
    sandbox : str
        ``local``, ``docker``, ``docker:IMAGE``, ``k8s``, ``k8s:VALUES.yaml`` or another
        provider's type name.

    Returns
    -------
    SandboxEnvironmentSpec

    Raises
    ------
    ValueError
        When the argument is empty, or a values file is missing.
    """
    if not isinstance(sandbox, str) or not sandbox.strip():
        raise ValueError(f"-T sandbox: expected local, docker[:IMAGE] or k8s[:VALUES.yaml], got {sandbox!r}")
    kind, _, option = sandbox.strip().partition(":")
    if kind == "docker":
        config = DockerSandboxConfig(image=option) if option else DockerSandboxConfig()
        return SandboxEnvironmentSpec(DOCKER_TYPE, config)
    if kind == K8S_TYPE:
        values = Path(option).expanduser().resolve() if option else K8S_VALUES
        if not values.is_file():
            raise ValueError(
                f"-T sandbox={sandbox}: no Helm values file at {values}"
                + ("" if option else " (it ships in the source checkout; pass -T sandbox=k8s:VALUES.yaml)")
            )
        return SandboxEnvironmentSpec(K8S_TYPE, str(values))
    return SandboxEnvironmentSpec(sandbox.strip())
