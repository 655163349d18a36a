"""Scaling-law discovery with no language model, on all 8 tasks.

Runs SLDAgent with the symbolic proposer (``-S proposer=symbolic``) and the
symbolic-regression baseline (``sldbench/symreg``) through Inspect with fixed
seeds and budgets, and prints the clipped held-out R^2 per task and the average
beside the paper's Human and SLDAgent (GPT-5) rows, read from PAPER_TABLES.md,
with the wall time of every run.

    python benchmarks/offline_discovery.py --data-dir ../shared/sldbench-data/reconstructed \\
        [--paper-tables ../shared/PAPER_TABLES.md] [--iterations 16] [--time-budget 90] [--tasks moe,sft] [--solvers proposer,symreg]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from inspect_ai import eval as inspect_eval
from tabulate import tabulate

from sldbench.solvers import sldagent, symreg
from sldbench.specs import TASKS
from sldbench.tasks import sldbench_task

PAPER_ROWS = {"Human": "Human (paper)", "SLDAgent": "SLDAgent / GPT-5 (paper)"}


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
    return float(log.samples[0].scores["heldout_r2"].value["r2"]), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True, help="local SLDBench data (<config>/train.csv, test.csv)")
    parser.add_argument("--paper-tables", default=str(Path(__file__).resolve().parents[2] / "shared" / "PAPER_TABLES.md"))
    parser.add_argument("--iterations", type=int, default=16, help="SLDAgent iterations per task")
    parser.add_argument("--time-budget", type=float, default=90.0, help="seconds per task for each solver (a cap)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--tasks", default=",".join(TASKS), help="comma-separated task names")
    parser.add_argument("--solvers", default="proposer,symreg", help="comma-separated: proposer (SLDAgent, symbolic proposer), symreg")
    parser.add_argument("--log-dir", default=None, help="keep the Inspect logs here (default: a temporary folder)")
    args = parser.parse_args()
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        parser.error(f"unknown task(s) {', '.join(unknown)}; expected some of {', '.join(TASKS)}")
    published = paper_rows(Path(args.paper_tables))
    available = {
        "proposer": ("SLDAgent, symbolic proposer", lambda: sldagent(proposer="symbolic", iterations=args.iterations, seed=args.seed, time_budget=args.time_budget)),
        "symreg": ("symbolic regression (Operon)", lambda: symreg(seed=args.seed, time_budget=args.time_budget)),
    }
    chosen = [s.strip() for s in args.solvers.split(",") if s.strip()]
    if not chosen or any(s not in available for s in chosen):
        parser.error(f"--solvers: expected some of {', '.join(available)}, got {args.solvers!r}")
    solvers = dict(available[s] for s in chosen)
    scores: dict[str, dict[str, float]] = {name: {} for name in solvers}
    walls: dict[str, dict[str, float]] = {name: {} for name in solvers}
    with tempfile.TemporaryDirectory() as scratch:
        log_dir = args.log_dir or scratch
        for task in tasks:
            for name, make in solvers.items():
                scores[name][task], walls[name][task] = run(task, make(), args.data_dir, log_dir)
                print(f"{task:12s} {name:32s} R2 {scores[name][task]:7.3f}  {walls[name][task]:6.0f} s", flush=True)
    rows = []
    for name in solvers:
        values = [scores[name][t] for t in tasks]
        rows.append([name, *(f"{v:.3f}" for v in values), f"{sum(values) / len(values):.3f}"])
    for label, row in published.items():
        values = [row[t] for t in tasks]
        average = row["avg"] if len(tasks) == len(TASKS) else sum(values) / len(values)
        rows.append([label, *(f"{v:.3f}" for v in values), f"{average:.3f}"])
    for name in solvers:
        rows.append([f"wall s: {name}", *(f"{walls[name][t]:.0f}" for t in tasks), f"{sum(walls[name].values()):.0f}"])
    print()
    print(f"Held-out R^2 (clipped), seed {args.seed}, SLDAgent {args.iterations} iterations, time budget {args.time_budget:g} s per task and solver")
    print(tabulate(rows, headers=["", *tasks, "avg / total"], tablefmt="github", disable_numparse=True))


if __name__ == "__main__":
    main()
