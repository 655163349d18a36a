"""The fitter of grammar laws, copied verbatim into every program `sldbench.symbolic.grammar` writes.

A grammar law is ``y = E + sum_k s_k c_k phi_k(X; theta)`` with a free offset
``E``, coefficients ``c_k >= 0`` and signs ``s_k`` fixed by the law's form (a loss
that falls with scale has decaying terms with positive weight; a bowl around
an optimum opens upwards). Fitting uses variable projection: for a given
``theta`` the best ``E, c`` solve a non-negative least-squares problem, so only
``theta`` is searched: a scrambled Sobol design over its bounded box (the same
points for a given seed), then trust-region refinement of the best few starts
with a soft-L1 loss whose scale is a robust estimate of the noise (1.4826 times
the median absolute residual of the start). The search flags a fit whose
``theta`` ends on a bound of its box, or whose residuals are not finite, and
excludes the law (`sldbench.symbolic.grammar.fit_problem`).

Uses only ``np``, ``nnls``, ``least_squares`` and ``qmc`` (scipy), which the
program imports at its top.
"""

import numpy as np
from scipy.optimize import least_squares, nnls
from scipy.stats import qmc


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
