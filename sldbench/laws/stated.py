"""A law a program states in words: the ``TARGET = ...`` lines of its docstring.

Programs of the Operon and grammar kinds write their law this way, and so may any program (an
SLDAgent candidate, a spec's ``law:`` file). `StatedLaw` describes such a program by those lines
(and its first ``with X1 = ...`` line, naming the variables); it knows no constant names.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Sequence



def docstring_in(tree: ast.Module) -> str:
    """The docstring of a parsed program: its first module-level string ("" when it has none)."""
    for node in tree.body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            return node.value.value
    return ""


@dataclass(frozen=True)
class StatedLaw:
    """The law a program's docstring states (a `sldbench.laws.Law` without constant names)."""

    text: str  # the docstring

    def describe(self, features: Sequence[str], targets: Sequence[str]) -> str:
        """The docstring's lines that define a target, and its first ``with X1 = ...`` line; "" when none does."""
        lines = [line.strip() for line in self.text.splitlines() if line.strip().startswith(tuple(f"{t} =" for t in targets))]
        variables = [line.strip() for line in self.text.splitlines() if line.strip().startswith("with X1 =")]
        return "\n".join(lines + variables[:1]) if lines else ""

    def constant_names(self, targets: Sequence[str]) -> list[str] | None:
        return None

    def natural_constants(self, values: Sequence[float], targets: Sequence[str]) -> dict[str, float]:
        return {}


def read(tree: ast.Module) -> StatedLaw | None:
    """The law a parsed program's docstring states, or None when it has no docstring."""
    text = docstring_in(tree)
    return StatedLaw(text) if text else None
