"""Shared fixtures: the data copy in ../shared, and a local sandbox."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(os.environ.get("SLDBENCH_SHARED", Path(__file__).resolve().parents[2] / "shared")).resolve()  # as the loaders resolve it
DATA_DIR = SHARED / "sldbench-data" / "reconstructed"
HUMAN_DIR = SHARED / "sldbench-data" / "human_laws"
LEADERBOARD_CSV = SHARED / "sldbench-data" / "leaderboard" / "leaderboard_r2_runs.csv"
PAPER_TABLES = SHARED / "PAPER_TABLES.md"

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
def local_sandbox():
    from inspect_ai.util._sandbox.local import LocalSandboxEnvironment

    sandbox = LocalSandboxEnvironment()
    yield sandbox
    sandbox.directory.cleanup()


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
