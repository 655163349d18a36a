"""SLDBench: scaling-law discovery as Inspect AI tasks.

See `sldbench.tasks` for the eight tasks, `sldbench.scorer` for the held-out
R^2 scorer and `sldbench.solvers` for the solvers.
"""

from .specs import TASKS, TaskSpec, get_spec

__all__ = ["TASKS", "TaskSpec", "get_spec"]
