# EVOLVE-BLOCK-START
"""Scaling law found by symbolic search (no language model); per group:

    loss = b + c1 * N^a1 + c2 * (D + s2)^a2

a recorded example
FORM describes the law for the symbolic proposer; fit_law fits it by variable projection.
"""
import numpy as np
from scipy.optimize import least_squares

FORM = {'head': 'identity', 'transforms': ['log', 'log'], 'n_targets': 1, 'terms': [['power', [0], []], ['power', [1], [1]]]}
HEAD = 'identity'
N_THETA = 3
LOWER = [-3.0, -3.0, -30.0]
UPPER = [3.0, 3.0, 60.0]
THETA_START = [[]]


def terms(X, theta):
    """Values of the law's terms, shape (N, K), for nonlinear parameters theta."""
    z0 = np.log(X[:, 0])  # N
    z1 = np.log(X[:, 1])  # D
    return np.column_stack([np.exp(theta[0] * z0), np.exp(theta[1] * np.log(X[:, 1] + np.exp(theta[2])))])[:, :2]


def generic_starts(X):
    """Generic starting values of theta: decaying and growing terms, shifts at the median feature value."""
    out = []
    for sign in (-1.0, 1.0):
        theta = []
        theta.append(sign * 0.5)
        theta.append(sign * 0.5)
        theta.append(float(np.log(np.median(X[:, 1]))))
        out.append(theta)
    return out


def solve_linear(G, target):
    """``[b, c...]`` minimising ``|target - b - G c|^2``, with columns rescaled for conditioning."""
    A = np.column_stack([np.ones(len(target)), G])
    scale = np.sqrt(np.mean(A**2, axis=0))
    scale[~(scale > 0)] = 1.0
    return np.linalg.lstsq(A / scale, target, rcond=None)[0] / scale


def fit_law(terms, X, y, starts, lower, upper, head="identity", max_nfev=100):
    """Fit one target of ``head(b + terms(X, theta) @ c)``; return ``[theta..., b, c...]``.

    Parameters
    ----------
    terms : callable
        ``terms(X, theta) -> (N, K)`` term values.
    X : ndarray, shape (N, F)
    y : ndarray, shape (N,)
    starts : list of sequences
        Starting values of ``theta`` (multi-start); the best fit wins.
    lower, upper : sequences
        Bounds of ``theta``.
    head : {"identity", "exp"}
        ``exp``: ``y = exp(b + G c)`` (needs positive targets).
    max_nfev : int
        Function evaluations per start.

    Returns
    -------
    ndarray
    """
    y = np.asarray(y, dtype=float)
    exp_head = head == "exp"
    if exp_head and not np.all(y > 0):
        raise ValueError("the exp head needs positive targets")
    target = np.log(y) if exp_head else y
    spread = float(np.std(target)) or 1.0

    def project(theta):
        with np.errstate(all="ignore"):
            G = np.asarray(terms(X, theta), dtype=float).reshape(len(y), -1)
            if not np.all(np.isfinite(G)):
                return None, np.full(len(y), 1e3 * spread)
            try:
                coef = solve_linear(G, target)
            except (np.linalg.LinAlgError, ValueError):
                return None, np.full(len(y), 1e3 * spread)
            residual = G @ coef[1:] + coef[0] - target
        return coef, np.where(np.isfinite(residual), residual, 1e3 * spread)

    lower, upper = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
    best_theta, best_cost = None, np.inf
    for start in starts:
        theta0 = np.clip(np.asarray(start, dtype=float), lower, upper)
        if len(theta0):
            try:
                result = least_squares(
                    lambda t: project(t)[1], theta0, bounds=(lower, upper), loss="soft_l1", f_scale=spread, max_nfev=max_nfev
                )
                theta0 = result.x
            except (ValueError, np.linalg.LinAlgError):
                pass
        cost = float(np.sum(project(theta0)[1] ** 2))
        if cost < best_cost:
            best_theta, best_cost = theta0, cost
        if not len(theta0):
            break
    coef = project(best_theta)[0]
    if coef is None:
        coef = np.concatenate([[float(np.mean(target))], np.zeros(np.asarray(terms(X, best_theta)).reshape(len(y), -1).shape[1])])
    params = np.concatenate([best_theta, coef])
    if exp_head:
        n_theta = len(best_theta)

        def residuals(p):
            with np.errstate(all="ignore"):
                G = np.asarray(terms(X, p[:n_theta]), dtype=float).reshape(len(y), -1)
                r = np.exp(p[n_theta] + G @ p[n_theta + 1 :]) - y
            return np.where(np.isfinite(r), r, 1e3 * (float(np.std(y)) or 1.0))

        full_lower = np.concatenate([lower, np.full(len(coef), -np.inf)])
        full_upper = np.concatenate([upper, np.full(len(coef), np.inf)])
        try:
            polished = least_squares(residuals, params, bounds=(full_lower, full_upper), max_nfev=max_nfev)
            if np.sum(residuals(polished.x) ** 2) < np.sum(residuals(params) ** 2):
                params = polished.x
        except (ValueError, np.linalg.LinAlgError):
            pass
    return params


def scaling_law_func(data_points, params):
    X = np.atleast_2d(np.asarray(data_points, dtype=float))
    P = np.atleast_2d(np.asarray(params, dtype=float))
    columns = []
    for p in P:
        with np.errstate(all="ignore"):
            eta = p[N_THETA] + terms(X, p[:N_THETA]) @ p[N_THETA + 1 :]
        columns.append(np.exp(eta) if HEAD == "exp" else eta)
    pred = np.column_stack(columns)
    return pred[:, 0] if pred.shape[1] == 1 else pred


def fit_scaling_law(data_points, loss_values):
    X = np.atleast_2d(np.asarray(data_points, dtype=float))
    Y = np.asarray(loss_values, dtype=float).reshape(len(X), -1)
    params = [
        fit_law(terms, X, Y[:, t], ([THETA_START[t]] if THETA_START[t] else []) + generic_starts(X), LOWER, UPPER, HEAD)
        for t in range(Y.shape[1])
    ]
    return params[0] if len(params) == 1 else np.array(params)
# EVOLVE-BLOCK-END
