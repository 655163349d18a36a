"""Scaling-law discovery without a language model: law forms, their fitter, extrapolation scoring and search.

`SymbolicProposer` plugs into SLDAgent's evolution loop (``-S proposer=symbolic``);
`sldbench/symreg` is plain symbolic regression with a maintained engine.
"""

from ..laws.terms import Form, Term, program, read_form
from .proposer import SymbolicProposer
from .search import LawSearch
from .validation import extrapolation_split, holdout_evaluator, validation_r2

__all__ = ["Form", "LawSearch", "SymbolicProposer", "Term", "extrapolation_split", "holdout_evaluator", "program", "read_form", "validation_r2"]
