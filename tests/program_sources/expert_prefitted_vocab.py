"""Expert law for SLDBench task vocab (vocab_scaling_law): Tao et al. 2024, Scaling Laws with Vocabulary.

Published constants per group (not refitted).
Inputs: non_vocab_parameters, vocab_size, num_characters. Outputs: unigram_normalized_loss.
"""

import numpy as np

EXPERT_LAW = 'vocab'
FEATURES = ['non_vocab_parameters', 'vocab_size', 'num_characters']
TARGETS = ['unigram_normalized_loss']
PARAMETERS = ['A', 'alpha', 'B', 'beta', 'C', 'gamma', 'E']
CONSTANTS = {
    'all_data': [2856.8648050643937, 2.2229172622805675e-05, -7812.224949975335, 7.235503377025556e-06, 6687.910407905492, 0.3792793472479527, 4950.502628383051],
}


def vocab_form(X, p):
    """Tao et al. 2024: L = A / N^alpha + B / V^beta + C / D^gamma + E."""
    A, alpha, B, beta, C, gamma, E = p
    N = np.maximum(X[:, 0], 1e-9)
    V = np.maximum(X[:, 1], 1e-9)
    D = np.maximum(X[:, 2], 1e-9)
    return A / N**alpha + B / V**beta + C / D**gamma + E


def law(input_data, group):
    if group in CONSTANTS:
        params = CONSTANTS[group]
    elif len(CONSTANTS) == 1:
        params = next(iter(CONSTANTS.values()))
    else:
        raise KeyError(f"no constants for group {group!r}; known groups: {sorted(CONSTANTS)}")
    X = np.array([[float(point[name]) for name in FEATURES] for point in input_data], dtype=float)
    Y = np.asarray(vocab_form(X, np.asarray(params, dtype=float)), dtype=float).reshape(len(X), -1)
    return [dict(zip(TARGETS, (float(v) for v in row))) for row in Y]
