"""Expert law for SLDBench task d_constrain (data_constrained_scaling_law): Muennighoff et al. 2023, Scaling Data-Constrained Language Models.

Published constants per group (not refitted).
Inputs: unique_tokens, params, tokens. Outputs: loss.
"""

import numpy as np

EXPERT_LAW = 'd_constrain'
FEATURES = ['unique_tokens', 'params', 'tokens']
TARGETS = ['loss']
PARAMETERS = ['A', 'alpha', 'B', 'beta', 'E', 'R_N_star', 'R_D_star', 'c_UN']
CONSTANTS = {
    'all_data': [521.0, 0.353, 1488.0, 0.353, 1.87, 5.3, 15.4, 0.051],
}


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


def law(input_data, group):
    if group in CONSTANTS:
        params = CONSTANTS[group]
    elif len(CONSTANTS) == 1:
        params = next(iter(CONSTANTS.values()))
    else:
        raise KeyError(f"no constants for group {group!r}; known groups: {sorted(CONSTANTS)}")
    X = np.array([[float(point[name]) for name in FEATURES] for point in input_data], dtype=float)
    Y = np.asarray(d_constrain_form(X, np.asarray(params, dtype=float)), dtype=float).reshape(len(X), -1)
    return [dict(zip(TARGETS, (float(v) for v in row))) for row in Y]
