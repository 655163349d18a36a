"""Shared fixtures: the data copy in ../shared, and a local sandbox."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(os.environ.get("SLDBENCH_SHARED", Path(__file__).resolve().parents[2] / "shared"))
DATA_DIR = SHARED / "sldbench-data" / "reconstructed"
HUMAN_DIR = SHARED / "sldbench-data" / "human_laws"

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


@pytest.fixture
def local_sandbox():
    from inspect_ai.util._sandbox.local import LocalSandboxEnvironment

    sandbox = LocalSandboxEnvironment()
    yield sandbox
    sandbox.directory.cleanup()
