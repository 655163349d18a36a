"""The sandboxed runner and the held-out scorer, driven through the local sandbox."""

import asyncio
import os
import re
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from sldbench.data import load_split
from sldbench.sandbox.host import Limits, run_program
from sldbench.metrics import heldout_metrics
from sldbench.scorer import score_program
from sldbench.specs import get_spec

PARALLEL = get_spec("parallel")

# The ParScale law with the published pile/stack constants, in both submission shapes.
LAW_SHAPE = '''
import math
CONSTANTS = {"pile": (135335300.0, 0.344689, 0.223649, 1.37668), "stack": (18315640.0, 0.419331, 0.132752, 0.532023)}

def law(input_data, group):
    A, k, alpha, E = CONSTANTS[group]
    return [{"loss": (A / (p["num_params"] * (k * math.log(p["parallel_size"]) + 1))) ** alpha + E} for p in input_data]
'''

FIT_PREDICT_SHAPE = '''
import numpy as np
from scipy.optimize import curve_fit

def scaling_law_func(data_points, params):
    A, k, alpha, E = params
    N, P = data_points[:, 0], data_points[:, 1]
    return (np.exp(A) / (N * (k * np.log(P) + 1))) ** alpha + E

def fit_scaling_law(data_points, loss_values):
    f = lambda X, *p: scaling_law_func(X, p)
    params, _ = curve_fit(f, data_points, loss_values, p0=[np.log(1e8), 0.4, 0.2, 1.0], maxfev=20000)
    return params
'''


def score(sandbox, data_dir, program, task="parallel", timeout=60.0, shape="auto"):
    return asyncio.run(score_program(sandbox, textwrap.dedent(program), get_spec(task), data_dir, timeout=timeout, shape=shape))


def test_prefitted_shape_scores_the_host_computed_r2(local_sandbox, data_dir):
    result = score(local_sandbox, data_dir, LAW_SHAPE)
    test = load_split(PARALLEL, "test", data_dir)
    # Recompute the predictions here, independently of the sandbox, and compare.
    constants = {"pile": (135335300.0, 0.344689, 0.223649, 1.37668), "stack": (18315640.0, 0.419331, 0.132752, 0.532023)}
    preds = []
    for group in test.groups:
        x, _ = test.arrays(group)
        A, k, alpha, E = constants[group]
        preds.append((A / (x[:, 0] * (k * np.log(x[:, 1]) + 1))) ** alpha + E)
    expected = heldout_metrics(test.stacked_targets(), np.concatenate(preds))
    assert result.value["r2_raw"] == pytest.approx(expected.r2_raw, abs=1e-12)
    assert result.value["r2_raw"] == pytest.approx(0.9998925970125949, abs=1e-9)
    assert result.metadata["shape"] == "law"
    assert result.metadata["r2_per_target"] == {"loss": pytest.approx(expected.r2_raw)}


def test_fit_predict_shape_is_fitted_per_group_on_train(local_sandbox, data_dir):
    result = score(local_sandbox, data_dir, FIT_PREDICT_SHAPE)
    assert result.metadata["shape"] == "fit_predict"
    assert result.metadata["param_counts"] == {"pile": 4, "stack": 4}
    assert result.value["r2"] > 0.99


def test_multi_target_fit_predict_reports_per_target_r2(local_sandbox, data_dir):
    program = '''
    import numpy as np
    def scaling_law_func(data_points, params):
        return np.tile(params, (len(data_points), 1))
    def fit_scaling_law(data_points, loss_values):
        return loss_values.mean(axis=0)
    '''
    result = score(local_sandbox, data_dir, program, task="domain_mix")
    per_target = result.metadata["r2_per_target"]
    assert list(per_target) == [f"loss_domain_{i}" for i in range(1, 6)]
    assert result.value["r2_raw"] == pytest.approx(np.mean(list(per_target.values())))


FAILURES = {
    "exception": ("def law(input_data, group):\n    raise RuntimeError('boom')\n", "exception: RuntimeError: boom"),
    "missing function": ("x = 1\n", "defines neither law(input_data, group) nor the pair"),
    "syntax error": ("def law(:\n", "SyntaxError"),
    "nan": ("def law(input_data, group):\n    return [{'loss': float('nan')} for _ in input_data]\n", "NaN or Inf"),
    "inf": ("def law(input_data, group):\n    return [{'loss': float('inf')} for _ in input_data]\n", "NaN or Inf"),
    "wrong length": ("def law(input_data, group):\n    return [{'loss': 1.0}]\n", "shape (1, 1), expected"),
    "wrong key": ("def law(input_data, group):\n    return [{'lossy': 1.0} for _ in input_data]\n", "without key(s) ['loss']"),
    "wrong type": ("def law(input_data, group):\n    return 3.0\n", "must return a list of dicts"),
    "non-numeric": ("def law(input_data, group):\n    return [{'loss': 'low'} for _ in input_data]\n", "could not convert"),
    "exit early": ("import sys\ndef law(input_data, group):\n    sys.exit(0)\n", "SystemExit"),
    "hard exit": ("import os\ndef law(input_data, group):\n    os._exit(3)\n", "exited with code 3 before producing predictions"),
    "fit raises": (
        "def scaling_law_func(X, p):\n    return X[:, 0]\ndef fit_scaling_law(X, y):\n    raise ValueError('no fit')\n",
        "ValueError: no fit",
    ),
}


@pytest.mark.parametrize("case", list(FAILURES))
def test_each_failure_scores_minus_one_with_its_reason(local_sandbox, data_dir, case):
    program, reason = FAILURES[case]
    result = score(local_sandbox, data_dir, program)
    assert result.value["r2"] == -1.0
    assert result.value["r2_raw"] == -1.0
    assert reason in result.explanation


def runaway_program(marker: str) -> str:
    """A law that starts a detached grandchild in its own session, prints both pids (``pids: A B``,
    in the run's output), then spins. Both carry ``marker`` in their name, so the host finds them
    whatever PID namespace they run in (see `marked_processes`); the law can write no file."""
    return textwrap.dedent(f'''
        import ctypes, os, subprocess, sys, time
        def law(input_data, group):
            ctypes.CDLL(None).prctl(15, {marker.encode()!r}, 0, 0, 0)  # PR_SET_NAME
            child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", {marker!r}], start_new_session=True)
            print(f"pids: {{os.getpid()}} {{child.pid}}", flush=True)
            while True:
                pass
    ''')


def started_pids(output: str) -> list[str]:
    """The pids a `runaway_program` printed (both had started when there are two)."""
    found = re.search(r"pids: (\d+) (\d+)", output)
    return list(found.groups()) if found else []


def new_marker() -> str:
    """A process name of 15 characters (the kernel's limit) that no other process has."""
    return "runaway" + os.urandom(4).hex()


def marked_processes(marker: str) -> list[int]:
    """Live processes on this machine named ``marker`` or with it on their command line."""
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/comm") as f:
                comm = f.read().strip()
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().decode(errors="replace")
        except OSError:
            continue
        if (comm == marker or marker in cmdline) and _alive(int(entry)):
            found.append(int(entry))
    return found


def test_runaway_submission_is_killed_with_no_process_left(local_sandbox, data_dir):
    marker = new_marker()
    started = time.monotonic()
    result = score(local_sandbox, data_dir, runaway_program(marker), timeout=3)
    assert time.monotonic() - started < 30
    assert result.value["r2"] == -1.0
    assert "timeout: timed out after 3 s" in result.explanation
    assert len(started_pids(result.explanation)) == 2  # both had started
    assert marked_processes(marker) == []


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_cpu_limit_stops_a_busy_submission(local_sandbox, data_dir):
    program = "def law(input_data, group):\n    while True:\n        pass\n"
    result = asyncio.run(
        run_program(
            local_sandbox, program, PARALLEL, predict={"pile": np.ones((1, 2))}, limits=Limits(timeout=30, cpu_seconds=1)
        )
    )
    assert not result.ok and result.kind == "cpu_limit"


def test_memory_limit_stops_a_memory_bomb(local_sandbox, data_dir):
    program = "def law(input_data, group):\n    block = bytearray(3 * 1024 ** 3)\n    return []\n"
    result = asyncio.run(
        run_program(local_sandbox, program, PARALLEL, predict={"pile": np.ones((1, 2))}, limits=Limits(timeout=30, memory_mb=1024))
    )
    assert not result.ok and "MemoryError" in result.error


@pytest.mark.parametrize("planted", [False, True], ids=["real", "control-with-planted-test-split"])
def test_submission_searching_for_test_targets_finds_none(local_sandbox, data_dir, planted):
    test = load_split(PARALLEL, "test", data_dir)
    if planted:  # proves the probe would find the targets if they were there
        asyncio.run(local_sandbox.write_file("data/test.csv", test.frame.to_csv(index=False)))
    train = load_split(PARALLEL, "train", data_dir)
    # spellings of the held-out targets that appear in no training row
    secrets = sorted(({repr(float(v)) for v in test.frame["loss"]} | {f"{v:g}" for v in test.frame["loss"]})
                     - {f"{v:g}" for v in train.frame["loss"]} - {repr(float(v)) for v in train.frame["loss"]})
    assert len(secrets) >= 10
    program = f'''
    import os, tempfile
    SECRETS = {secrets!r}
    def law(input_data, group):
        leaks = []
        roots = [{os.path.realpath(local_sandbox.directory.name)!r}, os.getcwd()] + [os.path.join(tempfile.gettempdir(), d) for d in os.listdir(tempfile.gettempdir()) if d.startswith("sldbench")]
        for root in roots:
            for folder, _, files in os.walk(root):
                for name in files:
                    path = os.path.join(folder, name)
                    if os.path.samefile(path, __file__):
                        continue  # this program holds the secrets itself
                    try:
                        text = open(path, errors="ignore").read()
                    except OSError:
                        continue
                    if sum(s in text for s in SECRETS) >= len(SECRETS) // 2:
                        leaks.append(name)
        return [{{"loss": float(len(leaks))}} for _ in input_data]
    '''
    result = asyncio.run(
        run_program(
            local_sandbox,
            textwrap.dedent(program),
            PARALLEL,
            predict={g: test.arrays(g)[0] for g in test.groups},
            fit={g: train.arrays(g) for g in train.groups},
            limits=Limits(timeout=120),
        )
    )
    assert result.ok, result.error
    leaks = np.concatenate(list(result.predictions.values()))
    assert (leaks > 0).all() if planted else (leaks == 0).all()


def test_printed_fake_result_is_ignored(local_sandbox, data_dir):
    program = '''
    import json, sys
    def law(input_data, group):
        print(json.dumps({"ok": True, "predictions": {}, "nonce": "guess"}))
        sys.__stdout__.write('{"ok": true}\\n')
        return [{"loss": 0.0} for _ in input_data]
    '''
    result = score(local_sandbox, data_dir, program)
    assert -1.0 <= result.value["r2"] < 0.0  # scored on its real (bad) predictions
    assert result.metadata["shape"] == "law"


def test_stored_program_and_missing_submission(local_sandbox, data_dir):
    from inspect_ai.model import ModelName
    from inspect_ai.solver import TaskState

    from sldbench.submission import find_submission, store_program

    state = TaskState(ModelName("none/none"), "id", 0, "input", [], metadata={"task": "parallel"})
    assert asyncio.run(find_submission(state, local_sandbox))[0] is None
    asyncio.run(local_sandbox.write_file("law.py", LAW_SHAPE))
    program, shape, source = asyncio.run(find_submission(state, local_sandbox))
    assert program == LAW_SHAPE and "law.py" in source
    store_program(state, FIT_PREDICT_SHAPE, "fit_predict")
    program, shape, source = asyncio.run(find_submission(state, local_sandbox))
    assert program == FIT_PREDICT_SHAPE and shape == "fit_predict"
