"""The law grammar's staged basin search against fitting every basin on every scale law.

`GrammarSearch.run` fits its families (every hyperparameter basin on a sum of power
laws), then puts the `REFINED_BASINS` best basins on every other scale law. This script
fits, on the train split alone, both that staged search and the full product (every
basin of `grammar.basins` on every scale law, both directions), each followed by the same
last stage (the best laws again with two-sided bowls, `GrammarSearch.sided`), and prints per task the number
of fits, the seconds they took, the law ranked first by each and whether it is the same.
Tasks whose laws have no basin are the same by construction and are left out unless named.

    python benchmarks/staged_basins.py --data-dir ../shared/sldbench-data/reconstructed \\
        [--tasks lr_bsz,d_constrain,vocab,moe,parallel]
"""

from __future__ import annotations

import argparse
import time
import warnings

from tabulate import tabulate

from sldbench.data import load_split
from sldbench.specs import get_spec
from sldbench.laws.grammar import Family
from sldbench.symbolic import grammar


def label(family: Family) -> str:
    """A compact name of ``family``: its pieces with their features, optima movers (m), damping (d) and two sides (x2)."""
    parts = []
    for p in family.pieces:
        movers = f"m{list(p.movers)}" if p.movers else ""
        damp = f"d{list(p.damp)}" if p.damp else ""
        parts.append(f"{p.kind}{list(p.features)}{movers}{damp}" + ("x2" if p.sides == 2 else ""))
    return " + ".join(parts) + ("" if family.direction > 0 else " (rising)")


def compare(task: str, data_dir: str) -> list:
    """``[task, staged fits, staged s, full fits, full s, staged law, same]`` for one task."""
    spec = get_spec(task)
    search = grammar.GrammarSearch(load_split(spec, "train", data_dir))
    started = time.perf_counter()
    staged = [c for c in search.run() if c.family is not None]  # the grammar's families (run also fits the literature's laws)
    staged_seconds = time.perf_counter() - started
    basins = [tuple(bowls) for bowls, _ in grammar.basins(tuple(range(len(spec.features))), search.axes, search.geometry.scales)]
    full = list(search.families)
    for direction in (1, -1):
        full += [f for f in grammar.basin_families(search.geometry, basins, direction, spec.param_limit, len(spec.targets)) if f not in full]
    started = time.perf_counter()
    fitted = [search.candidate(f) for f in full]
    fitted += [search.candidate(f) for f in search.sided(grammar.rank(fitted, search.nearest), set(full))]
    ranked = grammar.rank(fitted, search.nearest)
    full_seconds = time.perf_counter() - started
    same = ranked[0].family == staged[0].family
    return [task, len(staged), round(staged_seconds), len(fitted), round(full_seconds), label(staged[0].family), "yes" if same else f"no: {label(ranked[0].family)}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", required=True, help="folder of <config>/train.csv")
    parser.add_argument("--tasks", default="lr_bsz,d_constrain,vocab,moe,parallel", help="comma-separated task names")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    rows = []
    for task in args.tasks.split(","):
        rows.append(compare(task.strip(), args.data_dir))
        print(f"{task}: done", flush=True)
    headers = ["task", "staged fits", "staged s", "full fits", "full s", "first law (staged)", "same first law in full"]
    print(tabulate(rows, headers=headers, tablefmt="github"))


if __name__ == "__main__":
    main()
