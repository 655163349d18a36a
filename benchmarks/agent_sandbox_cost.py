"""What the container costs an agent run: the same scripted agent run in the docker and the local sandbox.

For one CLI (default: Goose, the quickest to start) and a script that writes the
ParScale law, runs the sample ``--repeat`` times in each sandbox, alternating, and
prints per sandbox the median of: the whole sample (Inspect's ``total_time``), the
CLI's own run (from the adapter's record), the agent's setup before it (locating
the CLI, starting the bridge and waiting for its port, writing its config), and
scoring; then the container's own start and removal, timed on the Docker engine.
The local runs use ``-S unisolated=true`` (the explicit opt-in).

    python benchmarks/agent_sandbox_cost.py --data-dir ../shared/sldbench-data/reconstructed [--agent goose] [--repeat 3]
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

from sldbench import agents
from sldbench.laws.expert import load_constants, prefitted_program
from sldbench.metrics import SCORER
from sldbench.sandbox.docker import AGENTS_IMAGE, DockerSandboxConfig, DockerSandboxEnvironment
from sldbench.tasks import sldbench_task

HUMAN_DIR = Path(__file__).resolve().parents[2] / "shared" / "sldbench-data" / "human_laws"


def script_for(agent: str, law: str) -> list[dict]:
    """A script that writes ``law`` in one tool call of the agent's shell, then stops."""
    write = f"cat > law.py <<'EOF'\n{law}EOF\n"
    calls = {
        "goose": {"function": "shell", "arguments": {"command": write}},
        "codex": {"function": "exec_command", "arguments": {"cmd": write, "login": False}},
        "claude_code": {"function": "Bash", "arguments": {"command": write, "description": "write the law"}},
        "gemini_cli": {"function": "run_shell_command", "arguments": {"command": write}},
    }
    if agent not in calls:
        raise SystemExit(f"--agent must be one of {', '.join(calls)}")
    side = [{"content": "Scaling law discovery", "when_tools": False}] * 3
    return [{"tool_calls": [calls[agent]]}, {"content": "law.py is written.", "when_tools": True}] + side


def one_run(agent: str, sandbox: str, data_dir: str, script: Path, folder: Path) -> dict[str, float]:
    options = {"unisolated": True} if sandbox == "local" else {}
    (log,) = inspect_eval(
        sldbench_task("parallel", data_dir=data_dir, sandbox=sandbox), solver=getattr(agents, agent)(**options),
        model=f"scripted/{sandbox}-{time.monotonic_ns()}", model_args={"script": str(script)}, log_dir=str(folder), display="none",
    )  # fmt: skip
    assert log.status == "success", log.error
    sample = log.samples[0]
    assert sample.scores[SCORER].value["r2"] > 0.99, sample.scores[SCORER].explanation
    info = next(e for e in sample.events if e.event == "info" and e.source == agent)
    first_model = min(e.timestamp for e in sample.events if e.event == "model")
    scored = next(e.timestamp for e in sample.events if e.event == "score")
    started = min(e.timestamp for e in sample.events)
    return {
        "sample": sample.total_time,
        "cli": info.data["seconds"],
        "setup": (first_model - started).total_seconds(),
        "scoring": (scored - info.timestamp).total_seconds(),
    }


async def container_lifecycle() -> tuple[float, float]:
    config = DockerSandboxConfig(image=AGENTS_IMAGE)
    await DockerSandboxEnvironment.task_init("bench", config)
    started = time.perf_counter()
    environments = await DockerSandboxEnvironment.sample_init("bench", config, {})
    up = time.perf_counter() - started
    started = time.perf_counter()
    await DockerSandboxEnvironment.sample_cleanup("bench", config, environments, False)
    return up, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--constants", default=str(HUMAN_DIR), help="human_laws folder (the law the script writes)")
    parser.add_argument("--agent", default="goose")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    law = prefitted_program("parallel", load_constants(args.constants, "parallel"))
    runs: dict[str, list[dict]] = {"local": [], "docker": []}
    lifecycle = []
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "script.jsonl"
        script.write_text("\n".join(json.dumps(line) for line in script_for(args.agent, law)) + "\n")
        for _ in range(args.repeat):
            for sandbox in runs:  # alternating, so load on the machine affects both alike
                runs[sandbox].append(one_run(args.agent, sandbox, args.data_dir, script, Path(folder) / "logs"))
            lifecycle.append(asyncio.run(container_lifecycle()))
    rows = []
    for sandbox, measured in runs.items():
        rows.append([sandbox] + [f"{statistics.median(m[key] for m in measured):.2f}" for key in ("sample", "setup", "cli", "scoring")])
    extra = statistics.median(m["sample"] for m in runs["docker"]) - statistics.median(m["sample"] for m in runs["local"])
    print(f"{args.agent}, scripted to write the ParScale law, median of {args.repeat} runs per sandbox (seconds)")
    print(tabulate(rows, headers=["sandbox", "whole sample", "setup (CLI found, bridge up)", "CLI run", "scoring"], tablefmt="github", disable_numparse=True))
    up, down = statistics.median(u for u, _ in lifecycle), statistics.median(d for _, d in lifecycle)
    print(f"\nthe container per sample: start {up:.2f} s, removal {down:.2f} s; the docker sample takes {extra:+.2f} s beside the local one")


if __name__ == "__main__":
    main()
