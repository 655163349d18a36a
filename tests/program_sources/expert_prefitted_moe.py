"""Expert law for SLDBench task moe (moe_scaling_law): Clark et al. 2022, Unified Scaling Laws for Routed Language Models.

Published constants per group (not refitted).
Inputs: num_experts, dense_parameter_count. Outputs: loss_validation.
"""

import numpy as np

EXPERT_LAW = 'moe'
FEATURES = ['num_experts', 'dense_parameter_count']
TARGETS = ['loss_validation']
PARAMETERS = ['a', 'b', 'c', 'd', 'E_start', 'E_max']
CONSTANTS = {
    'all_data': [-0.09008401973934832, -0.14048869392779256, 0.0056318683241378545, 2.703841330229758, 4.869805626274102, 385.8083911184742],
}


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


def law(input_data, group):
    if group in CONSTANTS:
        params = CONSTANTS[group]
    elif len(CONSTANTS) == 1:
        params = next(iter(CONSTANTS.values()))
    else:
        raise KeyError(f"no constants for group {group!r}; known groups: {sorted(CONSTANTS)}")
    X = np.array([[float(point[name]) for name in FEATURES] for point in input_data], dtype=float)
    Y = np.asarray(moe_form(X, np.asarray(params, dtype=float)), dtype=float).reshape(len(X), -1)
    return [dict(zip(TARGETS, (float(v) for v in row))) for row in Y]
