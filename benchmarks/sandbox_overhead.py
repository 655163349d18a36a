"""Time to score the human law of each task in the ``local`` and in the ``docker`` sandbox.

For every task the published law is scored with `score_program` (runner started in the
sandbox, limits applied, predictions back as JSON, metrics on the host) in a local sandbox
and in an ``sldbench-docker`` container that is already running; the ratio is docker over
local. The last column is what a sample pays once on top: starting the container and
removing it. Both sandboxes must give the same R^2.

    python benchmarks/sandbox_overhead.py --data-dir ../shared/sldbench-data/reconstructed \
        --constants ../shared/sldbench-data/human_laws [--repeat 3] [--image sldbench-scoring]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from inspect_ai.util._sandbox.local import LocalSandboxEnvironment
from tabulate import tabulate

from sldbench.sandbox.docker import DockerSandboxConfig, DockerSandboxEnvironment
from sldbench.laws.expert import load_constants, prefitted_program
from sldbench.scorer import score_program
from sldbench.specs import TASKS


async def timed_score(sandbox, program, spec, data_dir) -> tuple[float, float]:
    started = time.perf_counter()
    score = await score_program(sandbox, program, spec, data_dir)
    if "error" in score.metadata:
        raise RuntimeError(f"{spec.name}: {score.explanation}")
    return time.perf_counter() - started, score.value["r2_raw"]


async def measure(args) -> list[list[str]]:
    config = DockerSandboxConfig(image=args.image)
    await DockerSandboxEnvironment.task_init("benchmark", config)
    rows = []
    for name, spec in TASKS.items():
        program = prefitted_program(name, load_constants(args.constants, name))
        local_times, docker_times, lifecycle = [], [], []
        for _ in range(args.repeat):
            local = LocalSandboxEnvironment()
            seconds, r2_local = await timed_score(local, program, spec, args.data_dir)
            local_times.append(seconds)
            local.directory.cleanup()

            started = time.perf_counter()
            environments = await DockerSandboxEnvironment.sample_init("benchmark", config, {})
            up = time.perf_counter() - started
            seconds, r2_docker = await timed_score(environments["default"], program, spec, args.data_dir)
            docker_times.append(seconds)
            started = time.perf_counter()
            await DockerSandboxEnvironment.sample_cleanup("benchmark", config, environments, False)
            lifecycle.append(up + time.perf_counter() - started)
            if abs(r2_local - r2_docker) > 1e-9:
                raise AssertionError(f"{name}: R^2 differs, local {r2_local} vs docker {r2_docker}")
        t_local, t_docker = statistics.median(local_times), statistics.median(docker_times)
        rows.append(
            [
                name,
                f"{r2_local:.6g}",
                f"{t_local * 1000:.0f}",
                f"{t_docker * 1000:.0f}",
                f"{t_docker / t_local:.2f}x",
                f"{statistics.median(lifecycle) * 1000:.0f}",
            ]
        )
        print(f"{name}: done", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--constants", required=True)
    parser.add_argument("--repeat", type=int, default=3, help="runs per task and sandbox; the median is shown")
    parser.add_argument("--image", default=DockerSandboxConfig().image, help="image of the docker sandbox")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    rows = asyncio.run(measure(args))
    headers = ["task", "R² (raw)", "local ms", "docker ms", "docker/local", "container start+remove ms"]
    print(tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True))


if __name__ == "__main__":
    main()
