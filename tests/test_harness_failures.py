"""When the harness fails, the run fails: an error with its cause, never a score of -1.

The sandbox proves itself first (a known law through the real path, at task start,
in ``sldbench score``, ``discover`` and ``doctor``); a runner that stops answering
later errors the sample; a submission's own failure still scores -1 with its reason.
Failures are made for real: an interpreter in a virtual environment under ``/tmp``
(which bubblewrap once hid), and a ``bwrap`` that stops working (``$SLDBENCH_BWRAP``
names a wrapper that runs the real one for its first calls, then fails as the
``/tmp`` case did).
"""

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import DATA_DIR
from inspect_ai.log import read_eval_log
from test_execution import _warm_processes
from test_hostile import PARALLEL_HUMAN_R2, PUBLISHED
from test_sldagent import PARSCALE, fenced

from sldbench.data import load_split
from sldbench.evolution import Search, Settings, TrainEvaluator
from sldbench.evolution.controller import HARNESS_FAILURE
from sldbench.sandbox.errors import HarnessError
from sldbench.specs import get_spec

CHECKOUT = Path(__file__).resolve().parents[1]
FAILURE_LINE = "bwrap: execvp /venv/bin/python3: No such file or directory"


def breaking_bwrap(folder: Path, working_calls: int) -> Path:
    """A ``bwrap`` that runs the real one for its first ``working_calls`` calls, then fails at once."""
    real = subprocess.run(["which", "bwrap"], capture_output=True, text=True).stdout.strip()
    assert real, "bubblewrap is not installed"
    counter = folder / "bwrap-calls"
    counter.write_text("0")
    wrapper = folder / "bwrap"
    wrapper.write_text(textwrap.dedent(f"""\
        #!/bin/sh
        calls=$(($(cat {counter}) + 1))
        echo $calls > {counter}
        if [ $calls -le {working_calls} ]; then exec {real} "$@"; fi
        echo "{FAILURE_LINE}" >&2
        exit 1
    """))
    wrapper.chmod(0o755)
    return wrapper


def environment(**changes) -> dict:
    return {**os.environ, "SLDBENCH_SUMMARY": "0", "COLUMNS": "1000", **changes}  # no line wrapped by the console


def inspect_eval_cli(tmp_path: Path, *arguments: str, env: dict) -> tuple[subprocess.CompletedProcess, Path]:
    logs = tmp_path / "logs"
    command = [sys.executable, "-m", "inspect_ai", "eval", *arguments, "--model", "none", "--log-dir", str(logs), "-T", f"data_dir={DATA_DIR}"]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path, env=env)
    return completed, logs


@pytest.mark.slow
@pytest.mark.bubblewrap
def test_an_interpreter_in_a_virtual_environment_under_tmp_runs_sandboxed(tmp_path):
    venv = tmp_path / "venv"  # pytest's folders are under /tmp, as a throwaway or CI install is
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    (tmp_path / "linked").symlink_to(venv)  # and a prefix behind a symbolic link
    law = tmp_path / "published.py"
    law.write_text(PUBLISHED + "law = _truth\n")
    for python in (venv / "bin" / "python", tmp_path / "linked" / "bin" / "python"):
        scored = subprocess.run(
            [str(python), "-m", "sldbench.cli", "score", str(law), "--task", "parallel", "--data-dir", str(DATA_DIR), "--json"],
            capture_output=True, text=True, timeout=600, cwd=tmp_path,
        )  # fmt: skip
        assert scored.returncode == 0, scored.stderr
        result = json.loads(scored.stdout)
        assert result["r2_raw"] == pytest.approx(PARALLEL_HUMAN_R2, abs=1e-12)
        assert result["metadata"]["isolation"] == "bubblewrap"
    doctor = subprocess.run([str(venv / "bin" / "python"), "-m", "sldbench.cli", "doctor", "--json"], capture_output=True, text=True, timeout=600)
    local = next(finding for finding in json.loads(doctor.stdout) if finding["sandbox"] == "local")
    assert local["isolation"] == "bubblewrap" and local["self_test"].startswith("passed")


@pytest.mark.slow
@pytest.mark.bubblewrap
def test_a_runner_that_cannot_start_stops_the_task_at_start_with_the_cause(tmp_path):
    # bubblewrap's own check (one call) passes; the self-test's runner (the next) cannot start
    env = environment(SLDBENCH_BWRAP=str(breaking_bwrap(tmp_path, working_calls=1)))
    completed, logs = inspect_eval_cli(tmp_path, "sldbench/parallel", "--solver", "sldbench/human", env=env)
    printed = completed.stdout + completed.stderr
    assert "failed its self-test" in printed and FAILURE_LINE in printed and "Traceback" not in printed
    for log_file in logs.glob("*.eval"):  # whatever Inspect wrote holds no score
        log = read_eval_log(str(log_file))
        assert log.status == "error" and not any(sample.scores for sample in log.samples or [])
    # the other ways in say the same, in one line, and give no score
    env["SLDBENCH_BWRAP"] = str(breaking_bwrap(tmp_path, working_calls=1))
    law = tmp_path / "published.py"
    law.write_text(PUBLISHED + "law = _truth\n")
    scored = subprocess.run([sys.executable, "-m", "sldbench.cli", "score", str(law), "--task", "parallel", "--data-dir", str(DATA_DIR)],
                            capture_output=True, text=True, timeout=600, env=env)  # fmt: skip
    assert scored.returncode == 2 and scored.stdout == "" and FAILURE_LINE in scored.stderr and len(scored.stderr.strip().splitlines()) == 1
    env["SLDBENCH_BWRAP"] = str(breaking_bwrap(tmp_path, working_calls=1))
    doctor = subprocess.run([sys.executable, "-m", "sldbench.cli", "doctor"], capture_output=True, text=True, timeout=600, env=env)
    assert doctor.returncode == 1 and "the self-test failed" in doctor.stdout and FAILURE_LINE in doctor.stdout


@pytest.mark.slow
@pytest.mark.bubblewrap
def test_a_runner_that_fails_mid_run_errors_the_sample_and_gives_no_score(tmp_path):
    # bubblewrap's check and the self-test pass (two calls); the scorer's runner (the third) fails
    env = environment(SLDBENCH_BWRAP=str(breaking_bwrap(tmp_path, working_calls=2)))
    completed, logs = inspect_eval_cli(tmp_path, "sldbench/parallel", "--solver", "sldbench/human", env=env)
    (log_file,) = logs.glob("*.eval")
    log = read_eval_log(str(log_file))
    assert log.status == "error"
    (sample,) = log.samples
    assert not sample.scores and "HarnessError" in sample.error.traceback
    assert "the runner gave no valid reply" in sample.error.message and FAILURE_LINE in sample.error.message


@pytest.mark.slow
def test_a_submissions_own_failure_still_scores_minus_one_with_its_reason(tmp_path):
    law = tmp_path / "broken.py"
    law.write_text("def law(input_data, group):\n    raise ValueError('the law has no value here')\n")
    completed, logs = inspect_eval_cli(tmp_path, "sldbench/parallel", "--solver", "sldbench/file", "-S", f"path={law}", env=environment())
    assert completed.returncode == 0, completed.stderr
    (log_file,) = logs.glob("*.eval")
    log = read_eval_log(str(log_file))
    score = log.samples[0].scores["heldout_r2"]
    assert log.status == "success" and score.value["r2"] == -1.0 and score.value["r2_raw"] == -1.0
    assert "exception: ValueError: the law has no value here" in score.explanation
    assert score.metadata["scoring_sandbox"] == "fresh" and len(score.metadata["program_sha256"]) == 64


@pytest.mark.bubblewrap
def test_sldagent_counts_candidates_the_sandbox_failed_and_stops_after_three_in_a_row(tmp_path, data_dir, local_sandbox, monkeypatch):
    train = load_split(get_spec("parallel"), "train", data_dir)
    replies = [fenced(PARSCALE.replace("0.4, 0.2, 1.0]", f"0.4{i}, 0.2, 1.0]")) for i in range(6)]  # six distinct programs
    asked = []

    async def propose(system, user):
        asked.append(user)
        if len(asked) == 3:  # the sandbox breaks once the first child is judged: bubblewrap stops working, the runner dies
            monkeypatch.setenv("SLDBENCH_BWRAP", str(breaking_bwrap(tmp_path, working_calls=0)))
            for pid in _warm_processes(local_sandbox):
                os.kill(pid, signal.SIGKILL)
        return replies[len(asked) - 1], {"total_tokens": 1}

    settings = Settings(iterations=6, parallel=1, eval_timeout=60)
    events = []
    search = Search(settings, train, "The parallel task.", TrainEvaluator(local_sandbox, train, 60), propose, log=events.append)
    with pytest.raises(HarnessError) as raised:
        asyncio.run(search.run())
    assert "3 candidates in a row could not be evaluated" in str(raised.value) and FAILURE_LINE in str(raised.value)
    outcomes = [event.get("outcome") for event in events]
    # (the child judged while the sandbox broke may have made it or not); the third failure stopped the search
    assert outcomes[:2] == ["seed", "accepted"] and outcomes[-2:] == [HARNESS_FAILURE, HARNESS_FAILURE] and len(outcomes) <= 5
    # the job in flight when the runner died, or a new runner that could not start: the runner's failures
    assert all("runner" in event["reason"] for event in events[-2:]) and FAILURE_LINE in events[-1]["reason"]


@pytest.mark.slow
@pytest.mark.bubblewrap
def test_discover_stops_with_the_cause_when_no_candidate_can_be_evaluated(tmp_path):
    # bubblewrap's check and the task's self-test pass; the search's runner cannot start
    env = environment(SLDBENCH_BWRAP=str(breaking_bwrap(tmp_path, working_calls=2)))
    command = [
        sys.executable, "-m", "sldbench.cli", "discover", str(CHECKOUT / "examples" / "synthetic" / "runs.csv"), "--features", "N,D",
        "--target", "loss", "--group", "family", "--holdout", "N: largest 2", "--budget", "2", "--out", str(tmp_path / "out"),
    ]  # fmt: skip
    completed = subprocess.run(command, capture_output=True, text=True, timeout=900, env=env)
    assert completed.returncode == 1 and completed.stdout == ""
    last = completed.stderr.strip().splitlines()[-1]
    assert last.startswith("sldbench discover: the search did not finish (error)") and FAILURE_LINE in last
    assert "held-out R" not in completed.stderr  # no score of any kind


def test_a_sandbox_no_fresh_one_can_be_made_of_proves_itself_before_it_scores(local_sandbox):
    # a kind the scorer cannot make a new one of (k8s; here a local sandbox seen only through exec)
    from test_execution import ExecOnlySandbox

    from sldbench.sandbox.fresh import SAMPLE_OWN, scoring_sandbox

    async def enter(sample):
        async with scoring_sandbox(sample) as (scoring, freshness):
            return scoring is sample, freshness

    sample = ExecOnlySandbox(local_sandbox)
    assert asyncio.run(enter(sample)) == (True, SAMPLE_OWN)

    class NoPython(ExecOnlySandbox):  # its python3 cannot run the runner
        async def exec(self, cmd, *args, **kwargs):
            return await super().exec(["sh", "-c", f"echo '{FAILURE_LINE}' >&2; exit 127"], *args, **kwargs)

    with pytest.raises(HarnessError, match="failed its self-test") as raised:
        asyncio.run(enter(NoPython(local_sandbox)))
    assert FAILURE_LINE in str(raised.value)
