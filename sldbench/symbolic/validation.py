"""Choosing laws that extrapolate, on the train split alone.

SLDBench's test rows lie beyond the train rows in scale. To prefer laws that
extrapolate, every feature that varies within a group gives one fold: the
group's rows with the largest values of that feature (about a fifth of them)
are held out and the law is fitted on the rest. The folds become pseudo-groups
(``"<group> | largest <feature>"``), so one run of a program fits and predicts
all of them, in the sandbox (`holdout_evaluator`) or in this process
(`validation_r2`). The score is the R^2 of the held-out rows, pooled as the
benchmark pools groups.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

from ..data import Split
from ..evolution import TrainEvaluator
from ..metrics import heldout_metrics

HOLDOUT_SHARE = 0.2
MIN_DISTINCT = 3


def extrapolation_split(train: Split, share: float = HOLDOUT_SHARE) -> tuple[Split, Split]:
    """Split the train rows into fit rows and held-out largest-scale rows, one pseudo-group per (group, feature).

    Parameters
    ----------
    train : Split
    share : float
        Target share of a group's rows held out per feature (at least the rows at the largest value).

    Returns
    -------
    (fit, holdout) : tuple of Split
        Same columns as ``train``; a feature with fewer than 3 distinct values in a
        group gives no fold there. With no fold at all, both are ``train`` itself.
    """
    if not 0 < share < 1:
        raise ValueError(f"share must lie in (0, 1), got {share}")
    fit_parts, holdout_parts = [], []
    for group in train.groups:
        rows = train.frame[train.frame["group"] == group]
        for feature in train.spec.features:
            values = rows[feature].to_numpy()
            distinct = np.unique(values)
            if len(distinct) < MIN_DISTINCT:
                continue
            held = np.zeros(len(values), dtype=bool)
            for threshold in distinct[::-1]:
                candidate = values >= threshold
                if held.any() and candidate.sum() > 2 * share * len(values):
                    break
                held = candidate
                if held.sum() >= share * len(values):
                    break
            if held.all() or (~held).sum() < 2:
                continue
            name = f"{group} | largest {feature}"
            fit_parts.append(rows[~held].assign(group=name))
            holdout_parts.append(rows[held].assign(group=name))
    if not fit_parts:
        return train, train
    fit = Split(train.spec, "train", pd.concat(fit_parts, ignore_index=True), train.source + " (fit rows of the extrapolation folds)")
    holdout = Split(train.spec, "train", pd.concat(holdout_parts, ignore_index=True), train.source + " (held-out rows of the extrapolation folds)")
    return fit, holdout


def group_arrays(split: Split) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{group: (X, Y)}`` of a split, in sorted group order (computed once: filtering frames is slow)."""
    spec = split.spec
    return {
        str(group): (rows[list(spec.features)].to_numpy(dtype=float), rows[list(spec.targets)].to_numpy(dtype=float))
        for group, rows in sorted(split.frame.groupby("group", sort=True), key=lambda item: str(item[0]))
    }


def namespace(code: str) -> dict:
    """Globals of ``code`` once executed: a program the symbolic search wrote itself (never a model's)."""
    out: dict = {}
    exec(compile(code, "<symbolic law>", "exec"), out)  # noqa: S102 - programs written by this package
    return out


def validation_r2(namespace: dict, fit: dict, holdout: dict) -> float:
    """R^2 on the ``holdout`` rows of a program (its functions in ``namespace``) fitted per group on ``fit``.

    Parameters
    ----------
    namespace : dict
        Globals of the executed program (``fit_scaling_law``, ``scaling_law_func``).
    fit, holdout : dict
        `group_arrays` of the fit and held-out splits.

    Returns
    -------
    float
        Pooled R^2 as the benchmark computes it; ``-inf`` when the program fails or
        predicts non-finite values, as the sandboxed evaluation rejects such programs.
    """
    predictions = []
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            for group, (x_new, _) in holdout.items():
                x_fit, y_fit = fit[group]
                params = namespace["fit_scaling_law"](x_fit, y_fit[:, 0] if y_fit.shape[1] == 1 else y_fit)
                predicted = np.asarray(namespace["scaling_law_func"](x_new, params), dtype=float).reshape(len(x_new), -1)
                predictions.append(predicted)
        except Exception:  # noqa: BLE001 - any failure of a candidate is a rejection
            return -math.inf
    targets = np.concatenate([y for _, y in holdout.values()])
    stacked = np.concatenate(predictions)
    if stacked.shape != targets.shape or not np.all(np.isfinite(stacked)):
        return -math.inf
    r2 = heldout_metrics(targets, stacked).r2_raw
    return r2 if math.isfinite(r2) else -math.inf


def holdout_evaluator(sandbox, fit: Split, holdout: Split, timeout: float) -> TrainEvaluator:
    """``await evaluator(code) -> RunResult``: fit per pseudo-group on ``fit`` and predict ``holdout``, in ``sandbox``."""
    return TrainEvaluator(sandbox, fit, timeout, points=holdout)
