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
from dataclasses import dataclass
from typing import Sequence

from . import fitters
from .program import EVOLVE_END, EVOLVE_START
from .stated import StatedLaw, docstring_in

class TranslationError(ValueError):
    """An expression with a construct `translate` does not know."""


FUNCTIONS = {"exp": "np.exp", "log": "np.log", "sqrt": "np.sqrt", "abs": "np.abs", "sin": "np.sin", "cos": "np.cos", "tanh": "np.tanh"}


@dataclass(frozen=True)
class Expression:
    """One target's law: numpy source over ``X`` and ``p``, and Operon's values of ``p``."""

    source: str
    start: tuple[float, ...]
    infix: str


def translate(infix: str, transforms: tuple[str, ...]) -> Expression:
    """Turn Operon's infix string (variables ``X1..XF``, ``^`` for powers) into numpy source with parameters ``p[i]``.

    Raises
    ------
    TranslationError
        On a construct outside arithmetic, powers, variables, constants and `FUNCTIONS`.
    """
    try:
        tree = ast.parse(infix.replace("^", "**"), mode="eval")
    except SyntaxError as err:
        raise TranslationError(f"cannot parse Operon's expression {infix!r}: {err.msg}") from err
    start: list[float] = []

    class Rewrite(ast.NodeTransformer):
        def _parameter(self, value: float) -> ast.AST:
            start.append(float(value))
            return ast.parse(f"p[{len(start) - 1}]", mode="eval").body

        def visit_Constant(self, node):
            return self._parameter(node.value)

        def visit_UnaryOp(self, node):
            if isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
                return self._parameter(-node.operand.value)
            return self.generic_visit(node)

        def visit_Name(self, node):
            if not (node.id.startswith("X") and node.id[1:].isdigit() and 1 <= int(node.id[1:]) <= len(transforms)):
                raise TranslationError(f"unknown variable {node.id!r} in Operon's expression {infix!r}")
            f = int(node.id[1:]) - 1
            return ast.parse(f"np.log(X[:, {f}])" if transforms[f] == "log" else f"X[:, {f}]", mode="eval").body

        def visit_Call(self, node):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                raise TranslationError(f"unsupported function in Operon's expression {infix!r}")
            node.args = [self.visit(a) for a in node.args]
            node.func = ast.parse(FUNCTIONS[node.func.id], mode="eval").body
            return node

        def visit_BinOp(self, node):
            if not isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)):
                raise TranslationError(f"unsupported operator in Operon's expression {infix!r}")
            return self.generic_visit(node)

    body = Rewrite().visit(tree)
    return Expression(ast.unparse(ast.fix_missing_locations(body)), tuple(start), infix)


def program(expressions: list[Expression], names: list[str], targets: list[str], note: str = "") -> str:
    """A fit-and-predict program (one EVOLVE block): per target ``expressions[t]``, its constants refitted per group."""
    sizes = [len(e.start) for e in expressions]
    laws = "\n".join(f"    {t} = {e.infix}" for t, e in zip(targets, expressions))
    variables = ", ".join(f"X{i + 1} = {name}" for i, name in enumerate(names))
    functions = "\n\n\n".join(f"def law_{t}(X, p):\n    return {e.source} + 0 * X[:, 0]" for t, e in enumerate(expressions))
    return f'''{EVOLVE_START}
"""Scaling law found by symbolic regression (Operon) on the pooled train split:

{laws}

with {variables} (positive features enter as their logarithm in the program below).
{note}
The constants are refitted per group by multi-start least squares from these values.
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
        """``p0, p1, ...``: every numeric constant of the expressions, in order."""
        return [f"p{i}" for i in range(sum(self.sizes))]

    def natural_constants(self, values: Sequence[float], targets: Sequence[str]) -> dict[str, float]:
        return {name: float(value) for name, value in zip(self.constant_names(targets), values)}


def read(literal: object, tree: ast.Module) -> ExpressionLaw | None:
    """The law of a program whose ``SIZES`` is ``literal``, or None when it is not a list of sizes."""
    if not isinstance(literal, list) or not all(isinstance(size, int) and not isinstance(size, bool) for size in literal):
        return None
    return ExpressionLaw(tuple(literal), StatedLaw(docstring_in(tree)))
