# EVOLVE-BLOCK-START
"""Scaling law found by the law grammar (no language model); per group:

    loss = E + c1 * N^-a1 + c2 * D^-a2

with c >= 0 and the signs shown.
a recorded example
FAMILY names the law for the symbolic proposer; fit_grammar_law fits it by variable projection with NNLS.
"""
import numpy as np
from scipy.optimize import least_squares, nnls
from scipy.stats import qmc

FAMILY = {'direction': 1, 'pieces': [['power', [0], []], ['power', [1], []]]}
SIGNS = [1.0, 1.0]
N_THETA = 2
LOWER = [0.0, 0.0]
UPPER = [3.0, 3.0]


def columns(X, theta):
    """Values of the law's terms, shape (N, K), for nonlinear parameters theta."""
    u0 = np.log(X[:, 0])  # N
    u1 = np.log(X[:, 1])  # D
    return np.column_stack([np.exp(-(theta[0] * u0)), np.exp(-(theta[1] * u1))])


def project_nonnegative(Phi, y, signs):
    """``(E, coef)`` minimising ``|y - E - Phi @ coef|^2`` with ``signs * coef >= 0``; coef has one entry per column."""
    A = np.asarray(Phi, dtype=float) * signs
    mean_a, mean_y = A.mean(axis=0), float(np.mean(y))
    centred = A - mean_a
    scale = np.sqrt(np.mean(centred**2, axis=0))
    scale[~(scale > 1e-300)] = 1.0
    c, _ = nnls(centred / scale, y - mean_y, maxiter=50 * A.shape[1] + 50)
    c = c / scale
    return mean_y - float(mean_a @ c), signs * c


def fit_grammar_law(columns, X, y, signs, lower, upper, starts=64, refine=3, max_nfev=200, seed=0):
    """Fit ``y = E + columns(X, theta) @ coef``; return ``[theta..., E, coef...]``.

    Parameters
    ----------
    columns : callable
        ``columns(X, theta) -> (N, K)`` term values.
    X : ndarray, shape (N, F)
    y : ndarray, shape (N,)
    signs : ndarray, shape (K,)
        ``+1`` or ``-1``: the sign each coefficient must have.
    lower, upper : sequences
        The box of ``theta`` (finite).
    starts, refine : int
        Sobol points scored, and the best of them refined by least squares.
    max_nfev : int
        Function evaluations per refinement.
    seed : int
        Seed of the Sobol scrambling (a fit is a pure function of its inputs).

    Returns
    -------
    ndarray
    """
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    signs = np.asarray(signs, dtype=float)
    lower, upper = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
    spread = float(np.std(y)) or 1.0
    penalty = np.full(len(y), 1e3 * spread)

    def residual(theta):
        with np.errstate(all="ignore"):
            Phi = np.asarray(columns(X, theta), dtype=float).reshape(len(y), -1)
            if not np.all(np.isfinite(Phi)):
                return None, penalty
            try:
                offset, coef = project_nonnegative(Phi, y, signs)
            except (ValueError, RuntimeError, np.linalg.LinAlgError):
                return None, penalty
            r = offset + Phi @ coef - y
        if not np.all(np.isfinite(r)):
            return None, penalty
        return (offset, coef), r

    if not len(lower):
        fitted, _ = residual(lower)
        if fitted is None:
            return np.concatenate([[float(np.mean(y))], np.zeros(len(signs))])
        return np.concatenate([[fitted[0]], fitted[1]])
    count = 2 ** int(np.ceil(np.log2(max(starts, 2))))
    design = qmc.Sobol(len(lower), scramble=True, seed=seed).random(count)
    points = lower + design * (upper - lower)
    costs = np.array([float(np.sum(residual(p)[1] ** 2)) for p in points])
    order = np.argsort(costs, kind="stable")[:refine]
    best_theta, best_cost = points[order[0]], costs[order[0]]
    for index in order:
        start = points[index]
        noise = 1.4826 * float(np.median(np.abs(residual(start)[1])))
        try:
            result = least_squares(
                lambda t: residual(t)[1], start, bounds=(lower, upper), loss="soft_l1", f_scale=max(noise, 1e-9 * spread), max_nfev=max_nfev
            )
        except (ValueError, np.linalg.LinAlgError):
            continue
        cost = float(np.sum(residual(result.x)[1] ** 2))
        if cost < best_cost:
            best_theta, best_cost = result.x, cost
    fitted, _ = residual(best_theta)
    if fitted is None:
        return np.concatenate([best_theta, [float(np.mean(y))], np.zeros(len(signs))])
    return np.concatenate([best_theta, [fitted[0]], fitted[1]])


def scaling_law_func(data_points, params):
    X = np.atleast_2d(np.asarray(data_points, dtype=float))
    P = np.atleast_2d(np.asarray(params, dtype=float))
    out = []
    for p in P:
        with np.errstate(all="ignore"):
            out.append(p[N_THETA] + columns(X, p[:N_THETA]) @ p[N_THETA + 1 :])
    pred = np.column_stack(out)
    return pred[:, 0] if pred.shape[1] == 1 else pred


def fit_scaling_law(data_points, loss_values):
    X = np.atleast_2d(np.asarray(data_points, dtype=float))
    Y = np.asarray(loss_values, dtype=float).reshape(len(X), -1)
    params = [fit_grammar_law(columns, X, Y[:, t], np.array(SIGNS), LOWER, UPPER) for t in range(Y.shape[1])]
    return params[0] if len(params) == 1 else np.array(params)
# EVOLVE-BLOCK-END
