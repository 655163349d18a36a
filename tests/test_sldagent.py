"""SLDAgent driven offline: real search loop, real sandboxed evaluation, scripted replies."""

import asyncio
import json
import os
import subprocess
import sys

import pytest
from inspect_ai import eval as inspect_eval

from sldbench.data import load_split
from sldbench.evolution import Database, Program, Rejected, Search, Settings, TrainEvaluator, child_from_diff
from sldbench.laws.program import INITIAL_PROGRAM
from sldbench.evolution.edits import diff_blocks
from sldbench.scorer import score_program
from sldbench.solvers import best_of_n, sldagent
from sldbench.specs import get_spec
from sldbench.tasks import sldbench_task

PARALLEL = get_spec("parallel")

PARSCALE = '''# EVOLVE-BLOCK-START
import numpy as np
from scipy.optimize import least_squares


def scaling_law_func(data_points, params):
    X = np.asarray(data_points, dtype=float)
    log_a, k, alpha, e = params
    return (np.exp(log_a) / (X[:, 0] * (k * np.log(X[:, 1]) + 1))) ** alpha + e


def fit_scaling_law(data_points, loss_values):
    X = np.asarray(data_points, dtype=float)
    y = np.asarray(loss_values, dtype=float)
    return least_squares(lambda p: scaling_law_func(X, p) - y, [np.log(1e8), 0.4, 0.2, 1.0]).x
# EVOLVE-BLOCK-END
'''
# A weaker law: no parallel-size term.
PLAIN_POWER = PARSCALE.replace("(k * np.log(X[:, 1]) + 1)", "(1 + 0 * k * X[:, 1])")
NAN_LAW = PARSCALE.replace("return (np.exp", "return np.nan * (np.exp").replace(
    "return least_squares(lambda p: scaling_law_func(X, p) - y, [np.log(1e8), 0.4, 0.2, 1.0]).x", "return np.array([18.0, 0.4, 0.2, 1.0])"
)
LOOPING = PARSCALE.replace("    X = np.asarray(data_points, dtype=float)\n    y =", "    while True:\n        pass\n    y =")
TOO_MANY = PARSCALE.replace("[np.log(1e8), 0.4, 0.2, 1.0]).x", "[np.log(1e8), 0.4, 0.2, 1.0]).x.tolist() + [0.0]").replace(
    "log_a, k, alpha, e = params", "log_a, k, alpha, e = params[:4]"
)
OUTSIDE = "import os\n" + PARSCALE
# Normalises by the largest model size in the batch: a statistic of its input, so not a law.
BATCH_STATISTIC = PARSCALE.replace("(np.exp(log_a) / (X[:, 0] *", "(np.exp(log_a) / (X[:, 0] / X[:, 0].max() * 1e9 *")


def fenced(code):
    return f"Here is the program.\n```python\n{code}```\n"


def write_script(path, replies, when=False):
    lines = [{"content": r, **({"when": f"Iteration {i + 1} of"} if when else {})} for i, r in enumerate(replies)]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    return str(path)


def run_eval(tmp_path, script, data_dir, **solver_args):
    (log,) = inspect_eval(
        sldbench_task("parallel", data_dir=str(data_dir)),
        solver=sldagent(**solver_args),
        model=f"scripted/{tmp_path.name}",  # one model instance per run: Inspect caches them by name
        model_args={"script": script},
        log_dir=str(tmp_path / "logs"),
        display="none",
    )
    return log


def test_better_program_becomes_the_submission_and_is_scored_held_out(tmp_path, data_dir, local_sandbox):
    script = write_script(tmp_path / "s.jsonl", [fenced(PLAIN_POWER), fenced(PARSCALE), "no code today"])
    log = run_eval(tmp_path, script, data_dir, iterations=3, parallel=1)
    assert log.status == "success", log.error
    sample = log.samples[0]
    meta = sample.metadata["sldagent"]
    assert meta["best"]["id"] == "p0002"  # proposed at iteration 2
    assert [step["best"] for step in meta["trajectory"]] == ["p0000", "p0001", "p0002", "p0002"]
    # iteration 2's prompt was built while iteration 1 was still being evaluated
    assert [node["id"] for node in meta["lineage"]] == ["p0002", "p0000"]
    assert meta["usage"]["total_tokens"] > 0 and sample.model_usage
    submitted = sample.store["sldbench:program"]
    assert submitted.strip() == PARSCALE.strip()
    expected = asyncio.run(score_program(local_sandbox, submitted, PARALLEL, data_dir))
    assert sample.scores["heldout_r2"].value == pytest.approx(expected.value)
    assert expected.value["r2"] > 0.99
    infos = [e.data for e in sample.events if getattr(e, "event", "") == "info" and e.source == "sldagent"]
    assert [(i["iteration"], i["island"], i["outcome"]) for i in infos] == [
        (0, 0, "seed"), (1, 0, "accepted"), (2, 1, "accepted"), (3, 2, "rejected")
    ]  # fmt: skip
    assert infos[0]["note"] == "5 parameters per group, over the limit of 4: submitted only if no child is within it"  # the paper's initial program fits 5 on parallel
    assert [i["parent"] for i in infos][1:3] == ["p0000", "p0000"] and infos[3]["parent"] in {"p0000", "p0001"}
    assert "no ```python block" in infos[3]["reason"]


def _search(data_dir, local_sandbox, replies, prompts, checkpoint=None, task="parallel", **settings):
    spec = get_spec(task)
    train = load_split(spec, "train", data_dir)
    queue = list(replies)

    async def propose(system, user):
        prompts.append(user)
        if not queue:
            raise RuntimeError("out of replies")
        return queue.pop(0), {"total_tokens": 1}

    settings = Settings(**{"parallel": 1, "eval_timeout": 60, **settings})
    search = Search(settings, train, f"The {task} task.", TrainEvaluator(local_sandbox, train, settings.eval_timeout), propose, checkpoint)
    return asyncio.run(search.run())


def test_every_rejection_kind_is_recorded_and_the_run_completes(data_dir, local_sandbox):
    replies = [
        fenced("def scaling_law_func(data_points, params:\n    pass\n"),  # does not parse
        fenced(LOOPING),  # runs past the evaluation timeout
        fenced(NAN_LAW),  # NaN predictions
        fenced(TOO_MANY),  # 5 fitted parameters, the limit is 4
        fenced(OUTSIDE),  # edits outside the EVOLVE block
        fenced(PARSCALE),
        fenced(PARSCALE.replace("# EVOLVE-BLOCK-END", "# same code, new comment\n# EVOLVE-BLOCK-END")),  # duplicate
        fenced(BATCH_STATISTIC),  # predictions depend on the other points passed with them
        fenced(PARSCALE.replace("    return", "    x = " + " + ".join(["1"] * 50_000) + "\n    return", 1)),  # beyond the parser
    ]
    state = _search(data_dir, local_sandbox, replies, [], iterations=len(replies), eval_timeout=3)
    reasons = [a.reason for a in state.attempts]
    assert reasons[0].startswith("does not parse")
    assert reasons[1].startswith("timeout: timed out after 3 s")
    assert "NaN or Inf" in reasons[2]
    assert reasons[3] == "fits 5 parameters per group; the limit is 4"
    assert reasons[4] == "changes code outside the EVOLVE-BLOCK markers"
    assert state.attempts[5].outcome == "accepted"
    assert reasons[6] == "duplicates a program already evaluated"
    assert reasons[7].startswith("scaling_law_func uses statistics of its input") and "'pile'" in reasons[7]
    assert reasons[8] == "does not parse: nested too deeply for Python's parser"
    assert state.database.best().code == PARSCALE


def test_the_seed_over_the_parameter_limit_is_submitted_only_when_nothing_else_is_valid(data_dir, local_sandbox):
    # parallel allows 4 parameters per group; the paper's initial program fits 2F+1 = 5
    alone = _search(data_dir, local_sandbox, [fenced("not python (")], [], iterations=1)
    assert alone.database.programs["p0000"].param_count == 5 and alone.database.best().id == "p0000"
    db = Database(Settings(), param_limit=4)
    db.add(Program("p0000", "seed", None, -1, 0, fitness=0.99, combined=0.5, param_count=5, complexity=10))
    db.add(Program("p0001", "child", "p0000", 0, 0, fitness=0.90, combined=0.4, param_count=4, complexity=10))
    assert db.best().id == "p0001"  # the seed fits train better, but only the child respects the limit
    assert Database.from_json(Settings(), db.to_json(), param_limit=4).best().id == "p0001"


def test_diff_mode_applies_a_diff_and_reports_a_broken_one(data_dir, local_sandbox):
    broken = "<<<<<<< SEARCH\n    return nothing_like_this()\n=======\n    return 0\n>>>>>>> REPLACE\n"
    # A working diff whose SEARCH text is indented differently from the program.
    working = (
        "<<<<<<< SEARCH\n"
        "result = minimize(objective, init, method=\"BFGS\")\n"
        "=======\n"
        "result = minimize(objective, init, method=\"Nelder-Mead\", options={\"maxiter\": 4000})\n"
        ">>>>>>> REPLACE\n"
    )
    prompts = []
    # u_shape: one feature, so the initial program's 3 parameters are within the limit of 6
    state = _search(data_dir, local_sandbox, [broken, working, broken], prompts, iterations=3, mode="diff", task="u_shape")
    first, second, _ = state.attempts
    assert first.outcome == "rejected" and "diff block 1 does not apply" in first.reason
    # reported back to the model in the next prompt built after it was checked
    assert "diff block 1 does not apply" not in prompts[1] and "diff block 1 does not apply" in prompts[2]
    assert second.outcome == "accepted"
    child = state.database.programs[second.child].code
    assert '    result = minimize(objective, init, method="Nelder-Mead", options={"maxiter": 4000})' in child
    assert child == INITIAL_PROGRAM.replace('method="BFGS")', 'method="Nelder-Mead", options={"maxiter": 4000})')


def test_a_proposer_is_named_with_the_modes_it_writes_in():
    with pytest.raises(ValueError, match="proposer must be one of model, symbolic, got 'gpt'"):
        sldagent(proposer="gpt")
    with pytest.raises(ValueError, match="proposer=symbolic writes with mode full, got mode=diff"):
        best_of_n(proposer="symbolic", mode="diff")
    sldagent(proposer="model", mode="diff")  # the model writes in either mode


def test_whitespace_tolerant_diff_keeps_indentation():
    parent = "def f(x):\n    if x:\n        return 1\n    return 2\n"
    reply = "<<<<<<< SEARCH\nif x:\n    return 1\n=======\nif x > 0:\n    return 3\n>>>>>>> REPLACE"
    assert child_from_diff(reply, parent) == "def f(x):\n    if x > 0:\n        return 3\n    return 2\n"
    with pytest.raises(Rejected, match="no SEARCH/REPLACE block"):
        child_from_diff("just prose", parent)


def test_degenerate_diff_replies_are_read_line_by_line():
    parent = "def f(x):\n    if x:\n        return 1\n    return 2\n"
    block = "<<<<<<< SEARCH\nreturn 2\n=======\nreturn 4\n>>>>>>> REPLACE\n"
    # a model stuck repeating a marker character, or opening blocks it never closes: nothing to apply
    # (read in one pass; a pattern over the whole reply backtracks for minutes on these)
    for degenerate in ("<" * 200_000, "<<<<<<< SEARCH\nreturn 2\n" * 10_000, "<<<<<<< SEARCH\n" + "=" * 200_000):
        with pytest.raises(Rejected, match="no SEARCH/REPLACE block"):
            child_from_diff(degenerate, parent)
        # and a block after the noise still applies; a SEARCH marker inside an open block starts it again
        assert child_from_diff(degenerate + "\n" + block, parent).endswith("    return 4\n")
    assert diff_blocks("<<<<<<< SEARCH\nnot this\n" + block) == [("return 2", "return 4")]


def test_interrupted_run_resumes_to_the_same_result(tmp_path, data_dir):
    replies = [fenced(PLAIN_POWER), "nothing", fenced(NAN_LAW), fenced(PARSCALE), fenced(TOO_MANY), fenced(PLAIN_POWER.replace("1e8", "1e9"))]
    full = write_script(tmp_path / "full.jsonl", replies, when=True)
    args = dict(iterations=6, parallel=2, islands=2, migration_interval=3)
    reference = run_eval(tmp_path / "a", full, data_dir, checkpoint=str(tmp_path / "a.json"), **args)
    assert reference.status == "success"

    checkpoint = str(tmp_path / "b.json")
    partial = write_script(tmp_path / "partial.jsonl", replies[:3], when=True)
    interrupted = run_eval(tmp_path / "b", partial, data_dir, checkpoint=checkpoint, **args)
    assert interrupted.status == "error" and "used up" in str(interrupted.error)
    saved = json.loads(open(checkpoint).read())
    assert 0 < saved["next_iteration"] < 6
    resumed = run_eval(tmp_path / "c", full, data_dir, checkpoint=checkpoint, **args)
    assert resumed.status == "success"
    a, b = reference.samples[0], resumed.samples[0]
    assert b.metadata["sldagent"]["trajectory"] == a.metadata["sldagent"]["trajectory"]
    assert b.metadata["sldagent"]["rejections"] == a.metadata["sldagent"]["rejections"]
    assert b.store["sldbench:program"] == a.store["sldbench:program"]
    assert b.scores["heldout_r2"].value == a.scores["heldout_r2"].value


@pytest.mark.slow
def test_a_symbolic_search_resumed_from_its_checkpoint_submits_as_it_did(tmp_path, data_dir):
    """The proposer judges the programs it proposes (guard rails, features used, Operon or not) and the
    rule submits among those; a search resumed from its checkpoint holds programs an earlier proposer
    judged, and the same judgement of them must give the same submission and the same record."""
    checkpoint = str(tmp_path / "search.json")

    def run(name):
        (log,) = inspect_eval(
            sldbench_task("parallel", data_dir=str(data_dir)), solver=sldagent(iterations=20, proposer="symbolic", seed=42, checkpoint=checkpoint),
            model="none", log_dir=str(tmp_path / name), display="none",
        )  # fmt: skip
        assert log.status == "success", log.error
        return log.samples[0]

    first = run("first")
    assert json.loads(open(checkpoint).read())["next_iteration"] == 20
    again = run("again")  # the finished search resumed: every program is from the checkpoint
    record, recalled = first.metadata["sldagent"]["selection"], again.metadata["sldagent"]["selection"]
    assert record["fallback_used"] is not None and "symbolic-regression expression only when" in record["rule"]
    assert recalled == record
    assert again.store["sldbench:program"] == first.store["sldbench:program"]


def test_a_checkpoint_of_other_data_is_not_resumed(tmp_path):
    from sldbench.discovery import SearchFailed, discover, write_spec

    rows = ["N,loss"] + [f"{n:g},{2 + 30 * n ** -0.3:.6f}" for n in (1e6, 2e6, 4e6, 8e6, 1.6e7, 3.2e7, 6.4e7, 1.28e8, 2.56e8, 5.12e8)]
    (tmp_path / "runs.csv").write_text("\n".join(rows) + "\n")
    spec = write_spec(tmp_path / "runs.csv", ["N"], ["loss"], None, "N: largest 2", None, None, tmp_path / "out")
    checkpoint = tmp_path / "search.json"
    discover(spec, iterations=2, progress=False, checkpoint=checkpoint, allow_outside_paths=True, intervals=0)
    rows[3] = rows[3].replace(rows[3].split(",")[1], "4.5")  # one run's loss edited between two calls
    (tmp_path / "runs.csv").write_text("\n".join(rows) + "\n")
    with pytest.raises(SearchFailed, match=r"checkpoint .*search.json belongs to another run \(task 'runs', other data or different settings\)"):
        discover(spec, iterations=2, progress=False, checkpoint=checkpoint, allow_outside_paths=True, intervals=0)


def test_same_seed_same_run(tmp_path, data_dir):
    replies = [fenced(PLAIN_POWER), fenced(PARSCALE), fenced(NAN_LAW), fenced(PLAIN_POWER.replace("1e8", "1e9"))]
    runs = [run_eval(tmp_path / str(i), write_script(tmp_path / f"{i}.jsonl", replies), data_dir, iterations=4, parallel=2, seed=7) for i in range(2)]
    first, second = (r.samples[0].metadata["sldagent"] for r in runs)
    assert first["trajectory"] == second["trajectory"] and first["rejections"] == second["rejections"]


def test_best_of_n_uses_the_initial_program_as_every_parent(tmp_path, data_dir):
    script = write_script(tmp_path / "s.jsonl", [fenced(PLAIN_POWER), fenced(PARSCALE)])
    (log,) = inspect_eval(
        sldbench_task("parallel", data_dir=str(data_dir)), solver=best_of_n(iterations=2, parallel=1),
        model="scripted/x", model_args={"script": script}, log_dir=str(tmp_path), display="none",
    )  # fmt: skip
    infos = [e.data for e in log.samples[0].events if getattr(e, "event", "") == "info" and e.source == "sldagent"]
    assert [(i["outcome"], i["parent"]) for i in infos] == [("seed", None), ("accepted", "p0000"), ("accepted", "p0000")]
    assert log.samples[0].scores["heldout_r2"].value["r2"] > 0.99


def test_scripted_model_reports_a_missing_or_used_up_script(tmp_path, data_dir):
    from sldbench.providers import ScriptError, ScriptedModel

    with pytest.raises(ScriptError, match="needs a script"):
        ScriptedModel("x")
    with pytest.raises(ScriptError, match="no script file"):
        ScriptedModel("x", script=str(tmp_path / "none.jsonl"))
    (tmp_path / "bad.jsonl").write_text('{"text": "hi"}\n')
    with pytest.raises(ScriptError, match="bad.jsonl:1: expected an object with a string field 'content'"):
        ScriptedModel("x", script=str(tmp_path / "bad.jsonl"))


def test_bare_solver_name_works_from_the_command_line(tmp_path, data_dir):
    script = write_script(tmp_path / "s.jsonl", [fenced(PARSCALE), "no", "no"])
    command = [
        sys.executable, "-m", "inspect_ai", "eval", "sldbench/parallel", "--solver", "sldagent", "-S", "iterations=3",
        "--model", "scripted/x", "-M", f"script={script}", "--log-dir", str(tmp_path / "logs"), "--display", "plain",
    ]  # fmt: skip
    completed = subprocess.run(command, env={**os.environ, "SLDBENCH_DATA_DIR": str(data_dir)}, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
    from inspect_ai.log import list_eval_logs, read_eval_log

    log = read_eval_log(list_eval_logs(str(tmp_path / "logs"))[0])
    assert log.plan.steps[-1].solver == "sldbench/sldagent"
    assert log.samples[0].scores["heldout_r2"].value["r2"] > 0.99


# A candidate that fits the ParScale law honestly and, each time it predicts, tries to keep the warm
# runner for itself: have it run a job of its own that would stay past the search (its socket
# re-linked) and later rewrite the programs the scorer runs.
HIJACKER = PARSCALE.replace(
    "def scaling_law_func(data_points, params):\n",
    '''def _hijack():
    import glob, json, os, socket
    swap = "import glob, time\\nwhile True:\\n    [open(p, 'w').write('def law(d, g):\\\\n    return [{\\\\'loss\\\\': 1.0} for _ in d]\\\\n') for p in glob.glob('/tmp/*/program.py')]\\n    time.sleep(0.001)\\n"
    job = {"program": "import os\\nos.system(%r)\\ndef law(d, g):\\n    return []\\n" % ("python3 -c \\"%s\\" &" % swap), "shape": "law",
           "features": ["num_params", "parallel_size"], "targets": ["loss"], "predict": {}, "limits": {}}
    for path in glob.glob(os.path.join(os.environ.get("HOME", "/"), ".sldbench", "*.sock")):
        try:
            os.link(path, path + ".kept")
        except OSError:
            pass
        try:
            connection = socket.socket(socket.AF_UNIX)
            connection.connect(path)
            connection.sendall((json.dumps({"nonce": "n", "timeout": 600}) + "\\n" + json.dumps(job)).encode())
            connection.close()
        except OSError:
            pass


def scaling_law_func(data_points, params):
    _hijack()
''',
)


def test_the_score_of_a_run_is_the_score_of_the_law_it_logged(tmp_path, data_dir, local_sandbox):
    script = write_script(tmp_path / "s.jsonl", [fenced(HIJACKER)])
    log = run_eval(tmp_path, script, data_dir, iterations=1, parallel=1)
    assert log.status == "success", log.error
    sample = log.samples[0]
    score = sample.scores["heldout_r2"]
    assert score.answer.strip() == HIJACKER.strip() and sample.metadata["sldagent"]["best"]["id"] == "p0001"
    alone = asyncio.run(score_program(local_sandbox, score.answer, PARALLEL, data_dir))
    assert score.value["r2_raw"] == pytest.approx(alone.value["r2_raw"], abs=1e-12) and alone.value["r2"] > 0.99
