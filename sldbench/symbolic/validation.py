"""Choosing laws that extrapolate, on the train split alone.

`sldbench.folds.extrapolation_folds` gives the test-shaped folds of the train
split as two splits of pseudo-groups (``"<fold> | <group>"``), so one run of a
program fits and predicts every fold, in the sandbox
(``TrainEvaluator(sandbox, fit, timeout, points=holdout)``) or in this process
(`validation_r2`). Each fold gets its own R^2, clipped to
[-1, 1] as the leaderboard clips (`fold_r2s`); a law's validation score is
their mean (`fold_score`): no fold's raw R^2 can decide alone, and the folds'
offsets are never pooled into one score.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..data import Split
from ..folds import fold_r2s, fold_score


def group_arrays(split: Split) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{group: (X, Y)}`` of a split, in sorted group order (computed once: filtering frames is slow)."""
    return {group: split.arrays(group) for group in split.groups}


def namespace(code: str) -> dict:
    """Globals of ``code`` once executed: a program the symbolic search wrote itself (never a model's)."""
    out: dict = {}
    exec(compile(code, "<symbolic law>", "exec"), out)  # noqa: S102  # inspect-evals-lint: ignore[host_code_execution] -- programs of the symbolic proposer itself, never model output
    return out


def predict_folds(namespace: dict, fit: dict, holdout: dict) -> dict[str, np.ndarray] | None:
    """A program's predictions of every held-out pseudo-group, fitted per pseudo-group; None when it fails or is not finite."""
    predictions = {}
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            for group, (x_new, y_new) in holdout.items():
                x_fit, y_fit = fit[group]
                params = namespace["fit_scaling_law"](x_fit, y_fit[:, 0] if y_fit.shape[1] == 1 else y_fit)
                predicted = np.asarray(namespace["scaling_law_func"](x_new, params), dtype=float).reshape(len(x_new), -1)
                if predicted.shape != y_new.shape or not np.all(np.isfinite(predicted)):
                    return None
                predictions[group] = predicted
        except Exception:  # noqa: BLE001 - any failure of a candidate is a rejection
            return None
    return predictions


def validation_folds(namespace: dict, fit: dict, holdout: dict) -> list[float]:
    """`fold_r2s` of a program (its functions in ``namespace``); [] when it fails, as the sandboxed evaluation rejects it."""
    predictions = predict_folds(namespace, fit, holdout)
    return [] if predictions is None else fold_r2s({g: y for g, (_, y) in holdout.items()}, predictions)


def validation_r2(namespace: dict, fit: dict, holdout: dict) -> float:
    """The validation score (`fold_score`) of a program fitted per pseudo-group on ``fit`` and predicting ``holdout``.

    Parameters
    ----------
    namespace : dict
        Globals of the executed program (``fit_scaling_law``, ``scaling_law_func``).
    fit, holdout : dict
        `group_arrays` of the two splits of `sldbench.folds.extrapolation_folds`.

    Returns
    -------
    float
        Mean clipped R^2 over the folds; ``-inf`` when the program fails or predicts
        non-finite values.
    """
    return fold_score(validation_folds(namespace, fit, holdout))
