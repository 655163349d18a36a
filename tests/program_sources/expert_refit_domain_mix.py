"""Expert law for SLDBench task domain_mix (domain_mixture_scaling_law): Ye et al. 2024, Data Mixing Laws.

The published functional form, refitted per group on the train split by multi-start least squares.
Inputs: proportion_domain_1, proportion_domain_2, proportion_domain_3, proportion_domain_4, proportion_domain_5. Outputs: loss_domain_1, loss_domain_2, loss_domain_3, loss_domain_4, loss_domain_5.
"""

import numpy as np
from scipy.optimize import least_squares

EXPERT_LAW = 'domain_mix'
PARAMETERS = ['c_1', 'c_2', 'c_3', 'c_4', 'c_5', 'k_1', 'k_2', 'k_3', 'k_4', 'k_5', 't_1_1', 't_1_2', 't_1_3', 't_1_4', 't_1_5', 't_2_1', 't_2_2', 't_2_3', 't_2_4', 't_2_5', 't_3_1', 't_3_2', 't_3_3', 't_3_4', 't_3_5', 't_4_1', 't_4_2', 't_4_3', 't_4_4', 't_4_5', 't_5_1', 't_5_2', 't_5_3', 't_5_4', 't_5_5']
LOG_PARAMETERS = []
FIXED = {}


def domain_mix_form(X, p):
    """Ye et al. 2024 (data mixing laws): L_i = c_i + k_i exp(sum_j t_ij r_j)."""
    c = np.asarray(p[0:5])
    k = np.asarray(p[5:10])
    T = np.asarray(p[10:35]).reshape(5, 5)  # row i: target domain, column j: proportion
    return c + k * np.exp(X @ T.T)


def domain_mix_starts(X, Y):
    level = np.mean(Y, axis=0)
    zeros = np.zeros(25)
    return [
        np.concatenate([np.zeros(5), level, zeros]),
        np.concatenate([0.5 * level, 0.5 * level, zeros]),
        np.concatenate([0.9 * level, 0.1 * level, -np.eye(5).ravel()]),
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
    return domain_mix_form(np.asarray(data_points, dtype=float), np.asarray(params, dtype=float))


def fit_scaling_law(data_points, loss_values):
    X = np.asarray(data_points, dtype=float)
    Y = np.asarray(loss_values, dtype=float).reshape(len(X), -1)
    starts = domain_mix_starts(X, Y)
    return fit_least_squares(domain_mix_form, X, Y, starts, PARAMETERS, LOG_PARAMETERS, FIXED)
