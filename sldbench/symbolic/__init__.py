"""How laws are found without a language model; the laws themselves are `sldbench.laws`.

- `grammar`: the grammar's families enumerated by giving features roles, fitted on train
  folds and ranked (`GrammarSearch`);
- `search`: the law search over forms of terms (`LawSearch`);
- `operon`: plain symbolic regression with Operon;
- `guards`: the guard rails that decide what may be submitted;
- `validation`: scoring on test-shaped folds of the train split;
- `workers`: `FitPool`, the worker processes that fit all of the above side by side;
- `proposer`: `SymbolicProposer`, which plugs all of it into SLDAgent's evolution loop
  (``-S proposer=symbolic``); ``sldbench/symreg`` is plain symbolic regression.

This package imports `sldbench.laws`; nothing there imports it. Its names are imported
when first asked for, so a worker process that fits laws does not import the evolution
loop and Inspect with them.
"""

from __future__ import annotations

import importlib

_HOMES = {"SymbolicProposer": ".proposer", "LawSearch": ".search", "validation_r2": ".validation"}

__all__ = ["LawSearch", "SymbolicProposer", "validation_r2"]


def __getattr__(name: str):
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
