"""The report: the paper's tables from the published per-run CSV, and tables from real Inspect logs."""

import csv
import io
import math
import re
import textwrap

import pandas as pd
import pytest
from inspect_ai import eval as inspect_eval
from inspect_ai import task_with
from inspect_ai.log import read_eval_log

from sldbench.cli import main
from sldbench.report import PUBLISHED_DIR, ReportError, build_report, build_table1, load_runs
from sldbench.report.render import TABLE1_CSV_HEADER, render_text, write_report
from sldbench.report.runs import agent_label, normalise_model, runs_from_csv
from sldbench.report.tables import TASK_COLUMNS, load_published
from sldbench.solvers import file, human
from sldbench.specs import TASKS
from sldbench.tasks import sldbench_task

# The paper's row labels, as (agent, model) rows of the report.
TABLE1_ROWS = {
    "Aider": ("aider", "gpt-5"), "OpenHands": ("openhands", "gpt-5"), "Codex": ("codex", "gpt-5"),
    "Goose": ("goose", "gpt-5"), "Human": ("human", "none"), "SLDAgent": ("sldagent", "gpt-5"),
}  # fmt: skip
TABLE2_MODELS = {
    "Gemini-2.5-Flash": "gemini-2.5-flash", "Gemini-3-Pro": "gemini-3-pro-preview",
    "Claude-Haiku-4.5": "claude-haiku-4-5", "Claude-Sonnet-4.5": "claude-sonnet-4-5",
    "o4-mini": "o4-mini", "GPT-5": "gpt-5",
}  # fmt: skip
NATIVE = {"gemini": "gemini-cli", "claude": "claude-code", "o4": "codex", "gpt": "codex"}


def paper_tables(path):
    """Table 1 and Table 2 of PAPER_TABLES.md as {label: [numbers]}."""
    tables, current = {}, None
    for line in path.read_text().splitlines():
        heading = re.match(r"## Table (\d)", line)
        if heading:
            current = tables.setdefault(int(heading.group(1)), {})
        elif current is not None and line.startswith("| ") and not line.startswith("| method") and not line.startswith("| model"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            current[cells[0]] = [float(c) for c in cells[1:]]
    return tables[1], tables[2]


@pytest.fixture
def published_runs_csv(leaderboard_csv):
    return leaderboard_csv


@pytest.fixture
def paper(paper_tables_md):
    return paper_tables(paper_tables_md)


def test_published_runs_reproduce_every_number_of_the_paper_tables(published_runs_csv, paper, capsys):
    assert main(["report", "--runs", "5", "--format", "csv", str(published_runs_csv)]) == 0
    output = capsys.readouterr().out
    assert output.splitlines()[0] == "agent,model,parallel,vocab,sft,domain_mix,moe,d_constrain,lr_bsz,u_shape,avg"
    table = {(row["agent"], row["model"]): row for row in csv.DictReader(io.StringIO(output))}
    assert len(table) == 27  # every (agent, model) of the leaderboard
    table1, table2 = paper
    assert set(table1) == set(TABLE1_ROWS)
    for label, numbers in table1.items():
        row = table[TABLE1_ROWS[label]]
        for column, published in zip([*TASK_COLUMNS, "avg"], numbers, strict=True):
            assert round(float(row[column]), 3) == published, (label, column)
    assert set(table2) == set(TABLE2_MODELS)
    for label, (native_cli, sldagent, gain) in table2.items():
        model = TABLE2_MODELS[label]
        native = next(agent for prefix, agent in NATIVE.items() if model.startswith(prefix))
        assert round(float(table[(native, model)]["avg"]), 3) == native_cli, label
        assert round(float(table[("sldagent", model)]["avg"]), 3) == sldagent, label
    # Table 2 itself, gain included (the paper's gain is the difference of the printed averages).
    report = build_report(load_runs([published_runs_csv]), n_runs=5)
    for label, numbers in table2.items():
        row = report.table2.loc[TABLE2_MODELS[label]]
        assert [round(row[c], 3) for c in ("native_cli", "sldagent", "gain")] == numbers, label


def test_results_paper_holds_the_published_tables(paper):
    table1, table2 = paper
    published1, published2 = load_published(PUBLISHED_DIR)
    for label, numbers in table1.items():
        assert published1.loc[TABLE1_ROWS[label]].tolist() == numbers, label
    for label, numbers in table2.items():
        assert published2.loc[TABLE2_MODELS[label], ["native_cli", "sldagent", "gain"]].tolist() == numbers, label


def test_missing_runs_count_minus_one_but_an_expert_law_is_one_deterministic_run(tmp_path):
    path = tmp_path / "runs.csv"
    path.write_text(
        "task,agent,model,run_index,reward_r2\n"
        "moe,codex,gpt-5,1,0.5\nmoe,codex,gpt-5,2,0.7\n"
        "moe_scaling_law,human,human,1,0.703\n"
        "parallel,codex,gpt-5,1,-3.5\n"  # clipped to -1
    )
    runs = runs_from_csv(path)
    padded = build_table1(runs, n_runs=5).values
    assert padded.loc[("codex", "gpt-5"), "moe"] == pytest.approx((0.5 + 0.7 - 3) / 5)
    assert padded.loc[("codex", "gpt-5"), "parallel"] == -1.0
    assert padded.loc[("codex", "gpt-5"), "sft"] == -1.0  # no run at all: five missing runs
    assert padded.loc[("human", "none"), "moe"] == pytest.approx(0.703)
    assert padded.loc[("codex", "gpt-5"), "avg"] == pytest.approx(((0.5 + 0.7 - 3) / 5 - 7) / 8)
    plain = build_table1(runs).values  # without --runs: the runs present, no padding, no avg
    assert plain.loc[("codex", "gpt-5"), "moe"] == pytest.approx(0.6)
    assert math.isnan(plain.loc[("codex", "gpt-5"), "sft"]) and math.isnan(plain.loc[("codex", "gpt-5"), "avg"])


@pytest.mark.parametrize("fmt", ["md", "latex", "html"])
def test_a_report_shows_control_characters_as_escapes_in_every_format(tmp_path, capsys, fmt):
    # a terminal would act on them, LaTeX stops at them, a bidirectional override reorders what a page shows
    (tmp_path / "runs.csv").write_text("task,agent,model,run_index,reward_r2\nmoe,evil\x1b[2J\x1b]0;owned\x07,gpt-5\u202e,1,0.5\n")
    assert main(["report", str(tmp_path / "runs.csv"), "--format", fmt, "--out", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    (written,) = (tmp_path / "out").iterdir()
    backslash = {"md": "\\\\", "latex": "\\textbackslash{}", "html": "\\"}[fmt]
    for text in (printed, written.read_text()):  # the terminal's copy and the file's
        assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e]", text)
        assert f"evil{backslash}x1b" in text and f"owned{backslash}x07" in text and f"gpt-5{backslash}u202e" in text  # shown, as escapes


@pytest.mark.parametrize(
    "content, message",
    [
        ("task,agent,model,run\nmoe,a,b,1\n", r"missing column\(s\) run_index, reward_r2; expected header task,agent,model,run_index,reward_r2"),
        ("task,agent,model,run_index,reward_r2\nmoon,a,b,1,0.5\n", r"column task has unknown task\(s\) 'moon'"),
        ("task,agent,model,run_index,reward_r2\nmoe,a,b,1,high\n", r"column reward_r2 has non-numeric value 'high' \(line 2\)"),
    ],
)
def test_a_bad_runs_csv_is_named_with_the_column_and_the_expected_header(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(ReportError, match=re.escape(str(path)) + ".*" + message):
        load_runs([path])


def test_a_path_that_is_neither_a_log_nor_a_csv_is_named(tmp_path, capsys):
    stray = tmp_path / "notes.txt"
    stray.write_text("hello")
    with pytest.raises(ReportError, match=re.escape(str(stray)) + " is neither an Inspect eval log"):
        load_runs([stray])
    fake_log = tmp_path / "fake.json"
    fake_log.write_text('{"hello": 1}')
    with pytest.raises(ReportError, match=re.escape(str(fake_log)) + " is not an Inspect eval log"):
        load_runs([fake_log])
    assert main(["report", str(tmp_path / "missing")]) == 2
    assert "missing does not exist" in capsys.readouterr().err


def test_labels_follow_the_published_leaderboard():
    assert agent_label("sldbench/human", {"constants": "/data/human_laws"}) == "human"
    assert agent_label("sldbench/human", {}) == "human-refit"
    assert agent_label("sldbench/sldagent", {}) == "sldagent"
    assert agent_label("sldbench/claude_code", {}) == "claude-code"
    # an agent run on this machine by explicit opt-in is a row of its own, never mixed with isolated runs
    assert agent_label("sldbench/claude_code", {"unisolated": True, "timeout": 60}) == "claude-code (unisolated)"
    assert agent_label("sldbench/codex", {"unisolated": False}) == "codex"
    assert agent_label("sldbench/file", {"path": "/x/my_law.py"}) == "file:my_law"
    assert agent_label("my_pkg/solver", {}) == "my_pkg/solver"
    assert normalise_model("openai/gpt-5") == "gpt-5"
    assert normalise_model("none/none") == "none" == normalise_model("human")


def test_every_agent_adapter_is_labelled_as_the_published_leaderboard_names_it(published_runs_csv):
    from sldbench import agents

    published = set(runs_from_csv(published_runs_csv)["agent"])
    labels = {agent_label(f"sldbench/{name}", {}) for name in agents.__all__}
    assert labels <= published, labels - published
    assert {"mini-swe-agent", "opencode", "terminus-2"} <= labels


def test_a_new_run_of_a_published_agent_joins_its_published_row(published_runs_csv):
    from sldbench.report import build_report

    runs = runs_from_csv(published_runs_csv)
    new = {**runs.iloc[0].to_dict(), "task": "moe", "agent": agent_label("sldbench/opencode", {}), "model": normalise_model("openai/gpt-5"),
           "run_index": 6, "r2": 0.5, "origin": "log"}  # fmt: skip
    table = build_report(pd.concat([runs, pd.DataFrame([new])], ignore_index=True)).table1
    published = build_report(runs).table1
    assert list(table.values.index) == list(published.values.index)  # the same rows, in the same places
    assert table.runs.loc[("opencode", "gpt-5"), "moe"] == published.runs.loc[("opencode", "gpt-5"), "moe"] + 1


# --- tables from real Inspect logs ---------------------------------------------------------

GOOD_PARALLEL_LAW = '''
import math
CONSTANTS = {"pile": (135335300.0, 0.344689, 0.223649, 1.37668), "stack": (18315640.0, 0.419331, 0.132752, 0.532023)}

def law(input_data, group):
    A, k, alpha, E = CONSTANTS[group]
    return [{"loss": (A / (p["num_params"] * (k * math.log(p["parallel_size"]) + 1))) ** alpha + E} for p in input_data]
'''

# A fit-and-predict law for moe whose fit depends on the run (a random exponent), so epochs differ
# (held-out R^2 between about -0.1 and 0.03).
NOISY_MOE_LAW = '''
import numpy as np

def scaling_law_func(data_points, params):
    X = np.asarray(data_points, dtype=float)
    a, b, d, c = params
    return a + b * (X[:, 1] / 1e9) ** (-c) + d * np.log(X[:, 0])

def fit_scaling_law(data_points, loss_values):
    X = np.asarray(data_points, dtype=float)
    y = np.asarray(loss_values, dtype=float).ravel()
    c = np.random.default_rng().uniform(0.08, 0.25)
    design = np.column_stack([np.ones(len(y)), (X[:, 1] / 1e9) ** (-c), np.log(X[:, 0])])
    a, b, d = np.linalg.lstsq(design, y, rcond=None)[0]
    return np.array([a, b, d, c])
'''

BROKEN_LAW = "def law(input_data, group):\n    raise RuntimeError('no law here')\n"


@pytest.fixture(scope="module")
def logged(tmp_path_factory):
    """Real eval logs: expert laws (both variants), hand-written law files over several epochs."""
    from conftest import DATA_DIR as data_dir
    from conftest import HUMAN_DIR as human_dir

    root = tmp_path_factory.mktemp("report-logs")
    laws = root / "laws"
    laws.mkdir()
    for name, text in (("parscale", GOOD_PARALLEL_LAW), ("noisy_moe", NOISY_MOE_LAW), ("broken", BROKEN_LAW)):
        (laws / f"{name}.py").write_text(textwrap.dedent(text))
    logs = root / "logs"
    data = str(data_dir)
    runs = [
        ([sldbench_task(n, data_dir=data) for n in ("parallel", "moe", "sft")], human(constants=str(human_dir)), 1),
        ([sldbench_task(n, data_dir=data) for n in ("parallel", "moe")], human(), 1),
        ([sldbench_task("parallel", data_dir=data)], file(path=str(laws / "parscale.py")), 2),
        ([sldbench_task("moe", data_dir=data)], file(path=str(laws / "noisy_moe.py")), 3),
        ([sldbench_task("parallel", data_dir=data)], file(path=str(laws / "broken.py")), 2),
    ]
    for tasks, solver, epochs in runs:
        for log in inspect_eval(tasks, solver=solver, model="none", log_dir=str(logs), display="none", epochs=epochs):
            assert log.status == "success", log.error
    # A task with its solver built in: the log's eval.solver is empty, the plan names the solver.
    # This one is written as a .json log, the other log format.
    builtin = task_with(sldbench_task("u_shape", data_dir=data), solver=human(constants=str(human_dir)))
    (log,) = inspect_eval(builtin, model="none", log_dir=str(logs), display="none", log_format="json")
    assert log.location.endswith(".json")
    assert log.status == "success" and not log.eval.solver
    return logs


def per_sample_scores(log_dir):
    """{(solver, constants?, law path, task): [r2 of each sample epoch]} read straight from the logs."""
    from inspect_ai.log import list_eval_logs

    scores = {}
    for info in list_eval_logs(str(log_dir)):
        log = read_eval_log(info)
        step = log.plan.steps[-1]
        key = (step.solver, bool(step.params.get("constants")), step.params.get("path"))
        for sample in log.samples:
            scores.setdefault((*key, sample.metadata["task"]), []).append(sample.scores["heldout_r2"].value["r2"])
    return scores


def test_table_cells_equal_the_per_sample_scores_of_the_logs(logged):
    report = build_report(load_runs([logged]))
    values = report.table1.values
    scores = per_sample_scores(logged)
    labels = {
        ("sldbench/human", True, None): ("human", "none"),
        ("sldbench/human", False, None): ("human-refit", "none"),
    }
    checked = 0
    for (solver, constants, path, task), r2 in scores.items():
        row = labels.get((solver, constants, path)) or (f"file:{path.rsplit('/', 1)[1][:-3]}", "none")
        assert values.loc[row, task] == pytest.approx(sum(r2) / len(r2), abs=1e-12), (row, task)
        assert report.table1.runs.loc[row, task] == len(r2)
        checked += 1
    assert checked == 9
    # the u_shape run comes from the task with the solver built in (found through the plan)
    assert report.table1.runs.loc[("human", "none"), "u_shape"] == 1
    assert values.loc[("human", "none"), "u_shape"] == -1.0
    assert values.loc[("file:broken", "none"), "parallel"] == -1.0
    noisy = scores[("sldbench/file", False, str(logged.parent / "laws" / "noisy_moe.py"), "moe")]
    assert len(noisy) == 3 and len(set(noisy)) == 3 and min(noisy) > -1  # three distinct runs were averaged
    assert values.loc[("file:noisy_moe", "none"), "moe"] == pytest.approx(sum(noisy) / 3)
    assert report.table1.stderr.loc[("file:noisy_moe", "none"), "moe"] == pytest.approx(pd.Series(noisy).std(ddof=1) / math.sqrt(3))


def test_runs_pad_the_logged_rows_and_the_human_row_is_the_reference(logged):
    report = build_report(load_runs([logged]), n_runs=3)
    values = report.table1.values
    parscale = values.loc[("file:parscale", "none")]
    assert parscale["parallel"] == pytest.approx(0.9998925970125949 * 2 / 3 - 1 / 3)
    assert parscale["moe"] == -1.0  # three missing runs
    human_values = values.loc[("human", "none")]
    assert human_values["parallel"] == pytest.approx(0.9998925970125949)  # one run, not padded
    assert report.human_row == ("human", "none")
    versus = report.versus_human
    difference = versus.loc[("file:noisy_moe", "none")]
    assert difference["moe"] == pytest.approx(values.loc[("file:noisy_moe", "none"), "moe"] - human_values["moe"])
    assert difference[["wins", "ties", "losses"]].sum() == 8
    # broken scores -1 everywhere; the human row has runs of parallel, moe, sft, u_shape only (-1 elsewhere)
    assert versus.loc[("file:broken", "none"), ["wins", "ties", "losses"]].tolist() == [0, 5, 3]


def test_usage_and_wall_time_come_from_the_logs(logged, published_runs_csv):
    report = build_report(load_runs([logged, published_runs_csv]), n_runs=5)
    usage = report.usage
    human_row = usage.loc[("human", "none")]
    assert human_row["runs"] == 4 + 8  # four logged samples, eight published runs
    assert human_row["wall_seconds"] > 0 and human_row["total_tokens"] == 0
    assert math.isnan(usage.loc[("aider", "gpt-5"), "wall_seconds"])  # a CSV records no time


def test_report_formats_and_published_side_by_side(logged, published_runs_csv, tmp_path, capsys):
    assert main(["report", str(logged), str(published_runs_csv), "--runs", "5", "--published", "--out", str(tmp_path / "md")]) == 0
    markdown = capsys.readouterr().out
    for title in ("Table 1", "Table 2", "Against the human laws", "Usage and time", "Table 1: published vs this run"):
        assert f"## {title}" in markdown
    assert "**0.748**" in markdown  # SLDAgent with GPT-5 has the best average
    assert (tmp_path / "md" / "report.md").read_text() == markdown
    assert main(["report", str(published_runs_csv), "--runs", "5", "--format", "latex"]) == 0
    latex = capsys.readouterr().out
    assert "\\textbf{0.748}" in latex and "domain\\_mix" in latex
    assert main(["report", str(published_runs_csv), "--runs", "5", "--format", "csv", "--out", str(tmp_path / "csv")]) == 0
    assert capsys.readouterr().out.startswith(",".join(TABLE1_CSV_HEADER) + "\n")
    written = sorted(p.name for p in (tmp_path / "csv").iterdir())
    assert {"table1.csv", "table2.csv", "versus_human.csv", "usage.csv", "table1_stderr.csv", "runs.csv"} <= set(written)
    # The merged runs file reads back as a per-run CSV with the same table.
    again = build_report(load_runs([tmp_path / "csv" / "runs.csv"]), n_runs=5)
    first = build_report(load_runs([published_runs_csv]), n_runs=5)
    pd.testing.assert_frame_equal(again.table1.values, first.table1.values, atol=1e-6)


def test_published_comparison_lines_up_the_same_rows(published_runs_csv, tmp_path):
    report = build_report(load_runs([published_runs_csv]), n_runs=5, published=PUBLISHED_DIR)
    side = report.published_table1
    assert set(side.index.get_level_values("source")) == {"published", "this run", "difference"}
    assert side.xs("difference", level="source").abs().max().max() < 5e-4
    html = render_text(report, "html")
    assert "<strong>0.748</strong>" in html and "published vs this run" in html
    assert html.count("<table") == 6 and html.count("</table>") == 6  # tables 1, 2, human, usage, two comparisons
    assert "<td>sldagent" in html.replace(" ", "") or "sldagent</td>" in html
    assert write_report(report, tmp_path, "html")[0].read_text() == html


def test_the_bare_task_names_all_have_columns():
    assert TASK_COLUMNS == list(TASKS) == ["parallel", "vocab", "sft", "domain_mix", "moe", "d_constrain", "lr_bsz", "u_shape"]


# --- a scripted SLDAgent run ------------------------------------------------------------------

from test_sldagent import PARSCALE as PARSCALE_PROGRAM  # the SLDAgent tests' good proposal


def test_a_scripted_sldagent_run_is_an_sldagent_row_with_its_scores_and_tokens(tmp_path, data_dir):
    import json

    from inspect_ai._util.registry import registry_lookup

    sldagent = registry_lookup("solver", "sldbench/sldagent")
    assert sldagent is not None, "the sldbench/sldagent solver is not registered"
    script = tmp_path / "replies.jsonl"
    replies = [f"Here is the program.\n```python\n{PARSCALE_PROGRAM}```\n", "no code this time"]
    script.write_text("".join(json.dumps({"content": reply}) + "\n" for reply in replies))
    logs = inspect_eval(
        sldbench_task("parallel", data_dir=str(data_dir)),
        solver=sldagent(iterations=2, parallel=1),
        model="scripted/test",
        model_args={"script": str(script)},
        log_dir=str(tmp_path / "logs"),
        display="none",
    )
    assert logs[0].status == "success", logs[0].error
    sample = read_eval_log(logs[0].location).samples[0]
    report = build_report(load_runs([tmp_path / "logs"]))
    row = ("sldagent", "test")
    assert list(report.table1.values.index) == [row]
    assert report.table1.values.loc[row, "parallel"] == sample.scores["heldout_r2"].value["r2"]
    assert report.table1.values.loc[row, "parallel"] > 0.99  # the ParScale law won the search
    usage = report.usage.loc[row]
    assert usage["total_tokens"] == sum(u.total_tokens for u in sample.model_usage.values()) > 0
    assert usage["wall_seconds"] == pytest.approx(sample.total_time)


def test_a_run_that_ended_without_a_score_is_listed_not_counted(tmp_path, data_dir, capsys):
    """A sample the harness failed on has no law that was scored: no table counts it as -1 (a law that fails
    is scored -1, as the broken law of `logged` is), the report lists it with its error, escaped, and a
    folder of nothing else is named as such."""
    from inspect_ai.solver import solver

    from sldbench.report.render import csv_files

    @solver
    def unreachable():  # the way a harness failure reaches a log: the sample errors, no score
        async def solve(state, generate):
            raise RuntimeError("the sandbox could not start: <image> | not found")

        return solve

    (tmp_path / "law.py").write_text(textwrap.dedent(GOOD_PARALLEL_LAW))
    (good,) = inspect_eval(sldbench_task("parallel", data_dir=str(data_dir)), solver=file(path=str(tmp_path / "law.py")), model="none", log_dir=str(tmp_path / "good"), display="none")
    (failed,) = inspect_eval(sldbench_task("parallel", data_dir=str(data_dir)), solver=unreachable(), model="none", log_dir=str(tmp_path / "failed"), display="none")
    assert good.status == "success" and failed.status == "error"
    runs = load_runs([good.location, failed.location])
    assert len(runs) == 2 and runs["r2"].isna().sum() == 1
    report = build_report(runs, n_runs=1)
    assert list(report.table1.values.index) == [("file:law", "none")]  # the failed row has no score anywhere
    assert report.table1.values.loc[("file:law", "none"), "parallel"] > 0.99
    assert list(report.left_out["agent"]) == ["unreachable"] and "the sandbox could not start" in report.left_out["error"].iloc[0]
    markdown = render_text(report, "md")
    section = markdown.split("## Runs left out: no score")[1].split("## ")[0]
    assert "No law of theirs was scored, so no table counts them" in section
    assert "the sandbox could not start: &lt;image&gt; \\| not found" in section and "<image>" not in markdown
    files = csv_files(report)
    assert "unreachable" not in files["runs.csv"] and "the sandbox could not start" in files["left_out.csv"]
    # a folder of runs without a score: said, not a table of nothing
    assert main(["report", str(tmp_path / "failed")]) == 2
    message = capsys.readouterr().err
    assert message.startswith(f"sldbench report: no scored runs in {tmp_path / 'failed'}: 1 run ended without a score (interrupted, or the harness failed)")
    assert message.rstrip().endswith(": RuntimeError('the sandbox could not start: <image> | not found')") and message.count("\n") == 1


def test_a_task_of_your_own_beside_the_published_rows(published_runs_csv, tmp_path):
    """Published rows never ran your task: their cell is empty, not -1; the reference there is the spec's law;
    two logs of one entry are two runs, and its runs and its average agree."""
    import shutil
    from pathlib import Path

    from sldbench.report.board import board_data
    from sldbench.specs import load_spec_file
    from sldbench.tasks import custom

    examples = Path(__file__).parents[1] / "examples" / "synthetic"
    for name in ("runs.csv", "task.yaml", "chinchilla_law.py"):
        shutil.copy(examples / name, tmp_path / name)
    spec = load_spec_file(tmp_path / "task.yaml")
    for folder, body in (("good", (examples / "chinchilla_law.py").read_text()), ("broken", "def law(input_data, group):\n    raise RuntimeError('no law')\n")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "law.py").write_text(body)
    logs = []
    for solver in (human(), file(path=str(tmp_path / "good" / "law.py")), file(path=str(tmp_path / "broken" / "law.py"))):
        (log,) = inspect_eval(custom(str(tmp_path / "task.yaml")), solver=solver, model="none", log_dir=str(tmp_path / "logs"), display="none")
        logs.append(log.location)
    report = build_report(load_runs([published_runs_csv, *logs]), n_runs=5)
    values, runs = report.table1.values, report.table1.runs
    good = values.loc[("human-refit", "none"), spec.name]
    assert good > 0.99
    published = [key for key in values.index if key[0] not in ("human-refit", "file:law")]
    assert values.loc[published, spec.name].isna().all()  # never ran it: empty, not -1
    assert runs.loc[("file:law", "none"), spec.name] == 2  # two logs, two runs: one scored, one failed (-1), three missing (-1)
    logged = load_runs(logs)
    scored = logged[(logged["agent"] == "file:law")]["r2"].tolist()
    assert sorted(scored)[0] == -1.0 and values.loc[("file:law", "none"), spec.name] == pytest.approx((sum(scored) - 3) / 5)
    # against the human laws: the custom column compares with the spec's law; nobody ties on a task they never ran
    versus = report.versus_human
    assert versus.loc[("file:law", "none"), spec.name] == pytest.approx(values.loc[("file:law", "none"), spec.name] - good)
    assert math.isnan(versus.loc[("human-refit", "none"), spec.name])
    for key in [key for key in published if key in versus.index]:  # every row but the reference (human)
        assert versus.loc[key, "ties"] + versus.loc[key, "wins"] + versus.loc[key, "losses"] == versus.loc[key, TASK_COLUMNS].notna().sum()
    # the leaderboard: the spec's law is the expert side of its task, not a discovered entry
    data = board_data(report, {})
    row = next(r for r in data["versus_human"] if r["task"] == spec.name)
    assert row["human"]["agent"] == "human-refit" and row["discovered"]["agent"] == "file:law"
    entry = next(e for e in data["entries"] if e["agent"] == "file:law")
    assert entry["runs"] == 2 and entry["cells"][spec.name]["runs"] == 2
    assert all(e["cells"][spec.name]["mean"] is None for e in data["entries"] if (e["agent"], e["model"]) in published)
