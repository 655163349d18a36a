"""The fitters the package copies, by their source, into the programs it writes.

A written program is self-contained: it carries its fitter as text (``inspect.getsource`` of a
function here), so the sandbox runs it with numpy and scipy alone. The one rule for every
function of this module: it uses only its arguments, the names its program imports at its top
(``np``; ``least_squares``, ``nnls`` from scipy.optimize; ``qmc`` from scipy.stats) and the other
functions of this module its program copies beside it; no module-level state.

- `fit_least_squares`: plain multi-start least squares of any form ``form(X, p)``, parameters
  optionally fitted as logs or held fixed. Refitted expert laws and Operon's expressions.
- `fit_projected`: variable projection for a form that is affine in some of its parameters
  (intercept, amplitudes): those solved by linear least squares (non-negative where asked)
  for every value of the others, which alone are searched from the best starts. The literature's laws
  (`sldbench.laws.literature`).
- `solve_linear`, `fit_law`: variable projection for ``head(b + sum_k c_k g_k(X; theta))``: the
  linear ``b, c`` solved exactly for each ``theta``, ``theta`` searched by multi-start bounded
  trust-region least squares with a soft-L1 loss (the exp head is projected on log y, then
  polished on y). The law search's forms (`sldbench.laws.terms`).
- `project_nonnegative`, `fit_grammar_law`: variable projection for ``E + sum_k s_k c_k
  phi_k(X; theta)`` with sign-constrained coefficients (non-negative least squares), ``theta``
  started from a scrambled Sobol design over its box and refined with a soft-L1 loss scaled by a
  robust noise estimate. The grammar's families (`sldbench.laws.grammar`); a fit that ends on a
  bound of the box is flagged by the search (`sldbench.symbolic.guards.fit_problem`).
"""

import numpy as np
from scipy.optimize import least_squares, nnls
from scipy.stats import qmc


# ------------------------------------------------------------- any form: multi-start least squares


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


# --------------------------------------------------- variable projection: linear coefficients


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


# ----------------------------------------- variable projection: sign-constrained coefficients


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
