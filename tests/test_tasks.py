import pytest
from inspect_ai._util.registry import registry_lookup

from sldbench.specs import TASKS
from sldbench.tasks import TASK_VERSION, TRAIN_FILE, sldbench_task


@pytest.mark.parametrize("name", list(TASKS))
def test_sample_holds_the_problem_and_only_the_train_split(name, data_dir):
    spec = TASKS[name]
    task = sldbench_task(name, data_dir=str(data_dir))
    (sample,) = list(task.dataset)
    assert list(sample.files) == [TRAIN_FILE]
    train_csv = sample.files[TRAIN_FILE]
    test_csv = (data_dir / spec.config / "test.csv").read_text()
    assert train_csv.splitlines()[0] == ",".join(spec.columns)
    # no held-out row is in the sandbox
    test_rows = set(test_csv.splitlines()[1:])
    assert not test_rows & set(train_csv.splitlines()[1:])
    prompt = sample.input
    for column in spec.features + spec.targets:
        assert column in prompt
    assert "law(input_data" in prompt and "scaling_law_func" in prompt and "fit_scaling_law" in prompt
    assert "held-out" in prompt and TRAIN_FILE in prompt
    if spec.param_limit:
        assert f"at most {spec.param_limit} fitted constants" in prompt
    assert sample.metadata["task"] == name and sample.metadata["data_dir"] == str(data_dir)
    assert task.epochs == 1 and task.version == TASK_VERSION
    assert task.sandbox.type == "sldbench-local" and task.sandbox.config.isolation == "auto"


def test_groups_are_listed_with_their_sizes(data_dir):
    (sample,) = list(sldbench_task("parallel", data_dir=str(data_dir)).dataset)
    assert "pile: 18 training runs" in sample.input and "stack: 18 training runs" in sample.input


def test_task_arguments(data_dir):
    task = sldbench_task("moe", data_dir=str(data_dir), sandbox="docker", time_limit=30, score_timeout=12)
    (sample,) = list(task.dataset)
    assert task.sandbox.type == "sldbench-docker" and task.time_limit == 30
    assert sample.metadata["score_timeout"] == 12


@pytest.mark.parametrize("kind, name", [("task", f"sldbench/{n}") for n in [*TASKS, "sldbench", "custom"]] + [
    ("solver", "sldbench/human"), ("solver", "sldbench/file"), ("scorer", "sldbench/heldout_r2")])  # fmt: skip
def test_registered_under_the_package_namespace(kind, name):
    assert registry_lookup(kind, name) is not None


def test_eval_yaml_lists_every_task_with_its_samples_baseline_and_pinned_dataset(data_dir):
    """sldbench/eval.yaml (the Inspect Evals register's format) agrees with the tasks, the paper and the data loader."""
    from pathlib import Path

    import yaml

    from sldbench.data import HUB_REVISION
    from sldbench.tasks import sldbench as whole_benchmark

    card = yaml.safe_load((Path(__file__).resolve().parents[1] / "sldbench" / "eval.yaml").read_text())
    assert card["arxiv"] == "https://arxiv.org/abs/2507.21184"
    listed = {entry["name"]: entry for entry in card["tasks"]}
    assert set(listed) == {*TASKS, "sldbench", "custom"}
    for name in listed:
        assert registry_lookup("task", f"sldbench/{name}") is not None, name
    published = {"parallel": 1.0, "vocab": 0.966, "sft": 0.957, "domain_mix": 0.671, "moe": 0.703, "d_constrain": 0.911, "lr_bsz": -0.076, "u_shape": -1.0}
    for name, score in published.items():
        assert len(sldbench_task(name, data_dir=str(data_dir)).dataset) == listed[name]["dataset_samples"] == 1
        assert listed[name]["human_baseline"]["score"] == score
    assert len(whole_benchmark(data_dir=str(data_dir)).dataset) == listed["sldbench"]["dataset_samples"] == 8
    assert listed["sldbench"]["human_baseline"]["score"] == round(sum(published.values()) / 8, 3)
    (asset,) = card["external_assets"]
    assert asset["source"] == "pkuHaowei/sldbench" and HUB_REVISION in asset["comment"]
    assert card["metadata"]["requires_internet"] is False


def test_the_benchmark_runs_end_to_end_with_a_mock_model(data_dir, tmp_path):
    from inspect_ai import eval as inspect_eval
    from inspect_ai.model import ModelOutput, ModelUsage, get_model

    from sldbench import sldbench

    # replies with their usage given: the mock model would otherwise count tokens with an encoding it downloads
    reply = ModelOutput.from_content("mockllm/model", "I have no law to offer.")
    reply.usage = ModelUsage(input_tokens=1, output_tokens=1, total_tokens=2)
    mock = get_model("mockllm/model", custom_outputs=[reply] * len(TASKS))
    (log,) = inspect_eval(sldbench(data_dir=str(data_dir)), model=mock, log_dir=str(tmp_path), display="none")
    assert log.status == "success", log.error
    # the mock model leaves no law: every setting scores -1 with the reason, and so does the average
    assert sorted(s.id for s in log.samples) == sorted(TASKS)
    for sample in log.samples:
        score = sample.scores["heldout_r2"]
        assert score.value["r2"] == -1.0 and score.explanation.startswith("no submission"), score.explanation
    r2 = next(score for score in log.results.scores if score.name == "r2")
    assert r2.metrics["mean"].value == -1.0


def test_the_package_passes_the_inspect_evals_register_lint():
    import shutil
    import subprocess
    from pathlib import Path

    linter = shutil.which("inspect-evals-lint")
    assert linter, "inspect-evals-lint is not installed (pip install -e '.[dev]')"
    root = Path(__file__).resolve().parents[1]
    completed = subprocess.run([linter, "sldbench"], cwd=root, capture_output=True, text=True, timeout=300, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})
    # the configuration is [tool.inspect-evals-lint] in pyproject.toml; each suppression names its reason
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-2000:]
