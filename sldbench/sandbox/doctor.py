"""``sldbench doctor``: which isolation each sandbox gives on this machine, and how to get more."""

from __future__ import annotations

import importlib.util
import shutil
from dataclasses import dataclass

from . import bubblewrap
from .docker import DEFAULT_IMAGE, docker_client, engine_problem
from .local import BUBBLEWRAP, RLIMITS_ONLY


@dataclass(frozen=True)
class Finding:
    """What one sandbox gives here.

    Attributes
    ----------
    sandbox : str
        The ``-T sandbox=`` value.
    isolation : str
        What a submission runs under there (``bubblewrap``, ``rlimits-only``,
        ``container``), or ``unavailable``.
    detail : str
        What that means, or what is missing.
    fix : str
        How to get more isolation ("" when nothing is missing).
    """

    sandbox: str
    isolation: str
    detail: str
    fix: str = ""


def local() -> Finding:
    problem = bubblewrap.problem()
    if problem is None:
        return Finding(
            "local", BUBBLEWRAP,
            f"{bubblewrap.version() or 'bubblewrap'} ({bubblewrap.executable()}): own namespaces, no network, "
            "a cleared environment, a read-only view of /usr and the interpreter, the job's folder the only writable one",
        )  # fmt: skip
    return Finding(
        "local", RLIMITS_ONLY,
        f"{problem}: CPU, memory, file-size and process limits and a cleared environment only; a submission can read what you can",
        f"{bubblewrap.INSTALL_HINT} (Debian/Ubuntu), or use -T sandbox=docker",
    )  # fmt: skip


def docker() -> Finding:
    problem = engine_problem()
    if problem is not None:
        return Finding("docker", "unavailable", problem, "docker/engine.sh (as root), then docker/build.sh scoring")
    client = docker_client()
    version = client.version().get("Version", "?")
    images = {tag.split(":")[0] for image in client.images.list() for tag in image.tags}
    if DEFAULT_IMAGE not in images:
        return Finding("docker", "unavailable", f"engine {version} answers, but the image {DEFAULT_IMAGE} is missing", "docker/build.sh scoring")
    return Finding(
        "docker", "container",
        f"engine {version}, image {DEFAULT_IMAGE}: no network, a read-only root, uid 1000 without capabilities, "
        "memory, CPU and process limits for the whole container",
    )  # fmt: skip


def k8s() -> Finding:
    if importlib.util.find_spec("k8s_sandbox") is None:
        return Finding("k8s", "unavailable", "Inspect's Kubernetes provider is not installed", "pip install 'sldbench[k8s]'")
    missing = [tool for tool in ("helm", "kubectl") if shutil.which(tool) is None]
    if missing:
        return Finding("k8s", "unavailable", f"the provider is installed, but {' and '.join(missing)} not on PATH", "install helm >= 3.13 and kubectl, and point them at a cluster")
    return Finding("k8s", "container", "pods with docker/k8s-values.yaml: no egress, a read-only root, a non-root user, CPU and memory limits")


def findings() -> list[Finding]:
    """One `Finding` per sandbox: local, docker, k8s."""
    return [local(), docker(), k8s()]
