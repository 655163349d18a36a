"""The leaderboard pages: tables, bar charts and best-law plots, self-contained, and rendered by Chromium."""

import base64
import contextlib
import dataclasses
import io
import re
import shutil
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
from inspect_ai import eval as inspect_eval

from sldbench.cli import main
from sldbench.report import build_report, load_runs
from sldbench.report.leaderboard import best_runs, write_leaderboard
from sldbench.report.plots import MAX_PANELS, MAX_SERIES, panel_groups, plot_axis, plot_series
from sldbench.solvers import human
from sldbench.specs import TASKS, TaskSpec
from sldbench.tasks import sldbench_task

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def expert_logs(tmp_path_factory):
    """Logs of the expert laws with the published constants on all eight tasks."""
    from conftest import DATA_DIR, HUMAN_DIR

    logs = tmp_path_factory.mktemp("leaderboard-logs")
    tasks = [sldbench_task(name, data_dir=str(DATA_DIR)) for name in TASKS]
    for log in inspect_eval(tasks, solver=human(constants=str(HUMAN_DIR)), model="none", log_dir=str(logs), display="none"):
        assert log.status == "success", log.error
    return logs


@pytest.fixture(scope="module")
def leaderboard(expert_logs, tmp_path_factory):
    from conftest import LEADERBOARD_CSV

    out = tmp_path_factory.mktemp("leaderboard")
    assert main(["leaderboard", str(expert_logs), str(LEADERBOARD_CSV), "--runs", "5", "--published", "--out", str(out)]) == 0
    return out


def image_colours(png: bytes) -> int:
    from matplotlib.image import imread

    pixels = imread(io.BytesIO(png), format="png")
    return len(np.unique((pixels[..., :3] * 255).astype(np.uint8).reshape(-1, 3), axis=0))


def test_pages_hold_both_tables_a_bar_chart_and_a_law_plot_per_task(leaderboard):
    html = (leaderboard / "index.html").read_text()
    markdown = (leaderboard / "leaderboard.md").read_text()
    for title in ("Table 1: held-out R² per agent and model", "Table 2: native CLI agent vs SLDAgent, same model", "Against the human laws"):
        assert title in html and f"## {title}" in markdown
    assert html.count("<table") >= 4
    pngs = {p.name for p in leaderboard.glob("*.png")}
    assert pngs == {"scores_by_task.png", *(f"law_{task}.png" for task in TASKS)}
    for name in pngs:
        png = (leaderboard / name).read_bytes()
        assert png.startswith(PNG_SIGNATURE) and image_colours(png) > 50, name
        assert f"]({name})" in markdown
    # Self-contained: every image is inlined, nothing refers to another file or host.
    sources = re.findall(r"<img[^>]*\ssrc='([^']*)'", html)
    assert len(sources) == len(pngs)
    for source in sources:
        assert source.startswith("data:image/png;base64,")
        assert base64.b64decode(source.split(",", 1)[1]).startswith(PNG_SIGNATURE)
    assert not re.search(r"(src|href)=['\"]?(https?:|//|[\w./-]+\.(png|css|js))", html)
    assert not re.search(r"<link[^>]*href=['\"](?!data:)", html) and not re.search(r"<script[^>]*\ssrc=", html)  # all inline


def test_each_task_plots_its_best_logged_run_and_extrapolation_curves(expert_logs, data_dir):
    report = build_report(load_runs([expert_logs]))
    best = best_runs(report)
    assert set(best) == set(TASKS)
    assert all(run["agent"] == "human" for run in best.values())
    from sldbench.data import load_split

    spec = TASKS["parallel"]
    train, test = load_split(spec, "train", data_dir).frame, load_split(spec, "test", data_dir).frame
    series = plot_series(spec, train, test)
    # one panel per corpus, each with its 4 parallel sizes, the held-out series (P = 8) first
    assert panel_groups(series) == (["pile", "stack"], [])
    assert [(s.group, s.fixed["parallel_size"]) for s in series if s.fixed["parallel_size"] == 8.0] == [("pile", 8.0), ("stack", 8.0)]
    assert [s.group for s in series] == ["pile"] * 4 + ["stack"] * 4 and {s.of for s in series} == {4}
    assert series[0].fixed["parallel_size"] == 8.0 and series[4].fixed["parallel_size"] == 8.0
    assert len(test) == sum(len(s.test) for s in series) and len(train) == sum(len(s.train) for s in series)
    for s in series:
        assert s.grid[:, 0].min() == min(train["num_params"].min(), test["num_params"].min())
        assert s.grid[:, 0].max() == max(train["num_params"].max(), test["num_params"].max())


def test_a_law_plot_draws_every_group_or_names_those_it_leaves_out(data_dir):
    from sldbench.data import load_split

    spec = TASKS["sft"]  # 42 (model, dataset) groups, one series each
    train, test = load_split(spec, "train", data_dir).frame, load_split(spec, "test", data_dir).frame
    series = plot_series(spec, train, test)
    shown, left_out = panel_groups(series)
    assert shown == sorted(set(train["group"])) and len(shown) == 42 and left_out == []
    spec = TASKS["lr_bsz"]  # one group, 180 series: the panel says it shows MAX_SERIES of them
    train, test = load_split(spec, "train", data_dir).frame, load_split(spec, "test", data_dir).frame
    series = plot_series(spec, train, test)
    assert len(series) == MAX_SERIES and {s.of for s in series} == {180} and all(len(s.test) for s in series)
    # more groups than panels: the plot names the groups it leaves out
    spec = TaskSpec("many", "many", ("x",), ("y",), None, "many groups", extrapolates=("x",))
    groups = [f"g{i:02d}" for i in range(MAX_PANELS + 3)]
    frame = pd.DataFrame([{"group": g, "x": x, "y": 1.0 / x} for g in groups for x in (1.0, 10.0, 100.0)])
    shown, left_out = panel_groups(plot_series(spec, frame[frame["x"] < 100], frame[frame["x"] == 100]))
    assert shown == groups[:MAX_PANELS] and left_out == groups[MAX_PANELS:]


def test_a_task_of_your_own_is_plotted_along_the_axis_it_extrapolates_along():
    # train and test files, no holdout column: the x axis is the extrapolation axis, not the first feature
    spec = TaskSpec("sweep", "sweep", ("N", "D"), ("loss",), None, "a sweep", files=(("test", "t.csv"), ("train", "r.csv")), extrapolates=("D",))
    frame = pd.DataFrame([{"group": "all", "N": n, "D": d, "loss": 2 + 1e3 / n**0.3 + 1e3 / d**0.3} for n in (1e7, 1e8) for d in (1e9, 1e10, 1e11)])
    assert plot_axis(spec, frame) == ("D", True)
    series = plot_series(spec, frame[frame["D"] < 1e11], frame[frame["D"] == 1e11])
    assert len(series) == 2 and all(s.grid[:, 1].max() == 1e11 for s in series)  # one curve per N, along D
    assert plot_axis(dataclasses.replace(spec, extrapolates=()), frame) == ("N", True)


def test_a_task_without_a_logged_program_says_so(tmp_path):
    from conftest import LEADERBOARD_CSV

    written = write_leaderboard(build_report(load_runs([LEADERBOARD_CSV]), n_runs=5), tmp_path)
    assert set(written) == {"scores_by_task.png", "html", "markdown"}
    assert "no run of this task was read from an Inspect log" in (tmp_path / "leaderboard.md").read_text()


# Text a log can carry anywhere a person reads it: a model name, a law source, an explanation.
HOSTILE_MODEL = '=HYPERLINK("x")<img src=x onerror="window.__pwned=1">'
HOSTILE_LAW = (
    "# <!--<script>window.__pwned=2</script> \x1b[2J\x1b[Hheld-out R² = 1.0000\n"
    "# a comment that reads as code when bidirectional overrides reorder it: \u202e\u2066 return 0 \u2069\u2066\n"
    "def law(input_data, group):\n    return [{'loss_validation': 2.4} for _ in input_data]\n"
)
HOSTILE_EXPLANATION = "</script><script>window.__pwned=3</script><!--<script> \x1b]0;owned\x07 | *bold* [link](http://x)"


@pytest.fixture(scope="module")
def hostile_log(tmp_path_factory):
    """A real moe run whose log was then edited, as a log from someone else may be: payloads in its
    model name, its law source (which still runs) and its explanation."""
    from conftest import DATA_DIR
    from inspect_ai.log import read_eval_log, write_eval_log

    from sldbench.solvers import file as file_solver

    folder = tmp_path_factory.mktemp("hostile")
    law = folder / "hostile.py"
    law.write_text(HOSTILE_LAW)
    (log,) = inspect_eval(sldbench_task("moe", data_dir=str(DATA_DIR)), solver=file_solver(path=str(law)), model="none",
                          log_dir=str(folder / "run"), display="none")  # fmt: skip
    assert log.status == "success", log.error
    log = read_eval_log(log.location)
    log.eval.model = f"none/{HOSTILE_MODEL}"
    score = log.samples[0].scores["heldout_r2"]
    assert score.answer == HOSTILE_LAW
    score.metadata["explain"] = HOSTILE_EXPLANATION
    edited = folder / "logs" / "hostile.eval"
    edited.parent.mkdir()
    write_eval_log(log, str(edited))
    return edited


@pytest.fixture(scope="module")
def mixed_logs(expert_logs, hostile_log, tmp_path_factory):
    """The expert laws' logs, a scripted SLDAgent run and a file submission, beside the published runs."""
    from conftest import DATA_DIR
    from test_sldagent import PARSCALE, fenced, write_script

    from sldbench.solvers import file as file_solver, sldagent

    folder = tmp_path_factory.mktemp("scripted")
    logs = tmp_path_factory.mktemp("mixed-logs")
    for log_file in [*expert_logs.glob("*.eval"), hostile_log]:
        shutil.copy2(log_file, logs / log_file.name)
    script = write_script(folder / "script.jsonl", [fenced(PARSCALE)])
    (log,) = inspect_eval(
        sldbench_task("parallel", data_dir=str(DATA_DIR)), solver=sldagent(iterations=1, parallel=1),
        model=f"scripted/leaderboard-{folder.name}", model_args={"script": script}, log_dir=str(logs), display="none",
    )  # fmt: skip
    assert log.status == "success", log.error
    # a CLI agent (Codex, on this machine by the explicit opt-in): its law.py and explain.md
    from test_agents import agent_script, require_cli, run_agent

    require_cli("codex")
    agent_folder = tmp_path_factory.mktemp("codex-run")
    agent_log = run_agent(agent_folder, "codex", agent_script(agent_folder / "script.jsonl", "codex"), DATA_DIR)
    assert agent_log.status == "success", agent_log.error
    for log_file in (agent_folder / "logs").glob("*.eval"):
        shutil.copy2(log_file, logs / log_file.name)
    law = folder / "law.py"
    law.write_text("def law(input_data, group):\n    return [{'loss_validation': 2.3} for _ in input_data]\n")
    (log,) = inspect_eval(sldbench_task("moe", data_dir=str(DATA_DIR)), solver=file_solver(path=str(law)), model="none", log_dir=str(logs), display="none")
    assert log.status == "success", log.error
    return logs


@pytest.fixture(scope="module")
def site(mixed_logs, tmp_path_factory):
    from conftest import LEADERBOARD_CSV

    out = tmp_path_factory.mktemp("site")
    assert main(["leaderboard", str(LEADERBOARD_CSV), str(mixed_logs), "--runs", "5", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium (Debian's, not a downloaded one) driven by Playwright."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "chromium is not installed (apt-get install chromium); .ci/run installs it"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def served(site):
    """The site over HTTP on localhost (the transcript viewer fetches its logs)."""
    import sys

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(site)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            break
        time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    server.kill()
    server.wait()


def _column(page, header: str) -> list[str]:
    headers = page.locator("#board-table thead th").all_inner_texts()
    index = headers.index(header)
    return [row.locator("td").nth(index).inner_text() for row in page.locator("#board-table tbody tr").all()]


def _numbers(texts: list[str]) -> list[float]:
    return [float(t) for t in texts if t not in ("—", "")]


@pytest.mark.slow
def test_the_leaderboard_works_in_a_real_browser(site, served, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    problems = []
    page.on("console", lambda message: problems.append(message.text) if message.type in ("error", "warning") else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(f"{served}/index.html")
    assert problems == []
    # ranked by the average, best first; the published SLDAgent with GPT-5 leads (0.748)
    averages = _numbers(_column(page, "Average R²"))
    assert averages == sorted(averages, reverse=True) and averages[0] == 0.748
    assert _column(page, "Agent")[0] == "sldagent" and _column(page, "#")[0] == "1"
    agents = {(row.get_attribute("data-agent"), row.get_attribute("data-model")) for row in page.locator("#board-table tbody tr").all()}
    assert {("human", "none"), ("file:law", "none"), ("sldagent", "gpt-5")} <= agents
    assert any(agent == "sldagent" and model.startswith("leaderboard-") for agent, model in agents)
    assert any(agent == "codex (unisolated)" for agent, _ in agents)
    # a click on a header sorts by it, a second click reverses the order
    page.click("#board-table th:text-is('Agent')")
    names = _column(page, "Agent")
    assert names == sorted(names)
    page.click("#board-table th:text-is('Agent')")
    assert _column(page, "Agent") == sorted(names, reverse=True)
    page.click("#board-table th:text-is('Runs')")
    runs = [int(n) for n in _column(page, "Runs")]
    assert runs == sorted(runs, reverse=True)
    # a task's own view: its scores, ranked; the expert law's row opens its law with code and plot
    page.click("#board-tabs button[data-view='moe']")
    assert page.locator("#board-tabs button[data-view='moe']").get_attribute("aria-selected") == "true"
    scores = _numbers(_column(page, "moe R²"))
    assert scores == sorted(scores, reverse=True) and scores[0] == 0.858  # the best published mean on moe
    page.click("#board-table tr[data-agent='human'] td.law button")
    dialog = page.locator("dialog#law")
    assert dialog.is_visible()
    assert "moe: human / none" in dialog.locator("h3").inner_text()
    assert "def law(input_data, group)" in dialog.locator("code").inner_text()
    assert "held-out R² 0.703" in dialog.locator(".meta").inner_text()
    plot = dialog.locator("img")
    assert plot.get_attribute("src").startswith("data:image/png;base64,")
    assert page.evaluate("document.querySelector('dialog#law img').naturalWidth") > 500
    page.screenshot(path=str(tmp_path / "law.png"))
    transcript = dialog.locator("a.transcript").get_attribute("href")
    page.click("dialog#law button.close")
    assert not dialog.is_visible()
    # a scripted SLDAgent run: its law (the program it evolved) and its explanation-free note
    page.click("#board-tabs button[data-view='parallel']")
    page.click("#board-table tr[data-agent='sldagent'][data-model^='leaderboard-'] td.law button")
    assert "scaling_law_func" in dialog.locator("code").inner_text()
    assert "fitted parameters per group" in dialog.locator(".meta").inner_text()
    page.click("dialog#law button.close")
    # the CLI agent's law, with the explanation it wrote
    page.click("#board-table tr[data-agent='codex (unisolated)'] td.law button")
    assert "def law(input_data, group)" in dialog.locator("code").inner_text()
    assert "ParScale" in dialog.locator(".explanation").inner_text()
    assert "isolation: bubblewrap" in dialog.locator(".meta").inner_text()
    page.click("dialog#law button.close")
    # discovered vs human: the best discovered law of each task beside the expert law
    versus = page.locator("#versus tbody tr")
    assert versus.count() == len(TASKS)
    moe_row = versus.filter(has_text="moe").first.inner_text()
    assert "0.858" in moe_row and "0.703" in moe_row and "+0.155" in moe_row
    assert problems == []
    # the transcript link opens the sample in the bundled Inspect viewer
    page.goto(f"{served}/{transcript}")
    page.wait_for_selector("text=moe", timeout=30_000)
    assert "transcripts/index.html#/logs/" in transcript and transcript.endswith("/samples/sample/moe/1")
    page.close()


@pytest.mark.slow
def test_a_task_of_your_own_reads_right_in_the_browser(browser, tmp_path):
    """Published rows beside logs of a task of your own: in the page, rows that never ran it are empty (not -1),
    its reference is the spec's law, and the frozen first columns stay in view when the wide table scrolls."""
    from pathlib import Path

    from conftest import LEADERBOARD_CSV

    from sldbench.solvers import file
    from sldbench.specs import load_spec_file
    from sldbench.tasks import custom

    examples = Path(__file__).parents[1] / "examples" / "synthetic"
    for name in ("runs.csv", "task.yaml", "chinchilla_law.py"):
        shutil.copy(examples / name, tmp_path / name)
    task = load_spec_file(tmp_path / "task.yaml").name
    out = tmp_path / "site"

    def build() -> int:
        for solver in (human(), file(path=str(tmp_path / "chinchilla_law.py"))):
            inspect_eval(custom(str(tmp_path / "task.yaml")), solver=solver, model="none", log_dir=str(tmp_path / "logs"), display="none")
        return main(["leaderboard", str(LEADERBOARD_CSV), str(tmp_path / "logs"), "--runs", "5", "--out", str(out)])

    with ThreadPoolExecutor(1) as thread:  # Playwright's loop runs in this thread; the eval and the plots need their own
        assert thread.submit(build).result() == 0
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    problems = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto((out / "index.html").as_uri())
    cells = dict(zip([f"{a} / {m}" for a, m in zip(_column(page, "Agent"), _column(page, "Model"))], _column(page, task)))
    ran = {"file:chinchilla_law / none", "human-refit / none"}
    published = {key: text for key, text in cells.items() if key not in ran}
    assert len(published) >= 20 and set(published.values()) == {"—"}, {k: v for k, v in cells.items() if v != "—"}  # never ran it: empty, no -1
    # one run each of --runs 5: the spec's law is one deterministic run; the file law's 4 missing runs count -1, as in the paper
    human_score = float(cells["human-refit / none"])
    assert human_score > 0.99 and float(cells["file:chinchilla_law / none"]) == pytest.approx((human_score - 4) / 5, abs=2e-3)
    # the task's own view lists only the entries that ran it
    page.click(f"#board-tabs button[data-view='{task}']")
    assert sorted(_column(page, "Agent")) == ["file:chinchilla_law", "human-refit"] and _column(page, "Runs") == ["1", "1"]
    # discovered vs human: the spec's law is the reference of the custom task, the file law the discovered side
    row = page.locator("#versus tbody tr").filter(has_text=task).first.locator("td").all_inner_texts()
    assert row[1] == "file:chinchilla_law / none" and row[5] == "human-refit / none" and row[-1] != "—"
    assert abs(float(row[-1]) - (float(row[2]) - float(row[6]))) < 2e-3
    # the wide table scrolls inside its frame; the rank and agent columns stay where they were
    page.click("#board-tabs button[data-view='all']")
    first_row = page.locator("#board-table tbody tr").first.locator("td")
    before = [first_row.nth(column).bounding_box() for column in range(3)]
    assert before[0]["x"] + before[0]["width"] == pytest.approx(before[1]["x"], abs=1)  # side by side
    page.evaluate("document.querySelector('#board .scroll').scrollLeft = 10000")
    assert page.evaluate("document.querySelector('#board .scroll').scrollLeft") > 0
    after = [first_row.nth(column).bounding_box() for column in range(3)]
    assert [box["x"] for box in after[:2]] == pytest.approx([box["x"] for box in before[:2]], abs=1)  # frozen, neither covers the other
    assert after[2]["x"] < before[2]["x"] - 100  # the model column scrolled away under them
    assert problems == []
    page.close()


@pytest.mark.slow
def test_text_from_logs_cannot_change_the_page(site, served, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    problems = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(f"{served}/index.html")
    # the page parsed whole: its script ran, the table, Table 1 and the law dialog are there; nothing injected ran
    assert problems == [] and page.evaluate("window.__pwned") is None
    assert page.locator("#board-table tbody tr").count() > 20 and page.locator("table").count() >= 3
    assert page.locator(f"#board-table tbody tr[data-model='{HOSTILE_MODEL}']").count() == 1
    assert HOSTILE_MODEL in page.locator("#board-table").inner_text()  # shown as the text it is
    page.click("#board-tabs button[data-view='moe']")
    page.click(f"#board-table tr[data-model='{HOSTILE_MODEL}'] td.law button")
    dialog = page.locator("dialog#law")
    source = dialog.locator("code").inner_text()
    assert "<!--<script>window.__pwned=2</script>" in source
    assert "\u202e" not in source and "\\u202e\\u2066 return 0 \\u2069\\u2066" in source  # the overrides shown, not obeyed
    assert "</script><script>window.__pwned=3</script><!--<script>" in dialog.locator(".explanation").inner_text()
    assert page.evaluate("window.__pwned") is None and problems == []
    page.close()


def test_text_from_logs_is_escaped_in_markdown_csv_and_the_terminal(site, hostile_log, capsys):
    markdown = (site / "leaderboard.md").read_text()
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", markdown)
    assert "<img" not in markdown and "&lt;img src=x" in markdown  # no raw HTML for a renderer to pass through
    assert main(["report", str(hostile_log), "--format", "csv"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert any(row.split(",")[1].startswith("\"'=HYPERLINK") for row in rows[1:]), rows  # no formula for a spreadsheet
    assert main(["show", str(hostile_log)]) == 0
    shown = capsys.readouterr().out
    assert "\x1b" not in shown and "\x07" not in shown  # nothing a terminal acts on ...
    assert "\\x1b[2J\\x1b[Hheld-out R² = 1.0000" in shown and "\\x1b]0;owned\\x07" in shown  # ... shown as escapes


def test_csv_cells_keep_their_text_when_read_back(tmp_path, hostile_log):
    from sldbench.report import load_runs
    from sldbench.report.render import csv_files

    report = build_report(load_runs([str(hostile_log)]))
    (tmp_path / "runs.csv").write_text(csv_files(report)["runs.csv"])
    assert load_runs([str(tmp_path / "runs.csv")])["model"].tolist() == [HOSTILE_MODEL]
