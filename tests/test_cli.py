import json
import os
import shlex
import subprocess
import sys
import textwrap

import pytest

from conftest import WALK_EVERYTHING

from sldbench.laws.expert import load_constants, prefitted_program


def _run(*args, cwd):
    return subprocess.run([sys.executable, "-m", "sldbench.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_score_json_prints_the_score_dict(data_dir, human_dir, tmp_path):
    law = tmp_path / "law.py"
    law.write_text(prefitted_program("vocab", load_constants(human_dir, "vocab")))
    completed = _run("score", str(law), "--task", "vocab", "--data-dir", str(data_dir), "--json", cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    score = json.loads(completed.stdout)
    assert abs(score["r2_raw"] - 0.9663633622783212) < 1e-9
    assert score["r2"] == score["r2_raw"] and score["task"] == "vocab"
    assert set(score) >= {"r2", "r2_raw", "nmse", "nmae", "explanation", "metadata"}


def test_score_text_and_errors(data_dir, tmp_path):
    law = tmp_path / "law.py"
    law.write_text(textwrap.dedent('''
        def law(input_data, group):
            raise ZeroDivisionError("bad law")
    '''))
    completed = _run("score", str(law), "--task", "moe_scaling_law", "--data-dir", str(data_dir), "--timeout", "30", cwd=tmp_path)
    assert completed.returncode == 0
    assert "r2        -1" in completed.stdout and "ZeroDivisionError: bad law" in completed.stdout
    missing = _run("score", str(tmp_path / "none.py"), "--task", "moe", cwd=tmp_path)
    assert missing.returncode == 2 and "no file at" in missing.stderr
    folder = _run("score", str(tmp_path), "--task", "moe", cwd=tmp_path)
    assert folder.returncode == 2 and "is a folder; expected a Python file with the law" in folder.stderr
    bad_task = _run("score", str(law), "--task", "chinchilla", "--data-dir", str(data_dir), cwd=tmp_path)
    assert bad_task.returncode == 2 and "unknown SLDBench task" in bad_task.stderr
    bad_dir = _run("score", str(law), "--task", "moe", "--data-dir", str(tmp_path / "nowhere"), cwd=tmp_path)
    assert bad_dir.returncode == 2 and "does not exist" in bad_dir.stderr


def test_file_solver_submits_a_file_through_inspect(data_dir, human_dir, tmp_path):
    from inspect_ai import eval as inspect_eval

    from sldbench.solvers import file
    from sldbench.tasks import sldbench_task

    law = tmp_path / "law.py"
    law.write_text(prefitted_program("sft", load_constants(human_dir, "sft")))
    (log,) = inspect_eval(sldbench_task("sft", data_dir=str(data_dir)), solver=file(path=str(law)), model="none", log_dir=str(tmp_path), display="none")
    score = log.samples[0].scores["heldout_r2"]
    assert abs(score.value["r2_raw"] - 0.9570773394105644) < 1e-6
    assert "program stored by the solver" in score.explanation
    headline = next(s for s in log.results.scores if s.name == "r2")
    assert headline.metrics["mean"].value == score.value["r2"]
    # sldbench show reads the law back from the log, given the log or its folder
    shown = _run("show", str(tmp_path), cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert f"held-out R² {score.value['r2_raw']:.6g}" in shown.stdout
    assert "law: sft_loss = A / (sft_data_size^alpha + B) + C" in shown.stdout  # the expert law in words, not its source
    (tmp_path / "empty").mkdir()
    (tmp_path / "runs.csv").write_text("task,agent,model,run_index,reward_r2\n")
    for argument, message in {"empty": "no Inspect logs", "runs.csv": "is a CSV", "nowhere.eval": "no log at"}.items():
        refused = _run("show", str(tmp_path / argument), cwd=tmp_path)
        assert refused.returncode == 2 and message in refused.stderr, (argument, refused.stderr)


CHEATING_LAW = '''
import math, os
_C = {"pile": (135335300.0, 0.344689, 0.223649, 1.37668), "stack": (18315640.0, 0.419331, 0.132752, 0.532023)}
PLACES = PLACES_HERE


def _answers():
    """A lookup table of the test split, from any copy this law can find."""
    table = {}
    candidates = list(PLACES)
    for folder, dirs, files in walk_everything(("proc", "sys", "dev", "usr")):
        candidates += [os.path.join(folder, f) for f in files if f == "test.csv"]
    for path in candidates:
        try:
            lines = open(path).read().splitlines()
        except OSError:
            continue
        for line in lines[1:]:
            group, n, p, loss = line.split(",")
            table[(group, float(n), float(p))] = float(loss)
    return table


def law(input_data, group):
    table = _answers()
    A, k, alpha, E = _C[group]
    honest = [(A / (d["num_params"] * (k * math.log(d["parallel_size"]) + 1))) ** alpha + E for d in input_data]
    return [{"loss": table.get((group, d["num_params"], d["parallel_size"]), h)} for d, h in zip(input_data, honest)]
'''

ENVIRONMENT_LAW = '''
import math, os
_C = {"pile": (135335300.0, 0.344689, 0.223649, 1.37668), "stack": (18315640.0, 0.419331, 0.132752, 0.532023)}
RUNNER_VARIABLES = {"PATH", "HOME", "LANG", "PWD", "TMPDIR", "LC_CTYPE", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                    "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"}


def law(input_data, group):
    foreign = set(os.environ) - RUNNER_VARIABLES
    A, k, alpha, E = _C[group]
    return [{"loss": (A / (d["num_params"] * (k * math.log(d["parallel_size"]) + 1))) ** alpha + E + len(foreign)} for d in input_data]
'''


@pytest.mark.bubblewrap
def test_inspect_eval_of_a_cheating_law_scores_its_honest_value(data_dir, planted_test_splits, tmp_path):
    from inspect_ai.log import read_eval_log

    honest = 0.9998925970125949  # the published ParScale constants on the test split
    laws = {
        "search.py": WALK_EVERYTHING + CHEATING_LAW.replace("PLACES_HERE", repr([str(p) for p in planted_test_splits])),
        "environment.py": ENVIRONMENT_LAW,
    }
    for name, source in laws.items():
        law = tmp_path / name
        law.write_text(source)
        logs = tmp_path / f"logs-{name}"
        command = [
            sys.executable, "-m", "inspect_ai", "eval", "sldbench/parallel", "--solver", "sldbench/file",
            "-S", f"path={law}", "--model", "none", "--log-dir", str(logs), "--display", "plain",
        ]  # fmt: skip
        env = {**os.environ, "SLDBENCH_DATA_DIR": str(data_dir), "OPENAI_API_KEY": "sk-planted-secret", "DOCKER_HOST": "unix:///nowhere"}
        completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path)
        assert completed.returncode == 0, completed.stderr[-2000:]
        (path,) = logs.glob("*.eval")
        score = read_eval_log(str(path)).samples[0].scores["heldout_r2"]
        assert score.metadata["isolation"] == "bubblewrap", name
        assert score.value["r2_raw"] == pytest.approx(honest, abs=1e-12), (name, score.explanation)


def test_doctor_names_the_isolation_of_each_sandbox(tmp_path):
    completed = _run("doctor", "--json", cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    found = {finding["sandbox"]: finding for finding in json.loads(completed.stdout)}
    assert set(found) == {"local", "docker", "k8s"}
    from sldbench.sandbox import bubblewrap

    assert found["local"]["isolation"] == ("rlimits-only" if bubblewrap.problem() else "bubblewrap")
    missing = subprocess.run(
        [sys.executable, "-m", "sldbench.cli", "doctor"], capture_output=True, text=True, cwd=tmp_path, timeout=300,
        env={**os.environ, "SLDBENCH_BWRAP": str(tmp_path / "no-bwrap"), "DOCKER_HOST": "unix:///nowhere"},
    )  # fmt: skip
    assert "rlimits-only" in missing.stdout and "for more: apt-get install bubblewrap" in missing.stdout
    assert "for more: docker/engine.sh" in missing.stdout


def test_every_command_that_runs_laws_takes_the_same_isolation_option(tmp_path):
    # score, discover and leaderboard: one option, the same values; the choice reaches the runs and the log says it
    for command in (["score", "law.py", "--task", "moe"], ["discover", "runs.csv", "--features", "N", "--target", "loss"], ["leaderboard", "x", "--out", "o"]):
        refused = _run(*command, "--isolation", "none", cwd=tmp_path)
        assert refused.returncode == 2 and "invalid choice: 'none' (choose from 'auto', 'required', 'rlimits')" in refused.stderr, refused.stderr
    examples = os.path.join(os.path.dirname(__file__), os.pardir, "examples", "synthetic", "runs.csv")
    found = _run(
        "discover", examples, "--features", "N,D", "--target", "loss", "--group", "family", "--holdout", "N: largest 2",
        "--param-limit", "5", "--budget", "2", "--isolation", "rlimits", "--out", str(tmp_path / "found"), "--json", cwd=tmp_path,
    )  # fmt: skip
    assert found.returncode == 0, found.stderr[-2000:]
    from inspect_ai.log import read_eval_log

    result = json.loads(found.stdout)
    log = read_eval_log(result["log"])
    assert log.samples[0].scores["heldout_r2"].metadata["isolation"] == "rlimits-only"
    # the law's constants per group, as the scoring sandbox fitted them: in the log, in discover's answer, in show
    assert log.samples[0].scores["heldout_r2"].metadata["constants"] == result["constants"] and sorted(result["constants"]) == ["dense", "moe"]
    shown = _run("show", result["log"], cwd=tmp_path)
    assert "constants per group (fitted on train):" in shown.stdout
    assert any(line.split()[:1] == ["dense"] and "=" in line for line in shown.stdout.splitlines()), shown.stdout


def test_discover_searches_many_rows_on_a_share_and_scores_the_law_on_every_row(tmp_path):
    import numpy as np
    from inspect_ai.log import read_eval_log

    from sldbench.folds import SEARCH_ROWS

    steps = np.arange(50, 1050)  # three learning curves logged at every step: 3000 rows, 2400 of them train rows
    lines = ["run,step,loss"] + [f"r{g},{s},{(2 + g / 10 + 3 * (s / 100) ** -0.3) * (1 + 0.01 * np.sin(7 * s)):.6f}" for g in range(3) for s in steps]
    (tmp_path / "curves.csv").write_text("\n".join(lines) + "\n")
    found = _run(
        "discover", "curves.csv", "--features", "step", "--target", "loss", "--group", "run", "--holdout", "step >= 850",
        "--budget", "2", "--intervals", "0", "--out", str(tmp_path / "found"), cwd=tmp_path,
    )  # fmt: skip
    assert found.returncode == 0, found.stderr[-2000:]
    log = read_eval_log(next((tmp_path / "found" / "logs").glob("*.eval")).as_posix())
    searched = log.samples[0].metadata["sldagent"]["search_rows"]
    assert searched["of"] == 2400 and SEARCH_ROWS - 3 <= searched["rows"] <= SEARCH_ROWS  # each run's share, rounded down
    assert f"the search fits its candidates on {searched['rows']} of the 2400 train rows" in found.stderr
    assert log.samples[0].scores["heldout_r2"].value["r2_raw"] > 0.9  # fitted and scored on every row


def test_discover_says_each_thing_once_and_reports_r2_as_the_benchmark_clips_it(tmp_path):
    from sldbench.discovery import Discovery, render

    examples = os.path.join(os.path.dirname(__file__), os.pardir, "examples", "synthetic", "runs.csv")
    refused = _run("discover", examples, "--features", "N,D", "--target", "loss", "--holdout", "N: biggest 2", cwd=tmp_path)
    assert refused.returncode == 2 and refused.stderr.count("sldbench discover:") == 1, refused.stderr
    assert refused.stderr.startswith("sldbench discover: options: holdout 'N: biggest 2' is not understood")
    found = Discovery("loss = E", "", {}, 0.99, 0.99, {"initial program": -1.47e22, "power law": 0.78}, "log.eval")
    text = render(found)
    assert "initial program  -1.0000 (clipped; raw -1.47e+22)" in text and "power law        0.7800" in text


@pytest.mark.slow
def test_an_interrupted_discover_goes_on_where_it_stopped_and_finds_the_same_law(tmp_path):
    import signal
    import time

    examples = os.path.join(os.path.dirname(__file__), os.pardir, "examples", "synthetic", "runs.csv")

    def command(out):
        return [
            sys.executable, "-m", "sldbench.cli", "discover", examples, "--features", "N,D", "--target", "loss", "--group", "family",
            "--holdout", "N: largest 2", "--param-limit", "5", "--budget", "20", "--intervals", "0", "--out", str(tmp_path / out),
        ]  # fmt: skip

    def law_and_scores(stdout):
        return stdout.split("Law (one form for every group):")[1].split("\nLog:")[0]

    whole = subprocess.run(command("whole"), capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert whole.returncode == 0, whole.stderr[-2000:]
    assert not (tmp_path / "whole" / "search.json").exists()  # a finished search is in its log

    checkpoint = tmp_path / "cut" / "search.json"
    # as from a terminal: a test run started in the background of a shell inherits SIGINT ignored, and so would this
    running = subprocess.Popen(
        command("cut"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and running.poll() is None:
        if checkpoint.is_file() and json.loads(checkpoint.read_text())["next_iteration"] >= 5:
            break
        time.sleep(0.05)
    running.send_signal(signal.SIGINT)  # Ctrl-C
    _, stderr = running.communicate(timeout=120)
    assert running.returncode == 130, stderr[-2000:]
    assert f"sldbench discover: interrupted; the search so far is kept in {checkpoint}: run the same again to go on from there" in stderr
    kept = json.loads(checkpoint.read_text())["next_iteration"]
    assert 5 <= kept < 20

    resumed = subprocess.run(command("cut"), capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"going on from the interrupted search kept in {checkpoint}" in resumed.stderr
    assert law_and_scores(resumed.stdout) == law_and_scores(whole.stdout)
    assert not checkpoint.exists()
    # the interrupted run's log is no score: the report counts the finished run alone and lists the other
    report = _run("report", str(tmp_path / "cut" / "logs"), cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    table, left_out = report.stdout.split("## Runs left out: no score")
    r2 = float(resumed.stdout.split("discovered law")[1].split()[0])
    assert f"**{r2:.3f}**" in table.split("## ")[1] and "-1.000" not in table
    assert "| interrupted: the eval was cancelled |" in left_out.split("## ")[0]
    # show says of that log what the report says
    from inspect_ai.log import read_eval_log

    (cancelled,) = [log for log in (tmp_path / "cut" / "logs").glob("*.eval") if read_eval_log(str(log), header_only=True).status == "cancelled"]
    shown = _run("show", str(cancelled), cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "    not scored: interrupted: the eval was cancelled\n" in shown.stdout + "\n"


def test_discover_infers_multiplicative_features_and_names_the_rows_that_are_not(tmp_path):
    from sldbench.discovery import write_spec
    from sldbench.specs import load_spec_file

    rows = ["family,N,lr,D,loss"] + [f"a,{n},{lr},{d},{1 + 1 / n}" for n in (1e7, 1e8, 1e9) for lr in (1e-4, 1e-3, 1e-2) for d in (1, 2, 3)]
    rows[10] = rows[10].replace(",0.0001,", ",-0.0001,")  # data row 10: one negative learning rate among positive ones
    (tmp_path / "runs.csv").write_text("\n".join(rows) + "\n")
    notes: list[str] = []
    path = write_spec(tmp_path / "runs.csv", ["N", "lr", "D"], ["loss"], "family", "N: largest 1", None, None, tmp_path / "out", notes=notes)
    assert load_spec_file(path, allow_outside_paths=True).log_features == ("N",)  # D spans a factor 3 only: left as it is
    assert notes[0].startswith("multiplicative features (every value > 0, spanning at least a factor 10): N;")
    assert len(notes) == 2 and "column 'lr' spans 0.0001 to 0.01 but is not > 0 at data row(s) 10;" in notes[1]


def test_discover_says_which_features_move_in_step_with_the_extrapolation_axis(tmp_path):
    from sldbench.discovery import write_spec

    # tokens are 20 x parameters in every run (a compute-optimal sweep): beyond the largest model they grow too
    rows = ["N,D,lr,loss"] + [f"{n},{20 * n},{lr},{2 + 1 / n ** 0.1 + (lr - 1e-3) ** 2}" for n in (1e7, 1e8, 1e9, 1e10) for lr in (1e-4, 1e-3, 1e-2)]
    (tmp_path / "runs.csv").write_text("\n".join(rows) + "\n")
    notes: list[str] = []
    write_spec(tmp_path / "runs.csv", ["N", "D", "lr"], ["loss"], None, "N: largest 1", None, None, tmp_path / "out", notes=notes)
    in_step = [note for note in notes if "in step with" in note]
    # D alone: a learning rate swept at every size is not in step with N
    assert in_step == [notes[-1]] and in_step[0].startswith("D: in step with the extrapolation axis (N) on every train row")


def test_the_search_progress_says_how_long_is_left_and_how_long_it_took(capsys):
    from sldbench.solvers.sldagent import progress_bar

    show = progress_bar(4)
    for iteration in range(1, 5):
        show({"iteration": iteration, "best_fitness": 0.5 + iteration / 10, "stage": "law grammar" if iteration < 3 else "hill climbing"})
    lines = capsys.readouterr().err.split("\r")
    assert "1/4  best validation R^2 0.6000  about " in lines[1] and " left" in lines[1] and lines[1].rstrip().endswith("(law grammar)")
    assert lines[3].rstrip().endswith("left  (hill climbing)")
    last, after = lines[-1].split("\n", 1)
    assert last.rstrip().endswith(" s") and "4/4  best validation R^2 0.9000" in last and "left" not in last
    assert after == "  choosing the law to submit, then scoring it on the held-out rows ...\n"


def test_discover_says_which_stage_it_is_in(tmp_path):
    examples = os.path.join(os.path.dirname(__file__), os.pardir, "examples", "synthetic", "runs.csv")
    found = _run(
        "discover", examples, "--features", "N,D", "--target", "loss", "--group", "family", "--holdout", "N: largest 2",
        "--param-limit", "5", "--budget", "3", "--out", str(tmp_path / "found"), cwd=tmp_path,
    )  # fmt: skip
    assert found.returncode == 0, found.stderr[-2000:]
    progress = found.stderr.replace("\r", "\n")
    assert "(law grammar)" in progress and "3/3  best validation R^2" in progress
    stages = [
        "choosing the law to submit, then scoring it on the held-out rows", "scoring the baselines",
        "drawing the plot, bounding the constants (20 refits per group on the runs with their residuals drawn again)",
    ]  # fmt: skip
    assert [progress.index(stage) for stage in stages] == sorted(progress.index(stage) for stage in stages)
    assert "Law (one form for every group):" in found.stdout and "Plot: " in found.stdout
    # every constant of every group is bounded, by name, after the constants themselves
    constants = found.stdout.split("Constants per group:\n")[1].split("\n\n")[0].splitlines()
    bounded = found.stdout.split("Constants' 90% intervals from 20 refits per group on the runs with their residuals drawn again:\n")[1].split("\n\n")[0].splitlines()
    assert [line.split()[0] for line in bounded] == [line.split()[0] for line in constants] == ["dense", "moe"]
    for value_line, bound_line in zip(constants, bounded):
        names = [item.split("=")[0] for item in value_line.split()[1:]]
        assert [item for item in bound_line.split()[1:] if not item.startswith("[") and not item.endswith("]")] == names
    # the last line is the command that takes the law further: filled in, it runs as printed
    command = found.stdout.rstrip().splitlines()[-1]
    assert command.startswith("Next: sldbench predict ") and command.endswith("--group dense --at N=...,D=...  (the law's prediction with an interval)")
    argv = shlex.split(command.removeprefix("Next: sldbench ").split("  (")[0].replace("N=...,D=...", "N=1e10,D=2e11"))
    predicted = _run(*argv, "--resamples", "5", cwd=tmp_path)
    assert predicted.returncode == 0, predicted.stderr[-2000:]
    assert "(group dense, predicting loss)" in predicted.stdout and "at N=1e+10, D=2e+11: " in predicted.stdout
