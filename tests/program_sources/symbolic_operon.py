# EVOLVE-BLOCK-START
"""Scaling law found by symbolic regression (Operon) on the pooled train split, simplified:

    loss = c1 + c2*D^c3 + c4*log(N)^c5

Operon's expression (X1 = N, X2 = D; a positive feature as its logarithm):
    loss: (1.5 + (2.25 * (X1 ^ -0.3))) + (0.75 * exp(-0.2 * X2))
a recorded example
The constants c1, c2, ... are refitted per group by multi-start least squares from Operon's values.
"""

import numpy as np
from scipy.optimize import least_squares

SIZES = [5]
STARTS = [[1.5, 0.75, -0.2, 2.25, -0.3]]
def law_0(X, p):
    return X[:, 1]**p[2]*p[1] + p[0] + p[3]*np.log(X[:, 0])**p[4] + 0 * X[:, 0]


LAWS = [law_0]


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
        names = [f"p{i}" for i in range(len(start))]
        try:
            fitted.append(fit_least_squares(law, X, y, starts, names, max_nfev=300))
        except RuntimeError:
            fitted.append(start)
    return np.concatenate(fitted)
# EVOLVE-BLOCK-END
