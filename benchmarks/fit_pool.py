"""What the symbolic search's worker processes buy: the law grammar's search in one process and in the pool.

For each task, `GrammarSearch.run` on the train split (every stage: the grammar's families,
the refined basins, the two-sided bowls, the literature's laws) fitted in this process
(`IN_PROCESS`, what a one-core machine gets) and in the worker processes the proposer uses
(`fit_pool`: one per core, up to `MAX_PROCESSES`, one BLAS thread each), side by side, and
prints per task the number of laws, the seconds of each, their ratio and whether the two
rankings are the same (they must be: a fit is a pure function of its law and the split). On
a machine of N cores the ratio should come near min(N, MAX_PROCESSES).

    python benchmarks/fit_pool.py --data-dir ../shared/sldbench-data/reconstructed [--tasks lr_bsz,moe,vocab]
"""

from __future__ import annotations

import argparse
import time

from tabulate import tabulate

from sldbench.data import load_split
from sldbench.specs import get_spec
from sldbench.symbolic.grammar import GrammarSearch
from sldbench.symbolic.workers import IN_PROCESS, available_cores, fit_pool


def compare(task: str, data_dir: str) -> list:
    """``[task, laws, one process s, pool s, ratio, same ranking]`` for one task."""
    train = load_split(get_spec(task), "train", data_dir)
    pool = fit_pool(train, "note", "note")
    try:
        seconds, ranked = {}, {}
        for where, fits in (("one process", IN_PROCESS), ("pool", pool)):
            started = time.perf_counter()
            ranked[where] = GrammarSearch(train, "note", fits).run()
            seconds[where] = time.perf_counter() - started
    finally:
        pool.close()
    same = repr(ranked["pool"]) == repr(ranked["one process"])
    ratio = seconds["one process"] / seconds["pool"]
    return [task, len(ranked["pool"]), round(seconds["one process"], 1), round(seconds["pool"], 1), f"{ratio:.2f}", "yes" if same else "NO"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", required=True, help="the SLDBench data (Hub schema)")
    parser.add_argument("--tasks", default="lr_bsz,moe,vocab", help="comma-separated built-in tasks")
    args = parser.parse_args()
    rows = []
    for task in args.tasks.split(","):
        rows.append(compare(task.strip(), args.data_dir))
        print(f"{task}: done", flush=True)
    print(f"\n{available_cores()} cores")
    print(tabulate(rows, headers=["task", "laws", "one process s", "pool s", "ratio", "same ranking"]))


if __name__ == "__main__":
    main()
