"""SLDBench: scaling-law discovery as Inspect AI tasks.

See `sldbench.tasks` for the eight tasks, `sldbench.scorer` for the held-out
R^2 scorer and `sldbench.solvers` for the solvers. The tasks are imported when
first asked for (``from sldbench import moe``), so a command that needs no task
(``sldbench --help``, a validation error) does not pay for importing Inspect.
"""

from __future__ import annotations

import importlib

from .specs import TASKS, TaskSpec, get_spec

_TASKS = ("sldbench", "parallel", "vocab", "sft", "domain_mix", "moe", "d_constrain", "lr_bsz", "u_shape", "custom")

__all__ = ["TASKS", "TaskSpec", "get_spec", *_TASKS]


def __getattr__(name: str):
    if name in _TASKS:
        return getattr(importlib.import_module(".tasks", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
