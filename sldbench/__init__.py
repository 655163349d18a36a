"""SLDBench: scaling-law discovery as Inspect AI tasks.

See `sldbench.tasks` for the eight tasks, `sldbench.scorer` for the held-out
R^2 scorer and `sldbench.solvers` for the solvers.
"""

from .specs import TASKS, TaskSpec, get_spec
from .tasks import custom, d_constrain, domain_mix, lr_bsz, moe, parallel, sft, sldbench, u_shape, vocab

__all__ = [
    "TASKS", "TaskSpec", "get_spec",
    "sldbench", "parallel", "vocab", "sft", "domain_mix", "moe", "d_constrain", "lr_bsz", "u_shape", "custom",
]  # fmt: skip
