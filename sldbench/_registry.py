"""Everything Inspect should find under the ``sldbench/`` namespace (loaded through the entry point)."""

# ruff: noqa: F401
from .scorer import heldout_r2
from .solvers import file, human
from .tasks import d_constrain, domain_mix, lr_bsz, moe, parallel, sft, u_shape, vocab
