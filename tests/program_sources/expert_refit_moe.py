"""Expert law for SLDBench task moe (moe_scaling_law): Clark et al. 2022, Unified Scaling Laws for Routed Language Models.

The published functional form, refitted per group on the train split by multi-start least squares.
Inputs: num_experts, dense_parameter_count. Outputs: loss_validation.
"""

import numpy as np
from scipy.optimize import least_squares

EXPERT_LAW = 'moe'
PARAMETERS = ['a', 'b', 'c', 'd', 'E_start', 'E_max']
LOG_PARAMETERS = ['E_start', 'E_max']
FIXED = {}


def moe_form(X, p):
    """Clark et al. 2022: ln L = a ln N + b ln E^ + c ln N ln E^ + d, with the saturating E^."""
    a, b, c, d, E_start, E_max = p
    E = X[:, 0]
    N = X[:, 1]
    E_start_s = max(1.1, E_start)
    E_max_s = max(E_start_s + 0.1, E_max)
    E_s = np.maximum(E, 1.0001)
    saturation = 1.0 / (1.0 / (E_start_s - 1.0 + 1e-9) - 1.0 / (E_max_s - 1.0 + 1e-9))
    inv = 1.0 / (E_s - 1.0 + saturation + 1e-9) + 1.0 / (E_max_s + 1e-9)
    E_hat = 1.0 / (inv + 1e-9)
    log_n = np.log(N + 1e-9)
    log_e = np.log(E_hat + 1e-9)
    return np.exp(a * log_n + b * log_e + c * log_n * log_e + d)


def moe_starts(X, Y):
    level = float(np.mean(np.log(Y))) + 0.05 * float(np.mean(np.log(X[:, 1])))
    return [
        [-0.05, -0.05, 0.0, level, 5.0, 100.0],
        [-0.1, -0.1, 0.005, level + 0.05 * float(np.mean(np.log(X[:, 1]))), 3.0, 400.0],
        [-0.05, -0.2, 0.0, level, 10.0, 1000.0],
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
    return moe_form(np.asarray(data_points, dtype=float), np.asarray(params, dtype=float))


def fit_scaling_law(data_points, loss_values):
    X = np.asarray(data_points, dtype=float)
    Y = np.asarray(loss_values, dtype=float).reshape(len(X), -1)
    starts = moe_starts(X, Y)
    return fit_least_squares(moe_form, X, Y, starts, PARAMETERS, LOG_PARAMETERS, FIXED)
