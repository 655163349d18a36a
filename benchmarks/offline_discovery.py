"""Scaling-law discovery with no language model, on all 8 tasks, over several seeds.

Runs SLDAgent with the symbolic proposer (``-S proposer=symbolic``) and,
optionally, the symbolic-regression baseline (``sldbench/symreg``) through
Inspect at their default settings (budgets are counts, so a seed gives the
same law on any machine), one run per seed, and prints per task the mean and
standard deviation of the clipped held-out R^2 and the average, beside the
paper's Human and SLDAgent (GPT-5) rows (read from PAPER_TABLES.md) and the
best published LLM-free system, with the wall time per task and seed.

    python benchmarks/offline_discovery.py --data-dir ../shared/sldbench-data/reconstructed \\
        [--paper-tables ../shared/PAPER_TABLES.md] [--seeds 42,43,44,45,46] [--tasks moe,sft] [--solvers proposer,symreg]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from inspect_ai import eval as inspect_eval
from tabulate import tabulate

from sldbench.metrics import SCORER
from sldbench.solvers import sldagent, symreg
from sldbench.specs import TASKS
from sldbench.tasks import sldbench_task

PAPER_ROWS = {"Human": "Human (paper)", "SLDAgent": "SLDAgent / GPT-5 (paper)"}
# The best published system without a language model (symbolic regression; mean of 3 replicates).
LLM_FREE_ANCHOR = (
    "LLM-free symbolic regression (published)",
    {"parallel": 0.985, "vocab": 0.971, "sft": 0.982, "domain_mix": 0.991, "moe": 0.656, "d_constrain": 0.768, "lr_bsz": 0.372, "u_shape": -0.076, "avg": 0.706},
)


def paper_rows(path: Path) -> dict[str, dict[str, float]]:
    """Table 1 rows of PAPER_TABLES.md named in `PAPER_ROWS`, as ``{label: {task or "avg": value}}``."""
    lines = path.read_text().splitlines()
    header, rows, in_table1 = None, {}, False
    for line in lines:
        if line.startswith("## "):
            in_table1 = line.startswith("## Table 1")
        if not in_table1 or not line.startswith("|") or set(line) <= set("|-: "):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[0] == "method":
            header = cells[1:]
        elif header and cells[0] in PAPER_ROWS:
            rows[PAPER_ROWS[cells[0]]] = dict(zip(header, (float(c) for c in cells[1:])))
    missing = [label for label in PAPER_ROWS.values() if label not in rows]
    if missing:
        raise SystemExit(f"{path}: Table 1 lacks the row(s) {', '.join(missing)} (expected a Markdown table with a 'method' header)")
    return rows


def run(task: str, solver, data_dir: str, log_dir: str) -> tuple[float, float]:
    """(clipped held-out R^2, wall seconds) of one solver on one task."""
    started = time.perf_counter()
    (log,) = inspect_eval(sldbench_task(task, data_dir=data_dir), solver=solver, model="none", log_dir=log_dir, display="none")
    seconds = time.perf_counter() - started
    if log.status != "success":
        print(f"  {task}: the run failed ({log.error}); counted as -1", flush=True)
        return -1.0, seconds
    return float(log.samples[0].scores[SCORER].value["r2"]), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True, help="local SLDBench data (<config>/train.csv, test.csv)")
    parser.add_argument("--paper-tables", default=str(Path(__file__).resolve().parents[2] / "shared" / "PAPER_TABLES.md"))
    parser.add_argument("--seeds", default="42,43,44,45,46", help="comma-separated seeds, one run of each solver per task and seed")
    parser.add_argument("--tasks", default=",".join(TASKS), help="comma-separated task names")
    parser.add_argument("--solvers", default="proposer", help="comma-separated: proposer (SLDAgent, symbolic proposer), symreg")
    parser.add_argument("--log-dir", default=None, help="keep the Inspect logs here (default: a temporary folder)")
    args = parser.parse_args()
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        parser.error(f"unknown task(s) {', '.join(unknown)}; expected some of {', '.join(TASKS)}")
    try:
        seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--seeds: expected comma-separated whole numbers, got {args.seeds!r}")
    published = paper_rows(Path(args.paper_tables))
    published[LLM_FREE_ANCHOR[0]] = LLM_FREE_ANCHOR[1]
    available = {
        "proposer": ("SLDAgent, symbolic proposer", lambda seed: sldagent(proposer="symbolic", seed=seed)),
        "symreg": ("symbolic regression (Operon)", lambda seed: symreg(seed=seed)),
    }
    chosen = [s.strip() for s in args.solvers.split(",") if s.strip()]
    if not chosen or any(s not in available for s in chosen):
        parser.error(f"--solvers: expected some of {', '.join(available)}, got {args.solvers!r}")
    solvers = dict(available[s] for s in chosen)
    scores = {name: {t: [] for t in tasks} for name in solvers}
    walls = {name: {t: [] for t in tasks} for name in solvers}
    with tempfile.TemporaryDirectory() as scratch:
        log_dir = args.log_dir or scratch
        for seed in seeds:
            for task in tasks:
                for name, make in solvers.items():
                    score, wall = run(task, make(seed), args.data_dir, log_dir)
                    scores[name][task].append(score)
                    walls[name][task].append(wall)
                    print(f"seed {seed}  {task:12s} {name:30s} R2 {score:7.3f}  {wall:6.0f} s", flush=True)
            for name in solvers:
                total = sum(walls[name][t][-1] for t in tasks)
                print(f"seed {seed}: {name} took {total:.0f} s for {len(tasks)} task(s)", flush=True)
    rows = []
    for name in solvers:
        means = [statistics.fmean(scores[name][t]) for t in tasks]
        cells = [f"{m:.3f} ± {statistics.pstdev(scores[name][t]):.3f}" for m, t in zip(means, tasks)]
        averages = [statistics.fmean(scores[name][t][i] for t in tasks) for i in range(len(seeds))]
        rows.append([name, *cells, f"{statistics.fmean(averages):.3f} ± {statistics.pstdev(averages):.3f}"])
    for label, row in published.items():
        values = [row[t] for t in tasks]
        average = row["avg"] if len(tasks) == len(TASKS) else sum(values) / len(values)
        rows.append([label, *(f"{v:.3f}" for v in values), f"{average:.3f}"])
    for name in solvers:
        per_task = [statistics.fmean(walls[name][t]) for t in tasks]
        rows.append([f"wall s per seed: {name}", *(f"{w:.0f}" for w in per_task), f"{sum(per_task):.0f}"])
    print()
    print(f"Held-out R^2 (clipped), mean ± std over seeds {', '.join(map(str, seeds))}; default settings (budgets are counts)")
    print(tabulate(rows, headers=["", *tasks, "avg / total"], tablefmt="github", disable_numparse=True))


if __name__ == "__main__":
    main()
