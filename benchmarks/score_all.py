"""Score the published human laws on all 8 tasks: sandboxed runner (with and without bubblewrap) vs in-process.

Prints, per task, the wall time of the one-off sandboxed run in the ``local``
sandbox (runner started, limits applied, predictions sent back) under bubblewrap
and with rlimits only, measured side by side in the same loop, the same
computation in this process (import the program, predict, compute the metrics),
and the ratios, with the R^2 they give (they must agree).

    python benchmarks/score_all.py --data-dir ../shared/sldbench-data/reconstructed \
        --constants ../shared/sldbench-data/human_laws [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import types

from tabulate import tabulate

from sldbench.data import load_split
from sldbench.laws.expert import load_constants, prefitted_program
from sldbench.metrics import as_prediction_matrix, heldout_metrics
from sldbench.sandbox import bubblewrap
from sldbench.sandbox.local import IsolatedLocalSandbox
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
    problem = bubblewrap.problem()
    policies = ["rlimits"] if problem else ["required", "rlimits"]
    if problem:
        print(f"bubblewrap unavailable ({problem}): timing rlimits-only runs alone")
    rows = []
    for name, spec in TASKS.items():
        program = prefitted_program(name, load_constants(args.constants, name))
        timings: dict[str, list[float]] = {policy: [] for policy in policies}
        direct = []
        r2s = set()
        for _ in range(args.repeat):
            for policy in policies:  # interleaved, so load on the machine affects both alike
                sandbox = IsolatedLocalSandbox(policy)
                started = time.perf_counter()
                score = asyncio.run(score_program(sandbox, program, spec, args.data_dir))
                timings[policy].append(time.perf_counter() - started)
                sandbox.directory.cleanup()
                r2s.add(score.value["r2_raw"])
            started = time.perf_counter()
            r2 = in_process(program, spec, args.data_dir)
            direct.append(time.perf_counter() - started)
        assert len(r2s) == 1 and abs(r2s.pop() - r2) < 1e-9, (name, r2s, r2)
        medians = {policy: statistics.median(values) for policy, values in timings.items()}
        t_direct = statistics.median(direct)
        row = [name, f"{r2:.6g}"] + [f"{medians[p] * 1000:.0f}" for p in policies] + [f"{t_direct * 1000:.1f}"]
        if "required" in medians:
            row.append(f"{medians['required'] / medians['rlimits']:.2f}")
        row.append(f"{medians['rlimits'] / t_direct:.0f}x")
        rows.append(row)
    headers = ["task", "R² (raw)"] + [{"required": "bubblewrap ms", "rlimits": "rlimits-only ms"}[p] for p in policies] + ["in-process ms"]
    headers += (["bubblewrap / rlimits"] if "required" in policies else []) + ["rlimits / in-process"]
    print(tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True))

if __name__ == "__main__":
    main()
