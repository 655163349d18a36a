"""Expert law for SLDBench task sft (sft_scaling_law): Lin et al. 2024, Selecting Large Language Model to Fine-tune via Rectified Scaling Law.

The published functional form, refitted per group on the train split by multi-start least squares.
Inputs: sft_data_size. Outputs: sft_loss.
"""

import numpy as np
from scipy.optimize import least_squares

EXPERT_LAW = 'sft'
PARAMETERS = ['A', 'alpha', 'B', 'C']
LOG_PARAMETERS = ['alpha']
FIXED = {}


def sft_form(X, p):
    """Lin et al. 2024 (rectified scaling law): L = A / (D^alpha + B) + C."""
    A, alpha, B, C = p
    D = np.maximum(X[:, 0], 1e-9)
    return A / (D**alpha + B) + C


def sft_starts(X, Y):
    low = float(np.min(Y))
    return [[10.0, 0.3, 5.0, low * 0.8], [100.0, 0.5, 50.0, low * 0.5], [1.0, 0.1, 1.0, low * 0.9]]


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
    return sft_form(np.asarray(data_points, dtype=float), np.asarray(params, dtype=float))


def fit_scaling_law(data_points, loss_values):
    X = np.asarray(data_points, dtype=float)
    Y = np.asarray(loss_values, dtype=float).reshape(len(X), -1)
    starts = sft_starts(X, Y)
    return fit_least_squares(sft_form, X, Y, starts, PARAMETERS, LOG_PARAMETERS, FIXED)
