"""The eight expert laws of the paper's "Human" row, as self-contained numpy functions.

Each ``<task>_form(X, p)`` maps a feature matrix ``X`` of shape ``(N, F)``
(columns in the task's feature order) and a parameter vector ``p`` (in the
order of the law's ``parameters``) to predictions of shape ``(N,)``, or
``(N, T)`` for several targets. Each ``<task>_starts(X, Y)`` gives starting
points for refitting the form on one group's training rows.

These functions are copied verbatim into submitted programs, so they use
nothing but ``np`` and must stay free of other module-level names.
"""

import numpy as np


def parallel_form(X, p):
    """Chen et al. 2025 (ParScale): L = (A / (N (k ln P + 1)))^alpha + E."""
    A, k, alpha, E = p
    N, P = X[:, 0], X[:, 1]
    return (A / (N * (k * np.log(P) + 1.0))) ** alpha + E


def parallel_starts(X, Y):
    floor = float(np.min(Y)) * 0.8
    return [[1e8, 0.4, 0.2, floor], [1e7, 0.3, 0.15, floor * 0.5], [1e9, 0.5, 0.3, floor]]


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


def sft_form(X, p):
    """Lin et al. 2024 (rectified scaling law): L = A / (D^alpha + B) + C."""
    A, alpha, B, C = p
    D = np.maximum(X[:, 0], 1e-9)
    return A / (D**alpha + B) + C


def sft_starts(X, Y):
    low = float(np.min(Y))
    return [[10.0, 0.3, 5.0, low * 0.8], [100.0, 0.5, 50.0, low * 0.5], [1.0, 0.1, 1.0, low * 0.9]]


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


def d_constrain_form(X, p):
    """Muennighoff et al. 2023: L = A / N'^alpha + B / D'^beta + E with effective N', D'."""
    A, alpha, B, beta, E, R_N_star, R_D_star, c_UN = p
    U, N, D = X[:, 0], X[:, 1], X[:, 2]
    U_D = U
    R_D = D / U_D - 1.0
    U_N = np.minimum(c_UN * U_D, N)
    R_N = np.maximum(N / U_N - 1.0, 0.0)
    N_eff = U_N + R_N_star * U_N * (1.0 - np.exp(-R_N / R_N_star))
    D_eff = U_D + R_D_star * U_D * (1.0 - np.exp(-R_D / R_D_star))
    return A / N_eff**alpha + B / D_eff**beta + E


def d_constrain_starts(X, Y):
    # Chinchilla's published constants (Hoffmann et al. 2022) and moderate repetition decay.
    return [[406.4, 0.34, 410.7, 0.28, 1.69, 5.0, 15.0, 0.051], [100.0, 0.25, 1000.0, 0.3, 2.0, 2.0, 5.0, 0.051]]


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


def u_shape_form(X, p):
    """Wu & Lo 2024: brier = a x^5 + b x^4 + c x^3 + d x^2 + e x + f, x = log_flops."""
    a, b, c, d, e, f = p
    x = X[:, 0]
    return a * x**5 + b * x**4 + c * x**3 + d * x**2 + e * x + f


def u_shape_starts(X, Y):
    return [[0.0, 0.0, 0.0, 0.0, 0.0, float(np.mean(Y))]]
