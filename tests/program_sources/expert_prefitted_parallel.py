"""Expert law for SLDBench task parallel (parallel_scaling_law): Chen et al. 2025, Parallel Scaling Law for Language Models.

Published constants per group (not refitted).
Inputs: num_params, parallel_size. Outputs: loss.
"""

import numpy as np

EXPERT_LAW = 'parallel'
FEATURES = ['num_params', 'parallel_size']
TARGETS = ['loss']
PARAMETERS = ['A', 'k', 'alpha', 'E']
CONSTANTS = {
    'pile': [135335300.0, 0.344689, 0.223649, 1.37668],
    'stack': [18315640.0, 0.419331, 0.132752, 0.532023],
}


def parallel_form(X, p):
    """Chen et al. 2025 (ParScale): L = (A / (N (k ln P + 1)))^alpha + E."""
    A, k, alpha, E = p
    N, P = X[:, 0], X[:, 1]
    return (A / (N * (k * np.log(P) + 1.0))) ** alpha + E


def law(input_data, group):
    if group in CONSTANTS:
        params = CONSTANTS[group]
    elif len(CONSTANTS) == 1:
        params = next(iter(CONSTANTS.values()))
    else:
        raise KeyError(f"no constants for group {group!r}; known groups: {sorted(CONSTANTS)}")
    X = np.array([[float(point[name]) for name in FEATURES] for point in input_data], dtype=float)
    Y = np.asarray(parallel_form(X, np.asarray(params, dtype=float)), dtype=float).reshape(len(X), -1)
    return [dict(zip(TARGETS, (float(v) for v in row))) for row in Y]
