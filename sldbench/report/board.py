"""The interactive leaderboard: entries ranked by their average, sortable, a view per task, each entry's law.

`board_data` gathers, from a `Report`, one entry per ``(agent, model)`` with per
task the mean over runs, its 95% confidence interval (1.96 standard errors, as
Inspect's ``stderr`` metric gives them), the best run, the number of runs,
tokens, cost, the isolation the runs had, and the law of its best logged run
(the scored source, the agent's explanation, the number of fitted constants, a
plot). `board_html` renders it as a section of a self-contained page: the data
as inline JSON, the table drawn and sorted by a small inline script, the law in
a dialog. Entries from a per-run CSV carry scores only: their laws are not in it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import pandas as pd

from ..escaping import for_html, script_json, shown_in_page
from ..metrics import SCORER
from .tables import DETERMINISTIC_AGENTS, HUMAN_REFERENCES, TASK_COLUMNS, Report

CI_Z = 1.96


@dataclass
class Law:
    """The law of one logged run, as the dialog shows it."""

    id: str
    task: str
    agent: str
    model: str
    run: int
    r2: float
    source: str
    shape: str
    explanation: str = ""
    constants: int | None = None  # fitted parameters per group (fit-and-predict), or numeric literals (a law)
    constants_kind: str = ""
    hidden_constants: list[float] = field(default_factory=list)
    isolation: str = ""
    plot: str = ""  # a PNG data URI
    problem: str = ""  # why there is no plot
    transcript: str = ""  # link into the bundled log viewer
    decision: str = ""  # what the law decides in the paper's application of its task (lr_bsz, sft)


def _finite(value: float) -> float | None:
    return None if value is None or not math.isfinite(float(value)) else round(float(value), 6)


def law_of_run(run: pd.Series, law_id: str) -> Law:
    """Read the scored program of a logged run and what the log says about it (no plot yet)."""
    from inspect_ai.log import read_eval_log_sample

    from ..submission import PROGRAM_KEY, SHAPE_KEY, numeric_constants

    sample = read_eval_log_sample(run["source"], uuid=run["sample_uuid"], resolve_attachments=True)
    score = (sample.scores or {}).get(SCORER)
    metadata = (score.metadata if score else None) or {}
    source = (score.answer if score else None) or (sample.store or {}).get(PROGRAM_KEY) or ""
    shape = metadata.get("shape") or (sample.store or {}).get(SHAPE_KEY) or "auto"
    counts = metadata.get("param_counts") or {}
    if counts:
        constants, kind = int(max(counts.values())), "fitted parameters per group"
    else:
        constants, kind = len(numeric_constants(source)), "numeric constants in the source (all groups)"
    return Law(
        id=law_id, task=run["task"], agent=run["agent"], model=run["model"], run=int(run["run_index"]), r2=float(run["r2"]),
        source=source, shape=shape, explanation=str(metadata.get("explain") or ""), constants=constants if source else None,
        constants_kind=kind, hidden_constants=list(metadata.get("hidden_constants") or []), isolation=str(metadata.get("isolation") or ""),
    )  # fmt: skip


def best_logged_runs(report: Report) -> dict[tuple[str, str, str], pd.Series]:
    """``{(agent, model, task): run}``: the highest-scoring logged run of each entry on each task."""
    runs = report.runs
    logged = runs[(runs["origin"] == "log") & (runs["error"] == "")]
    best = {}
    for key, frame in logged.groupby(["agent", "model", "task"]):
        best[key] = frame.sort_values(["r2", "r2_raw"], ascending=False).iloc[0]
    return best


def board_data(report: Report, laws: dict[tuple[str, str, str], Law]) -> dict:
    """The leaderboard as plain data (the page's JSON).

    Parameters
    ----------
    report : Report
    laws : dict
        ``{(agent, model, task): Law}`` for the entries whose runs were read from logs.

    Returns
    -------
    dict
        ``tasks`` (names), ``entries`` (one per ``(agent, model)``, ranked by average, best
        first; per task ``mean``, ``ci``, ``best``, ``runs``, ``law``), ``laws`` (by id) and
        ``versus_human`` (per task the best discovered law beside the expert law).
    """
    table = report.table1
    runs = report.runs
    tasks = table.tasks
    by_cell = {key: frame for key, frame in runs.groupby(["agent", "model", "task"])}
    entries = []
    for agent, model in table.values.index:
        mine = runs[(runs["agent"] == agent) & (runs["model"] == model)]
        cells = {}
        for task in tasks:
            frame = by_cell.get((agent, model, task))
            mean = table.values.loc[(agent, model), task]
            error = table.stderr.loc[(agent, model), task]
            law = laws.get((agent, model, task))
            cells[task] = {
                "mean": _finite(mean),
                "ci": _finite(CI_Z * error),  # None where there is no spread (one run)
                "best": _finite(frame["r2"].max()) if frame is not None else None,
                "runs": int(len(frame)) if frame is not None else 0,
                "law": law.id if law else None,
            }
        best_average = None
        on_tasks = mine[mine["task"].isin(TASK_COLUMNS)]
        if len(on_tasks):  # run k's average over the eight tasks, a task it lacks counting -1 as the paper does
            per_run = on_tasks.groupby(["run_index", "task"])["r2"].mean().unstack().reindex(columns=TASK_COLUMNS)
            best_average = _finite(per_run.fillna(-1.0).mean(axis=1).max())
        isolation = sorted({law.isolation for (a, m, _), law in laws.items() if (a, m) == (agent, model) and law.isolation})
        origins = set(mine["origin"])
        cost = mine["cost"].astype(float)
        entries.append({
            "agent": agent,
            "model": model,
            "average": _finite(table.values.loc[(agent, model), "avg"]),
            "average_ci": _finite(CI_Z * table.stderr.loc[(agent, model), "avg"]),
            "best_average": best_average,
            "runs": int(mine["run_index"].nunique()) if len(mine) else 0,
            "tokens": int(mine["total_tokens"].fillna(0).sum()) if "log" in origins else None,
            "cost": _finite(cost.sum()) if cost.notna().any() else None,
            "isolation": ", ".join(isolation) if isolation else ("published (not recorded)" if origins == {"csv"} else "not recorded"),
            "origin": "published" if origins == {"csv"} else "logs" if origins == {"log"} else "logs and published",
            "deterministic": agent in DETERMINISTIC_AGENTS,
            "cells": cells,
        })  # fmt: skip
    entries.sort(key=lambda e: (-(e["average"] if e["average"] is not None else -math.inf), e["agent"], e["model"]))
    for rank, entry in enumerate(entries, 1):
        entry["rank"] = rank
    return {
        "tasks": tasks,
        "entries": entries,
        "laws": {law.id: asdict(law) for law in laws.values()},
        "versus_human": versus_human(entries, laws, tasks),
    }


def versus_human(entries: list[dict], laws: dict, tasks: list[str]) -> list[dict]:
    """Per task: the best discovered entry (highest mean, not the expert law) beside the expert law."""
    from ..laws.expert import LAWS

    by_id = {law.id: law for law in laws.values()}
    rows = []
    for task in tasks:
        scored = [e for e in entries if e["cells"][task]["mean"] is not None]
        # the expert law: the published constants on the eight tasks, a task of your own its spec's law
        human = next((e for agent in HUMAN_REFERENCES for e in scored if e["agent"] == agent), None)
        found = max((e for e in scored if e["agent"] not in HUMAN_REFERENCES), key=lambda e: e["cells"][task]["mean"], default=None)
        expert = LAWS.get(task)
        row = {"task": task, "discovered": None, "human": None}
        for side, entry in (("discovered", found), ("human", human)):
            if entry is None:
                continue
            law_id = entry["cells"][task]["law"]
            law = by_id.get(law_id)
            constants = law.constants if law else (len(expert.parameters) if side == "human" and expert else None)
            row[side] = {"agent": entry["agent"], "model": entry["model"], "mean": entry["cells"][task]["mean"], "constants": constants, "law": law_id}
        rows.append(row)
    return rows


BOARD_CSS = """
#board .tabs { display: flex; flex-wrap: wrap; gap: .3em; margin: .8em 0; }
#board .tabs button { border: 1px solid #d0d7de; background: #f6f8fa; padding: .35em .8em; border-radius: 6px; cursor: pointer; font-size: .9em; }
#board .tabs button[aria-selected='true'] { background: #0969da; color: #fff; border-color: #0969da; }
#board th[data-key] { cursor: pointer; user-select: none; }
#board .scroll { overflow-x: auto; }
#board-table th:nth-child(2), #board-table th:nth-child(3) { text-align: left; }
/* rank and agent stay in view when a wide table (tasks of your own) scrolls sideways; the script sets the agent's left */
#board-table th:nth-child(-n+2), #board-table td:nth-child(-n+2) { position: sticky; left: 0; background: #fff; z-index: 1; }
#board-table th:nth-child(2), #board-table td:nth-child(2) { box-shadow: 1px 0 0 #d0d7de; }
#board th[aria-sort='ascending']::after { content: ' \\25B2'; font-size: .75em; }
#board th[aria-sort='descending']::after { content: ' \\25BC'; font-size: .75em; }
#board td.law button, #versus td button { border: 1px solid #0969da; color: #0969da; background: #fff; border-radius: 5px; cursor: pointer; padding: .1em .5em; }
#board td.muted, #versus td.muted { color: #8c959f; }
dialog#law { max-width: min(1100px, 95vw); width: 95vw; border: 1px solid #d0d7de; border-radius: 8px; padding: 1.2em; }
dialog#law pre { background: #f6f8fa; padding: .8em; overflow: auto; max-height: 28em; font-size: .8em; }
dialog#law .explanation { white-space: pre-wrap; background: #fbfcfd; border-left: 3px solid #d0d7de; padding: .5em .8em; }
dialog#law header { display: flex; justify-content: space-between; align-items: baseline; }
"""

BOARD_SCRIPT = r"""
(function () {
  const data = JSON.parse(document.getElementById('board-data').textContent);
  const table = document.getElementById('board-table');
  const tabs = document.getElementById('board-tabs');
  const dialog = document.getElementById('law');
  let view = 'all', sortKey = 'average', sortDirection = -1;

  const fmt = (v, d = 3) => (v === null || v === undefined) ? '—' : Number(v).toFixed(d);
  const columns = () => view === 'all'
    ? [['rank', '#'], ['agent', 'Agent'], ['model', 'Model'], ['average', 'Average R²'], ['average_ci', '± 95% CI'],
       ['best_average', 'Best run'], ['runs', 'Runs'], ...data.tasks.map(t => ['task:' + t, t]),
       ['tokens', 'Tokens'], ['cost', 'Cost ($)'], ['isolation', 'Isolation']]
    : [['rank', '#'], ['agent', 'Agent'], ['model', 'Model'], ['mean', view + ' R²'], ['ci', '± 95% CI'], ['best', 'Best run'],
       ['runs', 'Runs'], ['tokens', 'Tokens'], ['cost', 'Cost ($)'], ['isolation', 'Isolation'], ['law', 'Law']];
  const value = (entry, key) => {
    if (key.startsWith('task:')) return entry.cells[key.slice(5)].mean;
    if (view !== 'all' && ['mean', 'ci', 'best', 'runs', 'law'].includes(key)) return entry.cells[view][key];
    return entry[key];
  };
  const rows = () => data.entries.filter(e => view === 'all' || e.cells[view].runs > 0 || e.cells[view].mean !== null);

  function compare(a, b) {
    const x = value(a, sortKey), y = value(b, sortKey);
    if (x === y) return a.rank - b.rank;
    if (x === null || x === undefined) return 1;
    if (y === null || y === undefined) return -1;
    return (typeof x === 'string' ? x.localeCompare(y) : x - y) * sortDirection;
  }

  function cell(entry, key) {
    const td = document.createElement('td');
    const v = value(entry, key);
    if (key === 'law') {
      td.className = 'law';
      if (v) { const b = document.createElement('button'); b.textContent = 'open law'; b.dataset.law = v; td.appendChild(b); }
      else { td.textContent = 'scores only'; td.classList.add('muted'); }
    } else if (key.startsWith('task:')) {
      const task = key.slice(5), law = entry.cells[task].law;
      td.textContent = fmt(v);
      if (law) { td.dataset.law = law; td.title = 'open this law'; td.style.cursor = 'pointer'; td.style.textDecoration = 'underline dotted'; }
    } else if (['average', 'mean', 'best', 'best_average'].includes(key)) td.textContent = fmt(v);
    else if (['ci', 'average_ci'].includes(key)) td.textContent = v === null || v === undefined ? '—' : '± ' + fmt(v);
    else if (key === 'cost') td.textContent = fmt(v, 2);
    else if (key === 'tokens') td.textContent = v === null || v === undefined ? '—' : Number(v).toLocaleString('en');
    else td.textContent = v === null || v === undefined ? '—' : String(v);
    if (key === 'agent' || key === 'model' || key === 'isolation') td.style.textAlign = 'left';
    return td;
  }

  function render() {
    const cols = columns();
    const head = document.createElement('tr');
    for (const [key, label] of cols) {
      const th = document.createElement('th');
      th.textContent = label;
      if (key !== 'law') th.dataset.key = key;
      if (key === sortKey) th.setAttribute('aria-sort', sortDirection > 0 ? 'ascending' : 'descending');
      head.appendChild(th);
    }
    const body = document.createElement('tbody');
    for (const entry of rows().sort(compare)) {
      const tr = document.createElement('tr');
      tr.dataset.agent = entry.agent; tr.dataset.model = entry.model;
      for (const [key] of cols) tr.appendChild(cell(entry, key));
      body.appendChild(tr);
    }
    table.replaceChildren(Object.assign(document.createElement('thead'), {}), body);
    table.tHead.appendChild(head);
    const rankWidth = head.firstChild.getBoundingClientRect().width;
    for (const agentCell of table.querySelectorAll('th:nth-child(2), td:nth-child(2)')) agentCell.style.left = rankWidth + 'px';
  }

  table.addEventListener('click', (event) => {
    const th = event.target.closest('th[data-key]');
    if (th) {
      const key = th.dataset.key;
      if (key === sortKey) sortDirection = -sortDirection;
      else { sortKey = key; sortDirection = ['agent', 'model', 'isolation', 'rank'].includes(key) ? 1 : -1; }
      render();
      return;
    }
    const target = event.target.closest('[data-law]');
    if (target) openLaw(target.dataset.law);
  });

  for (const task of ['all', ...data.tasks]) {
    const button = document.createElement('button');
    button.textContent = task === 'all' ? 'All tasks' : task;
    button.dataset.view = task;
    button.setAttribute('role', 'tab');
    button.setAttribute('aria-selected', task === view ? 'true' : 'false');
    button.addEventListener('click', () => {
      view = task; sortKey = task === 'all' ? 'average' : 'mean'; sortDirection = -1;
      for (const b of tabs.children) b.setAttribute('aria-selected', b.dataset.view === view ? 'true' : 'false');
      render();
    });
    tabs.appendChild(button);
  }

  function openLaw(id) {
    const law = data.laws[id];
    if (!law) return;
    dialog.querySelector('h3').textContent = `${law.task}: ${law.agent} / ${law.model}, run ${law.run}`;
    const constants = law.constants === null ? 'unknown' : `${law.constants} (${law.constants_kind})`;
    const hidden = law.hidden_constants.length ? `; hidden constants: ${law.hidden_constants.length}` : '';
    dialog.querySelector('.meta').textContent =
      `held-out R² ${fmt(law.r2)} · constants: ${constants}${hidden} · shape: ${law.shape}` + (law.isolation ? ` · isolation: ${law.isolation}` : '');
    const img = dialog.querySelector('img');
    const problem = dialog.querySelector('.problem');
    if (law.plot) { img.src = law.plot; img.alt = `${law.task} law against the train and held-out points`; img.hidden = false; problem.textContent = ''; }
    else { img.removeAttribute('src'); img.hidden = true; problem.textContent = law.problem || 'no plot'; }
    dialog.querySelector('code').textContent = law.source || '(the log holds no program)';
    const explanation = dialog.querySelector('.explanation');
    explanation.textContent = law.explanation || 'The agent left no explanation.';
    const decision = dialog.querySelector('.decision');
    decision.textContent = law.decision || '';
    decision.hidden = !law.decision;
    const link = dialog.querySelector('a.transcript');
    if (law.transcript) { link.href = law.transcript; link.hidden = false; } else { link.hidden = true; }
    dialog.showModal();
  }
  dialog.querySelector('button.close').addEventListener('click', () => dialog.close());
  document.getElementById('versus').addEventListener('click', (event) => {
    const target = event.target.closest('[data-law]');
    if (target) openLaw(target.dataset.law);
  });
  render();
})();
"""


def _versus_table(data: dict) -> str:
    rows = []
    for row in data["versus_human"]:
        cells = [f"<td>{for_html(row['task'])}</td>"]
        for side in ("discovered", "human"):
            found = row[side]
            if found is None:
                cells.append("<td class='muted' colspan='4'>no run</td>")
                continue
            law = f"<button data-law='{for_html(found['law'])}'>open law</button>" if found["law"] else "<span class='muted'>scores only</span>"
            constants = "—" if found["constants"] is None else str(found["constants"])
            mean = "—" if found["mean"] is None else f"{found['mean']:.3f}"
            cells += [f"<td>{for_html(found['agent'])} / {for_html(found['model'])}</td>", f"<td>{mean}</td>", f"<td>{constants}</td>", f"<td>{law}</td>"]
        discovered, human = row["discovered"], row["human"]
        gain = "—"
        if discovered and human and discovered["mean"] is not None and human["mean"] is not None:
            gain = f"{discovered['mean'] - human['mean']:+.3f}"
        rows.append("<tr>" + "".join(cells) + f"<td>{gain}</td></tr>")
    head = (
        "<tr><th rowspan='2'>task</th><th colspan='4'>best discovered law</th><th colspan='4'>expert (human) law</th><th rowspan='2'>gain</th></tr>"
        "<tr><th>entry</th><th>mean R²</th><th>constants</th><th>law</th><th>entry</th><th>mean R²</th><th>constants</th><th>law</th></tr>"
    )
    return f"<table id='versus'><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"


def board_html(data: dict) -> str:
    """The leaderboard section of the page: tabs, the sortable table, discovered vs human, the law dialog, the script."""
    payload = script_json(shown_in_page(data))
    return (
        f"<style>{BOARD_CSS}</style>\n<section id='board'>\n<h2>Leaderboard</h2>\n"
        "<p class='note'>Ranked by the average held-out R² over the eight tasks (a missing run counts -1, as in the paper); "
        "click a column to sort, a task for its own view, a law to read it. ± is the 95% confidence interval of the mean over runs.</p>\n"
        "<nav id='board-tabs' class='tabs' role='tablist'></nav>\n<div class='scroll'><table id='board-table'></table></div>\n</section>\n"
        "<section>\n<h2>Discovered vs human</h2>\n<p class='note'>Per task, the entry with the best mean held-out R² "
        "beside the expert law (on a task of your own, the law its spec names); constants are fitted parameters per group, "
        "or the numbers in a pre-fitted law's source. A task an entry never ran is empty.</p>\n"
        f"{_versus_table(data)}\n</section>\n"
        "<dialog id='law'><header><h3></h3><button class='close' aria-label='close'>close</button></header>"
        "<p class='meta note'></p><p class='decision' hidden></p><img hidden><p class='problem note'></p>"
        "<p><a class='transcript' hidden>open the transcript (serve this folder, e.g. python -m http.server)</a></p>"
        "<h4>Source that was scored</h4><pre><code></code></pre><h4>The agent's explanation</h4><div class='explanation'></div></dialog>\n"
        f"<script id='board-data' type='application/json'>{payload}</script>\n<script>{BOARD_SCRIPT}</script>\n"
    )
