"""`benchmarks/train_folds.py`: inner tasks cut from the eight tasks' train splits, never their test splits; the paper's decisions on them."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

from train_folds import MIN_RUNS_AT_POINT, decisions, inner_task  # noqa: E402

from sldbench.data import load_split  # noqa: E402
from sldbench.specs import get_spec, load_spec_file  # noqa: E402


def test_an_inner_task_lies_beyond_its_train_rows_and_never_reads_the_test_split(tmp_path, data_dir):
    copy = tmp_path / "data"
    for task in ("u_shape", "domain_mix"):
        shutil.copytree(data_dir / get_spec(task).config, copy / get_spec(task).config)
    opened = []

    def audit(event, args):
        if event == "open" and str(args[0]).startswith(str(copy)) and str(args[0]).endswith("test.csv"):
            opened.append(str(args[0]))

    sys.addaudithook(audit)
    u_shape = inner_task("u_shape", 0.25, tmp_path / "tasks", copy)
    domain_mix = inner_task("domain_mix", 0.25, tmp_path / "tasks", copy)
    assert opened == []

    spec = load_spec_file(u_shape)
    assert spec.name == "u_shape_inner" and spec.extrapolates == ("log_flops",) and spec.param_limit == 6
    train, test = load_split(spec, "train"), load_split(spec, "test")
    original = load_split(get_spec("u_shape"), "train", copy).frame
    assert len(train.frame) + len(test.frame) == len(original)
    for group in test.groups:  # per group, the inner test is the top quarter of the compute range
        seen, held = train.frame[train.frame.group == group].log_flops, test.frame[test.frame.group == group].log_flops
        full = original[original.group == group].log_flops
        assert held.min() > seen.max()
        assert held.min() > full.min() + 0.75 * np.ptp(full) - 1e-9
    assert "def fit_scaling_law" in (u_shape.parent / "reference_law.py").read_text()

    # no extrapolation axis: every fourth row of each group
    rows = pd.read_csv(domain_mix.parent / "test.csv")
    assert len(rows) == len(load_split(get_spec("domain_mix"), "train", copy).frame) // 4
    # the hook does see a read of the test split
    load_split(get_spec("u_shape"), "test", copy)
    assert opened == [str(copy / get_spec("u_shape").config / "test.csv")]


@pytest.mark.slow
def test_the_papers_decisions_are_made_on_the_inner_tasks_by_both_laws(tmp_path, data_dir):
    lr_bsz = inner_task("lr_bsz", 0.25, tmp_path / "tasks", data_dir)
    sft = inner_task("sft", 0.25, tmp_path / "tasks", data_dir)
    # the law under test is a file here (a discover log in the benchmark): the expert law refitted
    law = tmp_path / "law.py"
    law.write_text((lr_bsz.parent / "reference_law.py").read_text())
    lines = decisions(lr_bsz, str(law))
    points = pd.read_csv(lr_bsz.parent / "test.csv").groupby(["data_size", "non_embedding_param_size"]).size()
    judged = points[points >= MIN_RUNS_AT_POINT]
    assert len(judged) >= 1 and len(lines) == 2 * len(judged)
    # the same law under both labels decides the same, point by point
    discovered = [line.removeprefix("discovered: ") for line in lines if line.startswith("discovered: ")]
    expert = [line.removeprefix("expert: ") for line in lines if line.startswith("expert: ")]
    assert discovered == expert
    for line, ((data, params), count) in zip(discovered, judged.items()):
        assert line.startswith(f"D={data:.3g}, N={params:.3g} ({count} runs): lr ")
        assert float(line.split("regret ")[1].rstrip("%")) >= 0

    law.write_text((sft.parent / "reference_law.py").read_text())
    lines = decisions(sft, str(law))
    assert len(lines) == 2 and lines[0].removeprefix("discovered: ") == lines[1].removeprefix("expert: ")
    rel_acc = float(lines[0].split("RelAcc ")[1].split("%")[0])
    assert 0 <= rel_acc <= 100 and all(dataset in lines[0] for dataset in ("flan", "gigaword", "wikiword"))
    assert decisions(inner_task("moe", 0.25, tmp_path / "tasks", data_dir), str(law)) == []


@pytest.mark.slow
def test_the_benchmark_discovers_on_an_inner_task_and_prints_its_table(tmp_path, data_dir):
    rows_file = tmp_path / "rows.json"
    command = [sys.executable, str(BENCHMARKS / "train_folds.py"), "--data-dir", str(data_dir), "--tasks", "parallel"]
    command += ["--budget", "2", "--work", str(tmp_path / "work"), "--json", str(rows_file)]
    run = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    (row,) = json.loads(rows_file.read_text())
    assert row["task"] == "parallel_inner" and row["decisions"] == []  # parallel makes none of the paper's decisions
    # the law is scored on the inner test beside the expert law refitted on the inner train, and is one of the search's candidates
    assert -1e9 < row["r2"] <= row["best_candidate"] + 1e-9 <= 1.0 + 1e-9 and 0.9 < row["reference"] <= 1.0
    assert Path(row["log"]).is_file()
    lines = run.stdout.splitlines()
    table = lines[next(i for i, line in enumerate(lines) if line.split()[:2] == ["task", "R²"]) :]
    (line,) = [line for line in table if line.startswith("parallel_inner")]
    assert line.split()[1:3] == [f"{max(row['r2'], -9.999):.4f}", f"{row['reference']:.4f}"]
    assert f"    law: {row['law'].splitlines()[0][:150]}" in table
    passed = int(row["r2"] >= row["reference"] - 0.01)
    assert f"tasks at or above their reference - 0.01: {passed} of 1  (target: all)" in table
