"""Where runs come from, named without importing the readers (the command line builds its help from these)."""

from pathlib import Path

RUNS_CSV_COLUMNS = ("task", "agent", "model", "run_index", "reward_r2")
"""Header of a per-run CSV (the published leaderboard's ``leaderboard_r2_runs.csv``)."""

PUBLISHED_DIR = Path(__file__).resolve().parents[2] / "results" / "paper"
"""The paper's published tables as CSV (in a source checkout)."""
