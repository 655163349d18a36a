"""Expert law for SLDBench task vocab (vocab_scaling_law): Tao et al. 2024, Scaling Laws with Vocabulary.

The published functional form, refitted per group on the train split by multi-start least squares.
Inputs: non_vocab_parameters, vocab_size, num_characters. Outputs: unigram_normalized_loss.
"""

import numpy as np
from scipy.optimize import least_squares

EXPERT_LAW = 'vocab'
PARAMETERS = ['A', 'alpha', 'B', 'beta', 'C', 'gamma', 'E']
LOG_PARAMETERS = ['alpha', 'beta', 'gamma']
FIXED = {}


def vocab_form(X, p):
    """Tao et al. 2024: L = A / N^alpha + B / V^beta + C / D^gamma + E."""
    A, alpha, B, beta, C, gamma, E = p
    N = np.maximum(X[:, 0], 1e-9)
    V = np.maximum(X[:, 1], 1e-9)
    D = np.maximum(X[:, 2], 1e-9)
    return A / N**alpha + B / V**beta + C / D**gamma + E


def vocab_starts(X, Y):
    floor = float(np.min(Y)) - 1.0
    return [
        [1e2, 0.3, 1.0, 0.3, 1e3, 0.3, floor],
        [10.0, 0.2, 10.0, 0.2, 1e2, 0.2, floor],
        [1e3, 0.4, 0.1, 0.5, 1e4, 0.4, floor - 1.0],
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
    return vocab_form(np.asarray(data_points, dtype=float), np.asarray(params, dtype=float))


def fit_scaling_law(data_points, loss_values):
    X = np.asarray(data_points, dtype=float)
    Y = np.asarray(loss_values, dtype=float).reshape(len(X), -1)
    starts = vocab_starts(X, Y)
    return fit_least_squares(vocab_form, X, Y, starts, PARAMETERS, LOG_PARAMETERS, FIXED)
