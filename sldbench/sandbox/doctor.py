"""``sldbench doctor``: which isolation each sandbox gives on this machine, and how to get more.

Each available sandbox also runs its self-test (`sldbench.sandbox.probe`), the
check every task starts with: a known law through the real path, exactly.
"""

from __future__ import annotations

import asyncio
import importlib.util
import shutil
from dataclasses import dataclass

from . import bubblewrap
from .docker import DEFAULT_IMAGE, DockerSandboxConfig, DockerSandboxEnvironment, docker_client, engine_problem
from .errors import PrerequisiteError
from .isolation import BUBBLEWRAP, RLIMITS_ONLY
from .local import prove_policy

FAILED = "failed"


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
    self_test : str
        What the sandbox's self-test saw: a known law scored exactly (and the guards its
        workers ran under), or why not; "" where the sandbox is unavailable.
    """

    sandbox: str
    isolation: str
    detail: str
    fix: str = ""
    self_test: str = ""


def _self_test(prove) -> tuple[bool, str]:
    """Run one sandbox's self-test; (passed, what it saw)."""
    try:
        result = asyncio.run(prove)
    except PrerequisiteError as err:
        return False, str(err)
    return True, f"passed: a known law scored exactly ({result.isolation}; workers under {result.write_guard})"


def local() -> Finding:
    problem = bubblewrap.problem()
    passed, seen = _self_test(prove_policy("auto"))
    if not passed:
        return Finding("local", FAILED, f"the self-test failed: {seen}", "see the message; -T sandbox=docker runs elsewhere", seen)
    if problem is None:
        return Finding(
            "local", BUBBLEWRAP,
            f"{bubblewrap.version() or 'bubblewrap'} ({bubblewrap.executable()}): own namespaces (a PID namespace per worker), no capabilities for a submission, no network, "
            "a cleared environment, a read-only view of /usr and the interpreter, the job's folder the only writable one",
            self_test=seen,
        )  # fmt: skip
    return Finding(
        "local", RLIMITS_ONLY,
        f"{problem}: CPU, memory, file-size and process limits and a cleared environment only; a submission can read what you can",
        f"{bubblewrap.INSTALL_HINT} (Debian/Ubuntu), or use -T sandbox=docker", seen,
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
    passed, seen = _self_test(DockerSandboxEnvironment.prove("doctor", DockerSandboxConfig()))
    if not passed:
        return Finding("docker", FAILED, f"the self-test failed: {seen}", "docker/build.sh scoring rebuilds the image", seen)
    return Finding(
        "docker", "container",
        f"engine {version}, image {DEFAULT_IMAGE}: no network, a read-only root, uid 1000 without capabilities, "
        "memory, CPU and process limits for the whole container",
        self_test=seen,
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
