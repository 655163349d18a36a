"""Inspect solvers of SLDBench: the expert laws and file submissions."""

from .file import file
from .human import human

__all__ = ["file", "human"]
