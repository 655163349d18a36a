"""The leaderboard pages: tables, bar charts and best-law plots, self-contained, and rendered by Chromium."""

import base64
import io
import re
import shutil
import subprocess

import numpy as np
import pytest
from inspect_ai import eval as inspect_eval

from sldbench.cli import main
from sldbench.report import build_report, load_runs
from sldbench.report.leaderboard import best_runs, plot_series, write_leaderboard
from sldbench.solvers import human
from sldbench.specs import TASKS
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
    assert "<script" not in html and "<link" not in html


def test_each_task_plots_its_best_logged_run_and_extrapolation_curves(expert_logs, data_dir):
    report = build_report(load_runs([expert_logs]))
    best = best_runs(report)
    assert set(best) == set(TASKS)
    assert all(run["agent"] == "human" for run in best.values())
    from sldbench.data import load_split

    spec = TASKS["parallel"]
    train, test = load_split(spec, "train", data_dir).frame, load_split(spec, "test", data_dir).frame
    series = plot_series(spec, train, test)
    # held-out series first (P = 8 for each corpus), each curve spanning the train and extrapolation range
    assert [s.fixed["parallel_size"] for s in series[:2]] == [8.0, 8.0] and len(test) == sum(len(s.test) for s in series)
    for s in series:
        assert s.grid[:, 0].min() == min(train["num_params"].min(), test["num_params"].min())
        assert s.grid[:, 0].max() == max(train["num_params"].max(), test["num_params"].max())


def test_a_task_without_a_logged_program_says_so(tmp_path):
    from conftest import LEADERBOARD_CSV

    written = write_leaderboard(build_report(load_runs([LEADERBOARD_CSV]), n_runs=5), tmp_path)
    assert set(written) == {"scores_by_task.png", "html", "markdown"}
    assert "no run of this task was read from an Inspect log" in (tmp_path / "leaderboard.md").read_text()


@pytest.mark.slow
def test_chromium_renders_the_page_with_tables_and_plots(leaderboard, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "chromium is not installed (apt-get install chromium); .ci/run installs it"
    screenshot = tmp_path / "page.png"
    command = [
        chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
        f"--screenshot={screenshot}", "--window-size=1400,9000", (leaderboard / "index.html").as_uri(),
    ]  # fmt: skip
    completed = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr[-3000:]
    console = [line for line in completed.stderr.splitlines() if ":CONSOLE" in line]
    assert not console, console
    png = screenshot.read_bytes()
    assert png.startswith(PNG_SIGNATURE) and len(png) > 200_000
    from matplotlib.image import imread

    pixels = (imread(io.BytesIO(png), format="png")[..., :3] * 255).astype(np.uint8)
    assert pixels.shape[:2] == (9000, 1400)
    # The tables (top) are text on white; the plots (further down) are many-coloured figures.
    top, bottom = pixels[:2500], pixels[4000:]
    assert len(np.unique(top.reshape(-1, 3), axis=0)) > 50
    assert len(np.unique(bottom.reshape(-1, 3), axis=0)) > 500
    # Table-cell borders (#d0d7de) and Table 1's best-value marks (#0a3069) are drawn at the top;
    # the bar chart's green best bars (#2da44e) further down.
    def has(region, rgb):
        return bool(np.any(np.all(region == np.array(rgb, dtype=np.uint8), axis=-1)))

    assert has(top, (0xD0, 0xD7, 0xDE)) and has(top, (0x0A, 0x30, 0x69))
    assert has(pixels[2500:], (0x2D, 0xA4, 0x4E))
