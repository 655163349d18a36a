"""Tables and a leaderboard from Inspect logs and per-run CSVs: the paper's Tables 1 and 2,
the comparison with the expert laws, usage, and plots of the best laws.

``sldbench report PATH...`` and ``sldbench leaderboard PATH... --out DIR`` are the
command-line entry points; the functions below are the same steps as a library.
"""

from .runs import RUN_COLUMNS, RUNS_CSV_COLUMNS, ReportError, load_runs
from .tables import PUBLISHED_DIR, Report, Table1, build_report, build_table1, build_table2, versus_human

__all__ = [
    "PUBLISHED_DIR",
    "RUN_COLUMNS",
    "RUNS_CSV_COLUMNS",
    "Report",
    "ReportError",
    "Table1",
    "build_report",
    "build_table1",
    "build_table2",
    "load_runs",
    "versus_human",
]
