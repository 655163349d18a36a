"""Expert law for SLDBench task lr_bsz (lr_bsz_scaling_law): StepLaw-based form (Li et al. 2025, Predictable Scale: Part I).

The published functional form, refitted per group on the train split by multi-start least squares.
Inputs: lr, bsz, data_size, non_embedding_param_size. Outputs: lm_loss.
"""

import numpy as np
from scipy.optimize import least_squares

EXPERT_LAW = 'lr_bsz'
PARAMETERS = ['A', 'alpha', 'B', 'beta', 'C', 'D', 'E_new', 'F', 'gamma', 'zeta', 'G', 'eta']
LOG_PARAMETERS = ['A', 'alpha', 'B', 'beta', 'D', 'F', 'G']
FIXED = {}


def lr_bsz_form(X, p):
    """StepLaw-based: L = A D^-alpha + B N^-beta + C + D_c (lr - lr0)^2 + E (ln bsz + bsz0 / bsz)."""
    A, alpha, B, beta, C, D_c, E_new, F, gamma, zeta, G, eta = p
    lr = np.maximum(X[:, 0], 1e-12)
    bsz = np.maximum(X[:, 1], 1e-12)
    data = X[:, 2]
    N = X[:, 3]
    lr_0 = F * N**gamma * data**zeta
    bsz_0 = G * data**eta
    return A * data ** (-alpha) + B * N ** (-beta) + C + D_c * (lr - lr_0) ** 2 + E_new * (np.log(bsz) + bsz_0 / bsz)


def lr_bsz_starts(X, Y):
    return [
        [100.0, 0.2, 5.0, 0.1, 0.5, 1000.0, 0.05, 1e-3, 0.0, 0.0, 1.0, 0.25],
        [300.0, 0.25, 10.0, 0.08, 0.0, 100.0, 0.02, 0.3, -1.0, 0.6, 0.03, 0.35],
    ]


def fit_least_squares(form, X, Y, starts, parameters, log_parameters=(), fixed=None, max_nfev=1000):
    """Fit ``form(X, p)`` to ``Y`` by least squares from several starting points.

    Parameters
    ----------
    form : callable
        ``form(X, p) -> (N,)`` or ``(N, T)`` predictions.
    X : ndarray, shape (N, F)
    Y : ndarray, shape (N,) or (N, T)
    starts : list of sequences
        Full parameter vectors (in ``parameters`` order) to start from.
    parameters : list of str
        Parameter names, in order.
    log_parameters : iterable of str
        Parameters kept positive by fitting their logarithm.
    fixed : dict of str to float, optional
        Parameters held at a value (not fitted).
    max_nfev : int
        Function evaluations per start.

    Returns
    -------
    ndarray
        The best parameter vector found (lowest sum of squares), in ``parameters`` order.
    """
    fixed = dict(fixed or {})
    Y = np.asarray(Y, dtype=float).reshape(len(X), -1)
    free = [i for i, name in enumerate(parameters) if name not in fixed]
    logged = np.array([parameters[i] in set(log_parameters) for i in free])

    def unpack(q):
        full = np.empty(len(parameters))
        for i, name in enumerate(parameters):
            if name in fixed:
                full[i] = fixed[name]
        free_values = np.where(logged, np.exp(np.clip(q, -700.0, 700.0)), q)
        full[free] = free_values
        return full

    def residuals(q):
        with np.errstate(all="ignore"):
            pred = np.asarray(form(X, unpack(q)), dtype=float).reshape(len(X), -1)
            r = (pred - Y).ravel()
        return np.where(np.isfinite(r), r, 1e6)

    best_p, best_cost = None, np.inf
    for start in starts:
        start = np.asarray(start, dtype=float)
        q0 = start[free].copy()
        q0[logged] = np.log(np.abs(q0[logged]) + 1e-300)
        try:
            result = least_squares(residuals, q0, method="trf", x_scale="jac", max_nfev=max_nfev)
        except (ValueError, np.linalg.LinAlgError):
            continue
        cost = float(np.sum(residuals(result.x) ** 2))
        if cost < best_cost:
            best_p, best_cost = unpack(result.x), cost
    if best_p is None:
        raise RuntimeError("least-squares fit failed from every starting point")
    return best_p


def scaling_law_func(data_points, params):
    return lr_bsz_form(np.asarray(data_points, dtype=float), np.asarray(params, dtype=float))


def fit_scaling_law(data_points, loss_values):
    X = np.asarray(data_points, dtype=float)
    Y = np.asarray(loss_values, dtype=float).reshape(len(X), -1)
    starts = lr_bsz_starts(X, Y)
    return fit_least_squares(lr_bsz_form, X, Y, starts, PARAMETERS, LOG_PARAMETERS, FIXED)
