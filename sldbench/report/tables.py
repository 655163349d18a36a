"""The report's tables, computed from a runs frame (see `sldbench.report.runs`).

Table 1 (cross-agent): one row per ``(agent, model)``, one column per task in the
paper's order and ``avg``; a cell is the mean over runs of the clipped held-out
R^2. With ``n_runs`` (the paper's 5), a row with fewer runs of a task has the
missing runs counted as -1, as the paper does; the expert laws are the exception
(`DETERMINISTIC_AGENTS`): they are one deterministic submission, scored once,
and the paper reports that single value (padding the published ``human`` run
with four -1 would turn its 1.000 on parallel into -0.600). With this rule the
published per-run CSV reproduces every number of the paper's Tables 1 and 2 to
3 decimals (pinned by the tests).

Table 2 (cross-model): per model, the native CLI agent's average (Gemini CLI
for Gemini models, Claude Code for Claude models, Codex for OpenAI models),
SLDAgent's average, and the gain. The gain is the difference of the two averages
as printed (3 decimals), as in the paper, so that the printed columns add up
(o4-mini: 0.657 - 0.349 = +0.308, where the unrounded difference is 0.3074).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..specs import TASKS
from .runs import NO_MODEL, RUN_COLUMNS, ReportError
from .sources import PUBLISHED_DIR

TASK_COLUMNS = list(TASKS)
"""Task columns in the paper's order: the eight tasks ``avg`` averages."""

TABLE1_COLUMNS = [*TASK_COLUMNS, "avg"]
"""Table 1's columns when every run is of a built-in task; tasks of your own follow ``avg``."""
TABLE2_COLUMNS = ["native_agent", "native_cli", "sldagent", "gain"]

DETERMINISTIC_AGENTS = frozenset({"human", "human-refit"})
"""Rows whose single run stands for every run (not padded with -1 up to ``n_runs``)."""

AGENT_ORDER = ["aider", "openhands", "codex", "goose", "human", "human-refit", "sldagent"]
"""The paper's Table 1 row order; other agents follow alphabetically."""

MODEL_ORDER = ["gemini-2.5-flash", "gemini-3-pro-preview", "claude-haiku-4-5", "claude-sonnet-4-5", "o4-mini", "gpt-5"]
"""The paper's Table 2 row order; other models follow alphabetically."""

TIE_TOLERANCE = 5e-4
"""Two scores closer than half a unit of the third decimal are a tie (they print the same)."""

HUMAN_REFERENCES = ("human", "human-refit")
"""Agents that can be the reference of the comparison with the human laws, by preference."""

SLDAGENT = "sldagent"
GAIN_DECIMALS = 3



@dataclass
class Table1:
    """Table 1 and what stands behind each cell.

    Attributes
    ----------
    values : pandas.DataFrame
        Index ``(agent, model)``, columns `TABLE1_COLUMNS` then `custom_tasks`: mean clipped
        R^2 (NaN where a task has no run and no ``n_runs`` was asked for; ``avg``, over the
        eight SLDBench tasks only, is NaN then too).
    stderr : pandas.DataFrame
        Standard error of each cell (sample standard deviation over runs / sqrt(runs));
        for ``avg``, the errors of the 8 cells combined as independent.
    runs : pandas.DataFrame
        Index ``(agent, model)``, columns `tasks`: runs actually present per cell.
    n_runs : int or None
        Runs per cell the table was computed for (None: the runs present).
    custom_tasks : list of str
        Tasks of your own data among the runs (sorted), as columns after ``avg``.
    """

    values: pd.DataFrame
    stderr: pd.DataFrame
    runs: pd.DataFrame
    n_runs: int | None
    custom_tasks: list[str] = field(default_factory=list)

    @property
    def tasks(self) -> list[str]:
        """Every task column: the eight SLDBench tasks, then the custom ones."""
        return [*TASK_COLUMNS, *self.custom_tasks]

    @property
    def columns(self) -> list[str]:
        """The columns of `values`: the eight tasks, ``avg``, then the custom tasks."""
        return [*TABLE1_COLUMNS, *self.custom_tasks]


def native_cli_agent(model: str) -> str | None:
    """The native CLI agent of a model family, as in the paper's Table 2.

    Parameters
    ----------
    model : str
        Model label (``gemini-2.5-flash``, ``claude-sonnet-4-5``, ``o4-mini``, ``gpt-5``).

    Returns
    -------
    str or None
        ``gemini-cli``, ``claude-code`` or ``codex``; None for other families.
    """
    name = model.lower()
    if "gemini" in name:
        return "gemini-cli"
    if "claude" in name:
        return "claude-code"
    if re.match(r"(gpt-|o\d)", name):
        return "codex"
    return None


def _order_key(values: list[str], order: list[str]):
    return [(order.index(v), "") if v in order else (len(order), v) for v in values]


def ordered_rows(keys: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Sort ``(agent, model)`` keys: agents in the paper's order, then models in the paper's order."""

    def key(row):
        agent, model = row
        return (_order_key([agent], AGENT_ORDER)[0], _order_key([model], MODEL_ORDER)[0])

    return sorted(set(keys), key=key)


def cell_values(r2: list[float], n_runs: int | None, deterministic: bool) -> list[float]:
    """The run values a cell averages: the clipped R^2 of each run, padded with -1 to ``n_runs``.

    Parameters
    ----------
    r2 : list of float
        Clipped R^2 of the runs present.
    n_runs : int or None
        Runs the protocol asks for; None: no padding.
    deterministic : bool
        The row is one deterministic submission (an expert law): its runs are not padded.

    Returns
    -------
    list of float
        Empty when there is no run and nothing to pad to.
    """
    values = list(r2)
    if n_runs is not None and not (deterministic and values):
        values += [-1.0] * max(0, n_runs - len(values))
    return values


def custom_task_names(runs: pd.DataFrame) -> list[str]:
    """The tasks of a runs frame that are not among the eight SLDBench tasks, sorted."""
    return sorted(set(runs["task"]) - set(TASK_COLUMNS))


def build_table1(runs: pd.DataFrame, n_runs: int | None = None) -> Table1:
    """Table 1: mean clipped R^2 per ``(agent, model)`` and task, with ``avg`` over the 8 tasks.

    Tasks of your own data (`custom_task_names`) are columns after ``avg``, with the
    same rule per cell for a row that ran them (an empty cell for one that did not: the
    published rows never ran your task); they do not enter ``avg``, which stays the paper's average.

    Parameters
    ----------
    runs : pandas.DataFrame
        A runs frame (`sldbench.report.runs.RUN_COLUMNS`).
    n_runs : int, optional
        Runs per cell (the paper: 5). Missing runs count -1, except for `DETERMINISTIC_AGENTS`.
        More runs than ``n_runs`` are all averaged.

    Returns
    -------
    Table1
    """
    if n_runs is not None and n_runs < 1:
        raise ValueError(f"n_runs must be at least 1, got {n_runs}")
    keys = ordered_rows(list(zip(runs["agent"], runs["model"])))
    index = pd.MultiIndex.from_tuples(keys, names=["agent", "model"])
    shape = Table1(None, None, None, n_runs, custom_task_names(runs))
    values = pd.DataFrame(np.nan, index=index, columns=shape.columns)
    stderr = pd.DataFrame(np.nan, index=index, columns=shape.columns)
    counts = pd.DataFrame(0, index=index, columns=shape.tasks)
    grouped = {key: frame for key, frame in runs.groupby(["agent", "model", "task"])}
    for agent, model in keys:
        for task in shape.tasks:
            present = grouped.get((agent, model, task))
            r2 = [] if present is None else present.sort_values("run_index")["r2"].astype(float).tolist()
            # a task of your own that this row never ran stays empty: only the eight tasks' missing runs count -1
            cell = cell_values(r2, n_runs if (task in TASK_COLUMNS or r2) else None, agent in DETERMINISTIC_AGENTS)
            counts.loc[(agent, model), task] = len(r2)
            if cell:
                values.loc[(agent, model), task] = float(np.mean(cell))
                if len(cell) > 1:
                    stderr.loc[(agent, model), task] = float(np.std(cell, ddof=1) / math.sqrt(len(cell)))
        row = values.loc[(agent, model), TASK_COLUMNS]
        if row.notna().all():
            values.loc[(agent, model), "avg"] = float(row.mean())
            errors = stderr.loc[(agent, model), TASK_COLUMNS]
            if errors.notna().any():
                stderr.loc[(agent, model), "avg"] = float(math.sqrt((errors.fillna(0.0) ** 2).sum()) / len(TASK_COLUMNS))
    return Table1(values=values, stderr=stderr, runs=counts, n_runs=n_runs, custom_tasks=shape.custom_tasks)


def build_table2(table1: Table1) -> pd.DataFrame:
    """Table 2: per model, the native CLI agent's average, SLDAgent's average and the gain.

    Parameters
    ----------
    table1 : Table1

    Returns
    -------
    pandas.DataFrame
        Index ``model`` (models with an SLDAgent row or a native-CLI row, in the paper's
        order), columns `TABLE2_COLUMNS`; NaN where a side is missing. ``gain`` is the
        difference of the averages rounded to `GAIN_DECIMALS`.
    """
    averages = table1.values["avg"]
    models = [m for m in dict.fromkeys(table1.values.index.get_level_values("model")) if m != NO_MODEL]
    rows = {}
    for model in models:
        native = native_cli_agent(model)
        native_avg = averages.get((native, model), np.nan) if native else np.nan
        sld_avg = averages.get((SLDAGENT, model), np.nan)
        if (native and (native, model) in averages.index) or (SLDAGENT, model) in averages.index:
            gain = round(sld_avg, GAIN_DECIMALS) - round(native_avg, GAIN_DECIMALS)
            rows[model] = {"native_agent": native or "", "native_cli": native_avg, "sldagent": sld_avg, "gain": gain}
    ordered = sorted(rows, key=lambda m: _order_key([m], MODEL_ORDER)[0])
    table = pd.DataFrame.from_dict({m: rows[m] for m in ordered}, orient="index", columns=TABLE2_COLUMNS)
    table.index.name = "model"
    return table


def human_reference(table1: Table1) -> tuple[str, str] | None:
    """The row the others are compared with: ``human`` (published constants) first, then ``human-refit``."""
    for agent in HUMAN_REFERENCES:
        for key in table1.values.index:
            if key[0] == agent:
                return key
    return None


def reference_values(table1: Table1) -> tuple[pd.Series, dict[str, tuple[str, str]]]:
    """Per column, the expert law's value: the first row of `HUMAN_REFERENCES` that has one.

    On the eight tasks that is the published constants (``human``); on a task of your own,
    which the published rows never ran, the spec's own ``law:`` (``human-refit``).

    Returns
    -------
    (values, source)
        The reference value per column (NaN where no reference row has one), and the row
        each came from.
    """
    values = pd.Series(np.nan, index=table1.values.columns)
    source: dict[str, tuple[str, str]] = {}
    for agent in HUMAN_REFERENCES:
        for key in table1.values.index:
            if key[0] != agent:
                continue
            for column, value in table1.values.loc[key].items():
                if column not in source and pd.notna(value):
                    values[column], source[column] = value, key
    return values, source


def versus_human(table1: Table1) -> tuple[pd.DataFrame, tuple[str, str] | None]:
    """Each row against the human laws: the difference per task and wins/ties/losses.

    Parameters
    ----------
    table1 : Table1

    Returns
    -------
    (table, reference)
        ``table`` has index ``(agent, model)`` (every row but the reference), columns
        ``table1.columns`` holding ``row - human``, then ``wins``, ``ties``, ``losses`` over the
        tasks (a tie is a difference below `TIE_TOLERANCE`; tasks without a value on either
        side are not counted). ``reference`` is the human row's key, None (and an empty table) without one.
    """
    reference = human_reference(table1)
    columns = [*table1.columns, "wins", "ties", "losses"]
    if reference is None:
        return pd.DataFrame(columns=columns), None
    human, source = reference_values(table1)
    others = table1.values.drop(index=[reference])
    differences = others - human
    for column, key in source.items():  # a row is not compared with itself where it is the reference
        if key in differences.index:
            differences.loc[key, column] = np.nan
    tasks = differences[table1.tasks]
    differences["wins"] = (tasks > TIE_TOLERANCE).sum(axis=1)
    differences["ties"] = (tasks.abs() <= TIE_TOLERANCE).sum(axis=1)
    differences["losses"] = (tasks < -TIE_TOLERANCE).sum(axis=1)
    return differences[columns], reference


def usage_table(runs: pd.DataFrame, rows: list[tuple[str, str]] | None = None) -> pd.DataFrame:
    """Token usage, cost and wall time per ``(agent, model)``.

    Parameters
    ----------
    runs : pandas.DataFrame
        A runs frame.
    rows : list of (agent, model), optional
        Row order (default: `ordered_rows`).

    Returns
    -------
    pandas.DataFrame
        Columns ``runs``, ``input_tokens``, ``output_tokens``, ``total_tokens``, ``cost``
        (sums over runs; NaN where unknown, e.g. for runs read from a CSV), ``wall_seconds``
        (sum of sample total time) and ``seconds_per_run``.
    """
    rows = rows or ordered_rows(list(zip(runs["agent"], runs["model"])))
    out = {}
    for (agent, model), frame in runs.groupby(["agent", "model"]):
        def total(column):
            known = frame[column].dropna()
            return float(known.sum()) if len(known) else np.nan

        wall = total("total_time")
        out[(agent, model)] = {
            "runs": len(frame),
            "input_tokens": total("input_tokens"),
            "output_tokens": total("output_tokens"),
            "total_tokens": total("total_tokens"),
            "cost": total("cost"),
            "wall_seconds": wall,
            "seconds_per_run": wall / frame["total_time"].notna().sum() if not math.isnan(wall) else np.nan,
        }
    table = pd.DataFrame.from_dict(out, orient="index")
    if len(table):
        table.index = pd.MultiIndex.from_tuples(table.index, names=["agent", "model"])
        table = table.loc[[r for r in rows if r in table.index]]
    return table


def best_cells(values: pd.DataFrame, decimals: int = 3) -> pd.DataFrame:
    """Which cells hold their column's best value, as printed (ties at ``decimals`` all marked).

    Parameters
    ----------
    values : pandas.DataFrame
        Numeric table (higher is better).
    decimals : int

    Returns
    -------
    pandas.DataFrame of bool, same shape.
    """
    rounded = values.astype(float).round(decimals)
    return rounded.eq(rounded.max(axis=0), axis=1) & rounded.notna()


def load_published(directory: str | Path = PUBLISHED_DIR) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The paper's published Tables 1 and 2 (``table1.csv``, ``table2.csv`` in ``directory``).

    Parameters
    ----------
    directory : path
        Folder with the published tables (default: ``results/paper`` of the source checkout).

    Returns
    -------
    (table1, table2) : tuple of pandas.DataFrame
        Table 1 indexed by ``(agent, model)`` with `TABLE1_COLUMNS`; Table 2 indexed by
        ``model`` with `TABLE2_COLUMNS`.

    Raises
    ------
    ReportError
        If a file or a column is missing.
    """
    directory = Path(directory)
    tables = []
    for name, index, columns in (
        ("table1.csv", ["agent", "model"], TABLE1_COLUMNS),
        ("table2.csv", ["model"], TABLE2_COLUMNS),
    ):
        path = directory / name
        if not path.is_file():
            raise ReportError(f"{path} is missing: the published tables are results/paper/table1.csv and table2.csv")
        frame = pd.read_csv(path, keep_default_na=False, na_values=[""])
        missing = [c for c in (*index, *columns) if c not in frame.columns]
        if missing:
            raise ReportError(f"{path}: missing column(s) {', '.join(missing)}; expected header {','.join([*index, *columns])}")
        tables.append(frame.set_index(index)[columns])
    return tables[0], tables[1]


def compare_published(this_run: pd.DataFrame, published: pd.DataFrame) -> pd.DataFrame:
    """Published and new values side by side, for the rows both have.

    Parameters
    ----------
    this_run, published : pandas.DataFrame
        The same table (1 or 2) from this report and from the paper, same index names.

    Returns
    -------
    pandas.DataFrame
        Index: the shared row keys plus a level ``source`` in (``published``, ``this run``,
        ``difference``); the numeric columns both tables have.
    """
    columns = [c for c in published.columns if c in this_run.columns and pd.api.types.is_numeric_dtype(published[c])]
    shared = [key for key in published.index if key in this_run.index]
    blocks = []
    for key in shared:
        new = this_run.loc[key, columns].astype(float)
        old = published.loc[key, columns].astype(float)
        key_tuple = key if isinstance(key, tuple) else (key,)
        for label, row in (("published", old), ("this run", new), ("difference", new - old)):
            blocks.append(pd.Series(row.values, index=columns, name=(*key_tuple, label)))
    names = [*published.index.names, "source"]
    if not blocks:
        return pd.DataFrame(columns=columns, index=pd.MultiIndex.from_tuples([], names=names))
    frame = pd.DataFrame(blocks)
    frame.index = pd.MultiIndex.from_tuples(frame.index, names=names)
    return frame


@dataclass
class Report:
    """Every table of the report, computed once from a runs frame.

    Attributes
    ----------
    runs : pandas.DataFrame
        The runs with a score (`scored_runs`).
    table1 : Table1
    table2 : pandas.DataFrame
    versus_human : pandas.DataFrame
    human_row : (agent, model) or None
    usage : pandas.DataFrame
    published_table1, published_table2 : pandas.DataFrame or None
        Published vs this run (see `compare_published`), when asked for.
    left_out : pandas.DataFrame
        Runs of logs that ended without a score, with their error: in no table but their own.
    """

    runs: pd.DataFrame
    table1: Table1
    table2: pd.DataFrame
    versus_human: pd.DataFrame
    human_row: tuple[str, str] | None
    usage: pd.DataFrame
    published_table1: pd.DataFrame | None = None
    published_table2: pd.DataFrame | None = None
    left_out: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=RUN_COLUMNS))


def scored_runs(runs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The runs with a score, and those of logs that ended without one (interrupted, or the harness failed).

    A run without a score has no law that was scored: it is no evidence of a law's failure
    (which scores -1 with its reason), so no table counts it; the report lists it instead.
    """
    unscored = runs["r2"].isna()
    return runs[~unscored], runs[unscored]


def build_report(runs: pd.DataFrame, n_runs: int | None = None, published: str | Path | None = None) -> Report:
    """Compute all tables of the report.

    Parameters
    ----------
    runs : pandas.DataFrame
        A runs frame (`sldbench.report.runs.load_runs`).
    n_runs : int, optional
        Runs per cell; missing runs count -1 (see `build_table1`).
    published : path, optional
        Folder of the published tables: adds the "published vs this run" comparisons.

    Returns
    -------
    Report
    """
    every_run = runs
    runs, left_out = scored_runs(every_run)
    table1 = build_table1(runs, n_runs)
    table2 = build_table2(table1)
    differences, human_row = versus_human(table1)
    report = Report(
        runs=runs,
        table1=table1,
        table2=table2,
        versus_human=differences,
        human_row=human_row,
        usage=usage_table(every_run, list(table1.values.index)),  # a run left out spent its tokens too
        left_out=left_out,
    )
    if published is not None:
        paper1, paper2 = load_published(published)
        report.published_table1 = compare_published(table1.values, paper1)
        report.published_table2 = compare_published(table2, paper2)
    return report
