"""The guard rails: what a law found without a model may be submitted with.

A law is excluded when its fit cannot be trusted or when it does not behave like a scaling law
beyond the data, whatever its validation score:

- `fit_problem`: the fitted parameters end on a bound of their box, or are not finite;
- `guard_problem`: the law is not finite at the mixtures that leave out one share (the shares
  of a mixture, `sldbench.laws.program.mixture_columns`, each set to zero in turn on every train
  row), or, followed up to `EXTRAPOLATION_FACTORS` times the largest train value of each
  extrapolation axis (along an axis the test split lies below, down from the smallest by
  32nds of the axis' span, up to half a span), stops being finite, leaves `BAND` train target spans around the
  train targets and the law's own course over the last stretch of the data carried on
  in a straight line (`_edge_course`), or (where the train rows trend with the axis, Spearman |rho| >= `TREND`: the
  rows of the axis' upper half where they show a trend, else all rows) turns against that
  trend; the grammar's search also excludes a law when more than `BOUND_SHARE` of its group
  fits hit `fit_problem`;
- `ignored_features`: the features a fitted law does not use (a law that ignores a feature the
  task gives is ranked after those that use every one).

`vet` applies them to any program (the symbolic proposer vets Operon's and the law search's
programs with them). Nothing here reads the test split.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..laws.grammar import Family, Geometry
from .validation import namespace

# Guard rails: how far beyond the data a law is followed, and how far outside the train targets it may go.
EXTRAPOLATION_FACTORS = (2.0, 4.0, 8.0, 16.0)
BAND = 1.0  # in units of the group's train target span, on each side of the targets and of the edge's course
BOUND_SHARE = 0.25  # a law is excluded when more than this share of its group fits end on a bound or diverge
TREND = 0.5  # |Spearman rho| of target vs axis in a group above which the law must keep that trend beyond the data


def fit_problem(params: np.ndarray, family: Family, lower: list[float], upper: list[float]) -> str:
    """Why a fit is not trusted: non-finite values, or a nonlinear parameter on a bound of its box; '' when it is."""
    params = np.atleast_2d(np.asarray(params, dtype=float))
    if not np.all(np.isfinite(params)):
        return "the fit is not finite"
    lo, hi = np.asarray(lower), np.asarray(upper)
    tolerance = 1e-6 * np.maximum(1.0, hi - lo)
    for row in params:
        theta = row[: family.theta_count]
        on = np.where((theta <= lo + tolerance) | (theta >= hi - tolerance))[0]
        if len(on):
            return f"theta[{int(on[0])}] ends on a bound of its box [{lo[on[0]]:g}, {hi[on[0]]:g}]"
    return ""


def guard_problem(code_namespace: dict, train: dict, geometry: Geometry, movers: tuple[int, ...] = ()) -> tuple[str, list]:
    """Guard rails on fits to each group's train rows; returns (problem or '', fitted params per group).

    Along every extrapolation axis, from each group's rows at its largest value, the
    law is followed to `EXTRAPOLATION_FACTORS` times that value (raw features: that
    many 32nds of its train span beyond it, up to half a span); along an axis the test
    split lies below (`Geometry.toward_smaller`), from the smallest value down by as many 32nds
    of its span (in log for a log feature). Its predictions must stay finite, within `BAND`
    spans of the group's train targets or of the straight continuation of its course over the last stretch
    of the data (a curve steep where the data end may go on as steeply: the truth of a U past its turn
    leaves the targets' band within 16 times the data), and keep the group's trend along the axis
    where the train rows show one (|Spearman rho| >= `TREND`): a loss that falls
    with scale in the data must not turn up beyond it. The trend is read on the rows
    of the half of the axis' range where the law leaves the data (`edge_rows`),
    so a curve that has already turned in the data (U-shaped or inverse scaling) may
    keep going the way it goes at the edge; where those rows show no clear trend (few
    rows, or other features varying among them), on all the group's rows. The trend is
    not asked along ``movers``, features that move a hyperparameter's optimum: at a fixed
    learning rate the loss may rise with scale as the optimum moves away from it.
    Where features are the shares of a mixture, the law must be finite at every train
    row with one share set to zero (the others scaled to the same total): a mixture
    without one domain is a mixture like the others, though the train rows may hold none.

    Parameters
    ----------
    code_namespace : dict
        The program's namespace (`sldbench.symbolic.validation.namespace`).
    train : dict
        ``{group: (x, y)}``, each group's train rows.
    geometry : Geometry
        What the train split fixes about each feature: the extrapolation axes, each feature's
        transform (how far along it the law is followed) and which features are the shares of a mixture.
    movers : tuple of int
        Features that move a hyperparameter's optimum (no trend asked along them).

    Returns
    -------
    (problem, fitted) : tuple
        The first problem found ('' when none) and the fitted parameters of each group.
    """
    fitted = []
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for group, (x, y) in train.items():
            try:
                params = code_namespace["fit_scaling_law"](x, y[:, 0] if y.shape[1] == 1 else y)
            except Exception as err:  # noqa: BLE001
                return f"fitting group {group} failed: {type(err).__name__}", []
            fitted.append(params)
            for f, mixture in _without_each_share(x, geometry.shares):
                try:
                    finite = np.all(np.isfinite(np.asarray(code_namespace["scaling_law_func"](mixture, params), dtype=float)))
                except Exception as err:  # noqa: BLE001
                    return f"predicting the mixtures without share {f} failed: {type(err).__name__}", []
                if not finite:
                    return f"predictions at the mixtures without share {f} are not finite (group {group})", []
            low, high = y.min(axis=0), y.max(axis=0)
            span = np.maximum(high - low, 1e-12)
            for f in geometry.axes:
                way = geometry.toward(f)  # the law is followed the way the test split lies: up, or down a -1 axis
                edge = x[x[:, f] == (x[:, f].max() if way > 0 else x[:, f].min())]
                log_axis = geometry.transforms[f] == "log"
                factors = np.asarray(EXTRAPOLATION_FACTORS)
                span_u = np.ptp(np.log(x[:, f]) if log_axis else x[:, f])
                # how far each step lies beyond the edge, in log for a log feature: a size grows without bound and is
                # followed to `factors` times its largest value; otherwise by 32nds of the axis' span, up to half a span
                # (toward smaller values a positive feature, a loss, nears its floor within a few of its own spans)
                upward_size = log_axis and way > 0
                ahead, stretch = (np.log(factors), np.log(2.0)) if upward_size else (factors / 32 * span_u, span_u / 32)
                # the edge rows' value of f at each step: (steps, rows)
                if log_axis:
                    reach = edge[:, f] * (factors if upward_size else np.exp(way * ahead))[:, None]
                else:
                    reach = edge[:, f] + way * ahead[:, None]
                path = []
                for value in reach:
                    far = edge.copy()
                    far[:, f] = value
                    try:
                        path.append(np.asarray(code_namespace["scaling_law_func"](far, params), dtype=float).reshape(len(far), -1))
                    except Exception as err:  # noqa: BLE001
                        return f"predicting beyond the data failed: {type(err).__name__}", []
                path = np.stack(path)  # (steps, rows, targets)
                if not np.all(np.isfinite(path)):
                    return f"predictions beyond the data along feature {f} are not finite (group {group})", []
                at_edge, course = _edge_course(code_namespace, params, edge, f, log_axis, stretch, x[:, f], ahead, way)
                if course is None:
                    return f"predictions over the last stretch of the data along feature {f} fail or are not finite (group {group})", []
                floor, ceiling = np.minimum(low, course) - BAND * span, np.maximum(high, course) + BAND * span
                if np.any(path < floor) or np.any(path > ceiling):
                    return f"predictions leave the band of the train targets along feature {f} (group {group})", []
                upper = edge_rows(x[:, f], geometry.transforms[f], way)
                for t in range(y.shape[1] if f not in movers else 0):
                    rho = _spearman(x[upper, f], y[upper, t])
                    if abs(rho) < TREND:  # no clear trend at the edge (few rows, or other features vary there)
                        rho = _spearman(x[:, f], y[:, t])
                    if abs(rho) < TREND:
                        continue
                    steps = np.diff(np.concatenate([at_edge[None, :, t], path[:, :, t]]), axis=0)
                    wrong = steps * np.sign(rho) * way < -1e-3 * span[t]
                    if np.any(wrong):
                        return f"the law turns against the data's trend along feature {f} beyond the data (group {group})", []
    return "", fitted


def _edge_course(code_namespace: dict, params, edge: np.ndarray, f: int, log_axis: bool, stretch: float, values: np.ndarray, ahead: np.ndarray, way: int = 1):
    """The law at the edge rows, ``(rows, targets)``, and its course along feature ``f`` over the last stretch of the
    data carried on in a straight line (in log for a log feature) to each distance of ``ahead``, ``(steps, rows,
    targets)``; ``(None, None)`` when the law cannot be predicted there or is not finite.

    The stretch is the last ``stretch`` of the axis before the edge (in log for a log feature: log 2, the last
    halving, beyond a size's largest value), kept inside the data's ``values``: below the largest value, or
    above the smallest where the law leaves the data toward smaller values (``way`` -1)."""
    back = edge.copy()
    if way > 0:
        back[:, f] = np.maximum(edge[:, f] / 2.0 if log_axis else edge[:, f] - stretch, values.min())
    else:
        back[:, f] = np.minimum(edge[:, f] * np.exp(stretch) if log_axis else edge[:, f] + stretch, values.max())
    run = np.abs(np.log(edge[:, f] / back[:, f]) if log_axis else edge[:, f] - back[:, f])
    try:
        at_edge = np.asarray(code_namespace["scaling_law_func"](edge, params), dtype=float).reshape(len(edge), -1)
        at_back = np.asarray(code_namespace["scaling_law_func"](back, params), dtype=float).reshape(len(edge), -1)
    except Exception:  # noqa: BLE001
        return None, None
    if not (np.all(np.isfinite(at_edge)) and np.all(np.isfinite(at_back))):
        return None, None
    slope = np.where(run[:, None] > 0, (at_edge - at_back) / np.where(run > 0, run, 1.0)[:, None], 0.0)
    return at_edge, at_edge[None] + ahead[:, None, None] * slope[None]


def _without_each_share(x: np.ndarray, shares: frozenset[int]):
    """``(f, rows)`` per share ``f`` of a mixture: the rows with share f set to zero, the others scaled to the same total."""
    for f in sorted(shares):
        others = [g for g in shares if g != f]
        rest = x[:, others].sum(axis=1)
        keep = rest > 0
        if not keep.any():
            continue
        mixture = x[keep].copy()
        mixture[:, others] *= ((rest + x[:, f]) / rest)[keep, None]
        mixture[:, f] = 0.0
        yield f, mixture


def edge_rows(values: np.ndarray, transform: str, way: int = 1) -> np.ndarray:
    """The rows whose axis value lies in the upper half of the axis' range (in log for a log feature); the lower
    half along an axis the test split lies below (``way`` -1), where the law leaves the data.

    The trend a law must keep beyond the data is the trend where the data ends: read on
    every row, a curve that rose and has turned down (inverse scaling past its peak) would
    demand that the law keep rising.
    """
    u = (np.log(values) if transform == "log" else values) * way
    return u >= (u.min() + u.max()) / 2


def ignored_features(code_namespace: dict, train: dict, fitted: list) -> list[int]:
    """Features a fitted law does not respond to in any group (a term dropped, or a coefficient fitted to zero).

    Each feature in turn is moved (x1.5 when positive, else by half its spread) on every
    train row; a feature whose moves change no prediction in any group is ignored.
    """
    used: set[int] = set()
    width = next(iter(train.values()))[0].shape[1]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for (x, _), params in zip(train.values(), fitted):
            base = np.asarray(code_namespace["scaling_law_func"](x, params), dtype=float)
            for f in sorted(set(range(width)) - used):
                moved = x.copy()
                moved[:, f] = x[:, f] * 1.5 if np.all(x[:, f] > 0) else x[:, f] + 0.5 * (np.std(x[:, f]) or 1.0)
                change = np.abs(np.asarray(code_namespace["scaling_law_func"](moved, params), dtype=float) - base)
                if np.any(change > 1e-9 * (1.0 + np.abs(base))):
                    used.add(f)
    return sorted(set(range(width)) - used)


def vet(code: str, train: dict, geometry: Geometry, movers: tuple[int, ...] = ()) -> tuple[str, list[int]]:
    """``(problem, ignored features)`` of one of this package's programs: `guard_problem`, then `ignored_features`."""
    code_namespace = namespace(code)
    problem, fitted = guard_problem(code_namespace, train, geometry, movers)
    return problem, ([] if problem else ignored_features(code_namespace, train, fitted))


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return 0.0
    ra, rb = _ranks(a), _ranks(b)
    return float(np.corrcoef(ra, rb)[0, 1])


def _ranks(v: np.ndarray) -> np.ndarray:
    order = np.argsort(v, kind="stable")
    ranks = np.empty(len(v))
    ranks[order] = np.arange(len(v))
    # ties share their mean rank
    for value in np.unique(v):
        mask = v == value
        ranks[mask] = ranks[mask].mean()
    return ranks
