"""How often `sldbench predict`'s interval holds the truth, on the synthetic tasks of the generality suite.

Each synthetic task (benchmarks/suite/synthetic.py) is drawn from a law of the literature with
known constants and noise. Here the true family, refitted on a group's train rows (the task's
reference law), predicts the group's held-out points (the extrapolation) with its interval
(`sldbench.decisions.predict`: refits on the runs with their residuals drawn again), and the
interval is checked against the noise-free truth at those points. Prints per task the share of
held-out points whose truth the interval holds and the interval's median width relative to the
prediction, then the coverage over all points.

    python benchmarks/interval_coverage.py [--level 0.9] [--resamples 40] [--groups 3] [--tasks a,b]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent / "suite"))

import synthetic  # noqa: E402

from sldbench.data import load_split  # noqa: E402
from sldbench.decisions.predict import predict_with_interval  # noqa: E402
from sldbench.sandbox.local import IsolatedLocalSandbox  # noqa: E402
from sldbench.specs import load_spec_file  # noqa: E402


async def coverage_of(task, folder: Path, level: float, resamples: int, groups: int, sandbox) -> tuple[int, int, list[float]]:
    """Held-out points of ``task`` whose truth the interval holds, points in all, relative widths."""
    spec_path = synthetic.write_task(task, folder)
    spec = load_spec_file(str(spec_path), allow_outside_paths=True)
    train, test = load_split(spec, "train"), load_split(spec, "test")
    program = (spec_path.parent / "reference_law.py").read_text()
    truth = json.loads((spec_path.parent / "truth.json").read_text())
    held, total, widths = 0, 0, []
    for group in test.groups[:groups]:
        X, _ = test.arrays(group)
        points = [dict(zip(spec.features, map(float, row))) for row in X]
        found = await predict_with_interval(sandbox, program, spec, train, points, group, spec.targets[0], level, resamples)
        constants = np.array([truth["constants"][group][name] for name in task.family.parameters])
        clean = np.asarray(task.family.form(X, constants), dtype=float).ravel()
        low, high = np.array(found.low), np.array(found.high)
        held += int(np.sum((low <= clean) & (clean <= high)))
        total += len(clean)
        widths += list((high - low) / np.abs(np.array(found.predicted)))
    return held, total, widths


async def main_async(args) -> None:
    tasks = [synthetic.BY_NAME[name] for name in args.tasks.split(",")] if args.tasks else synthetic.TASKS
    sandbox = IsolatedLocalSandbox("auto")
    held_all = total_all = 0
    print(f"{'task':<18} {'held':>5} {'points':>6} {'coverage':>8} {'median width':>13} {'seconds':>8}")
    try:
        with tempfile.TemporaryDirectory() as out:
            for task in tasks:
                started = time.perf_counter()
                held, total, widths = await coverage_of(task, Path(out), args.level, args.resamples, args.groups, sandbox)
                held_all, total_all = held_all + held, total_all + total
                print(f"{task.name:<18} {held:>5} {total:>6} {held / total:>8.2f} {np.median(widths):>12.2%} {time.perf_counter() - started:>8.1f}", flush=True)
    finally:
        sandbox.directory.cleanup()
    print(f"all: the {args.level:.0%} interval held the truth at {held_all} of {total_all} held-out points ({held_all / total_all:.2f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--level", type=float, default=0.9)
    parser.add_argument("--resamples", type=int, default=40)
    parser.add_argument("--groups", type=int, default=3, help="groups per task (the first ones)")
    parser.add_argument("--tasks", default=None, help="comma-separated task names (default: all)")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
