"""Score the published human laws on all 8 tasks: sandboxed runner vs in-process.

Prints, per task, the wall time of the sandboxed run (runner started in the
``local`` sandbox, limits applied, predictions sent back as JSON) and of the
same computation in this process (import the program, predict, compute the
metrics), and their ratio, with the R^2 both give (they must agree).

    python benchmarks/score_all.py --data-dir ../shared/sldbench-data/reconstructed \
        --constants ../shared/sldbench-data/human_laws [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import types

from inspect_ai.util._sandbox.local import LocalSandboxEnvironment
from tabulate import tabulate

from sldbench.data import load_split
from sldbench.laws import load_constants, prefitted_program
from sldbench.metrics import as_prediction_matrix, heldout_metrics
from sldbench.scorer import score_program
from sldbench.specs import TASKS


def in_process(program: str, spec, data_dir: str) -> float:
    test = load_split(spec, "test", data_dir)
    module = types.ModuleType("submission")
    exec(compile(program, "submission", "exec"), module.__dict__)
    predictions = []
    for group in test.groups:
        x, _ = test.arrays(group)
        rows = module.law([dict(zip(spec.features, row)) for row in x.tolist()], group)
        predictions.append(as_prediction_matrix([[r[t] for t in spec.targets] for r in rows], len(x), len(spec.targets)))
    import numpy as np

    return heldout_metrics(test.stacked_targets(), np.concatenate(predictions)).r2_raw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--constants", required=True)
    parser.add_argument("--repeat", type=int, default=3, help="runs per task; the median is shown")
    args = parser.parse_args()
    rows = []
    for name, spec in TASKS.items():
        program = prefitted_program(name, load_constants(args.constants, name))
        sandboxed, direct = [], []
        for _ in range(args.repeat):
            sandbox = LocalSandboxEnvironment()
            started = time.perf_counter()
            score = asyncio.run(score_program(sandbox, program, spec, args.data_dir))
            sandboxed.append(time.perf_counter() - started)
            sandbox.directory.cleanup()
            started = time.perf_counter()
            r2 = in_process(program, spec, args.data_dir)
            direct.append(time.perf_counter() - started)
        assert abs(score.value["r2_raw"] - r2) < 1e-9, (name, score.value["r2_raw"], r2)
        t_box, t_direct = statistics.median(sandboxed), statistics.median(direct)
        rows.append([name, f"{score.value['r2_raw']:.6g}", f"{t_box * 1000:.0f}", f"{t_direct * 1000:.1f}", f"{t_box / t_direct:.0f}x"])
    print(tabulate(rows, headers=["task", "R² (raw)", "sandboxed ms", "in-process ms", "ratio"], tablefmt="github", disable_numparse=True))


if __name__ == "__main__":
    main()
