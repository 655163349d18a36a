"""Reference law for examples/synthetic (Hoffmann et al. 2022, "Chinchilla"):

    loss = E + A / N^alpha + B / D^beta

Fit-and-predict shape: the harness fits the five constants per group on the
train split (`fit_scaling_law`), then predicts the held-out runs.
"""

import numpy as np
from scipy.optimize import least_squares


def scaling_law_func(data_points, params):
    X = np.asarray(data_points, dtype=float)
    E, A, alpha, B, beta = params
    return E + A / X[:, 0] ** alpha + B / X[:, 1] ** beta


def fit_scaling_law(data_points, loss_values):
    X = np.asarray(data_points, dtype=float)
    y = np.asarray(loss_values, dtype=float).ravel()

    def residuals(theta):  # A and B fitted in log space, so they stay positive
        E, log_a, alpha, log_b, beta = theta
        return scaling_law_func(X, [E, np.exp(log_a), alpha, np.exp(log_b), beta]) - y

    best = None
    for alpha in (0.2, 0.35, 0.5):
        for beta in (0.2, 0.35, 0.5):
            start = [0.8 * y.min(), np.log(100.0), alpha, np.log(100.0), beta]
            fit = least_squares(residuals, start, bounds=([-np.inf, -20, 0.0, -20, 0.0], [np.inf, 40, 2.0, 40, 2.0]))
            if best is None or fit.cost < best.cost:
                best = fit
    E, log_a, alpha, log_b, beta = best.x
    return np.array([E, np.exp(log_a), alpha, np.exp(log_b), beta])
