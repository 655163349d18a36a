"""Expert law for SLDBench task lr_bsz (lr_bsz_scaling_law): StepLaw-based form (Li et al. 2025, Predictable Scale: Part I).

Published constants per group (not refitted).
Inputs: lr, bsz, data_size, non_embedding_param_size. Outputs: lm_loss.
"""

import numpy as np

EXPERT_LAW = 'lr_bsz'
FEATURES = ['lr', 'bsz', 'data_size', 'non_embedding_param_size']
TARGETS = ['lm_loss']
PARAMETERS = ['A', 'alpha', 'B', 'beta', 'C', 'D', 'E_new', 'F', 'gamma', 'zeta', 'G', 'eta']
CONSTANTS = {
    'all_data': [262.1391390253, 0.2675128792, 7.0285480778, 0.0745644645, 1.36139e-05, 1278.595377817, 0.0492669572, 0.3242085567, -1.0579829431, 0.6497664883, 0.0302367305, 0.3503114242],
}


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


def law(input_data, group):
    if group in CONSTANTS:
        params = CONSTANTS[group]
    elif len(CONSTANTS) == 1:
        params = next(iter(CONSTANTS.values()))
    else:
        raise KeyError(f"no constants for group {group!r}; known groups: {sorted(CONSTANTS)}")
    X = np.array([[float(point[name]) for name in FEATURES] for point in input_data], dtype=float)
    Y = np.asarray(lr_bsz_form(X, np.asarray(params, dtype=float)), dtype=float).reshape(len(X), -1)
    return [dict(zip(TARGETS, (float(v) for v in row))) for row in Y]
