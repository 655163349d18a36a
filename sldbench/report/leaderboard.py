"""The leaderboard: a self-contained HTML page and a Markdown page with both tables and plots.

The HTML page opens with the interactive leaderboard (`sldbench.report.board`): ranked,
sortable entries, a view per task, each logged entry's law with its plot and a link to its
transcript in a static bundle of Inspect's log viewer (`bundle_transcripts`).

Plots (PNG, drawn with matplotlib's Agg backend, embedded in the HTML as data
URIs so the page needs nothing from the network):

* ``scores_by_task.png``: one bar chart per task, every row's Table 1 value;
* ``law_<task>.png``: the best law of each task (the highest-scoring run read
  from an Inspect log; per-run CSVs carry no program) against the data. The
  program is run again, in the ``local`` sandbox through the same runner as the
  scorer, fitted on train where it is a fit-and-predict program, to predict the
  train points, the held-out points and a curve across the whole range (train
  and extrapolation) of the task's scale axis (`PLOT_AXES`) for a few series of
  points that share their other features. A second panel plots predicted
  against observed for every point and target.
"""

from __future__ import annotations

import asyncio
import base64
import html
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..data import DataError, load_split
from ..escaping import for_markdown
from ..sandbox.host import Limits, run_program
from ..specs import TaskSpec, get_spec
from ..submission import PROGRAM_KEY, SHAPE_KEY
from .render import fmt_number, html_document, sections
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

    Built-in tasks: `PLOT_AXES`. A task of your own: its holdout column when that is a
    feature (the axis it extrapolates along), else its first feature; log-scaled when
    positive and spanning a factor of 10 or more in ``frame``.
    """
    if spec.name in PLOT_AXES and not spec.is_custom:
        return PLOT_AXES[spec.name]
    holdout = spec.holdout.column if spec.holdout is not None else None
    x_name = holdout if holdout in spec.features else spec.features[0]
    if frame is None or x_name not in frame:
        return x_name, False
    values = frame[x_name].to_numpy(dtype=float)
    return x_name, bool(values.min() > 0 and values.max() >= 10 * values.min())

MAX_SERIES = 6
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
    """

    task: str
    title: str
    png: bytes | None = None
    problem: str = ""


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


def best_runs(report: Report) -> dict[str, pd.Series]:
    """The highest-scoring run of each task that has a program to re-run (a run read from a log).

    Returns
    -------
    dict of str to pandas.Series
        ``{task: run row}``; tasks with no log run are absent.
    """
    runs = report.runs
    from_logs = runs[(runs["origin"] == "log") & (runs["error"] == "")]
    best = {}
    for task, frame in from_logs.groupby("task"):
        best[task] = frame.sort_values(["r2", "r2_raw"], ascending=False).iloc[0]
    return best


def read_program(run: pd.Series) -> tuple[str | None, str]:
    """The program a logged run was scored on, and its shape.

    The scorer keeps the scored source in ``Score.answer`` (a CLI agent's ``law.py``
    included, whose sandbox is gone by then); older logs have only the solver's
    stored program or its output.
    """
    from inspect_ai.log import read_eval_log_sample

    sample = read_eval_log_sample(run["source"], uuid=run["sample_uuid"], resolve_attachments=True)
    score = (sample.scores or {}).get("heldout_r2")
    program = (score.answer if score else None) or (sample.store or {}).get(PROGRAM_KEY)
    shape = (sample.store or {}).get(SHAPE_KEY, "auto")
    if not program and sample.output and sample.output.completion:
        completion = sample.output.completion
        if "def law(" in completion or "def scaling_law_func(" in completion:
            program = completion
    return program, shape or "auto"


def plot_series(spec: TaskSpec, train: pd.DataFrame, test: pd.DataFrame, span: str = "group") -> list[Series]:
    """Choose up to `MAX_SERIES` curves of a task: held-out series first, then the largest ones.

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
    """
    x_name, log_scale = plot_axis(spec, pd.concat([train, test]))
    if x_name is None:
        return []
    others = [f for f in spec.features if f != x_name]
    keys = ["group", *others]
    both = pd.concat([train.assign(_split="train"), test.assign(_split="test")], ignore_index=True)
    summary = both.groupby(keys, sort=True).agg(points=("_split", "size"), held_out=("_split", lambda s: int((s == "test").sum())))
    summary = summary.reset_index().sort_values(["held_out", "points"], ascending=False, kind="stable")
    chosen = []
    for _, row in summary.head(MAX_SERIES).iterrows():
        fixed = {name: float(row[name]) for name in others}
        group = str(row["group"])
        if span == "group":
            xs_seen = both[both["group"] == group][x_name]
        else:
            xs_seen = pd.concat([_matching(train, group, fixed), _matching(test, group, fixed)])[x_name]
        low, high = float(xs_seen.min()), float(xs_seen.max())
        xs = np.geomspace(low, high, GRID_POINTS) if log_scale and low > 0 else np.linspace(low, high, GRID_POINTS)
        grid = np.column_stack([xs if f == x_name else np.full(GRID_POINTS, fixed[f]) for f in spec.features])
        parts = [group] if both["group"].nunique() > 1 else []
        parts += [f"{n}={_short(v)}" for n, v in fixed.items()]
        label = ", ".join(parts) or group
        chosen.append(Series(group, label, fixed, _matching(train, group, fixed), _matching(test, group, fixed), grid))
    return chosen


def _matching(frame: pd.DataFrame, group: str, fixed: dict[str, float]) -> pd.DataFrame:
    mask = frame["group"] == group
    for name, value in fixed.items():
        mask &= frame[name] == value
    return frame[mask]


def _short(value: float) -> str:
    return f"{value:.3g}"


async def _predict(spec: TaskSpec, program: str, shape: str, train, test, series: list[Series], timeout: float):
    """Predict train, test and grid points in one sandboxed run; returns ``(result, slices)``."""
    from inspect_ai.util._sandbox.local import LocalSandboxEnvironment  # inspect-evals-lint: ignore[private_api_imports] -- Inspect's local sandbox class is not exported; sldbench-local extends it

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
    sandbox = LocalSandboxEnvironment()
    try:
        result = await run_program(sandbox, program, spec, predict=predict, fit=fit, limits=Limits(timeout=timeout), shape=shape)
    finally:
        sandbox.directory.cleanup()
    return result, slices


def law_plot(run: pd.Series, data_dir: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> LawPlot:
    """Plot the law of one logged run against the task's data.

    Parameters
    ----------
    run : pandas.Series
        A run row read from a log (`best_runs`).
    data_dir : str, optional
        Data directory; defaults to the one recorded in the sample, then ``$SLDBENCH_DATA_DIR``.
    timeout : float
        Wall seconds for re-running the law.

    Returns
    -------
    LawPlot
        With ``png`` set, or ``problem`` saying why not (no program, no data, the law failed).
    """
    task = run["task"]
    title = f"{task}: best law {run['agent']} / {run['model']} (run {int(run['run_index'])}), held-out R² {fmt_number(run['r2'])}"
    try:  # a log names its spec file: read it as any spec, its files confined to its folder
        spec = get_spec(task, run.get("spec_file") or None)
    except ValueError as err:
        return LawPlot(task, title, problem=f"the task's spec cannot be read: {err}")
    program, shape = read_program(run)
    if not program:
        return LawPlot(task, title, problem="the log holds no program for this run")
    try:
        train = load_split(spec, "train", data_dir or run["data_dir"] or None).frame
        test = load_split(spec, "test", data_dir or run["data_dir"] or None).frame
    except DataError as err:
        return LawPlot(task, title, problem=f"data not available: {err}")
    return draw_law(spec, program, shape, train, test, title, timeout)


def draw_law(spec: TaskSpec, program: str, shape: str, train: pd.DataFrame, test: pd.DataFrame, title: str, timeout: float = DEFAULT_TIMEOUT) -> LawPlot:
    """Plot ``program`` (fitted on ``train`` where it is fit-and-predict) against the train and held-out points.

    The law runs in the local sandbox through the scorer's runner. Returns a `LawPlot`
    with ``png``, or ``problem`` saying why the law could not be drawn.
    """
    # A law may be undefined off its data (NaN on part of a wide grid): narrow the curves, then drop them.
    for span in ("group", "series", None):
        series = plot_series(spec, train, test, span) if span else []
        result, slices = asyncio.run(_predict(spec, program, shape, train, test, series, timeout))
        if result.ok:
            break
    if not result.ok:
        return LawPlot(spec.name, title, problem=f"re-running the law failed: {result.kind}: {result.error}")
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
    return LawPlot(spec.name, title, png=png)


def _draw_law(spec: TaskSpec, title: str, series: list[Series], observed: dict, predicted: dict, frame: pd.DataFrame | None = None) -> bytes:
    plt = _pyplot()
    x_name, log_scale = plot_axis(spec, frame)
    panels = 2 if series else 1
    figure, axes = plt.subplots(1, panels, figsize=(7 * panels, 5.2))
    axes = np.atleast_1d(axes)
    target = spec.targets[0]
    if series:
        axis = axes[0]
        for colour, s in zip(COLOURS, series):
            axis.plot(s.grid[:, spec.features.index(x_name)], s.curve, color=colour, linewidth=1.6, label=s.label)
            if len(s.train):
                axis.scatter(s.train[x_name], s.train[target], color=colour, s=22, marker="o", alpha=0.85)
            if len(s.test):
                axis.scatter(s.test[x_name], s.test[target], facecolors="none", edgecolors=colour, s=60, marker="^", linewidths=1.6)
        axis.scatter([], [], color="gray", marker="o", s=22, label="train points")
        axis.scatter([], [], facecolors="none", edgecolors="gray", marker="^", s=60, label="held-out points")
        if log_scale:
            axis.set_xscale("log")
        axis.set_xlabel(x_name)
        axis.set_ylabel(target)
        axis.set_title("law across the train and extrapolation range", fontsize=10)
        axis.legend(fontsize=7, loc="best")
        axis.grid(alpha=0.3)
    axis = axes[-1]
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
    figure.suptitle(title, fontsize=11)
    figure.tight_layout()
    return _figure_png(figure)


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def bundle_transcripts(log_files: list[str], out: Path) -> dict[str, str]:
    """Write a static bundle of Inspect's log viewer with ``log_files`` into ``out``; ``{log file: its name there}``.

    The logs are copied into one folder (names made unique) and bundled with
    ``inspect view bundle``. The viewer reads its logs over HTTP: serve the page's
    folder (``python -m http.server``) to open them. Returns ``{}`` (with a warning)
    when the bundle cannot be written.
    """
    import shutil
    import subprocess
    import sys
    import tempfile

    names: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as folder:
        for index, path in enumerate(sorted(set(log_files))):
            name = Path(path).name
            if name in names.values():
                name = f"{index}-{name}"
            shutil.copy2(path, Path(folder) / name)
            names[path] = name
        command = [sys.executable, "-m", "inspect_ai", "view", "bundle", "--log-dir", folder, "--output-dir", str(out), "--overwrite"]
        completed = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if completed.returncode != 0 or not (out / "index.html").exists():
        import warnings

        warnings.warn(f"the transcript viewer could not be bundled: {(completed.stderr or completed.stdout).strip()[-500:]}")
        return {}
    return names


def transcript_link(viewer: str, log_name: str, sample_id: object, epoch: int) -> str:
    """A link into the bundled viewer that opens one sample of one log."""
    from urllib.parse import quote

    return f"{viewer}/index.html#/logs/{quote(log_name)}/samples/sample/{quote(str(sample_id))}/{int(epoch)}"


def _sample_ids(runs: pd.DataFrame) -> dict[tuple[str, str], object]:
    """``{(log file, sample uuid): sample id}`` of the logged runs."""
    from inspect_ai.log import read_eval_log_sample_summaries

    ids = {}
    for source in sorted(set(runs.loc[runs["origin"] == "log", "source"])):
        for summary in read_eval_log_sample_summaries(source):
            ids[(source, summary.uuid)] = summary.id
    return ids


def plot_file(task: str) -> str:
    """The file name of a task's law plot: ``law_TASK.png``, with any character but ``[A-Za-z0-9_-]`` as ``_``.

    Task names come from logs: none may name a path outside the output folder.
    """
    return "law_" + re.sub(r"[^A-Za-z0-9_-]", "_", task) + ".png"


def write_leaderboard(
    report: Report, out: str | Path, data_dir: str | None = None, timeout: float = DEFAULT_TIMEOUT, transcripts: bool = True
) -> dict[str, Path]:
    """Write ``index.html`` (self-contained), ``leaderboard.md``, the PNG plots and the transcript viewer into ``out``.

    The page opens with the interactive leaderboard (`sldbench.report.board`): entries
    ranked by their average, sortable, a view per task, each logged entry's law (source,
    explanation, constants, plot against the data, link to its transcript), and the best
    discovered law of each task beside the expert law; the report's tables, the bar chart
    and the best law of each task follow.

    Parameters
    ----------
    report : Report
    out : path
        Output folder (created).
    data_dir : str, optional
        Data for the law plots (default: the folder recorded in each log, then ``$SLDBENCH_DATA_DIR``).
    timeout : float
        Wall seconds for re-running each law.
    transcripts : bool
        Bundle Inspect's log viewer with the logs into ``out/transcripts`` when logs are among the inputs.

    Returns
    -------
    dict of str to Path
        ``html``, ``markdown``, one entry per PNG written, and ``transcripts`` when bundled.
    """
    from .board import best_logged_runs, board_data, board_html, law_of_run

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    best_by_entry = best_logged_runs(report)
    viewer_names: dict[str, str] = {}
    if transcripts and best_by_entry:
        viewer_names = bundle_transcripts(sorted({run["source"] for run in best_by_entry.values()}), out / "transcripts")
        if viewer_names:
            written["transcripts"] = out / "transcripts"
    sample_ids = _sample_ids(report.runs) if viewer_names else {}
    laws, pngs = {}, {}
    for number, (key, run) in enumerate(sorted(best_by_entry.items())):
        law = law_of_run(run, f"law-{number + 1}")
        if law.source:
            plot = law_plot(run, data_dir, timeout)
            pngs[key] = plot
            law.plot = _data_uri(plot.png) if plot.png else ""
            law.problem = plot.problem
        else:
            law.problem = "the log holds no program for this run"
        if run["source"] in viewer_names:
            law.transcript = transcript_link("transcripts", viewer_names[run["source"]], sample_ids.get((run["source"], run["sample_uuid"]), ""), run["epoch"])
        laws[key] = law

    images: dict[str, bytes] = {"scores_by_task.png": bar_chart(report)}
    plots = []
    best = best_runs(report)
    for task in report.table1.tasks:
        if task in best:
            key = (best[task]["agent"], best[task]["model"], task)
            plot = pngs.get(key) or law_plot(best[task], data_dir, timeout)
        else:
            plot = LawPlot(task, f"{task}: no law to plot", problem="no run of this task was read from an Inspect log (per-run CSVs hold scores only)")
        plots.append(plot)
        if plot.png:
            images[plot_file(task)] = plot.png
    for name, png in images.items():
        (out / name).write_bytes(png)
        written[name] = out / name

    parts = sections(report, "md")
    markdown = ["# SLDBench leaderboard", ""]
    for title, note, table in parts:
        markdown += [f"## {title}", "", note, "", table, ""]
    markdown += ["## Scores by task", "", "![Held-out R² per task](scores_by_task.png)", "", "## Best law per task", ""]
    for plot in plots:
        task, title = for_markdown(plot.task), for_markdown(plot.title)
        markdown += [f"### {task}", ""]
        markdown += [f"![{title}]({plot_file(plot.task)})", ""] if plot.png else [f"{title}: {for_markdown(plot.problem)}", ""]
    (out / "leaderboard.md").write_text("\n".join(markdown))
    written["markdown"] = out / "leaderboard.md"

    body = [board_html(board_data(report, laws))]
    for title, note, table in sections(report, "html"):
        body.append(f"<h2>{title}</h2>\n<p class='note'>{note}</p>\n{table}\n")  # escaped by `sections`
    body.append("<h2>Scores by task</h2>\n")
    body.append(f"<figure><img alt='Held-out R² per task' src='{_data_uri(images['scores_by_task.png'])}'></figure>\n")
    body.append("<h2>Best law per task</h2>\n")
    for plot in plots:
        body.append(f"<h3>{html.escape(plot.task)}</h3>\n")
        if plot.png:
            body.append(f"<figure><img alt='{html.escape(plot.title)}' src='{_data_uri(plot.png)}'>"
                        f"<figcaption>{html.escape(plot.title)}</figcaption></figure>\n")  # fmt: skip
        else:
            body.append(f"<p class='note'>{html.escape(plot.title)}: {html.escape(plot.problem)}</p>\n")
    (out / "index.html").write_text(html_document("SLDBench leaderboard", "".join(body)))
    written["html"] = out / "index.html"
    return written
