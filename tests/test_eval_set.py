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

# The published ParScale law, slowed down so that a kill lands between samples.
LAW = """
import math, time
time.sleep(2)
C = {"pile": (135335300.0, 0.344689, 0.223649, 1.37668), "stack": (18315640.0, 0.419331, 0.132752, 0.532023)}
def law(input_data, group):
    A, k, alpha, E = C[group]
    return [{"loss": (A / (p["num_params"] * (k * math.log(p["parallel_size"]) + 1))) ** alpha + E} for p in input_data]
"""

EVAL_SET = """
import sys
from inspect_ai import eval_set
from sldbench.solvers import file
from sldbench.tasks import parallel
ok, logs = eval_set(
    parallel(data_dir={data_dir!r}), solver=file(path={law!r}), model="none", log_dir={log_dir!r},
    epochs={epochs}, max_samples=1, log_buffer=1, retry_attempts=0, display="none",
)
sys.exit(0 if ok else 3)
"""


def finished(log_dir) -> dict[int, str]:
    """``{epoch: sample uuid}`` of the samples with a score in the eval set's log (a sample run again gets a new uuid)."""
    logs = list_eval_logs(str(log_dir))
    if not logs:
        return {}
    try:
        return {summary.epoch: summary.uuid for summary in read_eval_log_sample_summaries(logs[0]) if summary.scores}
    except Exception:  # the log is being written
        return {}


def final_samples(log_dir) -> dict[int, str]:
    """``{epoch: sample uuid}`` of the finished eval set's log."""
    (final,) = [read_eval_log(info) for info in list_eval_logs(str(log_dir)) if read_eval_log(info, header_only=True).status == "success"]
    for sample in final.samples:
        assert sample.scores["heldout_r2"].value["r2_raw"] == pytest.approx(0.9998925970125949, abs=1e-9)
    return {sample.epoch: sample.uuid for sample in final.samples}


def test_killed_eval_set_resumes_without_redoing_finished_samples(data_dir, tmp_path):
    law, log_dir = tmp_path / "law.py", tmp_path / "logs"
    law.write_text(LAW)
    script = tmp_path / "eval_set.py"
    script.write_text(textwrap.dedent(EVAL_SET).format(data_dir=str(data_dir), law=str(law), log_dir=str(log_dir), epochs=EPOCHS))

    # 1. start, and kill it outright once a sample is in the log but not all of them: SIGKILL to
    #    its whole process group, as when the job or the terminal goes away
    first = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    deadline = time.monotonic() + 240
    while len(finished(log_dir)) < 1:
        assert first.poll() is None, first.stdout.read().decode()
        assert time.monotonic() < deadline, "no sample finished within 240 s"
        time.sleep(0.2)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(timeout=30)
    before = finished(log_dir)
    assert 1 <= len(before) < EPOCHS
    (partial,) = list_eval_logs(str(log_dir))
    assert read_eval_log(partial, header_only=True).status == "started"  # killed: never closed

    # 2. the same command again: it resumes, keeping the samples finished before the kill and running the others
    second = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stdout + second.stderr
    after = final_samples(log_dir)
    assert sorted(after) == list(range(1, EPOCHS + 1))
    assert {epoch: after[epoch] for epoch in before} == before, second.stdout + second.stderr  # the same samples, not run again

    # 3. once complete, running it again does nothing
    third = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=600)
    assert third.returncode == 0, third.stdout + third.stderr
    assert final_samples(log_dir) == after
