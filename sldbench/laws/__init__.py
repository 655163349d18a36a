"""What a law is: one interface for every kind of law, and the one reader of laws from programs.

A law is one functional form with constants fitted per group, carried by a program (the format:
`sldbench.laws.program`). Every kind of law is a module of its own behind the `Law` protocol:

- `expert`: the paper's expert laws (`HumanLaw` objects; forms in `expert_forms`), and the
  programs that submit them with published or refitted constants;
- `literature`: the catalogue of published law families (Chinchilla, Kaplan, broken power
  laws, learning curves, data-constrained, effective sizes, moving optima, ...), each over
  roles a task's features are bound to; forms in `literature_forms`;
- `terms`: the law search's forms, ``head(b + sum_k c_k g_k(X; theta))``;
- `grammar`: the grammar's families, ``E + sum_k s_k c_k phi_k(X; theta)``;
- `expression`: Operon's expressions, every constant a parameter;
- `initial`: SLDAgent's initial program (a sum of power laws of the raw features);
- `stated`: any other program whose docstring states its law (``TARGET = ...`` lines).

`read_law` returns the law a program carries: the only place that tells kinds apart, by the
literal each kind's programs assign (``EXPERT_LAW``, ``LITERATURE_LAW``, ``FAMILY``, ``FORM``, ``SIZES``), then by
being the initial program, then by what the docstring states. The fitters
copied into programs sit in `fitters`. Searches for laws (`sldbench.evolution`,
`sldbench.symbolic`) import this package; nothing here imports them.
"""

from __future__ import annotations

from typing import Protocol, Sequence

from . import expert, expression, grammar, initial, literature, stated, terms
from ..submission import parse_program
from .program import literal_in


class Law(Protocol):
    """What every kind of law can say about itself."""

    def describe(self, features: Sequence[str], targets: Sequence[str]) -> str:
        """The law in words with the task's column names, one line per target ("" when it cannot say)."""

    def constant_names(self, targets: Sequence[str]) -> list[str] | None:
        """Names of the fitted vector's entries, in order (None when the kind does not know them)."""

    def natural_constants(self, values: Sequence[float], targets: Sequence[str]) -> dict[str, float]:
        """``{name: value}`` of a fitted vector, each constant in its natural units (shifts fitted as logs as themselves)."""


KINDS = (("EXPERT_LAW", expert.read), ("LITERATURE_LAW", literature.read), ("FAMILY", grammar.read), ("FORM", terms.read), ("SIZES", expression.read))
"""Each kind of program's marker (a module-level literal) and the reader of its law."""


def read_law(program: str) -> Law | None:
    """The law ``program`` carries, or None when it says nothing of its law.

    Parameters
    ----------
    program : str
        Source of a submission (any shape).

    Returns
    -------
    Law or None
        The law of the first kind whose marker the program assigns; else the initial program's
        law when it is that program; else the law its docstring states (`stated.StatedLaw`);
        None when it has no docstring either.
    """
    tree = parse_program(program)  # once: every kind reads the same tree
    if tree is None:
        return None
    for marker, read in KINDS:
        literal = literal_in(tree, marker)
        if literal is not None:
            law = read(literal, tree)
            if law is not None:
                return law
    return initial.read(tree) or stated.read(tree)


def named_constants(law: Law | None, targets: Sequence[str], values: Sequence[float], low: Sequence[float] | None = None, high: Sequence[float] | None = None):
    """A fitted vector by name, in the units the law's formula reads (`Law.natural_constants`), with intervals.

    Parameters
    ----------
    law : Law or None
        The law of the program the vector was fitted by (`read_law`).
    targets : sequence of str
    values : sequence of float
        The fitted vector, as the program's fitting routine returns it.
    low, high : sequences of float, optional
        Each entry's interval in the same raw units.

    Returns
    -------
    dict of str to (float, float, float) or None
        ``{name: (value, low, high)}`` (``low == high == value`` without intervals; each interval's
        ends put in order, since a conversion such as a magnitude may swap them); None without a
        law, or when the law does not name its constants or names another number of them.
    """
    names = law.constant_names(targets) if law is not None else None
    if not names or len(names) != len(values):
        return None
    value = law.natural_constants(values, targets)
    low_, high_ = (law.natural_constants(ends, targets) for ends in (values if low is None else low, values if high is None else high))
    return {name: (value[name], min(low_[name], high_[name]), max(low_[name], high_[name])) for name in names}


__all__ = ["KINDS", "Law", "named_constants", "read_law"]
