import json
import subprocess
import sys
import textwrap

from sldbench.laws import load_constants, prefitted_program


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
