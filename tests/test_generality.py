"""`benchmarks/generality.py` from its command line: discover on a task of the suite, scored beside its reference and truth."""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import SHARED

GENERALITY = Path(__file__).resolve().parents[1] / "benchmarks" / "generality.py"


@pytest.mark.slow
def test_a_synthetic_task_is_discovered_and_scored_beside_its_reference_and_truth(tmp_path):
    rows_file = tmp_path / "rows.json"
    command = [sys.executable, str(GENERALITY), "--tasks", "kaplan", "--budget", "2", "--shared", str(SHARED)]
    command += ["--work", str(tmp_path / "work"), "--json", str(rows_file)]
    run = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    (row,) = json.loads(rows_file.read_text())
    assert row["task"] == "kaplan" and row["param_limit"] is not None
    # Kaplan's law drawn with noise: the truth and the reference (the same family, fitted on train) extrapolate well
    assert 0.9 < row["truth"] <= 1.0 and 0.9 < row["reference"] <= 1.0
    assert row["r2"] <= row["best_candidate"] + 1e-9  # the submitted law is one of the search's candidates
    assert math.isfinite(row["wall_seconds"]) and Path(row["log"]).is_file()
    assert (tmp_path / "work" / "runs" / "kaplan-data0-seed42" / "search.json").is_file()
    assert "kaplan ..." in run.stderr
    (line,) = [line for line in run.stdout.splitlines() if line.startswith("kaplan")]
    assert line.split()[1:4] == [f"{max(row['r2'], -9.999):.4f}", f"{row['reference']:.4f}", f"{row['truth']:.4f}"]
    assert f"law: {row['law'].splitlines()[0][:150]}" in run.stdout


def test_an_unknown_task_names_the_suite(tmp_path):
    command = [sys.executable, str(GENERALITY), "--tasks", "kaplan,no_such_task", "--shared", str(SHARED), "--work", str(tmp_path)]
    run = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert run.returncode != 0
    assert "unknown task(s) no_such_task; the suite has" in run.stderr and "chinchilla" in run.stderr
