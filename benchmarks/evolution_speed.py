"""How fast SLDAgent's evaluation and search loop run.

1. Candidate evaluations per second on each task: the initial program fitted and
   predicted on the train split through the sandboxed runner, with the runner's
   overhead (wall time minus the time spent inside ``fit_scaling_law``) beside
   the program's own fit time.
2. Iterations per minute with a scripted model that waits a fixed latency per
   call, against the ideal bound ``iterations * latency / parallel`` (model
   latency fully overlapped, evaluation hidden behind it).

    python benchmarks/evolution_speed.py --data-dir ../shared/sldbench-data/reconstructed \
        [--repeat 3] [--latency 2] [--iterations 16] [--parallel 4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

from inspect_ai import eval as inspect_eval
from inspect_ai.util._sandbox.local import LocalSandboxEnvironment
from tabulate import tabulate

from sldbench.data import load_split
from sldbench.evolution import EVOLVE_END, INITIAL_PROGRAM, train_evaluator
from sldbench.solvers import sldagent
from sldbench.specs import TASKS
from sldbench.tasks import sldbench_task


def evaluation_speed(data_dir: str, repeat: int) -> list[list[str]]:
    rows = []
    for name, spec in TASKS.items():
        train = load_split(spec, "train", data_dir)
        sandbox = LocalSandboxEnvironment()
        evaluate = train_evaluator(sandbox, train, timeout=600)
        walls, fits = [], []
        for _ in range(repeat):
            started = time.perf_counter()
            result = asyncio.run(evaluate(INITIAL_PROGRAM))
            walls.append(time.perf_counter() - started)
            fits.append(result.fit_seconds)
        sandbox.directory.cleanup()
        wall, fit = statistics.median(walls), statistics.median(fits)
        rows.append([name, f"{1 / wall:.2f}", f"{wall * 1000:.0f}", f"{fit * 1000:.0f}", f"{(wall - fit) * 1000:.0f}", f"{(wall - fit) / max(fit, 1e-9):.2f}"])
    return rows


def loop_speed(data_dir: str, latency: float, iterations: int, parallel: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "script.jsonl"
        # distinct programs (a different no-op constant each), so every proposal is evaluated
        replies = [INITIAL_PROGRAM.replace(EVOLVE_END, f"VARIANT = {k}\n{EVOLVE_END}") for k in range(iterations)]
        script.write_text("\n".join(json.dumps({"content": f"```python\n{r}```"}) for r in replies) + "\n")
        started = time.perf_counter()
        (log,) = inspect_eval(
            sldbench_task("moe", data_dir=data_dir), solver=sldagent(iterations=iterations, parallel=parallel),
            model="scripted/bench", model_args={"script": str(script), "latency": latency}, log_dir=folder, display="none",
        )  # fmt: skip
        elapsed = time.perf_counter() - started
        assert log.status == "success", log.error
    return elapsed, iterations * latency / parallel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--latency", type=float, default=2.0, help="seconds per scripted model call")
    parser.add_argument("--iterations", type=int, default=16)
    parser.add_argument("--parallel", type=int, default=4)
    args = parser.parse_args()
    print("Candidate evaluation (initial program, fit + predict on train, median of runs)")
    print(tabulate(evaluation_speed(args.data_dir, args.repeat), headers=["task", "evals/s", "wall ms", "fit ms", "runner overhead ms", "overhead / fit"], tablefmt="github", disable_numparse=True))
    elapsed, ideal = loop_speed(args.data_dir, args.latency, args.iterations, args.parallel)
    print(f"\nSearch loop on moe: {args.iterations} iterations, latency {args.latency:g} s, {args.parallel} in flight")
    print(f"  wall {elapsed:.1f} s (whole eval: start-up, initial and final scoring included), ideal bound {ideal:.1f} s, ratio {elapsed / ideal:.2f}")
    print(f"  iterations per minute: {60 * args.iterations / elapsed:.1f} (ideal {60 * args.iterations / ideal:.1f})")


if __name__ == "__main__":
    main()
