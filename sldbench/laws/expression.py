"""Operon's expressions as laws: the translation of an infix string into numpy, and the program that fits it.

An `Expression` is one target's law as numpy source over ``X`` and the parameter vector ``p``
(every numeric constant of the expression becomes a parameter), with Operon's values of ``p``
as the start of the per-group refit. `translate` turns Operon's infix string into one;
`program` writes expressions as a fit-and-predict program carrying ``SIZES`` (the parameters
per target, how `sldbench.laws.read_law` knows the kind) and the law in words in its
docstring, with `sldbench.laws.fitters.fit_least_squares` copied verbatim.
"""

from __future__ import annotations

import ast
import inspect
import math
import re
from dataclasses import dataclass
from typing import Sequence

from . import fitters
from .program import EVOLVE_END, EVOLVE_START
from .stated import StatedLaw, docstring_in

class TranslationError(ValueError):
    """An expression with a construct `translate` does not know."""


FUNCTIONS = ("exp", "log", "sqrt", "abs", "sin", "cos", "tanh")
"""The functions an Operon expression may call (``abs`` is sympy's ``Abs``)."""


@dataclass(frozen=True)
class Expression:
    """One target's law: numpy source over ``X`` and ``p``, the law in words, and the starting values of ``p``.

    Attributes
    ----------
    source : str
        Numpy source of the law over the raw features ``X[:, f]`` and parameters ``p[i]``.
    start : tuple of float
        Operon's values of the parameters (the start of the per-group refit).
    infix : str
        Operon's expression as it gave it (variables ``X1..XF``, positive features as their logarithm).
    formula : str
        The simplified law with the features' names and its constants named ``c1, c2, ...`` in order.
    """

    source: str
    start: tuple[float, ...]
    infix: str
    formula: str = ""


def translate(infix: str, transforms: tuple[str, ...], names: Sequence[str] | None = None) -> Expression:
    """Turn Operon's infix string (variables ``X1..XF``, ``^`` for powers) into a simplified law with named constants.

    The variables become the features (``log(name)`` where the transform is ``log``, as Operon
    saw them), sympy simplifies the expression (kept only when no longer than before), and every
    number of it becomes a fitted constant ``c1, c2, ...``, in the order they are read.

    Parameters
    ----------
    infix : str
    transforms : tuple of str
        Per feature, ``"log"`` or ``"raw"`` (`sldbench.laws.program.feature_transforms`).
    names : sequence of str, optional
        The features' names (default ``x1, x2, ...``).

    Raises
    ------
    TranslationError
        On a construct outside arithmetic, powers, variables, constants and `FUNCTIONS`.
    """
    import sympy
    from sympy.parsing.sympy_parser import parse_expr
    from sympy.printing.numpy import NumPyPrinter

    names = list(names) if names is not None else [f"x{f + 1}" for f in range(len(transforms))]
    variables = {f"X{f + 1}": sympy.Symbol(f"X{f + 1}") for f in range(len(transforms))}
    allowed = {**variables, **{name: sympy.Abs if name == "abs" else getattr(sympy, name) for name in FUNCTIONS}}
    for token in set(re.findall(r"(?<![\d.])[A-Za-z_]\w*", infix)):  # names, not the e of 1.5e-05
        if token not in allowed:
            raise TranslationError(f"unknown name {token!r} in Operon's expression {infix!r}")
    try:
        expression = parse_expr(infix.replace("^", "**"), local_dict=allowed, global_dict={"Integer": sympy.Integer, "Float": sympy.Float, "Symbol": sympy.Symbol})
    except (SyntaxError, TypeError, ValueError, sympy.SympifyError) as err:
        raise TranslationError(f"cannot parse Operon's expression {infix!r}: {err}") from err
    features = [sympy.Symbol(f"__feature{f}", positive=transforms[f] == "log", real=True) for f in range(len(transforms))]
    expression = expression.subs({variables[f"X{f + 1}"]: sympy.log(features[f]) if transforms[f] == "log" else features[f] for f in range(len(transforms))})
    try:
        simpler = sympy.simplify(expression)
        if sympy.count_ops(simpler) <= sympy.count_ops(expression):
            expression = simpler
    except (TypeError, ValueError, RecursionError):  # simplification is a nicety: keep the expression as it was
        pass
    if expression.has(sympy.oo, -sympy.oo, sympy.zoo, sympy.nan):
        raise TranslationError(f"Operon's expression {infix!r} is not finite")
    numbers = list(dict.fromkeys(node for node in sympy.preorder_traversal(expression) if isinstance(node, sympy.Float)))
    if not all(math.isfinite(float(n)) for n in numbers):
        raise TranslationError(f"Operon's expression {infix!r} holds a constant that is not finite")
    constants = [sympy.Symbol(f"__constant{i}") for i in range(len(numbers))]
    law = expression.xreplace(dict(zip(numbers, constants)))
    if any(not isinstance(node, (sympy.Symbol, sympy.Number)) and node.is_Atom for node in sympy.preorder_traversal(law)):
        raise TranslationError(f"Operon's expression {infix!r} holds a constant that is not a number")
    code = law.xreplace({**{c: sympy.Symbol(f"p[{i}]") for i, c in enumerate(constants)}, **{x: sympy.Symbol(f"X[:, {f}]") for f, x in enumerate(features)}})
    source = NumPyPrinter().doprint(code).replace("numpy.", "np.")
    words = law.xreplace({**{c: sympy.Symbol(f"c{i + 1}") for i, c in enumerate(constants)}, **{x: sympy.Symbol(names[f]) for f, x in enumerate(features)}})
    formula = sympy.sstr(words, order="old").replace("**", "^")  # "old": constants first, c1 + c2*D^c3
    return Expression(source, tuple(float(n) for n in numbers), infix, formula)


def _renumbered(formula: str, offset: int) -> str:
    """``formula`` with its constants ``c1, c2, ...`` renamed ``c{1 + offset}, ...``."""
    return re.sub(r"\bc(\d+)\b", lambda match: f"c{int(match[1]) + offset}", formula) if offset else formula


def program(expressions: list[Expression], names: list[str], targets: list[str], note: str = "") -> str:
    """A fit-and-predict program (one EVOLVE block): per target ``expressions[t]``, its constants refitted per group.

    The docstring states each target's simplified law with the constants numbered on from one
    target to the next (``c1..ck`` for the first), then Operon's expression as it came.
    """
    sizes = [len(e.start) for e in expressions]
    offsets = [sum(sizes[:t]) for t in range(len(expressions))]
    laws = "\n".join(f"    {t} = {_renumbered(e.formula, offset)}" for t, e, offset in zip(targets, expressions, offsets))
    raw = "\n".join(f"    {t}: {e.infix}" for t, e in zip(targets, expressions))
    variables = ", ".join(f"X{i + 1} = {name}" for i, name in enumerate(names))
    functions = "\n\n\n".join(f"def law_{t}(X, p):\n    return {e.source} + 0 * X[:, 0]" for t, e in enumerate(expressions))
    return f'''{EVOLVE_START}
"""Scaling law found by symbolic regression (Operon) on the pooled train split, simplified:

{laws}

Operon's expression ({variables}; a positive feature as its logarithm):
{raw}
{note}
The constants c1, c2, ... are refitted per group by multi-start least squares from Operon's values.
"""

import numpy as np
from scipy.optimize import least_squares

SIZES = {sizes!r}
STARTS = {[list(e.start) for e in expressions]!r}
{functions}


LAWS = [{", ".join(f"law_{t}" for t in range(len(expressions)))}]


{inspect.getsource(fitters.fit_least_squares).rstrip()}


def scaling_law_func(data_points, params):
    X = np.atleast_2d(np.asarray(data_points, dtype=float))
    p = np.asarray(params, dtype=float).ravel()
    bounds = np.cumsum([0] + SIZES)
    with np.errstate(all="ignore"):
        pred = np.column_stack([law(X, p[a:b]) for law, a, b in zip(LAWS, bounds[:-1], bounds[1:])])
    return pred[:, 0] if pred.shape[1] == 1 else pred


def fit_scaling_law(data_points, loss_values):
    X = np.atleast_2d(np.asarray(data_points, dtype=float))
    Y = np.asarray(loss_values, dtype=float).reshape(len(X), -1)
    fitted = []
    for law, start, y in zip(LAWS, STARTS, Y.T):
        if not start:
            fitted.append(np.zeros(0))
            continue
        start = np.asarray(start, dtype=float)
        starts = [start, start * 1.1, start * 0.9]
        names = [f"p{{i}}" for i in range(len(start))]
        try:
            fitted.append(fit_least_squares(law, X, y, starts, names, max_nfev=300))
        except RuntimeError:
            fitted.append(start)
    return np.concatenate(fitted)
{EVOLVE_END}
'''


@dataclass(frozen=True)
class ExpressionLaw:
    """Operon expressions read back from their program (a `sldbench.laws.Law`): ``SIZES`` parameters per target."""

    sizes: tuple[int, ...]
    stated: StatedLaw

    def describe(self, features: Sequence[str], targets: Sequence[str]) -> str:
        return self.stated.describe(features, targets)

    def constant_names(self, targets: Sequence[str]) -> list[str]:
        """``c1, c2, ...``: every constant of the simplified expressions, in order (as the docstring names them)."""
        return [f"c{i + 1}" for i in range(sum(self.sizes))]

    def natural_constants(self, values: Sequence[float], targets: Sequence[str]) -> dict[str, float]:
        return {name: float(value) for name, value in zip(self.constant_names(targets), values)}


def read(literal: object, tree: ast.Module) -> ExpressionLaw | None:
    """The law of a program whose ``SIZES`` is ``literal``, or None when it is not a list of sizes."""
    if not isinstance(literal, list) or not all(isinstance(size, int) and not isinstance(size, bool) for size in literal):
        return None
    return ExpressionLaw(tuple(literal), StatedLaw(docstring_in(tree)))
