"""Plots of laws and scores (PNG, matplotlib's Agg backend): what the leaderboard and ``sldbench discover`` draw.

* `bar_chart`: one bar chart per task, every row's Table 1 value;
* `draw_law`: a law against a task's data. The program is run again in the ``local``
  sandbox through the same runner as the scorer, fitted on train where it is a
  fit-and-predict program, to predict the train points, the held-out points and a curve
  across the whole range (train and extrapolation) of the task's scale axis (`plot_axis`)
  for a few series of points that share their other features (`plot_series`): one panel
  per group (small multiples, `panel_groups`). A last panel plots predicted against
  observed for every point and target.
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..sandbox.host import Limits, run_program
from ..specs import TaskSpec
from .tables import Report

PLOT_AXES: dict[str, tuple[str | None, bool]] = {
    "parallel": ("num_params", True),
    "vocab": ("num_characters", True),
    "sft": ("sft_data_size", True),
    "domain_mix": (None, False),  # mixture weights: no scale axis, the parity panel shows it
    "moe": ("dense_parameter_count", True),
    "d_constrain": ("tokens", True),
    "lr_bsz": ("lr", True),
    "u_shape": ("log_flops", False),
}
"""Per task: the feature on the x axis of the law plot (None: parity panel only) and whether it is log-scaled."""


def plot_axis(spec: TaskSpec, frame: pd.DataFrame | None = None) -> tuple[str | None, bool]:
    """The x axis of a task's law plot and whether it is log-scaled.

    Built-in tasks: `PLOT_AXES`. A task of your own: the first axis it extrapolates along
    (by default its holdout column, when that is a feature), else its first feature;
    log-scaled when positive and spanning a factor of 10 or more in ``frame``.
    """
    if spec.name in PLOT_AXES and not spec.is_custom:
        return PLOT_AXES[spec.name]
    x_name = spec.extrapolates[0] if spec.extrapolates else spec.features[0]
    if frame is None or x_name not in frame:
        return x_name, False
    values = frame[x_name].to_numpy(dtype=float)
    return x_name, bool(values.min() > 0 and values.max() >= 10 * values.min())

MAX_SERIES = 6
MAX_PANELS = 48  # groups drawn as panels; the plot names any group beyond them
GRID_POINTS = 80
DEFAULT_TIMEOUT = 300.0
COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"]


@dataclass
class Series:
    """Points that share every feature but the x axis (and their group): one curve of a law plot."""

    group: str
    label: str
    fixed: dict[str, float]
    train: pd.DataFrame
    test: pd.DataFrame
    grid: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))
    curve: np.ndarray = field(default_factory=lambda: np.empty(0))
    of: int = 1  # how many series its group has (the plot shows up to MAX_SERIES of them)
    band: tuple[np.ndarray, np.ndarray] | None = None  # the curve's interval (low, high) from refits, when drawn


@dataclass
class LawPlot:
    """What a law plot shows, or why it could not be drawn.

    Attributes
    ----------
    task : str
    title : str
        The run the law comes from and its score.
    png : bytes or None
        The figure; None when ``problem`` says why there is none.
    problem : str
    constant_bounds : dict of str to list of (float, float)
        Per group, each fitted constant's interval from the refits that drew the band (empty
        without a band; ``band_problem`` says why when the refits failed).
    band_problem : str
    """

    task: str
    title: str
    png: bytes | None = None
    problem: str = ""
    constant_bounds: dict = field(default_factory=dict)
    band_problem: str = ""


def _figure_png(figure) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only; no display on servers
    import matplotlib.pyplot as plt

    return plt


def bar_chart(report: Report) -> bytes:
    """Per-task bar charts of every row's Table 1 value, the best bar of each task highlighted.

    Parameters
    ----------
    report : Report

    Returns
    -------
    bytes
        A PNG image.
    """
    plt = _pyplot()
    values = report.table1.values
    labels = [f"{agent} / {model}" for agent, model in values.index]
    height = max(2.5, 0.24 * len(labels) + 1.0)
    # Two columns, so every panel can carry its row labels and still be readable.
    tasks = report.table1.tasks
    rows = (len(tasks) + 1) // 2
    figure, axes = plt.subplots(rows, 2, figsize=(16, rows * height), squeeze=False)
    for axis in axes.flat[len(tasks):]:
        axis.set_visible(False)
    for axis, task in zip(axes.flat, tasks):
        scores = values[task].to_numpy(dtype=float)
        shown = np.nan_to_num(scores, nan=0.0)
        best = np.nanmax(scores) if np.isfinite(scores).any() else np.nan
        colours = ["#2da44e" if np.isfinite(s) and round(s, 3) == round(best, 3) else "#6e7781" for s in scores]
        positions = np.arange(len(labels))
        axis.barh(positions, shown, color=colours)
        axis.set_yticks(positions)
        axis.set_yticklabels(labels, fontsize=8)
        axis.invert_yaxis()
        axis.axvline(0.0, color="black", linewidth=0.8)
        axis.set_xlim(-1.05, 1.05)
        axis.set_title(task)
        axis.grid(axis="x", alpha=0.3)
        for position, score in zip(positions, scores):
            if np.isfinite(score):
                axis.text(1.02 if score < 0.5 else -1.02, position, f"{score:.3f}", va="center",
                          ha="right" if score < 0.5 else "left", fontsize=7)  # fmt: skip
    figure.suptitle("Held-out R² per task (clipped to [-1, 1]; best in green)", fontsize=14)
    figure.tight_layout(rect=(0, 0, 1, 0.985))
    return _figure_png(figure)


def plot_series(spec: TaskSpec, train: pd.DataFrame, test: pd.DataFrame, span: str = "group") -> list[Series]:
    """Choose the curves of a task's law plot: per group, up to `MAX_SERIES`, held-out series first, then the largest.

    Every group gets its own curves (the plot draws one panel per group); each `Series`
    says how many series its group has, so the plot can say how many it leaves out.

    Parameters
    ----------
    spec : TaskSpec
    train, test : pandas.DataFrame
        The splits' frames.
    span : {"group", "series"}
        The x range of each curve: its group's whole range (train and held out), or only the
        range of the series' own points (for laws undefined elsewhere, e.g. fewer tokens than
        unique tokens).

    Returns
    -------
    list of Series
        Grouped by group, in sorted group order.
    """
    x_name, log_scale = plot_axis(spec, pd.concat([train, test]))
    if x_name is None:
        return []
    others = [f for f in spec.features if f != x_name]
    both = pd.concat([train.assign(_split="train"), test.assign(_split="test")], ignore_index=True)
    several_groups = both["group"].nunique() > 1
    chosen = []
    for group, rows in both.groupby("group", sort=True):
        group = str(group)
        if others:
            summary = rows.groupby(others, sort=True).agg(points=("_split", "size"), held_out=("_split", lambda s: int((s == "test").sum())))
            summary = summary.reset_index().sort_values(["held_out", "points"], ascending=False, kind="stable")
        else:
            summary = pd.DataFrame([{}])
        for _, row in summary.head(MAX_SERIES).iterrows():
            fixed = {name: float(row[name]) for name in others}
            if span == "group":
                xs_seen = rows[x_name]
            else:
                xs_seen = pd.concat([_matching(train, group, fixed), _matching(test, group, fixed)])[x_name]
            low, high = float(xs_seen.min()), float(xs_seen.max())
            xs = np.geomspace(low, high, GRID_POINTS) if log_scale and low > 0 else np.linspace(low, high, GRID_POINTS)
            grid = np.column_stack([xs if f == x_name else np.full(GRID_POINTS, fixed[f]) for f in spec.features])
            label = ", ".join(f"{n}={_short(v)}" for n, v in fixed.items()) or (group if several_groups else "law")
            chosen.append(Series(group, label, fixed, _matching(train, group, fixed), _matching(test, group, fixed), grid, of=len(summary)))
    return chosen


def _matching(frame: pd.DataFrame, group: str, fixed: dict[str, float]) -> pd.DataFrame:
    mask = frame["group"] == group
    for name, value in fixed.items():
        mask &= frame[name] == value
    return frame[mask]


def _short(value: float) -> str:
    return f"{value:.3g}"


async def _predict(spec: TaskSpec, program: str, shape: str, train, test, series: list[Series], timeout: float, isolation: str):
    """Predict train, test and grid points in one sandboxed run (local sandbox, ``isolation`` policy); returns ``(result, slices)``."""
    from ..sandbox.local import IsolatedLocalSandbox

    groups = sorted(set(train["group"]) | set(test["group"]))
    predict, slices = {}, {}
    for group in groups:
        blocks = [train[train["group"] == group], test[test["group"] == group]]
        matrices = [block[list(spec.features)].to_numpy(dtype=float) for block in blocks]
        matrices += [s.grid for s in series if s.group == group]
        bounds = np.cumsum([0] + [len(m) for m in matrices])
        slices[group] = bounds
        predict[group] = np.concatenate(matrices) if matrices else np.empty((0, len(spec.features)))
    fit = {}
    for group in sorted(set(train["group"])):
        rows = train[train["group"] == group]
        fit[group] = (rows[list(spec.features)].to_numpy(dtype=float), rows[list(spec.targets)].to_numpy(dtype=float))
    sandbox = IsolatedLocalSandbox(isolation)
    try:
        result = await run_program(sandbox, program, spec, predict=predict, fit=fit, limits=Limits(timeout=timeout), shape=shape)
    finally:
        sandbox.directory.cleanup()
    return result, slices


async def _bands(
    spec: TaskSpec, program: str, train: pd.DataFrame, series: list[Series], refits: int, level: float, isolation: str, seed: int = 0,
) -> dict[str, list[tuple[float, float]]]:  # fmt: skip
    """Set each series' ``band``: the central ``level`` share of the law refitted ``refits`` times on resampled runs.

    Every group of ``train`` is refitted (one with no curve on the plot too), so the same refits
    bound the law's constants: returns each group's constants' intervals
    (`sldbench.decisions.predict.constant_intervals`).
    """
    from ..decisions.predict import central_interval, constant_intervals, refit_on_resampled_runs
    from ..sandbox.local import IsolatedLocalSandbox

    fit, points = {}, {}
    for group, rows in train.groupby(train["group"].astype(str), sort=True):
        fit[group] = (rows[list(spec.features)].to_numpy(dtype=float), rows[list(spec.targets)].to_numpy(dtype=float))
        grids = [s.grid for s in series if s.group == group]
        points[group] = np.concatenate(grids) if grids else np.empty((0, len(spec.features)))
    sandbox = IsolatedLocalSandbox(isolation)
    try:
        first, found = await refit_on_resampled_runs(sandbox, program, spec, fit, points, refits, seed)
    finally:
        sandbox.directory.cleanup()
    for group, group_refits in found.items():
        if not len(points[group]):
            continue
        low, high = central_interval([prediction[:, 0] for prediction in group_refits.predictions], level)
        start = 0
        for s in (s for s in series if s.group == group):
            s.band = (low[start : start + len(s.grid)], high[start : start + len(s.grid)])
            start += len(s.grid)
    return constant_intervals(first, found, level)


async def _bands_or_problem(*args) -> tuple[dict[str, list[tuple[float, float]]], str]:
    """`_bands`, or no bounds and why: a law that cannot be refitted on resampled runs is drawn without its band."""
    from ..decisions.optimize import DecisionError

    try:
        return await _bands(*args), ""
    except DecisionError as err:
        return {}, str(err)


async def draw_law(
    spec: TaskSpec, program: str, shape: str, train: pd.DataFrame, test: pd.DataFrame, title: str, timeout: float = DEFAULT_TIMEOUT,
    isolation: str = "auto", band_refits: int = 0, band_level: float = 0.9, band_seed: int = 0,
) -> LawPlot:  # fmt: skip
    """Plot ``program`` (fitted on ``train`` where it is fit-and-predict) against the train and held-out points.

    The law runs in the local sandbox through the scorer's runner. With ``band_refits``, each
    curve gets the band of the law refitted that many times on its group's runs with their
    residuals drawn again (`sldbench.decisions.predict`, draws fixed by ``band_seed``), its
    central ``band_level`` share; the same refits bound the law's constants
    (``LawPlot.constant_bounds``, or ``band_problem`` says why there are none). The curves and
    the refits run side by side, each in a sandbox of its own.
    Returns a `LawPlot` with ``png``, or ``problem`` saying why the law could not be drawn.
    """
    bounded = band_refits and shape != "law"

    def bands(series: list[Series]):
        return _bands_or_problem(spec, program, train, series, band_refits, band_level, isolation, band_seed)

    # A law may be undefined off its data (NaN on part of a wide grid): narrow the curves, then drop them.
    banded = None  # the band of the widest curves, refitted while they run
    for span in ("group", "series", None):
        series = plot_series(spec, train, test, span) if span else []
        curves = _predict(spec, program, shape, train, test, series, timeout, isolation)
        if bounded and span == "group":
            (result, slices), banded = await asyncio.gather(curves, bands(series))
        else:
            result, slices = await curves
        if result.ok:
            break
    if not result.ok:
        return LawPlot(spec.name, title, problem=f"re-running the law failed: {result.kind}: {result.error}")
    if bounded and span != "group":  # narrower curves: their own band
        banded = await bands(series)
    constant_bounds, band_problem = banded or ({}, "")
    observed, predicted = {"train": [], "test": []}, {"train": [], "test": []}
    grid_index: dict[str, int] = {}
    for group, bounds in slices.items():
        prediction = result.predictions[group]
        for position, split, frame in ((0, "train", train), (1, "test", test)):
            rows = frame[frame["group"] == group]
            observed[split].append(rows[list(spec.targets)].to_numpy(dtype=float))
            predicted[split].append(prediction[bounds[position] : bounds[position + 1]])
        for s in series:
            if s.group == group:
                block = 2 + grid_index.get(group, 0)
                grid_index[group] = grid_index.get(group, 0) + 1
                s.curve = prediction[bounds[block] : bounds[block + 1], 0]
    both = pd.concat([train, test])
    png = _draw_law(spec, title, series, {k: np.concatenate(v) for k, v in observed.items()}, {k: np.concatenate(v) for k, v in predicted.items()}, both)
    return LawPlot(spec.name, title, png=png, constant_bounds=constant_bounds, band_problem=band_problem)


def panel_groups(series: list[Series]) -> tuple[list[str], list[str]]:
    """The groups a law plot draws a panel for (at most `MAX_PANELS`, in order) and the groups it leaves out."""
    groups = list(dict.fromkeys(s.group for s in series))
    return groups[:MAX_PANELS], groups[MAX_PANELS:]


def _draw_law(spec: TaskSpec, title: str, series: list[Series], observed: dict, predicted: dict, frame: pd.DataFrame | None = None) -> bytes:
    plt = _pyplot()
    x_name, log_scale = plot_axis(spec, frame)
    shown, left_out = panel_groups(series)
    # One panel per group (small multiples), then predicted vs observed for every point.
    panels = len(shown) + 1
    columns = min(panels, 2 if panels <= 2 else 3 if panels <= 9 else 6)
    rows = -(-panels // columns)
    size = (7.0, 5.2) if panels <= 2 else (5.0, 3.8) if panels <= 9 else (3.6, 2.9)
    figure, axes = plt.subplots(rows, columns, figsize=(size[0] * columns, size[1] * rows), squeeze=False)
    axes = axes.ravel()
    for axis in axes[panels:]:
        axis.set_visible(False)
    target = spec.targets[0]
    small = len(shown) > 2
    for axis, group in zip(axes, shown):
        in_group = [s for s in series if s.group == group]
        for colour, s in zip(COLOURS, in_group):
            axis.plot(s.grid[:, spec.features.index(x_name)], s.curve, color=colour, linewidth=1.6, label=s.label)
            if s.band is not None:
                axis.fill_between(s.grid[:, spec.features.index(x_name)], *s.band, color=colour, alpha=0.18, linewidth=0)
            if len(s.train):
                axis.scatter(s.train[x_name], s.train[target], color=colour, s=22, marker="o", alpha=0.85)
            if len(s.test):
                axis.scatter(s.test[x_name], s.test[target], facecolors="none", edgecolors=colour, s=60, marker="^", linewidths=1.6)
        axis.scatter([], [], color="gray", marker="o", s=22, label="train points")
        axis.scatter([], [], facecolors="none", edgecolors="gray", marker="^", s=60, label="held-out points")
        if any(s.band is not None for s in in_group):
            axis.fill_between([], [], [], color="gray", alpha=0.18, label="band: refits on resampled runs")
        if log_scale:
            axis.set_xscale("log")
        axis.set_xlabel(x_name, fontsize=8 if small else 10)
        axis.set_ylabel(target, fontsize=8 if small else 10)
        of = in_group[0].of
        heading = group if len(shown) > 1 else "law across the train and extrapolation range"
        if of > len(in_group):
            heading += f"\n{len(in_group)} of {of} series (held-out first); every point is in the predicted-vs-observed panel"
        axis.set_title(heading, fontsize=7 if small else 10)
        if not small or len(in_group) > 1:
            axis.legend(fontsize=6 if small else 7, loc="best")
        axis.grid(alpha=0.3)
        axis.tick_params(labelsize=7 if small else 9)
    axis = axes[panels - 1]
    axis.scatter(observed["train"].ravel(), predicted["train"].ravel(), s=12, color="#6e7781", alpha=0.5, label="train points")
    axis.scatter(observed["test"].ravel(), predicted["test"].ravel(), s=40, color="#d62728", marker="^", label="held-out points")
    everything = np.concatenate([observed["train"].ravel(), observed["test"].ravel(), predicted["test"].ravel()])
    everything = everything[np.isfinite(everything)]
    if len(everything):
        low, high = float(everything.min()), float(everything.max())
        pad = 0.05 * (high - low or 1.0)
        axis.plot([low - pad, high + pad], [low - pad, high + pad], color="black", linewidth=0.8, label="predicted = observed")
    axis.set_xlabel(f"observed {', '.join(spec.targets) if len(spec.targets) < 3 else 'losses (all targets)'}")
    axis.set_ylabel("predicted")
    axis.set_title("predicted vs observed", fontsize=10)
    axis.legend(fontsize=7, loc="best")
    axis.grid(alpha=0.3)
    if left_out:
        title += f"\n{len(left_out)} groups have no panel (their points are in the predicted-vs-observed panel): " + ", ".join(left_out[:20])
        title += ", ..." if len(left_out) > 20 else ""
    figure.suptitle(title, fontsize=11)
    heading_inches = 0.25 * (title.count("\n") + 1)
    figure.tight_layout(rect=(0, 0, 1, 1 - heading_inches / figure.get_figheight()))
    return _figure_png(figure)
