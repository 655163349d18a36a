"""How fast SLDAgent's evaluation and search loop run.

1. Candidate evaluations per second on each task: the initial program and the
   expert law refitted by multi-start least squares (a typical evolved fitter),
   fitted and predicted on the train split through the warm runner SLDAgent uses
   (numpy and scipy imported once per sandbox, fresh forked fit and predict workers per candidate),
   with the runner's overhead (wall time minus the time spent inside
   ``fit_scaling_law`` and ``scaling_law_func``, the batch check's calls included)
   beside the programs' own fit times, and the overhead of a one-off run (a fresh
   interpreter per run, as the scorer does) for comparison. Both are measured
   under bubblewrap (the local sandbox's default) and with rlimits only, task by
   task in the same run, and the difference is printed.
2. Iterations per minute with a scripted model that waits a fixed latency per
   call, against the ideal bound ``iterations * latency / parallel`` (model
   latency fully overlapped, evaluation hidden behind it). The search loop is
   timed from its first model call to its last recorded iteration; the whole
   eval (Inspect start-up, the initial program's evaluation, the final held-out
   scoring) is printed beside it.

3. With ``--docker``: the per-candidate overhead in the docker sandbox beside the local one.

    python benchmarks/evolution_speed.py --data-dir ../shared/sldbench-data/reconstructed \
        [--repeat 3] [--latency 2] [--iterations 50] [--parallel 4] [--docker]
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
from tabulate import tabulate

from sldbench.data import load_split
from sldbench.evolution import TrainEvaluator
from sldbench.laws.program import EVOLVE_END, INITIAL_PROGRAM
from sldbench.sandbox.host import fit_and_predict
from sldbench.laws.expert import refit_program
from sldbench.sandbox import bubblewrap
from sldbench.sandbox.local import IsolatedLocalSandbox
from sldbench.solvers import sldagent
from sldbench.specs import TASKS
from sldbench.tasks import sldbench_task


async def _median_seconds(evaluate, repeat: int) -> tuple[float, float, float]:
    """Median wall, fit and predict seconds of ``repeat`` runs of ``evaluate``."""
    walls, fits, predicts = [], [], []
    for _ in range(repeat):
        started = time.perf_counter()
        result = await evaluate()
        walls.append(time.perf_counter() - started)
        assert result.ok, result.error
        fits.append(result.fit_seconds)
        predicts.append(result.predict_seconds)
    return statistics.median(walls), statistics.median(fits), statistics.median(predicts)


async def _task_speed(name: str, spec, data_dir: str, repeat: int, policy: str) -> dict[str, float]:
    """One event loop per task, as in a search: the warm runner's start, then repeated evaluations."""
    train = load_split(spec, "train", data_dir)
    sandbox = IsolatedLocalSandbox(policy)
    warm = TrainEvaluator(sandbox, train, timeout=600)
    try:
        started = time.perf_counter()
        await warm(INITIAL_PROGRAM)  # starts the warm runner
        start_up = time.perf_counter() - started
        expert = refit_program(name)
        initial = await _median_seconds(lambda: warm(INITIAL_PROGRAM), repeat)
        expert_wall, expert_fit, expert_predict = await _median_seconds(lambda: warm(expert), repeat)
        one_off = await _median_seconds(lambda: fit_and_predict(sandbox, INITIAL_PROGRAM, train, train, 600, batch_check=True), repeat)
    finally:
        await warm.close()
        sandbox.directory.cleanup()
    # the runner's share: wall time minus the program's own (fit, predictions and the batch check's predictions)
    overhead = statistics.median([initial[0] - initial[1] - initial[2], expert_wall - expert_fit - expert_predict])
    return {
        "evals_per_second": 1 / initial[0], "initial_fit": initial[1], "expert_fit": expert_fit, "expert_predict": expert_predict,
        "overhead": overhead, "one_off_overhead": one_off[0] - one_off[1] - one_off[2], "start_up": start_up,
    }  # fmt: skip


def evaluation_speed(data_dir: str, repeat: int) -> tuple[list[str], list[list[str]]]:
    """Per task, the figures under bubblewrap and with rlimits only, measured one after the other."""
    isolated = bubblewrap.problem() is None
    headers = ["task", "evals/s (initial)", "fit ms: initial program", "fit ms: expert law refit", "predict ms: expert law"]
    headers += ["warm overhead ms: bubblewrap", "warm overhead ms: rlimits-only", "bubblewrap adds ms"] if isolated else ["warm overhead ms: rlimits-only"]
    headers += ["overhead / expert fit", "one-off overhead ms: bubblewrap", "one-off overhead ms: rlimits-only"] if isolated else ["overhead / expert fit", "one-off overhead ms: rlimits-only"]
    headers += ["warm runner start ms"]
    rows = []
    for name, spec in TASKS.items():
        plain = asyncio.run(_task_speed(name, spec, data_dir, repeat, "rlimits"))
        boxed = asyncio.run(_task_speed(name, spec, data_dir, repeat, "required")) if isolated else plain
        main = boxed
        row = [name, f"{main['evals_per_second']:.2f}", f"{main['initial_fit'] * 1000:.0f}", f"{main['expert_fit'] * 1000:.0f}", f"{main['expert_predict'] * 1000:.1f}"]
        if isolated:
            row += [f"{boxed['overhead'] * 1000:.1f}", f"{plain['overhead'] * 1000:.1f}", f"{(boxed['overhead'] - plain['overhead']) * 1000:+.1f}"]
            row += [f"{main['overhead'] / main['expert_fit']:.2f}", f"{boxed['one_off_overhead'] * 1000:.0f}", f"{plain['one_off_overhead'] * 1000:.0f}"]
        else:
            row += [f"{plain['overhead'] * 1000:.1f}", f"{plain['overhead'] / plain['expert_fit']:.2f}", f"{plain['one_off_overhead'] * 1000:.0f}"]
        rows.append(row + [f"{main['start_up'] * 1000:.0f}"])
    return headers, rows


async def _docker_overhead(spec, data_dir: str, repeat: int) -> tuple[float, float]:
    """Median per-candidate overhead (ms) of the initial program in a fresh docker sandbox, and in the local one."""
    from sldbench.sandbox.docker import DockerSandboxConfig, DockerSandboxEnvironment

    train = load_split(spec, "train", data_dir)
    config = DockerSandboxConfig()
    await DockerSandboxEnvironment.task_init("bench", config)
    environments = await DockerSandboxEnvironment.sample_init("bench", config, {})
    local = IsolatedLocalSandbox("auto")
    overheads = []
    try:
        for sandbox in (environments["default"], local):
            warm = TrainEvaluator(sandbox, train, timeout=600)
            try:
                await warm(INITIAL_PROGRAM)  # starts the warm runner
                wall, fit, predict = await _median_seconds(lambda: warm(INITIAL_PROGRAM), repeat)
            finally:
                await warm.close()
            overheads.append((wall - fit - predict) * 1000)
    finally:
        await DockerSandboxEnvironment.sample_cleanup("bench", config, environments, False)
        local.directory.cleanup()
    return overheads[0], overheads[1]


def docker_speed(data_dir: str, repeat: int, tasks: list[str]) -> list[list[str]]:
    """Per task: the warm runner's per-candidate overhead in docker and locally, side by side."""
    rows = []
    for name in tasks:
        docker, local = asyncio.run(_docker_overhead(TASKS[name], data_dir, repeat))
        rows.append([name, f"{docker:.1f}", f"{local:.1f}", f"{docker / local:.2f}"])
    return rows


def loop_speed(data_dir: str, latency: float, iterations: int, parallel: int) -> tuple[float, float, float]:
    """Run SLDAgent on moe with a latency-bound scripted model; (loop seconds, whole-eval seconds, ideal bound)."""
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
        events = log.samples[0].events
        first_call = min(e.timestamp for e in events if e.event == "model")
        last_iteration = max(e.timestamp for e in events if e.event == "info" and e.source == "sldagent")
        accepted = log.samples[0].metadata["sldagent"]["accepted"]
        assert accepted == iterations, f"only {accepted} of {iterations} proposals were evaluated"
    return (last_iteration - first_call).total_seconds(), elapsed, iterations * latency / parallel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--latency", type=float, default=2.0, help="seconds per scripted model call")
    parser.add_argument("--iterations", type=int, default=50, help="the paper's default")
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--docker", action="store_true", help="also the per-candidate overhead in the docker sandbox (needs the engine and the scoring image)")
    args = parser.parse_args()
    print("Candidate evaluation: fit + predict on train through the warm runner, median of runs, for the initial")
    print("program and for the expert law refitted by multi-start least squares (a typical evolved fitter)")
    if bubblewrap.problem():
        print(f"(bubblewrap unavailable: {bubblewrap.problem()}; rlimits-only figures alone)")
    headers, rows = evaluation_speed(args.data_dir, args.repeat)
    print(tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True))
    if args.docker:
        print("\nPer-candidate overhead of the initial program through the warm runner, docker beside local (ms)")
        rows = docker_speed(args.data_dir, max(args.repeat, 5), ["parallel", "moe", "lr_bsz"])
        print(tabulate(rows, headers=["task", "docker", "local", "docker / local"], tablefmt="github", disable_numparse=True))
    loop, whole, ideal = loop_speed(args.data_dir, args.latency, args.iterations, args.parallel)
    print(f"\nSearch loop on moe: {args.iterations} iterations, latency {args.latency:g} s, {args.parallel} in flight")
    print(f"  loop {loop:.1f} s (first model call to last iteration), ideal bound {ideal:.1f} s, ratio {loop / ideal:.3f}")
    print(f"  iterations per minute: {60 * args.iterations / loop:.1f} (ideal {60 * args.iterations / ideal:.1f})")
    print(f"  whole eval {whole:.1f} s (start-up, initial program, final held-out scoring included)")


if __name__ == "__main__":
    main()
