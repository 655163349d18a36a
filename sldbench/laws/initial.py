"""SLDAgent's initial program as a law: per target, a sum of power laws of the raw features plus a bias.

`INITIAL_PROGRAM` (`sldbench.laws.program`) fits ``y = b + sum_f c_f x_f^a_f`` per target, its
vector ``[c_1..c_F, a_1..a_F, b]`` per target. A search that ends on it (no candidate did better)
still shows its law in words, not "a program of its own".
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass
from typing import Sequence

from .program import INITIAL_PROGRAM


@dataclass(frozen=True)
class InitialLaw:
    """The initial program's law (a `sldbench.laws.Law`)."""

    def describe(self, features: Sequence[str], targets: Sequence[str]) -> str:
        terms = " + ".join(f"c{i} * {name}^a{i}" for i, name in enumerate(features, start=1))
        return "\n".join(f"{target} = b + {terms}" for target in targets)

    def constant_names(self, targets: Sequence[str]) -> list[str] | None:
        return None  # its vector's layout depends on the feature count: per target c1..cF, a1..aF, b

    def natural_constants(self, values: Sequence[float], targets: Sequence[str]) -> dict[str, float]:
        return {}


@functools.cache
def _initial_code() -> str:
    return ast.dump(ast.parse(INITIAL_PROGRAM))


def read(tree: ast.Module) -> InitialLaw | None:
    """The initial program's law when the parsed program is that program (comments and layout aside), else None."""
    return InitialLaw() if ast.dump(tree) == _initial_code() else None
