"""Judge a design decision on the eight SLDBench tasks without their test splits: discover on their train folds.

For each task, an inner task is cut from its train split alone: in every group, the rows in
the top ``--fraction`` of the group's scale range along the task's extrapolation axes
(`sldbench.folds.axis_scale`: log values for positive features, each axis scaled to its
range) become the inner test, the rest the inner train, as the real test lies beyond the
real train (a task with no axis, domain_mix, holds out every 1/fraction-th row instead). `sldbench discover` then runs on each inner task (defaults, the seed given) and
the same table as `benchmarks/generality.py` is printed, the reference being the task's
expert law refitted on the inner train (`sldbench.laws.expert.refit_program`). A change of the
search that helps the generality suite but costs these tasks shows here, before the one
print of `benchmarks/offline_discovery.py` that reads the real test splits.

The paper's two applications are judged the same way (`sldbench.decisions`), by the
discovered law and by the expert law, on the inner task: for lr_bsz, the optimum of lr and
batch size at every (data size, model size) of the inner test with at least 20 runs, and the
regret of the run nearest to it; for sft, the model chosen per dataset from 1/16 of each
pair's largest inner size, with RelAcc and PearCorr.

The test split is never opened: only ``load_split(spec, "train")`` is read.

    python benchmarks/train_folds.py --data-dir DIR [--tasks u_shape,moe] [--fraction 0.25] \\
        [--seed 42] [--work /tmp/sldbench-train-folds] [--json results.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

import numpy as np
import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generality import report, run_task  # noqa: E402

from sldbench.data import load_split  # noqa: E402
from sldbench.decisions.inputs import law_program  # noqa: E402
from sldbench.decisions.optimize import DecisionError, find_optimum  # noqa: E402
from sldbench.decisions.paper import SFT_FRACTION, optimum_words, selection_words  # noqa: E402
from sldbench.decisions.select import select_models  # noqa: E402
from sldbench.escaping import for_terminal  # noqa: E402
from sldbench.folds import extrapolation_scale  # noqa: E402
from sldbench.laws.expert import refit_program  # noqa: E402
from sldbench.sandbox.local import IsolatedLocalSandbox  # noqa: E402
from sldbench.specs import TASKS, get_spec, load_spec_file  # noqa: E402

MIN_RUNS_AT_POINT = 20  # a point with fewer runs judges an optimum too coarsely


def inner_task(task: str, fraction: float, work: Path, data_dir: Path | None = None) -> Path:
    """Write the inner task of ``task`` (its train split cut in two) under ``work``; returns its task.yaml.

    Parameters
    ----------
    task : str
        A built-in task name.
    fraction : float
        Share of each group's scale range, from the top, that becomes the inner test (0 < fraction < 1).
    work : Path
        Folder the task's folder is written in.
    data_dir : Path, optional
        The SLDBench data (one folder per config; default: where `load_split` looks).

    Returns
    -------
    Path
        The inner task's spec file (train.csv, test.csv and reference_law.py beside it).
    """
    spec = get_spec(task)
    frame = load_split(spec, "train", data_dir).frame
    scale = extrapolation_scale(spec, frame)
    held = np.zeros(len(frame), dtype=bool)
    for rows in frame.groupby("group", sort=True).indices.values():
        if spec.extrapolates:
            values = scale[rows]
            held[rows] = (values - values.min()) / (np.ptp(values) or 1.0) > 1.0 - fraction
        else:  # no axis (new mixtures of the same features): every k-th row, as the validation folds do
            held[rows] = np.arange(len(rows)) % max(2, round(1.0 / fraction)) == 0
    if held.all() or not held.any():
        raise SystemExit(f"{task}: a fraction of {fraction} leaves no inner train or no inner test; choose one in (0, 1)")
    folder = work / task
    folder.mkdir(parents=True, exist_ok=True)
    group = spec.group or "group"
    runs = frame[["group", *spec.features, *spec.targets]].rename(columns={"group": group})
    runs[~held].to_csv(folder / "train.csv", index=False)
    runs[held].to_csv(folder / "test.csv", index=False)
    (folder / "reference_law.py").write_text(refit_program(task))
    document = {
        "name": f"{task}_inner",
        "description": spec.description,
        "train": "train.csv",
        "test": "test.csv",
        "features": list(spec.features),
        "targets": list(spec.targets),
        "group": group,
        "extrapolates": list(spec.extrapolates),
        "law": "reference_law.py",
        **({"param_limit": spec.param_limit} if spec.param_limit is not None else {}),
    }
    path = folder / "task.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


async def _optimum_lines(sandbox, program: str, spec, train, test) -> list[str]:
    lines = []
    for (data, params), count in test.frame.groupby(["data_size", "non_embedding_param_size"]).size().items():
        if count >= MIN_RUNS_AT_POINT:
            at = {"data_size": float(data), "non_embedding_param_size": float(params)}
            found = await find_optimum(sandbox, program, spec, train, [test], ["lr", "bsz"], at, train.groups[0], spec.targets[0])
            lines.append(f"D={data:.3g}, N={params:.3g} ({count} runs): {optimum_words(found)}")
    return lines


async def _selection_lines(sandbox, program: str, spec, train, test) -> list[str]:
    return [selection_words(await select_models(sandbox, program, spec, train, test, SFT_FRACTION))]


DECISIONS = {"lr_bsz_inner": _optimum_lines, "sft_inner": _selection_lines}
"""The paper's application of each inner task that has one: lr_bsz's optimum, sft's model choice."""


async def _decide(decide, spec, programs: dict[str, str]) -> list[str]:
    train, test = load_split(spec, "train"), load_split(spec, "test")
    sandbox = IsolatedLocalSandbox("auto")
    lines = []
    try:
        for label, program in programs.items():
            try:
                lines += [f"{label}: {line}" for line in await decide(sandbox, program, spec, train, test)]
            except (DecisionError, ValueError) as err:
                lines.append(f"{label}: could not decide: {err}")
    finally:
        sandbox.directory.cleanup()
    return lines


def decisions(spec_path: Path, log: str) -> list[str]:
    """The paper's application on an inner task, decided by the discovered law (its log) and by the expert law.

    Parameters
    ----------
    spec_path : Path
        The inner task's spec (`inner_task`); lr_bsz and sft have a decision (`DECISIONS`), other tasks none.
    log : str
        The Inspect log `sldbench discover` wrote for it.

    Returns
    -------
    list of str
        One line per law and decision point.
    """
    spec = load_spec_file(spec_path)
    decide = DECISIONS.get(spec.name)
    if decide is None:
        return []
    programs = {"discovered": law_program(log, spec)[0], "expert": law_program(None, spec, expert=True)[0]}
    return asyncio.run(_decide(decide, spec, programs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, required=True, help="the SLDBench data (one folder per config)")
    parser.add_argument("--tasks", default="", help=f"comma-separated tasks (default: all of {', '.join(TASKS)})")
    parser.add_argument("--fraction", type=float, default=0.25, help="top share of each group's scale range held out")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--budget", type=int, default=50, help="proposals per search (discover's default)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/sldbench-train-folds"))
    parser.add_argument("--json", type=Path, help="also write the rows as JSON")
    args = parser.parse_args()
    if not 0.0 < args.fraction < 1.0:
        parser.error(f"--fraction must lie in (0, 1), got {args.fraction}")
    names = [t for t in args.tasks.split(",") if t] or list(TASKS)
    unknown = sorted(set(names) - set(TASKS))
    if unknown:
        parser.error(f"unknown task(s) {', '.join(unknown)}; choose from {', '.join(TASKS)}")
    rows = []
    for name in names:
        print(f"{name} ...", flush=True)
        spec_path = inner_task(name, args.fraction, args.work / "tasks", args.data_dir)
        row = run_task(f"{name}_inner", spec_path, args.work / "runs" / f"{name}_inner-seed{args.seed}", args.budget, args.seed)
        print(f"  R² {row['r2']:.4f} (expert law refitted {row['reference']:.4f}, best candidate {row['best_candidate']:.4f}) in {row['wall_seconds']:.0f} s", flush=True)
        row["decisions"] = decisions(spec_path, row["log"])
        for line in row["decisions"]:
            print(f"  decision, {for_terminal(line)}", flush=True)  # model and dataset names come from the data
        rows.append(row)
        if args.json:  # after every task, so an interrupted run keeps what it ran
            args.json.write_text(json.dumps(rows, indent=1))
    print()
    print(for_terminal(report(rows)))  # laws carry feature names from task files


if __name__ == "__main__":
    main()
