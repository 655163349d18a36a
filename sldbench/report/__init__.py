"""Tables and a leaderboard from Inspect logs and per-run CSVs: the paper's Tables 1 and 2,
the comparison with the expert laws, usage, and plots of the best laws.

``sldbench report PATH...`` and ``sldbench leaderboard PATH... --out DIR`` are the
command-line entry points; the functions below are the same steps as a library.
"""

from __future__ import annotations

import importlib

_HOMES = {
    "RUN_COLUMNS": "runs", "ReportError": "runs", "load_runs": "runs",
    "PUBLISHED_DIR": "sources", "RUNS_CSV_COLUMNS": "sources",
    "Report": "tables", "Table1": "tables", "build_report": "tables", "build_table1": "tables", "build_table2": "tables",
    "versus_human": "tables",
}  # fmt: skip
"""Each name of this package's interface and its module, imported when first asked for (the readers need pandas)."""

__all__ = sorted(_HOMES)


def __getattr__(name: str):
    if name in _HOMES:
        return getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
