"""Nothing lost: an eval set killed midway resumes without redoing the samples it had finished."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from inspect_ai.log import list_eval_logs, read_eval_log, read_eval_log_sample_summaries

pytestmark = pytest.mark.slow

EPOCHS = 4

# The published ParScale law, slowed down, that records each run of itself in RUNS: a file of the
# host, which a law can write only without bubblewrap (hence -T isolation=rlimits below).
LAW = """
import math, os, time
with open({runs!r}, "a") as handle:
    handle.write(f"{{os.getpid()}}\\n")
time.sleep(2)
C = {{"pile": (135335300.0, 0.344689, 0.223649, 1.37668), "stack": (18315640.0, 0.419331, 0.132752, 0.532023)}}
def law(input_data, group):
    A, k, alpha, E = C[group]
    return [{{"loss": (A / (p["num_params"] * (k * math.log(p["parallel_size"]) + 1))) ** alpha + E}} for p in input_data]
"""

EVAL_SET = """
import sys
from inspect_ai import eval_set
from sldbench.solvers import file
from sldbench.tasks import parallel
ok, logs = eval_set(
    parallel(data_dir={data_dir!r}, isolation="rlimits"), solver=file(path={law!r}), model="none", log_dir={log_dir!r},
    epochs={epochs}, max_samples=1, log_buffer=1, retry_attempts=0, display="none",
)
sys.exit(0 if ok else 3)
"""


def run_started(runs) -> int:
    return len(runs.read_text().split()) if runs.exists() else 0


def finished_samples(log_dir) -> int:
    logs = list_eval_logs(str(log_dir))
    if not logs:
        return 0
    try:
        return sum(1 for summary in read_eval_log_sample_summaries(logs[0]) if summary.scores)
    except Exception:  # the log is being written
        return 0


def test_killed_eval_set_resumes_without_redoing_finished_samples(data_dir, tmp_path):
    runs, law, log_dir = tmp_path / "runs.txt", tmp_path / "law.py", tmp_path / "logs"
    law.write_text(LAW.format(runs=str(runs)))
    script = tmp_path / "eval_set.py"
    script.write_text(
        textwrap.dedent(EVAL_SET).format(data_dir=str(data_dir), law=str(law), log_dir=str(log_dir), epochs=EPOCHS)
    )

    # 1. start, and kill it outright once a sample is in the log but not all of them: SIGKILL to
    #    its whole process group, as when the job or the terminal goes away
    first = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    deadline = time.monotonic() + 240
    while finished_samples(log_dir) < 1:
        assert first.poll() is None, first.stdout.read().decode()
        assert time.monotonic() < deadline, "no sample finished within 240 s"
        time.sleep(0.2)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(timeout=30)
    done_before, started_before = finished_samples(log_dir), run_started(runs)
    assert 1 <= done_before < EPOCHS
    (partial,) = list_eval_logs(str(log_dir))
    assert read_eval_log(partial, header_only=True).status == "started"  # killed: never closed

    # 2. the same command again: it resumes
    second = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stdout + second.stderr
    (final,) = [read_eval_log(info) for info in list_eval_logs(str(log_dir)) if read_eval_log(info, header_only=True).status == "success"]
    assert sorted(s.epoch for s in final.samples) == list(range(1, EPOCHS + 1))
    for sample in final.samples:
        assert sample.scores["heldout_r2"].value["r2_raw"] == pytest.approx(0.9998925970125949, abs=1e-9)
    # only the unfinished samples ran again: the ones finished before the kill were kept
    assert run_started(runs) == started_before + (EPOCHS - done_before), second.stdout + second.stderr
    assert run_started(runs) == started_before + (EPOCHS - done_before)

    # 3. once complete, running it again does nothing
    third = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=600)
    assert third.returncode == 0, third.stdout + third.stderr
    assert run_started(runs) == started_before + (EPOCHS - done_before)
