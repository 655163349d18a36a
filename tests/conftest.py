"""Shared fixtures: the data copy in ../shared, and a local sandbox."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

SHARED = Path(os.environ.get("SLDBENCH_SHARED", Path(__file__).resolve().parents[2] / "shared")).resolve()  # as the loaders resolve it
DATA_DIR = SHARED / "sldbench-data" / "reconstructed"
HUMAN_DIR = SHARED / "sldbench-data" / "human_laws"
LEADERBOARD_CSV = SHARED / "sldbench-data" / "leaderboard" / "leaderboard_r2_runs.csv"
PAPER_TABLES = SHARED / "PAPER_TABLES.md"

# Source for a submission that searches the whole filesystem: os.walk("/") is empty where the root
# cannot be listed (a worker may read beneath each top-level folder but list none of the kernel's),
# so it walks each top-level folder it can name. Defines walk_everything(skip): os.walk's triples.
WALK_EVERYTHING = """
import os as _os

_TOP_LEVEL = ("bin", "boot", "data", "etc", "home", "lib", "lib64", "media", "mnt", "opt", "root", "run",
              "sbin", "srv", "tmp", "usr", "var", "work", "workspace", "app", "code", "sandbox")


def walk_everything(skip):
    try:
        tops = _os.listdir("/")
    except OSError:
        tops = _TOP_LEVEL
    for top in sorted(set(tops) - set(skip)):
        yield from _os.walk(_os.path.join("/", top))
"""

if not DATA_DIR.is_dir():
    raise RuntimeError(
        f"test data not found at {DATA_DIR}: the tests read ../shared/sldbench-data beside the "
        f"checkout (or set SLDBENCH_SHARED to the folder holding sldbench-data)"
    )


@pytest.fixture
def data_dir() -> Path:
    return DATA_DIR


@pytest.fixture
def human_dir() -> Path:
    return HUMAN_DIR


@pytest.fixture(scope="session")
def leaderboard_csv() -> Path:
    """The published per-run R^2 of every agent and model (task,agent,model,run_index,reward_r2)."""
    return LEADERBOARD_CSV


@pytest.fixture(scope="session")
def paper_tables_md() -> Path:
    """The paper's published Tables 1 and 2, as Markdown."""
    return PAPER_TABLES


@pytest.fixture
def planted_test_splits(data_dir):
    """Copies of the parallel test split where a real user has them: the data folder, the Hub cache, the home folder."""
    real = data_dir / "parallel_scaling_law" / "test.csv"
    home = Path.home()
    copies = [
        home / ".cache" / "huggingface" / "datasets" / "pkuHaowei___sldbench" / "parallel_scaling_law" / f"planted-{os.getpid()}" / "test.csv",
        home / f".sldbench-planted-test-{os.getpid()}.csv",
    ]
    for copy in copies:
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_text(real.read_text())
    yield [real, *copies]
    for copy in copies:
        copy.unlink()
    shutil.rmtree(copies[0].parent, ignore_errors=True)


@pytest.fixture
def local_sandbox():
    """The default sandbox: local, submissions under bubblewrap where it works (policy ``auto``)."""
    from sldbench.sandbox.local import IsolatedLocalSandbox

    sandbox = IsolatedLocalSandbox("auto")
    yield sandbox
    sandbox.directory.cleanup()


@pytest.fixture
def rlimits_sandbox():
    """The local sandbox with bubblewrap turned off (``-T isolation=rlimits``): the control of isolation tests."""
    from sldbench.sandbox.local import IsolatedLocalSandbox

    sandbox = IsolatedLocalSandbox("rlimits")
    yield sandbox
    sandbox.directory.cleanup()


# Bubblewrap-marked tests check the local sandbox's isolation. Without bubblewrap they are skipped
# with the reason, except where SLDBENCH_REQUIRE_BUBBLEWRAP=1 (.ci/run sets it): there they fail.
@pytest.fixture(autouse=True)
def _bubblewrap_gate(request):
    if request.node.get_closest_marker("bubblewrap") is None:
        return
    from sldbench.sandbox import bubblewrap

    problem = bubblewrap.problem()
    if problem is None:
        return
    if os.environ.get("SLDBENCH_REQUIRE_BUBBLEWRAP") == "1":
        pytest.fail(f"{problem}; SLDBENCH_REQUIRE_BUBBLEWRAP=1 forbids skipping the bubblewrap tests")
    pytest.skip(problem)


# Docker-marked tests need a Docker engine. Without one they are skipped with the reason, except
# where SLDBENCH_REQUIRE_DOCKER=1 (.ci/run sets it): there a missing engine fails them.
@pytest.fixture(autouse=True)
def _docker_engine_gate(request):
    if request.node.get_closest_marker("docker") is None:
        return
    from sldbench.sandbox.docker import engine_problem

    problem = engine_problem()
    if problem is None:
        return
    if os.environ.get("SLDBENCH_REQUIRE_DOCKER") == "1":
        pytest.fail(f"{problem}; SLDBENCH_REQUIRE_DOCKER=1 forbids skipping the docker tests")
    pytest.skip(problem)


@pytest.fixture
def docker_sandbox():
    """A fresh sldbench-docker container (image sldbench-scoring) with tight limits, removed after."""
    import asyncio

    from sldbench.sandbox.docker import DockerSandboxConfig, DockerSandboxEnvironment

    config = DockerSandboxConfig(memory="1g", cpus=1.0, pids=128)
    asyncio.run(DockerSandboxEnvironment.task_init("test", config))
    environments = asyncio.run(DockerSandboxEnvironment.sample_init("test", config, {}))
    yield environments["default"]
    asyncio.run(DockerSandboxEnvironment.sample_cleanup("test", config, environments, False))
