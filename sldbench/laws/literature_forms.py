"""The literature's scaling-law families as self-contained numpy functions (`sldbench.laws.literature` names them).

Each ``<name>_form(X, p)`` maps a matrix ``X`` whose columns are the law's roles, in the
order `sldbench.laws.literature.LiteratureLaw.roles` gives them, and a parameter vector ``p``
(in the order of the law's ``parameters``) to predictions of shape ``(N,)``. Each
``<name>_starts(X, y)`` gives starting points for fitting the form on one group's rows
(a grid over the exponents, amplitudes set from the data).

These functions are copied verbatim into submitted programs, so they use nothing but
``np`` and must stay free of other module-level names.
"""

import numpy as np


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


def kaplan_form(X, p):
    """Kaplan et al. 2020, eq. (1.5): L = ((N_c / N)^(a_N / a_D) + D_c / D)^a_D."""
    N_c, D_c, a_N, a_D = p
    N, D = X[:, 0], X[:, 1]
    return ((N_c / N) ** (a_N / a_D) + D_c / D) ** a_D


def kaplan_starts(X, y):
    N, D = X[:, 0], X[:, 1]
    starts = []
    for a_N in (0.076, 0.2, 0.4):
        for a_D in (0.095, 0.2, 0.4):
            # L ~ (N_c / N)^a_N where N limits: put N_c at the size that gives the mean loss
            N_c = float(np.median(N)) * float(np.mean(y)) ** (1.0 / a_N)
            D_c = float(np.median(D)) * 0.1
            starts.append([N_c, D_c, a_N, a_D])
    return starts


def chinchilla_form(X, p):
    """Hoffmann et al. 2022, eq. (2): L = E + A / N^alpha + B / D^beta."""
    E, A, alpha, B, beta = p
    N, D = X[:, 0], X[:, 1]
    return E + A * N ** (-alpha) + B * D ** (-beta)


def chinchilla_starts(X, y):
    N, D = X[:, 0], X[:, 1]
    starts = []
    for alpha in (0.15, 0.35, 0.7):
        for beta in (0.15, 0.35, 0.7):
            E, A, B = linear_start([N ** (-alpha), D ** (-beta)], y)
            starts.append([E, max(A, 1e-12), alpha, max(B, 1e-12), beta])
    return starts


def saturating_power_form(X, p):
    """Alabdulmohsin et al. 2022, M2: y = eps_inf + beta x^-c."""
    eps_inf, beta, c = p
    return eps_inf + beta * X[:, 0] ** (-c)


def saturating_power_starts(X, y):
    x = X[:, 0]
    starts = []
    for c in (0.05, 0.1, 0.2, 0.3, 0.45, 0.6, 0.8, 1.0):
        E, beta = linear_start([x ** (-c)], y)
        starts.append([E, max(beta, 1e-12), c])
    return starts


def downstream_error_form(X, p):
    """Gadre et al. 2024: a downstream top-1 error that rises with the loss L toward chance, y = E - k exp(-gamma L)."""
    E, k, gamma = p
    return E - k * np.exp(-gamma * X[:, 0])


def downstream_error_starts(X, y):
    x = X[:, 0]
    starts = []
    for rate in (0.25, 0.5, 1.0, 2.0, 4.0):  # gamma L across the rows' middle
        gamma = rate / np.median(x)
        E, minus_k = linear_start([np.exp(-gamma * x)], y)
        starts.append([E, max(-minus_k, 1e-12), gamma])
    return starts


def shifted_power_form(X, p):
    """Alabdulmohsin et al. 2022, M3 (the form of Zhai et al. 2022): y = eps_inf + beta (x + gamma)^-c."""
    eps_inf, beta, gamma, c = p
    return eps_inf + beta * (X[:, 0] + gamma) ** (-c)


def shifted_power_starts(X, y):
    x = X[:, 0]
    starts = []
    for c in (0.2, 0.5, 1.0):
        for gamma in np.quantile(x, [0.0, 0.2, 0.5]) * 0.5:
            E, beta = linear_start([(x + gamma) ** (-c)], y)
            starts.append([E, max(beta, 1e-12), float(gamma), c])
    return starts


def sigmoid_power_form(X, p):
    """Alabdulmohsin et al. 2022, M4: (y - eps_inf) / (eps_0 - y)^alpha = beta x^-c, solved for y."""
    eps_inf, gap, alpha, beta, c = p
    eps_0 = eps_inf + gap
    x = X[:, 0]
    target = beta * x ** (-c)
    low = np.full(len(x), eps_inf)
    high = np.full(len(x), eps_0)
    # (y - eps_inf) / (eps_0 - y)^alpha rises from 0 to infinity on (eps_inf, eps_0): bisect to 2^-30 of the gap
    for _ in range(30):
        mid = 0.5 * (low + high)
        value = (mid - eps_inf) / np.maximum(eps_0 - mid, 1e-300) ** alpha
        above = value > target
        high = np.where(above, mid, high)
        low = np.where(above, low, mid)
    return 0.5 * (low + high)


def sigmoid_power_starts(X, y):
    """The two best of a grid over (eps_inf, eps_0, alpha), each with beta and c from a line in the law's own
    coordinates: log(y - eps_inf) - alpha log(eps_0 - y) = log beta - c log x."""
    lx = np.log(X[:, 0])
    low, high = float(np.min(y)), float(np.max(y))
    spread = high - low or 1.0
    ranked = []
    for below in (0.02, 0.2, 0.6):
        for above in (0.05, 0.3, 1.0):
            for alpha in (0.5, 1.0, 2.0):
                eps_inf, eps_0 = low - below * spread, high + above * spread
                z = np.log(y - eps_inf) - alpha * np.log(eps_0 - y)
                slope, intercept = np.polyfit(lx, z, 1)
                unexplained = float(np.sum((intercept + slope * lx - z) ** 2) / (np.sum((z - z.mean()) ** 2) or 1.0))
                ranked.append((unexplained, [eps_inf, eps_0 - eps_inf, alpha, float(np.exp(intercept)), max(float(-slope), 1e-3)]))
    ranked.sort(key=lambda item: item[0])
    return [start for _, start in ranked[:2]]


def broken_power_form(X, p):
    """Caballero et al. 2023 (BNSL), one break: y = a + b x^-c0 (1 + (x / d1)^(1 / f1))^(-c1 f1)."""
    a, b, c0, c1, d1, f1 = p
    u = np.log(X[:, 0])
    # (1 + (x / d)^(1 / f))^(-c f) in logs, which cannot overflow
    return a + b * np.exp(-c0 * u - c1 * f1 * np.logaddexp(0.0, (u - np.log(d1)) / f1))


def broken_power_starts(X, y):
    u = np.log(X[:, 0])
    starts = []
    for c0 in (0.05, 0.2):
        for c1 in (0.2, 0.5):
            for d1 in np.exp(np.quantile(u, [0.5, 0.8])):
                for f1 in (0.5,):
                    shape = np.exp(-c0 * u - c1 * f1 * np.logaddexp(0.0, (u - np.log(d1)) / f1))
                    a, b = linear_start([shape], y)
                    starts.append([a, max(b, 1e-12), c0, c1, float(d1), f1])
    return starts


def broken_power_bounds(X):
    """The one break where the rows can place it: inside their range, no sharper than half their spacing in ln x.

    Past the last row a break is fitted to the curvature of the last few rows, which is noise
    (fits of the generality suite's broken_power, cut short, put it there with slope changes of
    2.5 and 21.6). The two-break law keeps its breaks free: its second break is often one the
    rows do not show yet, and held inside them it is fitted to noise too.
    """
    u = np.unique(np.log(X[:, 0]))
    spacing = float(np.median(np.diff(u))) if len(u) > 1 else 0.0
    return {"d1": (float(np.exp(u[0])), float(np.exp(u[-1]))), "f1": (spacing / 2, np.inf)}


def broken_power2_form(X, p):
    """Caballero et al. 2023 (BNSL), two breaks: y = a + b x^-c0 prod_i (1 + (x / d_i)^(1 / f_i))^(-c_i f_i)."""
    a, b, c0, c1, d1, f1, c2, d2, f2 = p
    u = np.log(X[:, 0])
    breaks = c1 * f1 * np.logaddexp(0.0, (u - np.log(d1)) / f1) + c2 * f2 * np.logaddexp(0.0, (u - np.log(d2)) / f2)
    return a + b * np.exp(-c0 * u - breaks)


def broken_power2_starts(X, y):
    u = np.log(X[:, 0])
    starts = []
    for c0 in (0.05,):
        for c1, c2 in ((0.3, 0.3), (0.5, -0.2), (-0.2, 0.5)):
            for q1, q2 in ((0.2, 0.5), (0.3, 0.75), (0.5, 0.9)):
                d1, d2 = np.exp(np.quantile(u, [q1, q2]))
                breaks = c1 * 0.3 * np.logaddexp(0.0, (u - np.log(d1)) / 0.3) + c2 * 0.3 * np.logaddexp(0.0, (u - np.log(d2)) / 0.3)
                a, b = linear_start([np.exp(-c0 * u - breaks)], y)
                starts.append([a, max(b, 1e-12), c0, c1, float(d1), 0.3, c2, float(d2), 0.3])
    return starts


def data_constrained_form(X, p):
    """Muennighoff et al. 2023: L = E + A / N^alpha + B / D'^beta, D' = U (1 + R (1 - exp(-(D / U - 1) / R))) for D > U."""
    E, A, alpha, B, beta, R = p
    N, D, U = X[:, 0], X[:, 1], X[:, 2]
    repeats = np.maximum(D / U - 1.0, 0.0)
    effective = np.minimum(D, U) + U * R * (1.0 - np.exp(-repeats / R))
    return E + A * N ** (-alpha) + B * effective ** (-beta)


def data_constrained_starts(X, y):
    N, D, U = X[:, 0], X[:, 1], X[:, 2]
    starts = []
    for alpha, beta in ((0.3, 0.3), (0.6, 0.3), (0.3, 0.6)):
        for R in (5.0, 15.0, 40.0):
            effective = np.minimum(D, U) + U * R * (1.0 - np.exp(-np.maximum(D / U - 1.0, 0.0) / R))
            E, A, B = linear_start([N ** (-alpha), effective ** (-beta)], y)
            starts.append([E, max(A, 1e-12), alpha, max(B, 1e-12), beta, R])
    return starts


def effective_size_form(X, p):
    """Effective parameters (Clark et al. 2022; Krajewski et al. 2024): L = E + A (N (1 + k ln X))^-alpha + B / D^beta."""
    E, A, alpha, k, B, beta = p
    N, M, D = X[:, 0], X[:, 1], X[:, 2]
    return E + A * (N * (1.0 + k * np.log(M))) ** (-alpha) + B * D ** (-beta)


def effective_size_starts(X, y):
    N, M, D = X[:, 0], X[:, 1], X[:, 2]
    starts = []
    for alpha, beta in ((0.3, 0.3), (0.6, 0.3), (0.3, 0.6)):
        for k in (0.1, 0.5, 2.0):
            E, A, B = linear_start([(N * (1.0 + k * np.log(M))) ** (-alpha), D ** (-beta)], y)
            starts.append([E, max(A, 1e-12), alpha, k, max(B, 1e-12), beta])
    return starts


def precision_form(X, p):
    """Kumar et al. 2024 (scaling laws for precision): L = E + A N_eff^-alpha + B / D^beta, N_eff = N (1 - exp(-P / gamma))."""
    E, A, alpha, B, beta, gamma = p
    N, D, P = X[:, 0], X[:, 1], X[:, 2]
    return E + A * (N * (1.0 - np.exp(-P / gamma))) ** (-alpha) + B * D ** (-beta)


def precision_starts(X, y):
    N, D, P = X[:, 0], X[:, 1], X[:, 2]
    starts = []
    for alpha, beta in ((0.3, 0.3), (0.6, 0.3), (0.3, 0.6)):
        for gamma in (1.0, 3.0, 8.0):
            E, A, B = linear_start([(N * (1.0 - np.exp(-P / gamma))) ** (-alpha), D ** (-beta)], y)
            starts.append([E, max(A, 1e-12), alpha, max(B, 1e-12), beta, gamma])
    return starts


def sparsity_form(X, p):
    """Frantar et al. 2023 (scaling laws for sparsely-connected models): L = (a_S (1 - S)^b_S + c_S) N^-b_N + (a_D / D)^b_D + c."""
    a_S, b_S, c_S, b_N, a_D, b_D, c = p
    N, D, S = X[:, 0], X[:, 1], X[:, 2]
    return (a_S * (1.0 - S) ** b_S + c_S) * N ** (-b_N) + (a_D / D) ** b_D + c


def sparsity_starts(X, y):
    N, D = X[:, 0], X[:, 1]
    low, spread = float(np.min(y)), float(np.ptp(y)) or 1.0
    starts = []
    for b_N, b_D in ((0.3, 0.3), (0.6, 0.3), (0.3, 0.6)):
        for b_S in (0.5, 2.0):
            floor = low - 0.5 * spread
            amplitude = 0.5 * (float(np.mean(y)) - floor) * float(np.median(N)) ** b_N
            a_D = float(np.median(D)) * (0.5 * (float(np.mean(y)) - floor)) ** (1.0 / b_D)
            starts.append([0.5 * amplitude, b_S, 0.5 * amplitude, b_N, a_D, b_D, floor])
    return starts


def optimum_form(X, p):
    """Chinchilla plus a bowl in log h around an optimum that moves as a power of N (Tao et al. 2024 for the
    vocabulary; DeepSeek-AI 2024, Li et al. 2025 for the learning rate): L = E + A / N^alpha + B / D^beta
    + c (ln h - m0 - m1 ln N)^2."""
    E, A, alpha, B, beta, c, m0, m1 = p
    N, D, h = X[:, 0], X[:, 1], X[:, 2]
    return E + A * N ** (-alpha) + B * D ** (-beta) + c * (np.log(h) - m0 - m1 * np.log(N)) ** 2


def optimum_starts(X, y):
    N, D, h = X[:, 0], X[:, 1], X[:, 2]
    best = float(np.log(h[np.argmin(y)]))
    starts = []
    for alpha, beta in ((0.3, 0.3), (0.6, 0.3)):
        for m1 in (-0.3, 0.0, 0.3):
            m0 = best - m1 * float(np.median(np.log(N)))
            E, A, B, c = linear_start([N ** (-alpha), D ** (-beta), (np.log(h) - m0 - m1 * np.log(N)) ** 2], y)
            starts.append([E, max(A, 1e-12), alpha, max(B, 1e-12), beta, max(c, 1e-12), m0, m1])
    return starts


def two_optima_form(X, p):
    """Chinchilla plus bowls in log learning rate and log batch size whose optima move as powers of N and D
    (Li et al. 2025; Bergsma et al. 2025): L = E + A / N^alpha + B / D^beta + c (ln lr - m0 - m1 ln N)^2
    + k (ln bsz - b0 - b1 ln D)^2."""
    E, A, alpha, B, beta, c, m0, m1, k, b0, b1 = p
    N, D, lr, bsz = X[:, 0], X[:, 1], X[:, 2], X[:, 3]
    bowls = c * (np.log(lr) - m0 - m1 * np.log(N)) ** 2 + k * (np.log(bsz) - b0 - b1 * np.log(D)) ** 2
    return E + A * N ** (-alpha) + B * D ** (-beta) + bowls


def two_optima_starts(X, y):
    N, D, lr, bsz = X[:, 0], X[:, 1], X[:, 2], X[:, 3]
    best_lr, best_bsz = float(np.log(lr[np.argmin(y)])), float(np.log(bsz[np.argmin(y)]))
    starts = []
    for alpha, beta in ((0.3, 0.3), (0.6, 0.3)):
        for m1, b1 in ((-0.3, 0.3), (0.0, 0.0), (-0.3, 0.0)):
            m0 = best_lr - m1 * float(np.median(np.log(N)))
            b0 = best_bsz - b1 * float(np.median(np.log(D)))
            bowls = [(np.log(lr) - m0 - m1 * np.log(N)) ** 2, (np.log(bsz) - b0 - b1 * np.log(D)) ** 2]
            E, A, B, c, k = linear_start([N ** (-alpha), D ** (-beta), *bowls], y)
            starts.append([E, max(A, 1e-12), alpha, max(B, 1e-12), beta, max(c, 1e-12), m0, m1, max(k, 1e-12), b0, b1])
    return starts


def u_shape_form(X, p):
    """A decaying and a growing power law (U-shaped or, with negative amplitudes, inverted-U scaling;
    McKenzie et al. 2023, Wei et al. 2023): y = E + A x^-a + C x^c."""
    E, A, a, C, c = p
    x = X[:, 0]
    return E + A * x ** (-a) + C * x**c


def u_shape_starts(X, y):
    x = X[:, 0]
    starts = []
    for a in (0.1, 0.3, 0.6):
        for c in (0.1, 0.3, 0.6):
            E, A, C = linear_start([x ** (-a), x**c], y)
            starts.append([E, A, a, C, c])
    return starts
