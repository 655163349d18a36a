"""Where the scorer runs a law: a sandbox nothing else has touched.

A sample's own sandbox is where the solver ran: an agent's shell, its files, any
process it left behind (``setsid nohup ...``), SLDAgent's warm runner. The scorer
reads the submission from there as bytes on the host, then runs it in a sandbox
of the same kind made for this one score (`scoring_sandbox`):

=====================  ==============================================================
sample's sandbox       where the score is computed
=====================  ==============================================================
``sldbench-local``     a new local sandbox: its own empty folder, a new bubblewrap
                       instance (own ``/tmp``, namespaces), the same isolation policy
``sldbench-docker``    a new container of the same image and limits, removed after
any other kind (k8s)   the sample's own sandbox (no fresh one can be made from here),
                       once it has scored a known law exactly (`sldbench.sandbox.probe`);
                       the score's metadata says so
=====================  ==============================================================
"""

from __future__ import annotations

import contextlib
from typing import AsyncIterator

from inspect_ai.util import SandboxEnvironment

from .host import docker_container, local_sandbox
from .isolation import policy_of
from .local import IsolatedLocalSandbox
from .probe import prove

FRESH = "fresh"
SAMPLE_OWN = "the sample's own"
SCORING_TASK = "scoring"


@contextlib.asynccontextmanager
async def scoring_sandbox(sample: SandboxEnvironment) -> AsyncIterator[tuple[SandboxEnvironment, str]]:
    """A sandbox of the same kind as ``sample`` that nothing else has touched, removed after the block.

    Parameters
    ----------
    sample : SandboxEnvironment
        The sample's sandbox (where the solver ran).

    Yields
    ------
    (SandboxEnvironment, str)
        The sandbox to score in, and `FRESH` or `SAMPLE_OWN` (for the score's metadata).
    """
    on_this_machine = local_sandbox(sample)
    if on_this_machine is not None:
        fresh = IsolatedLocalSandbox(policy_of(on_this_machine))
        try:
            yield fresh, FRESH
        finally:
            fresh.directory.cleanup()
        return
    container = docker_container(sample)
    if container is None:  # no sandbox of this kind can be made from here: the sample's proves itself first
        await prove(sample, "Check the sandbox's image (it needs python3 with numpy) and sldbench doctor")
        yield sample, SAMPLE_OWN
        return
    environments = await type(container).sample_init(SCORING_TASK, container.config, {})
    try:
        yield environments["default"], FRESH
    finally:
        await type(container).sample_cleanup(SCORING_TASK, container.config, environments, False)

