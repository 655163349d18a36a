"""Baseline: a plain power law per group, fitted by least squares in log space.

    target = exp(c) * prod_f feature_f ** a_f   (positive features and targets)
    target = c + sum_f a_f * feature_f          (otherwise: a linear law)
"""
import numpy as np


def _design(X, logs):
    X = np.atleast_2d(np.asarray(X, dtype=float))
    return np.column_stack([np.ones(len(X)), np.log(X) if logs else X])


def scaling_law_func(data_points, params):
    P = np.atleast_2d(np.asarray(params, dtype=float))
    logs = bool(P[0, 0])
    out = []
    for p in P:
        eta = _design(data_points, logs) @ p[1:]
        out.append(np.exp(eta) if logs else eta)
    pred = np.column_stack(out)
    return pred[:, 0] if pred.shape[1] == 1 else pred


def fit_scaling_law(data_points, loss_values):
    X = np.atleast_2d(np.asarray(data_points, dtype=float))
    Y = np.asarray(loss_values, dtype=float).reshape(len(X), -1)
    logs = bool(np.all(X > 0) and np.all(Y > 0))
    A = _design(X, logs)
    params = [np.concatenate([[float(logs)], np.linalg.lstsq(A, np.log(y) if logs else y, rcond=None)[0]]) for y in Y.T]
    return params[0] if len(params) == 1 else np.array(params)
