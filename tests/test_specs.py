"""Task spec files: the built-in tasks load from theirs, a task of your own runs end to end, bad input is named."""

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from sldbench.data import DataError, load_split
from sldbench.specs import BUILT_IN, SPECS_DIR, TASKS
from sldbench.specs import KEYS, SpecError, load_spec_file

from conftest import DATA_DIR

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "synthetic"
TRUE = {"small": (1.8, 300.0, 0.32, 250.0, 0.27), "large": (1.6, 450.0, 0.35, 400.0, 0.29)}  # E, A, alpha, B, beta


def true_loss(group, n, d):
    e, a, alpha, b, beta = TRUE[group]
    return e + a / n**alpha + b / d**beta


def write_sweep(folder: Path, noise: float = 0.004, seed: int = 7) -> Path:
    """A sweep from a known law with multiplicative noise, and its spec (the two largest N held out per group)."""
    rng = np.random.default_rng(seed)
    lines = ["family,N,D,loss"]
    for group in TRUE:
        for n in np.geomspace(3e7, 2e9, 7):
            for d in np.geomspace(5e8, 5e10, 7):
                lines.append(f"{group},{n:.6g},{d:.6g},{true_loss(group, n, d) * (1 + noise * rng.standard_normal()):.6f}")
    (folder / "runs.csv").write_text("\n".join(lines) + "\n")
    return write_spec(folder, {})


def write_spec(folder: Path, changes: dict, drop: tuple = ()) -> Path:
    spec = {
        "name": "sweep", "description": "Models of N parameters trained on D tokens; loss is the final loss.",
        "data": "runs.csv", "features": ["N", "D"], "targets": ["loss"], "group": "family", "param_limit": 5,
        "holdout": "N: largest 2",
    }  # fmt: skip
    spec.update(changes)
    for key in drop:
        spec.pop(key)
    path = folder / "task.yaml"
    path.write_text(json.dumps(spec))  # JSON is YAML too
    return path


def true_law_r2(spec_path: Path) -> float:
    from sldbench.metrics import heldout_metrics

    test = load_split(load_spec_file(spec_path), "test")
    predicted = np.concatenate([true_loss(g, *test.arrays(g)[0].T) for g in test.groups])
    return heldout_metrics(test.stacked_targets(), predicted).r2_raw


def test_the_built_in_tasks_load_from_their_spec_files():
    assert list(TASKS) == list(BUILT_IN)
    for name in BUILT_IN:
        spec = load_spec_file(SPECS_DIR / f"{name}.yaml")
        assert spec == TASKS[name] and not spec.is_custom and spec.spec_file is None
    assert TASKS["moe"].config == "moe_scaling_law" and TASKS["moe"].param_limit == 6 and TASKS["lr_bsz"].param_limit is None


def test_a_holdout_rule_splits_each_group(tmp_path):
    spec = load_spec_file(write_sweep(tmp_path))
    train, test = load_split(spec, "train"), load_split(spec, "test")
    assert train.groups == test.groups == ["large", "small"]
    for group in train.groups:
        n_train, n_test = train.arrays(group)[0][:, 0], test.arrays(group)[0][:, 0]
        assert len(np.unique(n_test)) == 2 and n_test.min() > n_train.max()  # the two largest sizes, all their runs
    assert len(train.frame) + len(test.frame) == 98 and len(test.frame) == 28
    threshold = load_spec_file(write_spec(tmp_path, {"holdout": "N >= 1e9"}))
    assert (load_split(threshold, "test").frame["N"] >= 1e9).all() and (load_split(threshold, "train").frame["N"] < 1e9).all()


@pytest.mark.slow
def test_a_task_of_your_own_runs_through_inspect_and_recovers_the_law(tmp_path):
    spec_path = write_sweep(tmp_path)
    truth = true_law_r2(spec_path)
    command = [
        sys.executable, "-m", "inspect_ai", "eval", "sldbench/custom", "-T", f"spec={spec_path}",
        "--solver", "sldagent", "-S", "proposer=symbolic", "--model", "none",
        "--log-dir", str(tmp_path / "logs"), "--display", "plain",
    ]  # fmt: skip
    completed = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=tmp_path, env={**os.environ})
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
    from inspect_ai.log import list_eval_logs, read_eval_log

    log = read_eval_log(list_eval_logs(str(tmp_path / "logs"))[0])
    sample = log.samples[0]
    assert sample.metadata["task"] == "sweep" and sample.metadata["spec_file"] == str(spec_path)
    score = sample.scores["heldout_r2"]
    assert score.value["r2_raw"] >= truth - 0.01, (score.value, truth, score.answer[:400])
    assert "scaling_law_func" in score.answer  # the law that earned it is in the log


BAD_DATA = {
    "missing column": (lambda rows: [r.replace("loss", "final_loss", 1) if i == 0 else r for i, r in enumerate(rows)], "missing column(s) 'loss'"),
    "non-numeric value": (lambda rows: rows[:5] + [rows[5].rsplit(",", 1)[0] + ",n/a"] + rows[6:], "column 'loss' has a non-numeric, NaN or infinite value 'n/a' at data row 5"),
    "NaN": (lambda rows: rows[:3] + [rows[3].rsplit(",", 1)[0] + ",nan"] + rows[4:], "column 'loss' has a non-numeric, NaN or infinite value 'nan' at data row 3"),
    "infinity": (lambda rows: rows[:2] + ["small,inf,1e9,2.0"] + rows[2:], "column 'N' has a non-numeric, NaN or infinite value inf at data row 2"),
    "duplicated column": (lambda rows: [rows[0] + ",N"] + [r + ",1" for r in rows[1:]], "column name(s) 'N' appear more than once in the header"),
}


@pytest.mark.parametrize("case", list(BAD_DATA))
def test_bad_data_is_named_with_the_file_the_column_and_the_fix(case, tmp_path):
    spec_path = write_sweep(tmp_path)
    edit, message = BAD_DATA[case]
    rows = (tmp_path / "runs.csv").read_text().splitlines()
    (tmp_path / "runs.csv").write_text("\n".join(edit(rows)) + "\n")
    with pytest.raises(DataError) as caught:
        load_split(load_spec_file(spec_path), "train")
    assert message in str(caught.value) and str(tmp_path / "runs.csv") in str(caught.value)


def test_a_log_feature_that_is_not_positive_is_named(tmp_path):
    write_sweep(tmp_path)
    rows = (tmp_path / "runs.csv").read_text().splitlines()
    rows[4] = ",".join(["small", "0", *rows[4].split(",")[2:]])
    (tmp_path / "runs.csv").write_text("\n".join(rows) + "\n")
    declared = load_spec_file(write_spec(tmp_path, {"log_features": ["N", "D"]}))
    with pytest.raises(DataError) as caught:
        load_split(declared, "train")
    message = str(caught.value)
    assert str(tmp_path / "runs.csv") in message and "column 'N' has the value 0 at data row 4" in message
    assert "N is listed in log_features" in message and f"drop N from log_features in {tmp_path / 'task.yaml'}" in message
    # not declared: a zero is a value like any other
    assert len(load_split(load_spec_file(write_spec(tmp_path, {})), "train").frame) == 70


def test_extrapolation_axes_default_to_the_holdout_column_and_reach_the_prompt(tmp_path):
    from sldbench.tasks import record_to_sample

    spec = load_spec_file(write_sweep(tmp_path))
    assert spec.extrapolates == ("N",)
    assert load_spec_file(write_spec(tmp_path, {"extrapolates": ["N", "D"]})).extrapolates == ("N", "D")
    sample = record_to_sample(spec, None, 600)
    assert "The held-out runs lie beyond the training range in: N." in sample.input
    assert sample.metadata["extrapolates"] == ["N"]
    assert TASKS["moe"].extrapolates == ("dense_parameter_count",) and TASKS["domain_mix"].extrapolates == ()
    assert "beyond the training range" not in record_to_sample(TASKS["domain_mix"], str(DATA_DIR), 600).input


def test_a_test_split_below_the_train_rows_is_an_axis_toward_smaller_values(tmp_path):
    from sldbench.tasks import record_to_sample

    write_sweep(tmp_path)
    smallest = load_spec_file(write_spec(tmp_path, {"holdout": "N: smallest 2"}))
    assert smallest.extrapolates == ("N",) and smallest.toward_smaller == ("N",) and smallest.toward("N") == -1
    train, test = load_split(smallest, "train"), load_split(smallest, "test")
    for group in train.groups:  # each group's two smallest N held out, every other row kept
        seen, held = train.frame[train.frame["group"] == group], test.frame[test.frame["group"] == group]
        assert held["N"].nunique() == 2 and held["N"].max() < seen["N"].min() and len(seen) + len(held) == 49
    assert load_spec_file(write_spec(tmp_path, {"holdout": "N < 1e8"})).toward_smaller == ("N",)
    assert load_spec_file(write_spec(tmp_path, {"holdout": "N >= 1e9"})).toward_smaller == ()
    mapped = load_spec_file(write_spec(tmp_path, {"extrapolates": {"N": "larger", " D ": "smaller"}}))
    assert mapped.extrapolates == ("N", "D") and mapped.toward_smaller == ("D",) and mapped.toward("N") == 1
    sample = record_to_sample(smallest, None, 600)
    assert "The held-out runs lie beyond the training range in: N (toward smaller values)." in sample.input
    assert sample.metadata["toward_smaller"] == ["N"]


def test_discover_writes_the_direction_of_an_axis_into_its_spec(tmp_path):
    from sldbench.discovery import write_spec as write_discovery_spec

    write_sweep(tmp_path)
    runs = tmp_path / "runs.csv"
    written = write_discovery_spec(runs, ["N", "D"], ["loss"], "family", "N: smallest 2", None, 5, tmp_path / "a", extrapolates=["N:smaller", "D"])
    spec = load_spec_file(written, allow_outside_paths=True)  # the spec names the data where the command found it
    assert spec.extrapolates == ("N", "D") and spec.toward_smaller == ("N",)
    # without --extrapolates the holdout's own direction: its smallest values held out, so toward smaller N
    assert load_spec_file(write_discovery_spec(runs, ["N", "D"], ["loss"], "family", "N: smallest 2", None, 5, tmp_path / "b"), allow_outside_paths=True).toward_smaller == ("N",)


def test_the_expert_law_of_a_spec_is_scored_reported_and_printed(tmp_path, local_sandbox):
    """`--solver sldbench/human` submits the spec's law:, the console shows it, the report gives the task a column."""
    import shutil

    from sldbench.scorer import score_program
    from sldbench.report import build_report, load_runs
    from sldbench.report.leaderboard import write_leaderboard

    write_sweep(tmp_path)
    shutil.copy(EXAMPLES / "chinchilla_law.py", tmp_path / "expert.py")
    spec_path = write_spec(tmp_path, {"law": "expert.py"})
    logs = tmp_path / "logs"
    command = [
        sys.executable, "-m", "inspect_ai", "eval", "sldbench/custom", "-T", f"spec={spec_path}", "--solver", "sldbench/human",
        "--model", "none", "--log-dir", str(logs), "--display", "plain",
    ]  # fmt: skip
    completed = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
    from inspect_ai.log import list_eval_logs, read_eval_log

    log = read_eval_log(list_eval_logs(str(logs))[0])
    score = log.samples[0].scores["heldout_r2"]
    assert score.answer == (tmp_path / "expert.py").read_text()
    spec = load_spec_file(spec_path)
    direct = asyncio.run(score_program(local_sandbox, score.answer, spec))
    assert score.value["r2_raw"] == direct.value["r2_raw"] and score.value["r2_raw"] >= true_law_r2(spec_path) - 0.01
    # the console ends with the law and its score
    assert "law: loss = E + A / N^alpha + B / D^beta" in completed.stdout
    assert f"held-out R² {score.value['r2_raw']:.6g}" in completed.stdout
    # beside a built-in task's run in the report: a column of its own after avg
    subprocess.run([*command[:4], "sldbench/parallel", "-T", f"data_dir={DATA_DIR}", *command[6:]], check=True, capture_output=True, timeout=600, cwd=tmp_path)
    report = build_report(load_runs([logs]))
    assert report.table1.columns == [*BUILT_IN, "avg", "sweep"]
    assert report.table1.values.loc[("human-refit", "none"), "sweep"] == pytest.approx(score.value["r2"])
    assert report.table1.values.loc[("human-refit", "none"), "parallel"] > 0.99
    written = write_leaderboard(report, tmp_path / "site")
    assert written["law_sweep.png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "### sweep" in (tmp_path / "site" / "leaderboard.md").read_text()


def test_the_human_solver_names_the_fix_when_a_spec_has_no_law(tmp_path):
    from inspect_ai import eval as inspect_eval

    from sldbench.solvers import human
    from sldbench.tasks import custom

    (log,) = inspect_eval(custom(spec=str(write_sweep(tmp_path))), solver=human(), model="none", log_dir=str(tmp_path / "logs"), display="none")
    message = log.samples[0].error.message if log.samples and log.samples[0].error else (log.error.message if log.error else "")
    assert "names no expert law; add law: FILE.py" in message and str(tmp_path / "task.yaml") in message


def test_a_split_that_empties_a_group_is_named(tmp_path):
    write_sweep(tmp_path)
    no_train = load_spec_file(write_spec(tmp_path, {"holdout": "N: largest 7"}))
    with pytest.raises(DataError, match="group 'small' has 7 distinct value.s. of N, so holding out its 7 largest leaves no train rows"):
        load_split(no_train, "train")
    no_test = load_spec_file(write_spec(tmp_path, {"holdout": "N >= 1e12"}))
    with pytest.raises(DataError, match="the test split has no rows; change holdout"):
        load_split(no_test, "test")
    # a test group without train rows cannot be fitted
    (tmp_path / "train.csv").write_text("family,N,D,loss\nsmall,1e8,1e9,3.0\nsmall,2e8,1e9,2.9\n")
    (tmp_path / "test.csv").write_text("family,N,D,loss\nsmall,1e9,1e9,2.5\nlarge,1e9,1e9,2.4\n")
    files = load_spec_file(write_spec(tmp_path, {"train": "train.csv", "test": "test.csv"}, drop=("data", "holdout")))
    with pytest.raises(DataError, match="group.s. 'large' have test rows but no train rows"):
        load_split(files, "test")


BAD_SPECS = {
    "unknown key": ({"lossses": ["x"]}, (), f"unknown key(s) lossses; the known keys are {', '.join(KEYS)}"),
    "param_limit zero": ({"param_limit": 0}, (), "param_limit must be a positive whole number of fitted constants per group, got 0"),
    "param_limit fraction": ({"param_limit": 2.5}, (), "param_limit must be a positive whole number"),
    "param_limit text": ({"param_limit": "six"}, (), "param_limit must be a positive whole number"),
    "no targets": ({}, ("targets",), "missing key(s) targets"),
    "repeated feature": ({"features": ["N", "N"]}, (), "features names N more than once"),
    "target as feature": ({"targets": ["N"]}, (), "column(s) N appear in more than one of features, targets and group"),
    "holdout on another column": ({"holdout": "size: largest 1"}, (), "holdout column 'size' is not one of the features or targets"),
    "holdout unreadable": ({"holdout": "the biggest ones"}, (), "expected 'COLUMN: largest K' (or smallest) or 'COLUMN >= VALUE'"),
    "data without holdout": ({}, ("holdout",), "data: needs holdout: saying which rows are the test split"),
    "bad name": ({"name": "My Task"}, (), "name must be lower-case letters, digits and underscores"),
    "a built-in task's name": ({"name": "moe"}, (), "name 'moe' is an SLDBench task's; give your task a name of its own"),
    "extrapolates along a non-feature": ({"extrapolates": ["size"]}, (), "extrapolates names size, which is not among the features (N, D)"),
    "extrapolates in no direction": (
        {"extrapolates": {"N": "down"}}, (),
        "extrapolates: N: 'down' is not a direction; say larger (the test split lies above the train rows' values of N) or smaller",
    ),
    "extrapolates along a non-feature, mapped": ({"extrapolates": {"size": "smaller"}}, (), "extrapolates names size, which is not among the features"),
    "holdout of no smallest rows": ({"holdout": "N: smallest 0"}, (), "holds out no rows; use 'COLUMN: smallest K' with K >= 1"),
    "log_features with a target": ({"log_features": ["N", "loss"]}, (), "log_features names loss, which is not among the features (N, D)"),
    "law file missing": ({"law": "no_such_law.py"}, (), "no_such_law.py, which does not exist; give the path (relative to the spec) of a .py file"),
}


@pytest.mark.parametrize("case", list(BAD_SPECS))
def test_bad_specs_are_named_with_the_file_the_key_and_the_fix(case, tmp_path):
    changes, drop, message = BAD_SPECS[case]
    (tmp_path / "runs.csv").write_text("family,N,D,loss\n")
    path = write_spec(tmp_path, changes, drop)
    with pytest.raises(SpecError) as caught:
        load_spec_file(path)
    assert message in str(caught.value) and str(path) in str(caught.value)


def test_a_bad_spec_stops_inspect_before_anything_runs(tmp_path):
    path = write_spec(tmp_path, {"param_limit": -3})
    command = [sys.executable, "-m", "inspect_ai", "eval", "sldbench/custom", "-T", f"spec={path}", "--solver", "sldbench/symreg", "--model", "none", "--log-dir", str(tmp_path / "logs")]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert completed.returncode != 0
    assert "param_limit must be a positive whole number of fitted constants per group, got -3" in " ".join((completed.stdout + completed.stderr).split())
    # the message as sldbench prints it, not the last line of a traceback
    assert "Traceback" not in completed.stdout + completed.stderr and len((completed.stdout + completed.stderr).splitlines()) < 15
    assert not (tmp_path / "logs").exists() or not list((tmp_path / "logs").glob("*.eval"))


@pytest.mark.slow
def test_discover_recovers_a_known_law_from_a_csv_and_shows_it(tmp_path):
    write_sweep(tmp_path)
    truth = true_law_r2(tmp_path / "task.yaml")
    out = tmp_path / "found"
    command = [
        sys.executable, "-m", "sldbench.cli", "discover", str(tmp_path / "runs.csv"), "--features", "N,D", "--target", "loss",
        "--group", "family", "--holdout", "N: largest 2", "--out", str(out), "--json",
    ]  # fmt: skip
    completed = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr[-3000:]
    found = json.loads(completed.stdout)
    assert found["r2_raw"] >= truth - 0.01, (found["r2_raw"], truth, found["formula"])
    assert found["formula"].startswith("loss = ") and set(found["constants"]) == {"small", "large"}
    assert found["r2_raw"] > found["baselines"]["power law"] and found["r2_raw"] > found["baselines"]["initial program"]
    assert Path(found["plot"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the same law, read back from the log by sldbench show
    shown = subprocess.run([sys.executable, "-m", "sldbench.cli", "show", found["log"]], capture_output=True, text=True, timeout=300)
    assert shown.returncode == 0 and found["formula"].splitlines()[0] in shown.stdout and f"{found['r2_raw']:.6g}" in shown.stdout


@pytest.mark.slow
def test_discover_extrapolates_a_downstream_error_toward_lower_loss(tmp_path):
    # error = E - k exp(-gamma loss) per corpus; the held-out runs are each corpus' lowest losses
    rng = np.random.default_rng(3)
    truth = {"c4": (0.85, 2.3, 0.8), "web": (0.86, 2.2, 0.72)}
    lines = ["corpus,loss,error"]
    for corpus, (e, k, gamma) in truth.items():
        for loss in np.geomspace(2.3, 6.0, 30):
            lines.append(f"{corpus},{loss:.6g},{e - k * np.exp(-gamma * loss) + 0.003 * rng.standard_normal():.6f}")
    (tmp_path / "evals.csv").write_text("\n".join(lines) + "\n")
    out = tmp_path / "found"
    command = [
        sys.executable, "-m", "sldbench.cli", "discover", str(tmp_path / "evals.csv"), "--features", "loss", "--target", "error",
        "--group", "corpus", "--holdout", "loss: smallest 4", "--param-limit", "4", "--out", str(out), "--json",
    ]  # fmt: skip
    completed = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr[-3000:]
    found = json.loads(completed.stdout)
    spec = load_spec_file(found["spec_file"], allow_outside_paths=True)
    assert spec.toward_smaller == ("loss",)  # the holdout's own direction
    train, test = load_split(spec, "train").frame, load_split(spec, "test").frame
    assert (test.groupby("group")["loss"].max() < train.groupby("group")["loss"].min()).all()  # the lowest losses held out
    assert test.groupby("group").size().eq(4).all()
    assert found["r2_raw"] > 0.9, (found["r2_raw"], found["formula"])


def test_discover_names_bad_input_before_it_searches(tmp_path):
    write_sweep(tmp_path)
    runs = str(tmp_path / "runs.csv")
    cases = {
        ("--features", "N,size", "--target", "loss", "--holdout", "N: largest 2"): "missing column(s) 'size'",
        ("--features", "N,D", "--target", "loss", "--holdout", "N: largest 9", "--group", "family"): "leaves no train rows",
        ("--features", "N,D", "--target", "loss"): "say which runs are held out",
        ("--features", "N,D", "--target", "loss", "--holdout", "N: largest 2", "--param-limit", "0"): "param_limit must be a positive whole number",
        ("--features", "N,D", "--target", "loss", "--holdout", "N: smallest 2", "--extrapolates", "N:down"): "extrapolates: N: 'down' is not a direction; say larger",
    }
    for arguments, message in cases.items():
        completed = subprocess.run([sys.executable, "-m", "sldbench.cli", "discover", runs, *arguments, "--out", str(tmp_path / "out")], capture_output=True, text=True, timeout=300)
        assert completed.returncode == 2 and message in completed.stderr, (arguments, completed.stderr[-1500:])
        assert not (tmp_path / "out" / "logs").exists()  # nothing ran


# ------------------------------------------------------------------ hostile spec files


def test_a_yaml_alias_bomb_is_refused_at_once_naming_the_file_and_the_key(tmp_path):
    # 427 bytes that expand to 9^9 strings when a reader (or an error message) walks them
    rows = ['a: &a ["x","x","x","x","x","x","x","x","x"]'] + [
        f'{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]'
        for i in range(8)
    ]
    bomb = tmp_path / "task.yaml"
    bomb.write_text("name: bomb\ndescription: d\ndata: runs.csv\nholdout: 'N: largest 1'\ntargets: [loss]\n" + "\n".join(rows) + "\nfeatures: *i\n")
    with pytest.raises(SpecError) as raised:
        load_spec_file(bomb)
    message = str(raised.value)
    assert str(bomb) in message and "alias" in message and "key b" in message and len(message) < 1000


def test_an_oversized_spec_file_is_refused(tmp_path):
    path = tmp_path / "task.yaml"
    path.write_text("description: " + "x" * (2 << 20) + "\n")
    with pytest.raises(SpecError, match="larger than 1 MiB"):
        load_spec_file(path)


def test_long_values_are_shown_cut_short_in_messages(tmp_path):
    path = write_spec(tmp_path, {"features": [["N"] * 100_000]})
    with pytest.raises(SpecError) as raised:
        load_spec_file(path)
    assert "features must be" in str(raised.value) and len(str(raised.value)) < 1000


@pytest.mark.parametrize("key", ["data", "law"])
def test_a_spec_names_no_file_outside_its_folder_unless_allowed(tmp_path, key):
    folder = tmp_path / "spec"
    folder.mkdir()
    write_sweep(folder)
    outside = tmp_path / ("runs.csv" if key == "data" else "law.py")
    (outside).write_text((folder / "runs.csv").read_text() if key == "data" else "def law(input_data, group):\n    return []\n")
    for value in (str(outside), "../" + outside.name, "/etc/passwd"):
        path = write_spec(folder, {key: value})
        with pytest.raises(SpecError) as raised:
            load_spec_file(path)
        assert str(path) in str(raised.value) and f"{key}:" in str(raised.value) and "allow_outside_paths" in str(raised.value)
    # a link inside the folder that leads outside it is outside too
    (folder / "linked").symlink_to(outside)
    with pytest.raises(SpecError, match="outside the spec's folder"):
        load_spec_file(write_spec(folder, {key: "linked"}))
    # allowed explicitly: read as before
    spec = load_spec_file(write_spec(folder, {key: str(outside)}), allow_outside_paths=True)
    assert str(outside) in (dict(spec.files).get("data"), spec.law_file)


@pytest.mark.slow
def test_outside_paths_are_refused_through_inspect_and_allowed_with_the_task_argument(tmp_path):
    folder = tmp_path / "spec"
    folder.mkdir()
    write_sweep(folder)
    (tmp_path / "runs.csv").write_text((folder / "runs.csv").read_text())
    spec = write_spec(folder, {"data": "../runs.csv"})
    command = [sys.executable, "-m", "inspect_ai", "eval", "sldbench/custom", "-T", f"spec={spec}", "--solver", "sldbench/file",
               "-S", f"path={EXAMPLES / 'chinchilla_law.py'}", "--model", "none", "--log-dir", str(tmp_path / "logs")]  # fmt: skip
    refused = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert refused.returncode != 0 and "outside the spec's folder" in " ".join((refused.stdout + refused.stderr).split())  # one line, wrapped
    allowed = subprocess.run(command + ["-T", "allow_outside_paths=true"], capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert allowed.returncode == 0, allowed.stderr[-2000:]
