"""The Human row: published constants reproduce the paper; the refit variant runs everywhere."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from inspect_ai import eval as inspect_eval

from sldbench.laws.expert import ConstantsError, load_constants
from sldbench.solvers import human
from sldbench.specs import TASKS
from sldbench.tasks import sldbench_task

PUBLISHED_CLIPPED = {
    "parallel": 1.000, "vocab": 0.966, "sft": 0.957, "domain_mix": 0.671,
    "moe": 0.703, "d_constrain": 0.911, "lr_bsz": -0.076, "u_shape": -1.000,
}  # fmt: skip
RESULTS = Path(__file__).resolve().parents[1] / "results"


def _scores(logs):
    out = {}
    for log in logs:
        assert log.status == "success", log.error
        sample = log.samples[0]
        out[sample.metadata["task"]] = sample.scores["heldout_r2"]
    return out


@pytest.mark.bubblewrap
def test_published_constants_reproduce_the_paper_on_every_task(data_dir, human_dir, tmp_path):
    # the default sandbox, with bubblewrap required: the isolation changes no number
    tasks = [sldbench_task(name, data_dir=str(data_dir), isolation="required") for name in TASKS]
    logs = inspect_eval(tasks, solver=human(constants=str(human_dir)), model="none", log_dir=str(tmp_path), display="none")
    scores = _scores(logs)
    assert set(scores) == set(TASKS)
    for name, spec in TASKS.items():
        verified = json.loads((human_dir / f"{spec.config}.json").read_text())["verified_test_r2"]
        assert scores[name].value["r2_raw"] == pytest.approx(verified, abs=1e-6), name
        assert round(scores[name].value["r2"], 3) == PUBLISHED_CLIPPED[name], name
        assert scores[name].metadata["isolation"] == "bubblewrap", name


def test_inspect_cli_resolves_the_package_names(data_dir, human_dir, tmp_path):
    env = {**os.environ, "SLDBENCH_DATA_DIR": str(data_dir)}
    command = [
        sys.executable, "-m", "inspect_ai", "eval", "sldbench/moe", "--solver", "sldbench/human",
        "-S", f"constants={human_dir}", "--model", "none", "--log-dir", str(tmp_path), "--display", "plain",
    ]  # fmt: skip
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr[-2000:]
    from inspect_ai.log import list_eval_logs, read_eval_log

    (log_info,) = list_eval_logs(str(tmp_path))
    log = read_eval_log(log_info)
    assert log.samples[0].scores["heldout_r2"].value["r2_raw"] == pytest.approx(0.7032072576764623, abs=1e-6)


def test_constants_errors_name_the_file_and_field(tmp_path, human_dir):
    with pytest.raises(ConstantsError, match="moe_scaling_law.json is missing"):
        load_constants(tmp_path, "moe")
    document = json.loads((human_dir / "moe_scaling_law.json").read_text())
    del document["groups"]["all_data"]["E_max"]
    (tmp_path / "moe_scaling_law.json").write_text(json.dumps(document))
    with pytest.raises(ConstantsError, match=r"groups\['all_data'\] lacks parameter\(s\) E_max"):
        load_constants(tmp_path, "moe")


def _table_cells(path):
    rows = {}
    for line in path.read_text().splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells and cells[0] in TASKS:
            rows[cells[0]] = cells
    return rows


@pytest.mark.slow
def test_refit_runs_on_every_task_and_matches_the_results_table(data_dir, tmp_path):
    tasks = [sldbench_task(name, data_dir=str(data_dir)) for name in TASKS]
    logs = inspect_eval(tasks, solver=human(), model="none", log_dir=str(tmp_path), display="none")
    scores = _scores(logs)
    table = _table_cells(RESULTS / "human_refit.md")
    for name in TASKS:
        score = scores[name]
        assert score.metadata["shape"] == "fit_predict"
        assert -1.0 <= score.value["r2"] <= 1.0
        published, refit = float(table[name][1]), float(table[name][2])
        assert published == PUBLISHED_CLIPPED[name]
        assert round(score.value["r2"], 3) == pytest.approx(refit, abs=1e-3), name
        assert re.fullmatch(r"-?\d+\.\d{3}", table[name][2])


def test_the_whole_benchmark_task_reports_the_paper_average_as_its_metric(data_dir, human_dir, tmp_path):
    """`sldbench/sldbench`: the eight settings as samples; Inspect's mean r2 is the paper's Human average."""
    from sldbench.tasks import sldbench as whole_benchmark

    (log,) = inspect_eval(
        whole_benchmark(data_dir=str(data_dir)), solver=human(constants=str(human_dir)), model="none", log_dir=str(tmp_path), display="none"
    )
    assert log.status == "success", log.error
    assert sorted(s.id for s in log.samples) == sorted(TASKS)
    (r2,) = [s for s in log.results.scores if s.name == "r2"]
    assert round(r2.metrics["mean"].value, 3) == 0.517 == round(sum(PUBLISHED_CLIPPED.values()) / 8, 3)
    for sample in log.samples:
        assert round(sample.scores["heldout_r2"].value["r2"], 3) == PUBLISHED_CLIPPED[sample.id]
    # settings are selected by sample id, as with any Inspect task
    (some,) = inspect_eval(
        whole_benchmark(data_dir=str(data_dir)), solver=human(constants=str(human_dir)), model="none", log_dir=str(tmp_path), display="none",
        sample_id=["moe", "sft"],
    )  # fmt: skip
    assert sorted(s.id for s in some.samples) == ["moe", "sft"]
