"""Inspect solvers of SLDBench: SLDAgent, its best-of-N baseline, the expert laws and file submissions."""

from .file import file
from .human import human
from .sldagent import best_of_n, sldagent

__all__ = ["best_of_n", "file", "human", "sldagent"]
