"""error = E - k * exp(-gamma * loss)

Gadre et al. 2024, Language Models Scale Reliably with Over-Training and on Downstream Tasks: average top-1 error from the loss; fitted per group on the train split by variable projection (linear in E, k).
"""

import numpy as np
from scipy.optimize import least_squares

LITERATURE_LAW = 'downstream_error'
ROLES = [0]
PARAMETERS = ['E', 'k', 'gamma']
LINEAR = ['E', 'k']
LOG_PARAMETERS = ['k', 'gamma']


def downstream_error_form(X, p):
    """Gadre et al. 2024: a downstream top-1 error that rises with the loss L toward chance, y = E - k exp(-gamma L)."""
    E, k, gamma = p
    return E - k * np.exp(-gamma * X[:, 0])


def linear_start(columns, y):
    """``[E, c_1, ...]`` minimising ``|y - E - sum_k c_k columns_k|^2``: the amplitudes of a start, given its exponents."""
    A = np.column_stack([np.ones(len(y)), *columns])
    if not np.all(np.isfinite(A)):  # what lstsq raises here, without LAPACK's complaint on stderr
        raise np.linalg.LinAlgError("a column of the start is not finite")
    scale = np.sqrt(np.mean(A**2, axis=0))
    scale[~(scale > 0)] = 1.0
    with np.errstate(all="ignore"):
        coefficients = np.linalg.lstsq(A / scale, y, rcond=None)[0] / scale
    return [float(c) if np.isfinite(c) else 0.0 for c in coefficients]


def downstream_error_starts(X, y):
    x = X[:, 0]
    starts = []
    for rate in (0.25, 0.5, 1.0, 2.0, 4.0):  # gamma L across the rows' middle
        gamma = rate / np.median(x)
        E, minus_k = linear_start([np.exp(-gamma * x)], y)
        starts.append([E, max(-minus_k, 1e-12), gamma])
    return starts


def fit_projected(form, X, Y, starts, parameters, linear, log_parameters=(), max_nfev=200, refine=2, bounds=None):
    """Fit ``form(X, p)`` to ``Y`` where ``form`` is affine in the ``linear`` parameters, by variable projection.

    For each value of the other parameters the form is evaluated with every linear parameter at
    zero and with each in turn at one; the linear parameters then solve a linear least squares
    problem (those in ``log_parameters`` held at zero where they would go negative), so only the
    others are searched: the ``refine`` starts of lowest cost, each by trust-region least squares,
    with those in ``log_parameters`` fitted as logs.

    Parameters
    ----------
    form : callable
        ``form(X, p) -> (N,)``.
    X : ndarray, shape (N, F)
    Y : ndarray, shape (N,)
    starts : list of sequences
        Full parameter vectors (in ``parameters`` order); their linear entries are ignored.
    parameters : list of str
        Parameter names, in order.
    linear : iterable of str
        The parameters ``form`` is affine in, given the others.
    log_parameters : iterable of str
        Parameters kept positive (non-negative for linear ones).
    max_nfev : int
        Function evaluations per refined start.
    refine : int
        Starts refined.
    bounds : dict of str to (float, float), optional
        Closed ranges of parameters that are not linear (starts are moved inside them).

    Returns
    -------
    ndarray
        The best parameter vector found (lowest sum of squares), in ``parameters`` order.
    """
    y = np.asarray(Y, dtype=float).reshape(len(X), -1)[:, 0]
    linear, positive = set(linear), set(log_parameters)
    lin = [i for i, name in enumerate(parameters) if name in linear]
    other = [i for i, name in enumerate(parameters) if name not in linear]
    logged = np.array([parameters[i] in positive for i in other], dtype=bool)
    signed = np.array([parameters[i] in positive for i in lin], dtype=bool)
    spread = float(np.std(y)) or 1.0

    def solve(q):
        full = np.zeros(len(parameters))
        full[other] = np.where(logged, np.exp(np.clip(q, -700.0, 700.0)), q)
        with np.errstate(all="ignore"):
            rest = np.asarray(form(X, full), dtype=float).reshape(len(y))
            columns = []
            for i in lin:
                unit = full.copy()
                unit[i] = 1.0
                columns.append(np.asarray(form(X, unit), dtype=float).reshape(len(y)) - rest)
        G = np.column_stack(columns) if columns else np.empty((len(y), 0))
        if not (np.all(np.isfinite(rest)) and np.all(np.isfinite(G))):
            return full, np.full(len(y), 1e3 * spread)
        # least squares over the free columns; a non-negative one that comes out negative is held at zero
        active = np.ones(len(lin), dtype=bool)
        coefficients = np.zeros(len(lin))
        while active.any():
            A = G[:, active]
            scale = np.sqrt(np.mean(A**2, axis=0))
            scale[~(scale > 1e-300)] = 1.0
            try:
                solved = np.linalg.lstsq(A / scale, y - rest, rcond=None)[0] / scale
            except (ValueError, np.linalg.LinAlgError):
                return full, np.full(len(y), 1e3 * spread)
            coefficients[:] = 0.0
            coefficients[active] = solved
            negative = active & signed & (coefficients < 0)
            if not negative.any():
                break
            active &= ~negative
            coefficients[negative] = 0.0
        full[lin] = coefficients
        residual = G @ coefficients + rest - y
        return full, np.where(np.isfinite(residual), residual, 1e3 * spread)

    low, high = np.full(len(other), -np.inf), np.full(len(other), np.inf)
    for k, i in enumerate(other):
        lo, hi = (bounds or {}).get(parameters[i], (-np.inf, np.inf))
        if logged[k]:
            lo, hi = (np.log(lo) if lo > 0 else -np.inf), (np.log(hi) if hi > 0 else -np.inf)
        low[k], high[k] = lo, hi

    def start_point(start):
        q = np.asarray(start, dtype=float)[other].copy()
        q[logged] = np.log(np.abs(q[logged]) + 1e-300)
        return np.clip(q, low, high)

    points = [start_point(start) for start in starts]
    if not points:
        raise RuntimeError("variable-projection fit needs at least one starting point")
    costs = [float(np.sum(solve(q)[1] ** 2)) for q in points]
    best_p, best_cost = None, np.inf
    for index in np.argsort(costs, kind="stable")[: max(refine, 1)]:
        q = points[index]
        if len(q):
            try:
                q = least_squares(lambda v: solve(v)[1], q, method="trf", x_scale="jac", max_nfev=max_nfev, bounds=(low, high)).x
            except (ValueError, np.linalg.LinAlgError):
                pass
        full, residual = solve(q)
        cost = float(np.sum(residual**2))
        if cost < best_cost:
            best_p, best_cost = full, cost
        if not len(q):
            break
    return best_p


def scaling_law_func(data_points, params):
    X = np.asarray(data_points, dtype=float)[:, ROLES]
    return downstream_error_form(X, np.asarray(params, dtype=float))


def fit_scaling_law(data_points, loss_values):
    X = np.asarray(data_points, dtype=float)[:, ROLES]
    y = np.asarray(loss_values, dtype=float).reshape(len(X), -1)[:, 0]
    return fit_projected(downstream_error_form, X, y, downstream_error_starts(X, y), PARAMETERS, LINEAR, LOG_PARAMETERS)
