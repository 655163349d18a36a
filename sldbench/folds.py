"""Validation folds shaped like the test, from the train split alone.

A task's test rows lie beyond its train rows along the features its spec names
in ``extrapolates`` (above them, or below along an axis of ``toward_smaller``). Each
fold does the same inside the train split: in every group, the rows at the k-th
largest scale (k = 1 .. `CUTS`; the scale grows toward the test split) are held out, and
the law is fitted on the group's rows at smaller scales. A "scale" is one
distinct value, or as few as hold `MIN_HELD_ROWS` rows in the fold (a group
of few rows per value holds out several values at once). A row's scale is its
combination of axis values, ordered by their sum (log values for positive
features, each axis scaled to its train range), so with two axes a fold holds
out one grid of runs at a larger (N, D), as a test split at the largest N and
D does. A group too small to leave enough rows below the cut sits that fold
out. A task with no extrapolation axis (new mixtures of the same features)
gets `ROW_FOLDS` interleaved row folds instead.
Each fold yields one R^2 (pooled over its groups, as the benchmark pools
groups), so a solver can aggregate robustly across folds (`fold_score`: the mean of
the clipped fold R^2) instead of adding their offsets into one pooled score.
A search fits its candidates on at most `SEARCH_ROWS` train rows (`search_rows`: every row of
a task of that size or less, else an even share of each group along the same scale), so a
task of many rows (every step of a learning curve, say) costs a search what a sweep does;
the submitted law is still fitted on every train row.
Among laws scored on the same folds, `select` applies the one-standard-error rule: the
simplest law within one standard error of the best on average whose fold nearest the test
(`nearest_fold`: the largest scale, fitted on the most rows) and worst fold are each within
one standard error of the highest among those (`within_one_standard_error` compares two laws
the same way).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .data import Split
from .metrics import heldout_metrics

CUTS = 4
ROW_FOLDS = 5
MIN_FIT_ROWS = 3
MIN_FIT_DISTINCT = 3
MIN_HELD_ROWS = 5  # a fold's R^2 over fewer rows is the spread of a couple of points, not a test of extrapolation
SEPARATOR = " | "  # a fold's pseudo-group is "<fold> | <group>"
SEARCH_ROWS = 2000  # the train rows a search fits on, at most: more rows of a smooth curve add cost, hardly information


def fold_of(pseudo_group: str) -> str:
    """The fold a pseudo-group belongs to (``"tokens: the largest | all_data"`` -> ``"tokens: the largest"``)."""
    return pseudo_group.split(SEPARATOR, 1)[0]


def axis_scale(values: np.ndarray, toward: np.ndarray | None = None) -> np.ndarray:
    """Per row, the sum over axes of the axis value (its log when positive) scaled to the axis' range, rounded.

    Parameters
    ----------
    values : ndarray
        ``(rows, axes)``.
    toward : ndarray, optional
        Per axis +1 or -1 (`sldbench.specs.TaskSpec.toward`): along a -1 axis the scale grows as
        the value falls, so the rows nearest the test split are the largest of the scale on every axis.

    Returns
    -------
    ndarray
        ``(rows,)``, each axis contributing 0 at the end farthest from the test split, 1 at the nearest.
    """
    out = np.zeros(len(values))
    for column, way in zip(values.T, np.ones(values.shape[1]) if toward is None else toward):
        u = (np.log(column) if np.all(column > 0) else column) * way
        out += (u - u.min()) / (np.ptp(u) or 1.0)
    return np.round(out, 9)


def extrapolation_scale(spec, frame: pd.DataFrame) -> np.ndarray:
    """`axis_scale` of ``frame``'s rows along ``spec``'s extrapolation axes, each the way its test split lies.

    Parameters
    ----------
    spec : sldbench.specs.TaskSpec
    frame : pandas.DataFrame
        Rows with the spec's features.

    Returns
    -------
    ndarray
        ``(rows,)``; zeros when the spec names no axis.
    """
    axes = list(spec.extrapolates)
    if not axes:
        return np.zeros(len(frame))
    return axis_scale(frame[axes].to_numpy(dtype=float), np.array([spec.toward(a) for a in axes]))


def _blocks(values: np.ndarray, min_rows: int) -> list[tuple[float, float]]:
    """Blocks of scale from the largest down, ``(low, high)``: each the fewest distinct values holding ``min_rows`` rows."""
    blocks, start, count = [], None, 0
    for value in np.unique(values)[::-1]:
        start = value if start is None else start
        count += int(np.sum(values == value))
        if count >= min_rows:
            blocks.append((float(value), float(start)))
            start, count = None, 0
    return blocks


def _ordinal(k: int) -> str:
    return {1: "the", 2: "2nd", 3: "3rd"}.get(k, f"{k}th")


def _nearest_end(spec) -> str:
    """The end of the scale nearest the test split, as fold names say it."""
    ways = {spec.toward(a) for a in spec.extrapolates}
    return "largest" if ways == {1} else "smallest" if ways == {-1} else "furthest"


def _fold_name(axes: list[str], k: int, end: str) -> str:
    """The name of fold ``k`` (0: the scale nearest the test split) along ``axes``."""
    return f"{' x '.join(axes)}: {_ordinal(k + 1)} {end}"


def nearest_fold(held: Split) -> int | None:
    """Where, in `fold_r2s`'s order, the fold nearest the test split is: the one holding out the largest scale.

    It is fitted on the most rows and predicts the rows most like the test's, so a law that
    breaks on it while another holds is the law that breaks on the test.

    Parameters
    ----------
    held : Split
        The held-out rows of `extrapolation_folds`.

    Returns
    -------
    int or None
        None when the folds have no order of scale (interleaved row folds, or ``held`` is not folds).
    """
    spec = held.spec
    axes = list(spec.extrapolates)
    if not axes:
        return None
    end = _nearest_end(spec)
    names = list(dict.fromkeys(fold_of(group) for group in sorted(held.groups)))  # as `fold_r2s` orders them
    nearest = _fold_name(axes, 0, end)
    return names.index(nearest) if nearest in names else None


def extrapolation_folds(train: Split, cuts: int = CUTS) -> tuple[Split, Split]:
    """The folds of ``train`` along its spec's extrapolation axes (see the module docstring).

    Parameters
    ----------
    train : Split
    cuts : int
        Folds: hold out the largest scale, the 2nd largest, ... (each fitted on the smaller ones).

    Returns
    -------
    (fit, held) : tuple of Split
        Rows to fit on and rows to predict, one pseudo-group ``"<fold> | <group>"`` per
        fold and group (`fold_of` gives the fold back), in a fixed order; a split of
        one row per group or fewer gives both as ``train`` itself.
    """
    spec = train.spec
    need = max(MIN_FIT_ROWS, -(-(spec.param_limit or 0) // len(spec.targets)) + 1)
    groups = sorted(train.frame.groupby("group", sort=True), key=lambda item: str(item[0]))
    fit_parts, held_parts = [], []

    def add(fold: str, group, fit_rows, held_rows) -> None:
        name = f"{fold}{SEPARATOR}{group}"
        fit_parts.append(fit_rows.assign(group=name))
        held_parts.append(held_rows.assign(group=name))

    axes = list(spec.extrapolates)
    if axes:
        scale = extrapolation_scale(spec, train.frame)
        end = _nearest_end(spec)
        per_group = -(-MIN_HELD_ROWS // len(groups))  # rows each group holds out at least, so a fold has MIN_HELD_ROWS
        for k in range(cuts):
            fold = _fold_name(axes, k, end)
            for group, rows in groups:
                values = scale[train.frame.index.get_indexer(rows.index)]
                blocks = _blocks(values, per_group)
                if len(blocks) <= k:
                    continue
                low, high = blocks[k]
                below, at = values < low, (values >= low) & (values <= high)
                if below.sum() < need or len(np.unique(values[below])) < MIN_FIT_DISTINCT:
                    continue
                add(fold, group, rows[below], rows[at])
    if not held_parts:  # no axis, or none that leaves rows to fit: interleaved row folds
        for index in range(ROW_FOLDS):
            for group, rows in groups:
                mask = np.arange(len(rows)) % ROW_FOLDS == index
                if mask.all() or not mask.any() or (~mask).sum() < need:
                    continue
                add(f"rows {index} mod {ROW_FOLDS}", group, rows[~mask], rows[mask])
    if not held_parts:
        return train, train
    fit = Split(spec, "train", pd.concat(fit_parts, ignore_index=True), train.source + " (fit rows of the validation folds)")
    held = Split(spec, "train", pd.concat(held_parts, ignore_index=True), train.source + " (held-out rows of the validation folds)")
    return fit, held


def search_rows(train: Split, limit: int | None = None) -> Split:
    """The train rows a search fits its candidates on: all of them, or ``limit`` spread evenly along the scale.

    Each group keeps its share of ``limit`` (at least `MIN_FIT_ROWS` + `MIN_HELD_ROWS`), at
    evenly spaced ranks of its rows ordered by their scale on the extrapolation axes
    (`extrapolation_scale`; rows of one scale in an order of their values, whatever the file's), its
    smallest- and largest-scale rows always kept: the thinned group spans the same scales in
    the same proportions, so the folds cut it as they cut the whole.

    Parameters
    ----------
    train : Split
    limit : int, optional
        Rows to keep at most (a count: the same rows on any machine); default `SEARCH_ROWS`.

    Returns
    -------
    Split
        ``train`` itself when it has ``limit`` rows or fewer.
    """
    frame, limit = train.frame, SEARCH_ROWS if limit is None else limit
    if len(frame) <= limit:
        return train
    scale = extrapolation_scale(train.spec, frame)
    ties = pd.util.hash_pandas_object(frame, index=False).to_numpy()  # within one scale, an order of the rows' values, not of the file
    keep = []
    for _, rows in frame.groupby("group", sort=True):
        positions = frame.index.get_indexer(rows.index)
        ordered = positions[np.lexsort((ties[positions], scale[positions]))]
        share = max(MIN_FIT_ROWS + MIN_HELD_ROWS, limit * len(rows) // len(frame))  # rounded down: at most limit in all
        if share >= len(ordered):
            keep.extend(ordered)
            continue
        keep.extend(ordered[np.round(np.linspace(0, len(ordered) - 1, share)).astype(int)])
    kept = frame.iloc[np.sort(keep)].reset_index(drop=True)
    return Split(train.spec, train.name, kept, f"{train.source} ({len(kept)} of its {len(frame)} rows, evenly along the scale)")


def fold_r2s(targets: dict[str, np.ndarray], predictions: dict[str, np.ndarray]) -> list[float]:
    """One R^2 per fold, clipped to [-1, 1]: each fold's pseudo-groups pooled in sorted order, as the benchmark pools groups.

    Parameters
    ----------
    targets, predictions : dict
        ``{pseudo-group: (n, T) array}`` with the same keys.

    Returns
    -------
    list of float
        In sorted fold order; a fold whose R^2 is not finite counts -1.
    """
    folds: dict[str, list[str]] = {}
    for group in sorted(targets):
        folds.setdefault(fold_of(group), []).append(group)
    out = []
    for groups in folds.values():
        r2 = heldout_metrics(np.concatenate([targets[g] for g in groups]), np.concatenate([predictions[g] for g in groups])).r2_raw
        out.append(float(min(1.0, max(-1.0, r2))) if math.isfinite(r2) else -1.0)
    return out


def fold_score(folds: list[float]) -> float:
    """The validation score: the mean of the folds' R^2, each clipped to [-1, 1]; -inf without folds.

    Clipping bounds what one fold can do to the score (a raw R^2 of -900 on a fold with
    little spread would otherwise decide alone), while a law that fails one fold badly
    still pays for it, as it would on the test.
    """
    return float(np.mean(np.clip(folds, -1.0, 1.0))) if len(folds) else -math.inf


def fold_stderr(values: list[float]) -> float:
    """Standard error of the mean of ``values`` (0 for fewer than two)."""
    return float(np.std(values, ddof=1) / math.sqrt(len(values))) if len(values) > 1 else 0.0


def select(candidates: list, folds=lambda c: c.folds, size=lambda c: c.size, nearest: int | None = None) -> list:
    """Rank by the one-standard-error rule: the simplest candidate within one standard error of the best comes first.

    Parameters
    ----------
    candidates : list
    folds : callable
        A candidate's R^2 per fold (clipped), the same folds for every candidate.
    size : callable
        A candidate's simplicity key (fewer parameters first, then shorter description).
    nearest : int, optional
        The fold nearest the test split (`nearest_fold`); None when the folds have no order.

    Returns
    -------
    list
        The chosen candidate, then the others by `fold_score`. The best is the
        one with the highest score. Within reach of it on average are those whose mean
        shortfall, fold by fold, is at most the standard error of the best's fold R^2 (the
        folds are shared, so their common difficulty cancels, and a fold where a candidate
        fails alone counts in full); of these, those within reach on the fold nearest the
        test, whose R^2 there is at most that far below the highest there among them (a
        simpler law that breaks on the fold most like the test breaks on the test), and of
        those, the ones within reach on every fold, whose worst fold is at most that far
        below the highest worst fold among them (a law as good on average that breaks where
        another holds). Among those the smallest ``size`` wins, ties going to the higher
        score. Candidates without a finite score are left out.
    """
    scored = [c for c in candidates if math.isfinite(fold_score(folds(c)))]
    ranked = sorted(scored, key=lambda c: (-fold_score(folds(c)), size(c)))
    if not ranked:
        return []
    best = np.asarray(folds(ranked[0]), dtype=float)
    error = fold_stderr(list(best))
    near = [c for c in ranked if mean_shortfall(best, folds(c)) <= error]
    for guarded in _guarded_folds(nearest):
        floor = max(guarded(folds(c)) for c in near) - error
        near = [c for c in near if guarded(folds(c)) >= floor]
    chosen = min(near, key=lambda c: (size(c), -fold_score(folds(c))))
    return [chosen] + [c for c in ranked if c is not chosen]


def within_one_standard_error(best: list[float], other: list[float], nearest: int | None = None) -> bool:
    """Whether ``other`` is within one standard error of ``best``: on average, on the fold nearest the test and on the worst fold.

    Its mean shortfall from ``best``, fold by fold, is at most the standard error of ``best``'s
    fold R^2, and its R^2 on the fold nearest the test (``nearest``, see `select`) and on its
    worst fold are each at most that far below ``best``'s. A simpler law as good on average that
    breaks on one fold (the one fitted on the fewest rows, say) is the law that breaks on the test.
    """
    error = fold_stderr(list(best))
    return mean_shortfall(best, other) <= error and all(guarded(other) >= guarded(best) - error for guarded in _guarded_folds(nearest))


def _guarded_folds(nearest: int | None) -> list:
    """What a law within reach of the best on average must also reach: its R^2 on the fold nearest the test (when the folds
    have an order), then its worst fold's."""
    return ([lambda scores: scores[nearest]] if nearest is not None else []) + [min]


def mean_shortfall(best, other) -> float:
    """How far ``other`` falls short of ``best`` on average, fold by fold (the folds' common difficulty cancels)."""
    return float(np.mean(np.asarray(best, dtype=float) - np.asarray(other, dtype=float)))
