"""What a search costs on a task of many rows, with and without `sldbench.folds.search_rows`.

A search fits its candidates on at most `SEARCH_ROWS` train rows, spread evenly along the
scale; the law it submits is fitted and scored on every row. This script writes learning
curves logged at every step (``--groups`` runs of ``--steps`` steps, a saturating power law
with 1% noise; the test split the last fifth of the steps), runs `sldbench discover` on them
twice, side by side (the default, then with the limit above the row count), and prints for
each the wall time, the law, its held-out R^2 and the ratio of the walls.

    python benchmarks/many_rows.py [--groups 8] [--steps 1000] [--work /tmp/many-rows]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from sldbench import folds
from sldbench.discovery import discover


def write_task(work: Path, groups: int, steps: int) -> Path:
    """Learning curves ``loss = E + A * (step / 100)^-a`` per run, 1% log-normal noise; the spec's path."""
    rng = np.random.default_rng(0)
    step = np.arange(50, 50 + steps, dtype=float)
    frames = []
    for g in range(groups):
        clean = 1.8 + 0.1 * g + (3 + 0.3 * g) * (step / 100) ** -(0.3 + 0.02 * g)
        frames.append(pd.DataFrame({"run": f"run{g}", "step": step, "loss": clean * np.exp(0.01 * rng.standard_normal(steps))}))
    rows = pd.concat(frames, ignore_index=True)
    work.mkdir(parents=True, exist_ok=True)
    rows.to_csv(work / "curves.csv", index=False)
    spec = {
        "name": "many_rows", "description": "Learning curves: loss at every training step of each run.",
        "data": "curves.csv", "features": ["step"], "targets": ["loss"], "group": "run",
        "holdout": f"step >= {step[int(0.8 * steps)]:g}", "log_features": ["step"],
    }  # fmt: skip
    (work / "task.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return work / "task.yaml"


def run(spec: Path, out: Path) -> tuple[float, str, float]:
    started = time.perf_counter()
    found = discover(spec, seed=42, log_dir=out / "logs", progress=False, plot=out / "law.png", intervals=0)
    return time.perf_counter() - started, found.formula, found.r2_raw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--groups", type=int, default=8)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/many-rows"))
    args = parser.parse_args()
    spec = write_task(args.work, args.groups, args.steps)
    default = folds.SEARCH_ROWS
    print(f"{args.groups * args.steps} rows ({args.groups} runs of {args.steps} steps); the search's limit: {default} rows")
    results = {}
    for arm, limit in ((f"search on {default} rows", default), ("search on every row", 10**12)):
        folds.SEARCH_ROWS = limit
        try:
            results[arm] = run(spec, args.work / arm.replace(" ", "-"))
        finally:
            folds.SEARCH_ROWS = default
        wall, formula, r2 = results[arm]
        print(f"{arm:<24} wall {wall:7.0f} s  held-out R^2 {r2:.4f}  law: {formula.splitlines()[0]}", flush=True)
    (thinned, *_), (every, *_) = results.values()
    print(f"wall ratio (every row / {default} rows): {every / thinned:.1f}")


if __name__ == "__main__":
    main()
