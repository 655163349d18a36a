"""Plain symbolic regression with Operon (the ``pyoperon`` package), as programs the scorer runs.

Operon runs NSGA-II over expressions (objectives: R^2 and length) on the train
rows of all groups pooled, one target at a time, with the same feature
transforms as the law search (``log x`` for positive features that span a
range). Every expression of its Pareto front becomes a program whose numeric
constants are the parameters, refitted per group by multi-start least squares
(`sldbench.laws.fitters.fit_least_squares`, copied verbatim) from Operon's values.
"""

from __future__ import annotations

import ast
import inspect
import warnings
from dataclasses import dataclass

import numpy as np

from ..data import Split
from ..laws.program import EVOLVE_END, EVOLVE_START
from ..laws import fitters
from .forms import feature_transforms
from .validation import extrapolation_split, group_arrays, namespace, validation_r2

FUNCTIONS = {"exp": "np.exp", "log": "np.log", "sqrt": "np.sqrt", "abs": "np.abs", "sin": "np.sin", "cos": "np.cos", "tanh": "np.tanh"}
SYMBOLS = "add,sub,mul,div,constant,variable,exp,log,pow"


class EngineError(RuntimeError):
    """Operon is missing or gave an expression this module cannot translate."""


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
    EngineError
        On a construct outside arithmetic, powers, variables, constants and `FUNCTIONS`.
    """
    try:
        tree = ast.parse(infix.replace("^", "**"), mode="eval")
    except SyntaxError as err:
        raise EngineError(f"cannot parse Operon's expression {infix!r}: {err.msg}") from err
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
                raise EngineError(f"unknown variable {node.id!r} in Operon's expression {infix!r}")
            f = int(node.id[1:]) - 1
            return ast.parse(f"np.log(X[:, {f}])" if transforms[f] == "log" else f"X[:, {f}]", mode="eval").body

        def visit_Call(self, node):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                raise EngineError(f"unsupported function in Operon's expression {infix!r}")
            node.args = [self.visit(a) for a in node.args]
            node.func = ast.parse(FUNCTIONS[node.func.id], mode="eval").body
            return node

        def visit_BinOp(self, node):
            if not isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)):
                raise EngineError(f"unsupported operator in Operon's expression {infix!r}")
            return self.generic_visit(node)

    body = Rewrite().visit(tree)
    return Expression(ast.unparse(ast.fix_missing_locations(body)), tuple(start), infix)


def pareto_front(X: np.ndarray, y: np.ndarray, transforms: tuple[str, ...], seed: int, generations: int, population: int, max_length: int, max_time: float | None) -> list[str]:
    """Operon's Pareto front (R^2 vs length) for one target, as Operon's infix strings (see `translate`).

    Raises
    ------
    EngineError
        When ``pyoperon`` is not installed.
    """
    try:
        from pyoperon.sklearn import SymbolicRegressor
    except ImportError as err:
        raise EngineError("symbolic regression needs the pyoperon package (pip install pyoperon)") from err
    Z = np.column_stack([np.log(X[:, f]) if t == "log" else X[:, f] for f, t in enumerate(transforms)])
    regressor = SymbolicRegressor(
        allowed_symbols=SYMBOLS,
        objectives=["r2", "length"],
        max_length=max_length,
        generations=generations,
        population_size=population,
        max_evaluations=generations * population * 4,
        optimizer_iterations=10,
        n_threads=1,  # one thread: the same front for the same seed
        random_state=seed,
        max_time=int(max_time) if max_time else None,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # Operon's extension computes in float32 only.
        regressor.fit(Z.astype(np.float32), np.asarray(y, dtype=np.float32))
    return [model["model"] for model in regressor.pareto_front_]


def search_fronts(train: Split, seed: int, generations: int, population: int, max_length: int, time_budget: float | None = None) -> list[list[str]]:
    """Operon's Pareto front of every target on the pooled train rows, as infix strings.

    Parses nothing, so it may run in a worker thread (turn the strings into
    expressions with `translate` in the event loop's thread).

    Parameters
    ----------
    train : Split
        The only rows Operon sees.
    seed, generations, population, max_length
        As in `pareto_front`.
    time_budget : float, optional
        Seconds of search for the task, shared by the targets.

    Returns
    -------
    list of list of str
        One front per target of ``train.spec.targets``.
    """
    names = list(train.spec.features)
    X = train.frame[names].to_numpy(dtype=float)
    transforms = feature_transforms(X)
    budget = time_budget / len(train.spec.targets) if time_budget else None
    return [
        pareto_front(X, train.frame[t].to_numpy(dtype=float), transforms, seed, generations, population, max_length, budget) for t in train.spec.targets
    ]


def translate_fronts(train: Split, infixes: list[list[str]]) -> list[list[Expression]]:
    """`translate` every expression of `search_fronts`, dropping repeats (parses: the event loop's thread only)."""
    transforms = feature_transforms(train.frame[list(train.spec.features)].to_numpy(dtype=float))
    return [unique([translate(infix, transforms) for infix in front]) for front in infixes]


def rank_fronts(train: Split, fronts: list[list[Expression]], note: str = "") -> tuple[list[list[Expression]], list[dict]]:
    """Per target, the front's expressions within the parameter limit, best on the extrapolation folds first.

    The pooled R^2 is one minus the mean of the targets' NMSE, so each target's
    expressions are ranked on their own: the held-out R^2 of the largest-scale
    train rows (`extrapolation_split`), fitted per group on the rest; ties go to
    fewer constants. The task's parameter limit is shared equally by the targets.

    Parameters
    ----------
    train : Split
    fronts : list of list of Expression
        One front per target (`translate_fronts`).
    note : str
        A line for the programs' docstrings.

    Returns
    -------
    (ranked, events)
        ``ranked[t]``: target t's expressions, best first; ``events``: one dict per
        expression scored (target, expression, extrapolation_r2).

    Raises
    ------
    EngineError
        When no expression of some target fits within the parameter limit.
    """
    spec = train.spec
    features, targets, limit = list(spec.features), list(spec.targets), spec.param_limit
    share = None if limit is None else limit // len(targets)
    fronts = [[e for e in front if share is None or len(e.start) <= share] for front in fronts]
    if not all(fronts):
        raise EngineError(f"symbolic regression found no expression within the parameter limit ({limit}) for every target of {spec.name}")
    fit, holdout = extrapolation_split(train)
    fit_rows, holdout_rows = group_arrays(fit), group_arrays(holdout)
    ranked, events = [], []
    for t, front in enumerate(fronts):
        fit_t = {g: (x, y[:, [t]]) for g, (x, y) in fit_rows.items()}
        holdout_t = {g: (x, y[:, [t]]) for g, (x, y) in holdout_rows.items()}
        scored = []
        for expression in front:
            score = validation_r2(namespace(program([expression], features, [targets[t]], note)), fit_t, holdout_t)
            scored.append((score, -len(expression.start), expression))
            events.append({"target": targets[t], "expression": expression.infix, "extrapolation_r2": score})
        scored.sort(key=lambda item: item[:2], reverse=True)
        ranked.append([expression for *_, expression in scored])
    return ranked, events


def unique(expressions: list[Expression]) -> list[Expression]:
    """Expressions with distinct numpy source, in order."""
    seen: set[str] = set()
    return [e for e in expressions if not (e.source in seen or seen.add(e.source))]


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

