import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from sldbench.data import DATA_DIR_ENV, DataError, load_split
from sldbench.specs import TASKS, get_spec

EXPECTED_ROWS = {
    "parallel": (36, 12),
    "vocab": (1080, 120),
    "sft": (504, 42),
    "domain_mix": (80, 24),
    "moe": (193, 28),
    "d_constrain": (161, 21),
    "lr_bsz": (1730, 117),
    "u_shape": (389, 127),
}


@pytest.mark.parametrize("name", list(TASKS))
def test_every_task_loads_with_the_documented_shape(name, data_dir):
    spec = TASKS[name]
    train = load_split(spec, "train", data_dir)
    test = load_split(spec, "test", data_dir)
    assert (len(train.frame), len(test.frame)) == EXPECTED_ROWS[name]
    assert list(train.frame.columns) == list(spec.columns)
    x, y = train.arrays(train.groups[0])
    assert x.shape[1] == len(spec.features) and y.shape[1] == len(spec.targets)
    assert set(test.groups) <= set(train.groups)
    assert test.stacked_targets().shape == (len(test.frame), len(spec.targets))


def test_environment_variable_selects_the_directory(data_dir, monkeypatch):
    monkeypatch.setenv(DATA_DIR_ENV, str(data_dir))
    split = load_split(get_spec("moe"), "train")
    assert split.source == str(data_dir / "moe_scaling_law" / "train.csv")


def _copy_task(data_dir, tmp_path, config="moe_scaling_law"):
    shutil.copytree(data_dir / config, tmp_path / config)
    return tmp_path / config


def test_missing_directory_names_the_variable(tmp_path):
    with pytest.raises(DataError, match=f"does not exist; set {DATA_DIR_ENV}"):
        load_split(get_spec("moe"), "train", tmp_path / "nowhere")


def test_missing_task_folder_names_the_config(tmp_path):
    with pytest.raises(DataError, match="no folder for task config 'moe_scaling_law'"):
        load_split(get_spec("moe"), "train", tmp_path)


def test_missing_file_names_the_file_and_schema(data_dir, tmp_path):
    folder = _copy_task(data_dir, tmp_path)
    (folder / "test.csv").unlink()
    with pytest.raises(DataError) as err:
        load_split(get_spec("moe"), "test", tmp_path)
    assert str(folder / "test.csv") in str(err.value)
    assert "group,num_experts,dense_parameter_count,loss_validation" in str(err.value)


def test_missing_column_is_named(data_dir, tmp_path):
    folder = _copy_task(data_dir, tmp_path)
    text = (folder / "train.csv").read_text().replace("loss_validation", "loss")
    (folder / "train.csv").write_text(text)
    with pytest.raises(DataError, match=r"train.csv: missing column\(s\) loss_validation"):
        load_split(get_spec("moe"), "train", tmp_path)


@pytest.mark.parametrize("bad_value", ["abc", "", "nan", "inf"])
def test_non_numeric_or_nan_value_names_file_column_and_row(data_dir, tmp_path, bad_value):
    folder = _copy_task(data_dir, tmp_path)
    lines = (folder / "train.csv").read_text().splitlines()
    cells = lines[3].split(",")
    cells[2] = bad_value
    lines[3] = ",".join(cells)
    (folder / "train.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"train.csv: column 'dense_parameter_count' .* at data row 3"):
        load_split(get_spec("moe"), "train", tmp_path)


def test_empty_file_is_reported(data_dir, tmp_path):
    folder = _copy_task(data_dir, tmp_path)
    (folder / "train.csv").write_text("group,num_experts,dense_parameter_count,loss_validation\n")
    with pytest.raises(DataError, match="no data rows"):
        load_split(get_spec("moe"), "train", tmp_path)


def test_edited_file_is_read_again(data_dir, tmp_path):
    folder = _copy_task(data_dir, tmp_path)
    first = load_split(get_spec("moe"), "train", tmp_path)
    lines = (folder / "train.csv").read_text().splitlines()
    (folder / "train.csv").write_text("\n".join(lines[:11]) + "\n")
    second = load_split(get_spec("moe"), "train", tmp_path)
    assert len(first.frame) == 193 and len(second.frame) == 10


def test_without_directory_the_hub_error_names_the_variable(monkeypatch):
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    with pytest.raises(DataError, match=DATA_DIR_ENV):
        load_split(get_spec("parallel"), "train")


def test_unknown_task_lists_valid_names():
    with pytest.raises(ValueError, match="expected one of parallel, vocab"):
        get_spec("chinchilla")


def test_groups_are_sorted_and_rows_keep_file_order(data_dir):
    split = load_split(get_spec("u_shape"), "train", data_dir)
    assert split.groups == sorted(split.groups)
    x, _ = split.arrays("mmlu")
    assert np.all(np.diff(x[:, 0]) >= 0)  # the reconstruction sorts each group by FLOPs


def test_an_unreachable_hub_stops_the_first_command_in_a_few_lines(tmp_path):
    # the README's first command with no data folder and no network: one try, one message, no traceback
    pytest.importorskip("datasets", reason="the Hub path needs the hub extra: pip install -e '.[hub]'")
    env = {key: value for key, value in os.environ.items() if key != DATA_DIR_ENV}
    env.update(HF_HOME=str(tmp_path / "hf"), HF_ENDPOINT="http://127.0.0.1:9")  # nothing listens on port 9: refused at once
    command = [sys.executable, "-m", "inspect_ai", "eval", "sldbench/moe", "--solver", "sldagent", "-S", "proposer=symbolic", "--model", "none", "--log-dir", str(tmp_path / "logs")]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
    output = completed.stdout + completed.stderr
    assert completed.returncode != 0
    assert "Traceback" not in output and "Retrying" not in output and len(output.splitlines()) < 15, output
    assert "the Hugging Face Hub is not reachable from here" in " ".join(output.split())
    assert f"Set {DATA_DIR_ENV}=DIR" in " ".join(output.split())


def test_a_column_that_differs_only_in_case_is_named(tmp_path):
    from sldbench.specs import parse_spec

    (tmp_path / "runs.csv").write_text("family,N,D,loss\n" + "".join(f"a,{n},{d},{1 + 1 / n + 1 / d}\n" for n in (1, 2, 4, 8) for d in (1, 2)))
    spec = parse_spec({"name": "case", "description": "runs", "data": "runs.csv", "features": ["n", "D"], "targets": ["loss"], "group": "family", "holdout": "n: largest 1"}, "spec", tmp_path)
    with pytest.raises(DataError, match=r"missing column\(s\) 'n' .*\(did you mean 'N' for 'n'\?\)"):
        load_split(spec, "train")
