"""The program format every law is submitted in, owned here for every writer and reader of programs.

A program is Python source with two top-level functions, ``scaling_law_func(data_points,
params)`` and ``fit_scaling_law(data_points, loss_values)`` (`REQUIRED_FUNCTIONS`), and the part
a search may change between the EVOLVE-BLOCK markers (`EVOLVE_START`, `EVOLVE_END`,
`evolve_block`). `INITIAL_PROGRAM` is the paper's starting point of SLDAgent (a sum of power laws
of the raw features); `POWER_LAW_BASELINE` the plain power law ``sldbench discover`` compares its
law with. The writers of each kind of law (`sldbench.laws`) and the searches (`sldbench.evolution`,
`sldbench.symbolic`) import these; nothing here imports them. `literal_in` reads a literal a
program assigns (how a law's kind is recognised, `sldbench.laws.read_law`); `feature_transforms`
is how a feature enters a written program (its log when positive and spanning a range, unless it
is a share of a mixture, `mixture_columns`);
`function_source` is how a writer copies a function into a program.
"""

from __future__ import annotations

import ast
import inspect
import itertools
import textwrap

import numpy as np


EVOLVE_START = "# EVOLVE-BLOCK-START"
EVOLVE_END = "# EVOLVE-BLOCK-END"
REQUIRED_FUNCTIONS = {"scaling_law_func": 2, "fit_scaling_law": 2}

INITIAL_PROGRAM = f'''{EVOLVE_START}
"""Scaling law: per target, a sum of power laws of the features plus a bias (2F+1 parameters)."""
import numpy as np
from scipy.optimize import minimize


def scaling_law_func(data_points, params):
    X = np.atleast_2d(np.asarray(data_points, dtype=float))
    n_features = X.shape[1]
    P = np.atleast_2d(np.asarray(params, dtype=float))
    coeffs, exponents, bias = P[:, :n_features], P[:, n_features:2 * n_features], P[:, -1]
    pred = (coeffs[None, :, :] * X[:, None, :] ** exponents[None, :, :]).sum(axis=2) + bias[None, :]
    return pred[:, 0] if pred.shape[1] == 1 else pred


def fit_scaling_law(data_points, loss_values):
    X = np.atleast_2d(np.asarray(data_points, dtype=float))
    y = np.asarray(loss_values, dtype=float)
    Y = y[:, None] if y.ndim == 1 else y
    n_targets, n_params = Y.shape[1], 2 * X.shape[1] + 1
    init = np.ones(n_targets * n_params)

    def objective(flat):
        pred = scaling_law_func(X, flat.reshape(n_targets, n_params)).reshape(len(X), n_targets)
        return np.mean((pred - Y) ** 2)

    result = minimize(objective, init, method="BFGS")
    params = (result.x if result.success else init).reshape(n_targets, n_params)
    return params[0] if n_targets == 1 else params
{EVOLVE_END}
'''

POWER_LAW_BASELINE = '''"""Baseline: a plain power law per group, fitted by least squares in log space.

    target = exp(c) * prod_f feature_f ** a_f   (positive features and targets)
    target = c + sum_f a_f * feature_f          (otherwise: a linear law)
"""
import numpy as np


def _design(X, logs):
    X = np.atleast_2d(np.asarray(X, dtype=float))
    return np.column_stack([np.ones(len(X)), np.log(X) if logs else X])


def scaling_law_func(data_points, params):
    P = np.atleast_2d(np.asarray(params, dtype=float))
    logs = bool(P[0, 0])
    out = []
    for p in P:
        eta = _design(data_points, logs) @ p[1:]
        out.append(np.exp(eta) if logs else eta)
    pred = np.column_stack(out)
    return pred[:, 0] if pred.shape[1] == 1 else pred


def fit_scaling_law(data_points, loss_values):
    X = np.atleast_2d(np.asarray(data_points, dtype=float))
    Y = np.asarray(loss_values, dtype=float).reshape(len(X), -1)
    logs = bool(np.all(X > 0) and np.all(Y > 0))
    A = _design(X, logs)
    params = [np.concatenate([[float(logs)], np.linalg.lstsq(A, np.log(y) if logs else y, rcond=None)[0]]) for y in Y.T]
    return params[0] if len(params) == 1 else np.array(params)
'''


def evolve_block(code: str) -> tuple[str, str, str]:
    """Split a program into (before, block, after) around the EVOLVE markers; no markers: all block."""
    start, end = code.find(EVOLVE_START), code.rfind(EVOLVE_END)
    if start < 0 or end < start:
        return "", code, ""
    return code[:start], code[start + len(EVOLVE_START) : end], code[end + len(EVOLVE_END) :]


def literal_in(tree: ast.Module, name: str) -> object | None:
    """The literal value a parsed program assigns to module-level ``name`` (``FORM = {...}``), or None."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            try:
                return ast.literal_eval(node.value)
            except (ValueError, TypeError, RecursionError):  # not a literal; a literal dict with an unhashable key
                return None
    return None


def feature_transforms(X: np.ndarray) -> tuple[str, ...]:
    """How each feature enters a law: ``log`` for a scale, ``raw`` otherwise.

    A scale is a feature positive on every row and spanning at least a factor 2, unless it is
    a share of a mixture (`mixture_columns`): a proportion is positive on the train rows only by
    chance of the design, and zero is a mixture like any other (a law in its logarithm is
    infinite there).

    Parameters
    ----------
    X : array of shape (n, F)
        The train rows' features.

    Returns
    -------
    tuple of str
        ``"log"`` or ``"raw"`` per feature.
    """
    X = np.asarray(X, dtype=float)
    shares = mixture_columns(X)
    out = []
    for f, column in enumerate(X.T):
        positive = bool(np.all(column > 0))
        out.append("log" if positive and column.max() >= 2 * column.min() and f not in shares else "raw")
    return tuple(out)


def mixture_columns(X: np.ndarray, most: int = 12) -> frozenset[int]:
    """The features that are the shares of a mixture: the largest set of two or more, non-negative and varying, whose sum is the same on every row.

    Parameters
    ----------
    X : array of shape (n, F)
        The rows' features.
    most : int
        Only the first ``most`` candidate columns are searched (the search is over their subsets).

    Returns
    -------
    frozenset of int
        Column indices; empty when no such set exists.
    """
    X = np.asarray(X, dtype=float)
    candidates = [f for f in range(X.shape[1]) if np.all(X[:, f] >= 0) and np.ptp(X[:, f]) > 0][:most]
    for size in range(len(candidates), 1, -1):
        for subset in itertools.combinations(candidates, size):
            total = X[:, list(subset)].sum(axis=1)
            if np.ptp(total) <= 1e-6 * max(abs(float(total.mean())), 1e-12):
                return frozenset(subset)
    return frozenset()


def in_step_with(U: np.ndarray, axes: tuple[int, ...], correlation: float = 0.999) -> frozenset[int]:
    """The features that move in step with an extrapolation axis on these rows (tokens a fixed multiple of parameters, say).

    Such a feature extrapolates with the axis: beyond the data it takes values the rows never
    show, so it is a scale of the law, never a hyperparameter with an optimum inside the data.

    Parameters
    ----------
    U : array of shape (n, F)
        The train rows' features as laws take them (`feature_transforms`: the logs of scales).
    axes : tuple of int
        The extrapolation axes.
    correlation : float
        |Pearson r| of the two features, so taken, at or above which they move in step.

    Returns
    -------
    frozenset of int
        Feature indices, the axes left out.
    """
    U = np.asarray(U, dtype=float)
    varying = [f for f in range(U.shape[1]) if np.ptp(U[:, f]) > 0]
    return frozenset(
        f for a in axes if a in varying for f in varying if f not in axes and abs(float(np.corrcoef(U[:, a], U[:, f])[0, 1])) >= correlation
    )


def function_source(function) -> str:
    """The source of ``function`` as a program carries it: dedented (one defined inside another is indented), one newline at the end."""
    return textwrap.dedent(inspect.getsource(function)).rstrip() + "\n"
