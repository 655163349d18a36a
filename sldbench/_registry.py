"""Everything Inspect should find under the ``sldbench/`` namespace (loaded through the entry point)."""

# ruff: noqa: F401
# Inspect 0.3.285 exports no public way to register one object under a second name.
from inspect_ai._util.registry import _registry, registry_key  # inspect-evals-lint: ignore[private_api_imports] -- no public alias API

from .agents import aider, claude_code, codex, gemini_cli, goose, mini_swe_agent, opencode, openhands, terminus_2
from .sandbox.docker import DockerSandboxEnvironment
from .sandbox.local import IsolatedLocalSandbox
from .providers import scripted
from .scorer import heldout_r2
from .show import LawSummary
from .solvers import best_of_n, file, human, sldagent, symreg
from .tasks import custom, d_constrain, domain_mix, lr_bsz, moe, parallel, sft, sldbench, u_shape, vocab

# `--solver sldagent` (bare) is looked up as "sldagent": register the same object under that key
# too, so the logs still name it sldbench/sldagent. Pinned by tests/test_sldagent.py.
BARE_ALIASES = {("solver", "sldagent"): sldagent}
for (kind, name), target in BARE_ALIASES.items():
    _registry.setdefault(registry_key(kind, name), target)
