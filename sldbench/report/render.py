"""Writing the report's tables as Markdown, CSV, LaTeX or HTML (tables drawn with ``tabulate``).

Scores print with 3 decimals, as in the paper; the best value of each column
of Table 1 and Table 2 is marked (bold), ties at 3 decimals all marked.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import pandas as pd
from tabulate import tabulate

from ..escaping import for_csv_cell, for_html, for_latex, for_markdown
from ..metrics import first_line
from .tables import TABLE1_COLUMNS, Report, best_cells

FORMATS = ("md", "csv", "latex", "html")
DECIMALS = 3
TABLE1_CSV_HEADER = ["agent", "model", *TABLE1_COLUMNS]
"""Header of Table 1 as CSV: ``agent,model,parallel,...,u_shape,avg`` (then any tasks of your own)."""

PAGE_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1300px;
       color: #1f2328; background: #ffffff; line-height: 1.45; padding: 0 1em; }
h1 { font-size: 1.7em; border-bottom: 2px solid #d0d7de; padding-bottom: .3em; }
h2 { font-size: 1.3em; margin-top: 1.8em; border-bottom: 1px solid #d0d7de; padding-bottom: .2em; }
p.note { color: #57606a; font-size: .92em; }
table { border-collapse: collapse; margin: .8em 0; font-size: .9em; }
th, td { border: 1px solid #d0d7de; padding: .3em .6em; text-align: right; white-space: nowrap; }
th { background: #f6f8fa; }
td:first-child, td:nth-child(2), th:first-child, th:nth-child(2) { text-align: left; }
tr:nth-child(even) td { background: #fbfcfd; }
td strong { color: #0a3069; }
img { max-width: 100%; border: 1px solid #d0d7de; margin: .5em 0; }
figure { margin: 1em 0; }
figcaption { color: #57606a; font-size: .9em; }
"""


def fmt_number(value: float, decimals: int = DECIMALS, signed: bool = False) -> str:
    """A score as printed: fixed decimals, ``""`` for NaN, a ``+`` sign when ``signed``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = f"{value:+.{decimals}f}" if signed else f"{value:.{decimals}f}"
    # Rounding can print "-0.000"; the paper prints 0.000.
    return text.replace("-0.000", "0.000") if not signed else text.replace("-0.000", "+0.000")


def fmt_count(value: float) -> str:
    """A count or an amount: integers without decimals, ``""`` when unknown."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def _mark(text: str, fmt: str) -> str:
    if not text:
        return text
    return {"md": f"**{text}**", "latex": f"\\textbf{{{text}}}", "html": f"<strong>{text}</strong>"}.get(fmt, text)


def _escape(text: object, fmt: str) -> str:
    """``text`` (from a log, or the report's own words) made literal in ``fmt``."""
    return {"latex": for_latex, "html": for_html, "md": for_markdown}.get(fmt, str)(text)


def _tabulate(rows: list[list[str]], headers: list[str], fmt: str, label_columns: int = 2) -> str:
    headers = [_escape(h, fmt) for h in headers]
    tablefmt = {"md": "pipe", "latex": "latex_raw", "html": "unsafehtml"}[fmt]
    align = ["left"] * label_columns + ["right"] * (len(headers) - label_columns)
    # disable_numparse: cells are already formatted strings (keep "1.000", "+0.308").
    return tabulate(rows, headers=headers, tablefmt=tablefmt, disable_numparse=True, colalign=align)


def score_table(
    values: pd.DataFrame,
    fmt: str,
    columns: list[str] | None = None,
    stderr: pd.DataFrame | None = None,
    mark_best: bool = True,
    signed: bool = False,
    extra: dict[str, pd.Series] | None = None,
    labels: dict[str, pd.Series] | None = None,
) -> str:
    """One table of scores in ``fmt`` (md, latex or html).

    Parameters
    ----------
    values : pandas.DataFrame
        Index: row keys (tuples become one column per level); numeric columns.
    fmt : {"md", "latex", "html"}
    columns : list of str, optional
        Score columns to print (default: all).
    stderr : pandas.DataFrame, optional
        Printed as ``value ± se`` where known.
    mark_best : bool
        Bold the best value of each column.
    signed : bool
        Print a sign on every value (differences).
    extra : dict of str to Series, optional
        Further columns printed as they are (counts), after the scores.
    labels : dict of str to Series, optional
        Further label columns printed before the scores.

    Returns
    -------
    str
    """
    columns = columns or list(values.columns)
    best = best_cells(values[columns]) if mark_best and len(values) else None
    names = list(values.index.names) if values.index.names[0] is not None else ["row"]
    rows = []
    for label, row in values.iterrows():
        cells = [_escape(part, fmt) for part in (label if isinstance(label, tuple) else (label,))]
        cells.extend(_escape(series.loc[label], fmt) for series in (labels or {}).values())
        for column in columns:
            text = fmt_number(row[column], signed=signed)
            if stderr is not None and text and not math.isnan(stderr.loc[label, column]):
                text = f"{text} ± {fmt_number(stderr.loc[label, column])}"
            if best is not None and best.loc[label, column]:
                text = _mark(text, fmt)
            cells.append(text)
        cells.extend(_escape(series.loc[label], fmt) for series in (extra or {}).values())
        rows.append(cells)
    return _tabulate(rows, [*names, *(labels or {}), *columns, *(extra or {})], fmt, len(names) + len(labels or {}))


def table1_csv(report: Report) -> str:
    """Table 1 as CSV with header `TABLE1_CSV_HEADER`, values at full precision."""
    frame = report.table1.values.reset_index()[["agent", "model", *report.table1.columns]]
    return _csv(frame)


def _csv(frame: pd.DataFrame) -> str:
    """``frame`` as CSV, its text cells safe from spreadsheet formulas (`sldbench.escaping.for_csv_cell`)."""
    buffer = io.StringIO()
    frame = frame.map(for_csv_cell).rename(columns=for_csv_cell)
    frame.to_csv(buffer, index=False, float_format="%.6f", lineterminator="\n")
    return buffer.getvalue()


def csv_files(report: Report) -> dict[str, str]:
    """Every table of the report as CSV text, by file name.

    Returns
    -------
    dict of str to str
        ``table1.csv``, ``table1_stderr.csv``, ``table1_runs.csv``, ``table2.csv``,
        ``versus_human.csv``, ``usage.csv``, ``runs.csv`` (the merged runs, re-readable by
        the report) and, when compared, ``published_table1.csv`` and ``published_table2.csv``.
    """
    files = {
        "table1.csv": table1_csv(report),
        "table1_stderr.csv": _csv(report.table1.stderr.reset_index()),
        "table1_runs.csv": _csv(report.table1.runs.reset_index()),
        "table2.csv": _csv(report.table2.reset_index()),
        "versus_human.csv": _csv(report.versus_human.reset_index()),
        "usage.csv": _csv(report.usage.reset_index()),
        "runs.csv": _csv(report.runs.rename(columns={"r2": "reward_r2"})),
    }
    if len(report.left_out):  # kept apart: an empty reward_r2 in runs.csv reads back as a failed run (-1)
        files["left_out.csv"] = _csv(report.left_out.drop(columns=["r2"]))
    if report.published_table1 is not None:
        files["published_table1.csv"] = _csv(report.published_table1.reset_index())
        files["published_table2.csv"] = _csv(report.published_table2.reset_index())
    return files


def sections(report: Report, fmt: str, with_stderr: bool = False) -> list[tuple[str, str, str]]:
    """The report as ``(title, note, table)`` sections in ``fmt`` (md, latex or html).

    Parameters
    ----------
    report : Report
    fmt : {"md", "latex", "html"}
    with_stderr : bool
        Print Table 1 cells as ``mean ± standard error``.

    Returns
    -------
    list of (str, str, str)
        Titles and notes escaped for ``fmt`` (they name agents, models and tasks from logs); tables too.
    """
    return [(_escape(title, fmt), _escape(note, fmt), table) for title, note, table in _sections(report, fmt, with_stderr)]


def _sections(report: Report, fmt: str, with_stderr: bool) -> list[tuple[str, str, str]]:
    n_runs = report.table1.n_runs
    protocol = (
        f"mean over {n_runs} runs; a missing run counts -1 (the expert laws are one deterministic run)"
        if n_runs
        else "mean over the runs present"
    )
    out = [
        (
            "Table 1: held-out R² per agent and model",
            f"Clipped held-out R², {protocol}. Best per column in bold."
            + (f" avg is over the eight SLDBench tasks; {', '.join(report.table1.custom_tasks)} (tasks of your own data) follow it."
               if report.table1.custom_tasks else ""),
            score_table(report.table1.values, fmt, stderr=report.table1.stderr if with_stderr else None),
        )
    ]
    if len(report.left_out):
        out.append(left_out_section(report.left_out, fmt))
    if len(report.table2):
        table2 = report.table2
        out.append(
            (
                "Table 2: native CLI agent vs SLDAgent, same model",
                "Average R² over the 8 tasks. Native CLI: Gemini CLI for Gemini models, Claude Code for "
                "Claude models, Codex for OpenAI models. Gain: SLDAgent minus native, of the printed averages.",
                score_table(
                    table2[["native_cli", "sldagent"]].assign(gain=table2["gain"]),
                    fmt,
                    labels={"native agent": table2["native_agent"]},
                ),
            )
        )
    if report.human_row is not None:
        versus = report.versus_human
        counts = {key: versus[key].map(lambda v: str(int(v))) for key in ("wins", "ties", "losses")}
        out.append(
            (
                "Against the human laws",
                f"Difference to the row {' / '.join(report.human_row)} per task (positive: better than the "
                f"expert law; on a task of your own, its spec's law: the human-refit row); wins/ties/losses over the "
                f"tasks both rows have (a tie is within 0.0005; a task a row never ran is empty and not counted).",
                score_table(versus[report.table1.columns], fmt, mark_best=False, signed=True, extra=counts),
            )
        )
    usage = report.usage
    if len(usage):
        rows = []
        for key, row in usage.iterrows():
            rows.append(
                [
                    *(_escape(k, fmt) for k in key),
                    str(int(row["runs"])),
                    fmt_count(row["input_tokens"]),
                    fmt_count(row["output_tokens"]),
                    fmt_count(row["total_tokens"]),
                    "" if math.isnan(row["cost"]) else f"{row['cost']:.4f}",
                    "" if math.isnan(row["wall_seconds"]) else f"{row['wall_seconds']:.1f}",
                    "" if math.isnan(row["seconds_per_run"]) else f"{row['seconds_per_run']:.1f}",
                ]
            )
        headers = ["agent", "model", "runs", "input tokens", "output tokens", "total tokens", "cost (USD)", "wall s", "s per run"]
        out.append(
            (
                "Usage and time",
                "Sums over the runs of each row; blank where the input does not record it (per-run CSVs "
                "hold scores only; cost is known when the model has a price).",
                _tabulate(rows, headers, fmt),
            )
        )
    if report.published_table1 is not None:
        for title, frame in (("Table 1", report.published_table1), ("Table 2", report.published_table2)):
            if len(frame):
                out.append(
                    (
                        f"{title}: published vs this run",
                        "Rows present in both the paper and these runs.",
                        score_table(frame, fmt, mark_best=False),
                    )
                )
    return out


LEFT_OUT_NOTE = (
    "These runs ended without a score: the eval was interrupted, or the harness failed (a sandbox that "
    "could not start, a runner that gave no reply). No law of theirs was scored, so no table counts them "
    "(a law that fails is scored -1 with its reason); with --runs they are missing runs. Run them again: "
    "inspect eval-retry LOG."
)


def left_out_section(left_out: pd.DataFrame, fmt: str) -> tuple[str, str, str]:
    """The runs of logs that ended without a score, with the first line of each one's error, as a section."""
    rows = []
    for _, run in left_out.iterrows():
        cells = (run["task"], run["agent"], run["model"], Path(str(run["source"])).name, first_line(run["error"]))
        rows.append([_escape(value, fmt) for value in cells])
    return "Runs left out: no score", LEFT_OUT_NOTE, _tabulate(rows, ["task", "agent", "model", "log", "error"], fmt, label_columns=5)


def render_text(report: Report, fmt: str, with_stderr: bool = False) -> str:
    """The whole report as one document in ``fmt``.

    Parameters
    ----------
    report : Report
    fmt : {"md", "csv", "latex", "html"}
        ``csv`` gives Table 1 alone (header `TABLE1_CSV_HEADER`); the others every section.
    with_stderr : bool

    Returns
    -------
    str
    """
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if fmt == "csv":
        return table1_csv(report)
    parts = sections(report, fmt, with_stderr)
    if fmt == "md":
        return "# SLDBench report\n\n" + "\n".join(f"## {t}\n\n{n}\n\n{table}\n" for t, n, table in parts)
    if fmt == "latex":
        return "\n".join(
            f"% {t}\n% {n}\n\\begin{{table}}[h]\n\\centering\n\\caption{{{t}}}\n"
            f"{table}\n\\end{{table}}\n"
            for t, n, table in parts
        )
    body = "".join(f"<h2>{t}</h2>\n<p class='note'>{n}</p>\n{table}\n" for t, n, table in parts)
    return html_document("SLDBench report", body)


def html_document(title: str, body: str) -> str:
    """A self-contained HTML page: inline CSS, nothing fetched from the network (not even a favicon)."""
    return (
        "<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n"
        f"<title>{for_html(title)}</title>\n<link rel='icon' href='data:,'>\n<style>{PAGE_CSS}</style>\n</head>\n<body>\n"
        f"<h1>{for_html(title)}</h1>\n{body}</body>\n</html>\n"
    )


def write_report(report: Report, out: str | Path, fmt: str, with_stderr: bool = False) -> list[Path]:
    """Write the report into ``out``: ``report.<md|tex|html>``, or one CSV per table for ``csv``.

    Returns
    -------
    list of Path
        The files written.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    if fmt == "csv":
        for name, text in csv_files(report).items():
            (out / name).write_text(text)
            written.append(out / name)
        return written
    suffix = {"md": "md", "latex": "tex", "html": "html"}[fmt]
    path = out / f"report.{suffix}"
    path.write_text(render_text(report, fmt, with_stderr))
    return [path]
