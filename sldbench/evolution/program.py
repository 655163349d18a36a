"""Candidate programs: the EVOLVE-BLOCK markers, the paper's initial program, and the checks made before evaluation."""

from __future__ import annotations

import ast
import hashlib

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


class Rejected(Exception):
    """A proposal that is not evaluated (or whose evaluation failed), with the reason."""


def evolve_block(code: str) -> tuple[str, str, str]:
    """Split a program into (before, block, after) around the EVOLVE markers; no markers: all block."""
    start, end = code.find(EVOLVE_START), code.rfind(EVOLVE_END)
    if start < 0 or end < start:
        return "", code, ""
    return code[:start], code[start + len(EVOLVE_START) : end], code[end + len(EVOLVE_END) :]


def _squash(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines() if line.strip())


def normalized(code: str) -> str:
    """A program's identity for duplicate detection: its AST (comments and layout ignored)."""
    return hashlib.sha256(ast.dump(ast.parse(code)).encode()).hexdigest()


def check_candidate(child: str, parent: str) -> None:
    """Reject, before evaluation, a child that does not parse, lacks a signature or edits outside the block.

    Raises
    ------
    Rejected
    """
    try:
        tree = ast.parse(child)
    except SyntaxError as err:
        raise Rejected(f"does not parse: {err.msg} (line {err.lineno})") from err
    except RecursionError as err:
        raise Rejected("does not parse: nested too deeply for Python's parser") from err
    functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    for name, arity in REQUIRED_FUNCTIONS.items():
        node = functions.get(name)
        if node is None:
            raise Rejected(f"missing top-level function {name}(data_points, ...)")
        if len(node.args.args) != arity:
            raise Rejected(f"{name} must take {arity} positional arguments, takes {len(node.args.args)}")
    before_p, _, after_p = evolve_block(parent)
    before_c, _, after_c = evolve_block(child)
    if _squash(before_p) != _squash(before_c) or _squash(after_p) != _squash(after_c):
        raise Rejected("changes code outside the EVOLVE-BLOCK markers")
