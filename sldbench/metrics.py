"""Held-out metrics exactly as the SLDBench paper computes them.

For each target column d over the pooled test rows (groups concatenated in
sorted order):

    NMSE_d = mean((y - yhat)^2) / var(y)          (var: ddof = 0, test targets only)
    NMAE_d = mean|y - yhat| / mean|y - mean(y)|
    R^2    = 1 - mean_d NMSE_d

A normaliser at or below 1e-9 makes that target's ratio infinite, as in the
reference evaluator. The leaderboard value is R^2 clipped to [-1, 1].

A sample without a score says why in the words of `unscored_reason`, cut to
`first_line` where a line is shown (``sldbench show``, the report, discover).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ZERO_SPREAD = 1e-9
SCORER = "heldout_r2"
"""The name these metrics are logged under: `sldbench.scorer.heldout_r2`'s, the key of a sample's scores."""


def first_line(text: object, width: int = 200) -> str:
    """The first non-blank line of ``text``, at most ``width`` characters ("" when there is none).

    Parameters
    ----------
    text : object
        An error message or any text; ``None`` reads as "".
    width : int
        The longest line returned; a longer one is cut and ends with "…".

    Returns
    -------
    str
        The line, stripped.
    """
    line = next((line.strip() for line in str(text or "").splitlines() if line.strip()), "")
    return line if len(line) <= width else line[: width - 1] + "…"


def unscored_reason(eval_status: str | None, error: object) -> str:
    """Why a sample has no `SCORER` score: the eval was cancelled, else the sample's error.

    ``sldbench show`` and the report say it in the same words.

    Parameters
    ----------
    eval_status : str or None
        The status of the sample's eval log (``"cancelled"`` for an interrupted eval).
    error : object
        The sample's error message, or None.

    Returns
    -------
    str
        ``"interrupted: the eval was cancelled"``, the whole error, or ``"no heldout_r2 score"``.
    """
    if eval_status == "cancelled":
        return "interrupted: the eval was cancelled"
    return str(error or "").strip() or f"no {SCORER} score"


class PredictionError(ValueError):
    """Predictions that cannot be scored: wrong shape, non-numeric, NaN or Inf."""


@dataclass(frozen=True)
class HeldoutMetrics:
    """Metrics of one prediction set.

    Attributes
    ----------
    r2_raw : float
        ``1 - mean_d NMSE_d``; may be ``-inf`` when a target has zero variance.
    nmse, nmae : float
        Means over targets.
    r2_per_target, nmse_per_target, nmae_per_target : list of float
        One entry per target column.
    """

    r2_raw: float
    nmse: float
    nmae: float
    r2_per_target: list[float]
    nmse_per_target: list[float]
    nmae_per_target: list[float]

    @property
    def r2(self) -> float:
        """R^2 clipped to [-1, 1] (the leaderboard value)."""
        return float(np.clip(self.r2_raw, -1.0, 1.0))


def as_prediction_matrix(predictions: object, n_rows: int, n_targets: int) -> np.ndarray:
    """Coerce a law's output to a float matrix of shape ``(n_rows, n_targets)``.

    A 1-D output of length ``n_rows`` is accepted for a single target, as the
    reference evaluator does.

    Raises
    ------
    PredictionError
        For non-numeric values, NaN/Inf, or a shape other than the expected one.
    """
    try:
        matrix = np.asarray(predictions, dtype=float)
    except (TypeError, ValueError) as err:
        raise PredictionError(f"predictions are not numeric: {err}") from err
    if matrix.ndim == 1 and n_targets == 1:
        matrix = matrix.reshape(-1, 1)
    if matrix.shape != (n_rows, n_targets):
        raise PredictionError(
            f"predictions have shape {matrix.shape}, expected ({n_rows}, {n_targets}) "
            f"(one row per input point, one column per target)"
        )
    if not np.isfinite(matrix).all():
        raise PredictionError("predictions contain NaN or Inf values")
    return matrix


def heldout_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> HeldoutMetrics:
    """Compute the paper's metrics.

    Parameters
    ----------
    y_true : array, shape (N, T) or (N,)
        Pooled test targets.
    y_pred : array, same shape
        Predictions, already validated (finite).

    Returns
    -------
    HeldoutMetrics
    """
    true = np.asarray(y_true, dtype=float)
    pred = np.asarray(y_pred, dtype=float)
    if true.ndim == 1:
        true = true.reshape(-1, 1)
    if pred.ndim == 1:
        pred = pred.reshape(-1, 1)
    if true.shape != pred.shape or true.size == 0:
        raise PredictionError(f"cannot compare predictions {pred.shape} with targets {true.shape}")
    errors = true - pred
    variance = np.var(true, axis=0)
    mean_abs_dev = np.mean(np.abs(true - np.mean(true, axis=0)), axis=0)
    nmse = _ratio(np.mean(errors**2, axis=0), variance)
    nmae = _ratio(np.mean(np.abs(errors), axis=0), mean_abs_dev)
    return HeldoutMetrics(
        r2_raw=float(1.0 - np.mean(nmse)),
        nmse=float(np.mean(nmse)),
        nmae=float(np.mean(nmae)),
        r2_per_target=[float(v) for v in 1.0 - nmse],
        nmse_per_target=[float(v) for v in nmse],
        nmae_per_target=[float(v) for v in nmae],
    )


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    out = np.full_like(numerator, np.inf)
    np.divide(numerator, denominator, out=out, where=denominator > ZERO_SPREAD)
    return out
