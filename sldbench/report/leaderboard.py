"""The leaderboard: a self-contained HTML page and a Markdown page with both tables and plots.

The HTML page opens with the interactive leaderboard (`sldbench.report.board`): ranked,
sortable entries, a view per task, each logged entry's law with its plot and a link to its
transcript in a static bundle of Inspect's log viewer (`bundle_transcripts`).

Plots (`sldbench.report.plots`, embedded in the HTML as data URIs so the page needs
nothing from the network):

* ``scores_by_task.png``: one bar chart per task, every row's Table 1 value;
* ``law_<task>.png``: the best law of each task (the highest-scoring run read
  from an Inspect log; per-run CSVs carry no program) against the data (`law_plot`).
"""

from __future__ import annotations

import asyncio
import base64
import re
from pathlib import Path

import pandas as pd

from ..data import DataError, load_split
from ..escaping import for_html, for_markdown
from ..metrics import SCORER
from ..specs import get_spec
from ..submission import PROGRAM_KEY, SHAPE_KEY
from .plots import DEFAULT_TIMEOUT, LawPlot, bar_chart, draw_law
from .render import fmt_number, html_document, sections
from .tables import Report

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
    score = (sample.scores or {}).get(SCORER)
    program = (score.answer if score else None) or (sample.store or {}).get(PROGRAM_KEY)
    shape = (sample.store or {}).get(SHAPE_KEY, "auto")
    if not program and sample.output and sample.output.completion:
        completion = sample.output.completion
        if "def law(" in completion or "def scaling_law_func(" in completion:
            program = completion
    return program, shape or "auto"


def law_plot(run: pd.Series, data_dir: str | None = None, timeout: float = DEFAULT_TIMEOUT, isolation: str = "auto") -> LawPlot:
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
    return asyncio.run(draw_law(spec, program, shape, train, test, title, timeout, isolation))


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


def law_decision(run: pd.Series, program: str, data_dir: str | None = None, timeout: float = DEFAULT_TIMEOUT, isolation: str = "auto") -> str:
    """What a logged run's law decides in the paper's application of its task (lr_bsz, sft); "" for other tasks."""
    from ..decisions.paper import TASKS, paper_decision
    from ..sandbox.local import IsolatedLocalSandbox

    if run["task"] not in TASKS or run.get("spec_file"):
        return ""
    spec = get_spec(run["task"])
    try:
        train = load_split(spec, "train", data_dir or run["data_dir"] or None)
        test = load_split(spec, "test", data_dir or run["data_dir"] or None)
    except DataError as err:
        return f"Decision: data not available: {err}"

    async def decide() -> str:
        sandbox = IsolatedLocalSandbox(isolation)
        try:
            return await paper_decision(sandbox, program, spec, train, test, timeout)
        finally:
            sandbox.directory.cleanup()

    return asyncio.run(decide())


def write_leaderboard(
    report: Report, out: str | Path, data_dir: str | None = None, timeout: float = DEFAULT_TIMEOUT, transcripts: bool = True,
    isolation: str = "auto",
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
    isolation : {"auto", "required", "rlimits"}
        The local sandbox's policy for re-running the laws (`sldbench.sandbox.local`).

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
            plot = law_plot(run, data_dir, timeout, isolation)
            pngs[key] = plot
            law.plot = _data_uri(plot.png) if plot.png else ""
            law.problem = plot.problem
            law.decision = law_decision(run, law.source, data_dir, timeout, isolation)
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
            plot = pngs.get(key) or law_plot(best[task], data_dir, timeout, isolation)
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
        body.append(f"<h3>{for_html(plot.task)}</h3>\n")
        if plot.png:
            body.append(f"<figure><img alt='{for_html(plot.title)}' src='{_data_uri(plot.png)}'>"
                        f"<figcaption>{for_html(plot.title)}</figcaption></figure>\n")  # fmt: skip
        else:
            body.append(f"<p class='note'>{for_html(plot.title)}: {for_html(plot.problem)}</p>\n")
    (out / "index.html").write_text(html_document("SLDBench leaderboard", "".join(body)))
    written["html"] = out / "index.html"
    return written
