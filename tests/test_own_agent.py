"""An agent of your own (examples/own_agent/my_agent.py): Inspect's ReAct agent with bash and python, driven by a script.

The scripted model makes the calls a model would: read the train split with the shell,
write law.py and explain.md with Python, submit. The run goes through `inspect eval`
with the README's command, and the score must be exactly what the law scores on its own.
"""

import asyncio
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from conftest import DATA_DIR, HUMAN_DIR
from inspect_ai.log import list_eval_logs, read_eval_log, resolve_sample_attachments

from sldbench.laws.expert import load_constants, prefitted_program
from sldbench.sandbox.local import IsolatedLocalSandbox
from sldbench.scorer import score_program
from sldbench.specs import get_spec

ROOT = Path(__file__).resolve().parents[1]
AGENT = ROOT / "examples" / "own_agent" / "my_agent.py"
LAW = prefitted_program("parallel", load_constants(HUMAN_DIR, "parallel"))  # the ParScale law, published constants
EXPLAIN = "ParScale: L = (A / (N (k ln P + 1)))^alpha + E, constants per corpus.\n"


def script(path: Path) -> Path:
    write = f"open('law.py', 'w').write({LAW!r})\nopen('explain.md', 'w').write({EXPLAIN!r})\nprint('written')"
    lines = [
        {"tool_calls": [{"function": "bash", "arguments": {"command": "head -3 data/train.csv; wc -l < data/train.csv"}}]},
        {"tool_calls": [{"function": "python", "arguments": {"code": write}}], "when": "num_params"},  # after it saw the data
        {"tool_calls": [{"function": "submit", "arguments": {"answer": "the ParScale law, fitted per corpus"}}]},
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def run_own_agent(tmp_path: Path, *task_args: str):
    """``inspect eval sldbench/parallel --solver examples/own_agent/my_agent.py@my_agent`` as the README runs it."""
    command = [
        sys.executable, "-m", "inspect_ai", "eval", "sldbench/parallel", "--solver", f"{AGENT.relative_to(ROOT)}@my_agent",
        # a model name of its own: Inspect 0.3.285's command line caches model outputs by default (7 days), keyed
        # by the model's name and the messages, not by the script the scripted model reads
        "--model", f"scripted/own-{uuid.uuid4().hex}", "-M", f"script={script(tmp_path / 'script.jsonl')}", "--log-dir", str(tmp_path / "logs"),
        "--display", "plain", *task_args,
    ]  # fmt: skip
    env = {**os.environ, "SLDBENCH_DATA_DIR": str(DATA_DIR)}
    completed = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-3000:]
    (info,) = list_eval_logs(str(tmp_path / "logs"))
    log = read_eval_log(info)
    assert log.status == "success", log.error
    return resolve_sample_attachments(log.samples[0])


def check(sample) -> None:
    # the agent read the data before it wrote the law: the shell's answer holds the train split's header
    outputs = [m.text for m in sample.messages if m.role == "tool"]
    assert "group,num_params,parallel_size,loss" in outputs[0] and "written" in outputs[1]
    score = sample.scores["heldout_r2"]
    alone = asyncio.run(score_program(IsolatedLocalSandbox("auto"), LAW, get_spec("parallel"), DATA_DIR)).value
    # the same numbers (a container's numpy may differ from this machine's in the last bits)
    assert score.value == pytest.approx(alone, rel=1e-9) and score.value["r2_raw"] == pytest.approx(0.9998925970125949)
    assert score.answer == LAW and score.metadata["explain"] == EXPLAIN


def test_your_own_agent_writes_a_law_that_is_scored_as_it_would_be_alone(tmp_path):
    check(run_own_agent(tmp_path))


@pytest.mark.docker
def test_your_own_agent_in_a_container(tmp_path):
    sample = run_own_agent(tmp_path, "-T", "sandbox=docker")
    check(sample)
    assert sample.scores["heldout_r2"].metadata["isolation"] == "docker"
