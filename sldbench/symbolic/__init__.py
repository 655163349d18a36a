"""Scaling-law discovery without a language model: law forms, their fitter, extrapolation scoring and search.

`SymbolicProposer` plugs into SLDAgent's evolution loop (``-S proposer=symbolic``);
`sldbench/symreg` is plain symbolic regression with a maintained engine.
"""

from .proposer import SymbolicProposer
from .search import LawSearch
from .validation import validation_r2

__all__ = ["LawSearch", "SymbolicProposer", "validation_r2"]
