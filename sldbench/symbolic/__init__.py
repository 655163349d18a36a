"""How laws are found without a language model; the laws themselves are `sldbench.laws`.

- `grammar`: the grammar's families enumerated by giving features roles, fitted on train
  folds and ranked (`GrammarSearch`);
- `search`: the law search over forms of terms (`LawSearch`);
- `operon`: plain symbolic regression with Operon;
- `guards`: the guard rails that decide what may be submitted;
- `validation`: scoring on test-shaped folds of the train split;
- `proposer`: `SymbolicProposer`, which plugs all of it into SLDAgent's evolution loop
  (``-S proposer=symbolic``); ``sldbench/symreg`` is plain symbolic regression.

This package imports `sldbench.laws`; nothing there imports it.
"""

from .proposer import SymbolicProposer
from .search import LawSearch
from .validation import validation_r2

__all__ = ["LawSearch", "SymbolicProposer", "validation_r2"]
