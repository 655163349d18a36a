"""Replay the submission rule on searches already run: how often does it pick the candidate that extrapolates?

`benchmarks/generality.py` keeps each search's checkpoint (every candidate with its fold
R^2). This reads them back, scores every candidate on its task's test split once (in this
process: the symbolic search's own programs), and prints, per task, the test R^2 of the
law SLDAgent's rule submits (`solvers.sldagent.choose_submission`), of the candidate with
the best mean fold R^2, and of the best candidate on the test split, so a change of the
rule is judged on the whole suite in minutes instead of a new search per task. The
candidates are judged as a resumed search judges its checkpoint's programs
(`SymbolicProposer.recall`: the grammar's ranking is computed again), so the rule as it
stands submits exactly the laws the run submitted (23 of 23 tasks; about 6 minutes for
the suite on a 2-core machine).

Development only (the generality suite; never the eight SLDBench tasks).

    python benchmarks/selection_replay.py [--work /tmp/sldbench-generality] [--seed 42] [--data-seed 0]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from sldbench.data import load_split  # noqa: E402
from sldbench.evolution import Settings  # noqa: E402
from sldbench.evolution.database import Database  # noqa: E402
from sldbench.folds import fold_score, search_rows  # noqa: E402
from sldbench.metrics import heldout_metrics  # noqa: E402
from sldbench.specs import load_spec_file  # noqa: E402
from sldbench.symbolic.proposer import SymbolicProposer  # noqa: E402
from sldbench.symbolic.validation import namespace, predict_folds  # noqa: E402
from solvers.sldagent import choose_submission  # noqa: E402

from generality import PUBLIC, RUN_FOLDER, synthetic_folder  # noqa: E402  (the layout of the runs it reads)


def test_r2(code: str, train, test) -> float:
    """Raw held-out R^2 of a fit-and-predict program, fitted per group on train (pooled in sorted group order), in process."""
    try:
        functions = namespace(code)
    except Exception:  # noqa: BLE001 - a candidate that fails scores nothing
        return -np.inf
    held = {group: test.arrays(group) for group in test.groups}
    predictions = predict_folds(functions, {group: train.arrays(group) for group in test.groups}, held)
    if predictions is None:
        return -np.inf
    return float(heldout_metrics(np.concatenate([held[g][1] for g in held]), np.concatenate([predictions[g] for g in held])).r2_raw)


def replay(task_yaml: Path, checkpoint: Path) -> dict:
    spec = load_spec_file(task_yaml)
    train, test = load_split(spec, "train"), load_split(spec, "test")
    document = json.loads(checkpoint.read_text())
    db = Database.from_json(Settings(**document["settings"]), document["database"], spec.param_limit)
    # what the symbolic proposer hands the rule, judged as a resumed search judges its checkpoint's programs: those
    # that passed the guard rails (and whether each uses every feature), and the Operon programs (the fallback)
    proposer = SymbolicProposer(search_rows(train))  # on the rows the search vetted its programs on
    try:
        asyncio.run(proposer.recall(db.programs.values()))
    finally:
        proposer.close()
    vetted, fallback = proposer.vetted, proposer.fallback
    scores = {pid: test_r2(p.code, train, test) for pid, p in db.programs.items()}
    chosen, _ = choose_submission(db, vetted, fallback, proposer.grammar.nearest)  # the folds its grammar ranked laws on
    best_folds = max((p for p in db.programs.values() if p.folds), key=lambda p: fold_score(p.folds))
    best_test = max(scores, key=scores.get)
    return {
        "task": spec.name, "chosen": chosen.id, "chosen_r2": scores[chosen.id], "chosen_params": chosen.param_count,
        "best_folds": best_folds.id, "best_folds_r2": scores[best_folds.id],
        "best_test": best_test, "best_test_r2": scores[best_test], "candidates": len(scores),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path("/tmp/sldbench-generality"))
    parser.add_argument("--shared", type=Path, default=HERE.parents[1] / "shared")
    parser.add_argument("--seed", type=int, default=42, help="the search's seed of the run")
    parser.add_argument("--data-seed", type=int, default=0, help="the synthetic tasks' noise draw of the run")
    args = parser.parse_args()
    results = []
    suffix = RUN_FOLDER.format(name="", data_seed=args.data_seed, seed=args.seed)
    for checkpoint in sorted((args.work / "runs").glob(f"*{suffix}/search.json")):
        name = checkpoint.parent.name.removesuffix(suffix)
        # the synthetic tasks as the run wrote them, then the shared and the public ones
        places = (synthetic_folder(args.work, args.data_seed), args.shared / "generality", PUBLIC)
        task_yaml = next((place / name / "task.yaml" for place in places if (place / name / "task.yaml").is_file()), None)
        if task_yaml is None:
            raise SystemExit(f"no task.yaml for {name} under {', '.join(map(str, places))}: pass the --shared and --work of the run")
        results.append(replay(task_yaml, checkpoint))
    print(f"{'task':<24}{'chosen':>9}{'best folds':>11}{'best test':>10}  chosen (params)")
    for r in results:
        print(f"{r['task']:<24}{r['chosen_r2']:9.4f}{r['best_folds_r2']:11.4f}{r['best_test_r2']:10.4f}  {r['chosen']} ({r['chosen_params']})")
    if results:
        clip = lambda v: max(v, -1.0)  # noqa: E731
        print(f"\nmean (clipped): chosen {statistics.mean(clip(r['chosen_r2']) for r in results):.4f}, best by folds "
              f"{statistics.mean(clip(r['best_folds_r2']) for r in results):.4f}, best on test {statistics.mean(clip(r['best_test_r2']) for r in results):.4f}")
        print(f"chosen within 0.001 of the best on test: {sum(r['chosen_r2'] >= r['best_test_r2'] - 1e-3 for r in results)} of {len(results)}")


if __name__ == "__main__":
    main()
