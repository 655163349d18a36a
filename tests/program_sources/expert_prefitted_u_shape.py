"""Expert law for SLDBench task u_shape (easy_question_scaling_law): Wu & Lo 2024, U-shaped and Inverted-U Scaling behind Emergent Abilities.

Published constants per group (not refitted).
Inputs: log_flops. Outputs: brier_score.
"""

import numpy as np

EXPERT_LAW = 'u_shape'
FEATURES = ['log_flops']
TARGETS = ['brier_score']
PARAMETERS = ['a', 'b', 'c', 'd', 'e', 'f']
CONSTANTS = {
    'abstract_narrative_understanding': [-0.006136, 0.025686, -0.03119, 0.000339, 0.203861, -0.550979],
    'analogical_similarity': [0.058491, -0.187099, 0.111972, 0.095872, -0.067317, -0.53745],
    'arc': [-0.003271, 0.013232, 0.006263, -0.084657, 0.127716, -0.089125],
    'arithmetic': [0.128541, -0.45677, 0.402987, 0.041511, -0.075076, -0.195606],
    'conceptual_combinations': [-0.203798, 0.192782, 0.294432, -0.269999, -0.004889, -0.378809],
    'hellaswag': [-0.005741, 0.021832, -0.001166, -0.08252, 0.112166, -0.051313],
    'hindu_knowledge': [0.143442, 0.039983, 0.042229, -0.068911, -0.108628, -0.39894],
    'mmlu': [0.082274, -0.096793, -0.056438, 0.0711, -0.064121, -0.48011],
    'parsinlu_qa_mc': [0.012372, -0.03975, 0.020693, -0.033184, 0.085552, -0.433264],
}


def u_shape_form(X, p):
    """Wu & Lo 2024: brier = a x^5 + b x^4 + c x^3 + d x^2 + e x + f, x = log_flops."""
    a, b, c, d, e, f = p
    x = X[:, 0]
    return a * x**5 + b * x**4 + c * x**3 + d * x**2 + e * x + f


def law(input_data, group):
    if group in CONSTANTS:
        params = CONSTANTS[group]
    elif len(CONSTANTS) == 1:
        params = next(iter(CONSTANTS.values()))
    else:
        raise KeyError(f"no constants for group {group!r}; known groups: {sorted(CONSTANTS)}")
    X = np.array([[float(point[name]) for name in FEATURES] for point in input_data], dtype=float)
    Y = np.asarray(u_shape_form(X, np.asarray(params, dtype=float)), dtype=float).reshape(len(X), -1)
    return [dict(zip(TARGETS, (float(v) for v in row))) for row in Y]
