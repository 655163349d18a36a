# EVOLVE-BLOCK-START
"""Scaling law: per target, a sum of power laws of the features plus a bias (2F+1 parameters)."""
import numpy as np
from scipy.optimize import minimize


def scaling_law_func(data_points, params):
    X = np.atleast_2d(np.asarray(data_points, dtype=float))
    n_features = X.shape[1]
    P = np.atleast_2d(np.asarray(params, dtype=float))
    coeffs, exponents, bias = P[:, :n_features], P[:, n_features:2 * n_features], P[:, -1]
    pred = (coeffs[None, :, :] * X[:, None, :] ** exponents[None, :, :]).sum(axis=2) + bias[None, :]
    return pred[:, 0] if pred.shape[1] == 1 else pred


def fit_scaling_law(data_points, loss_values):
    X = np.atleast_2d(np.asarray(data_points, dtype=float))
    y = np.asarray(loss_values, dtype=float)
    Y = y[:, None] if y.ndim == 1 else y
    n_targets, n_params = Y.shape[1], 2 * X.shape[1] + 1
    init = np.ones(n_targets * n_params)

    def objective(flat):
        pred = scaling_law_func(X, flat.reshape(n_targets, n_params)).reshape(len(X), n_targets)
        return np.mean((pred - Y) ** 2)

    result = minimize(objective, init, method="BFGS")
    params = (result.x if result.success else init).reshape(n_targets, n_params)
    return params[0] if n_targets == 1 else params
# EVOLVE-BLOCK-END
