"""Inspect solvers of SLDBench: SLDAgent, its best-of-N baseline, the expert laws, file submissions and symbolic regression."""

from .file import file
from .human import human
from .sldagent import best_of_n, sldagent
from .symreg import symreg

__all__ = ["best_of_n", "file", "human", "sldagent", "symreg"]
