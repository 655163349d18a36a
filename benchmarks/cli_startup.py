"""How long the command line takes to answer before it does any work.

Runs, five times each and side by side, ``python -c pass`` (the interpreter alone), ``sldbench
--help`` and a validation error (``sldbench score`` of a missing file), and prints the median wall
time of each and its ratio to the interpreter's. A command that fails early imports neither
Inspect nor pandas (``sldbench/__init__`` and ``sldbench.report`` import on first use).

    python benchmarks/cli_startup.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

REPEAT = 5
COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "sldbench --help": [sys.executable, "-m", "sldbench.cli", "--help"],
    "validation error": [sys.executable, "-m", "sldbench.cli", "score", "no-such-law.py", "--task", "moe"],
}


def main() -> None:
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(REPEAT):  # interleaved, so a change of load touches every command alike
        for name, argv in COMMANDS.items():
            started = time.perf_counter()
            subprocess.run(argv, capture_output=True, check=False)
            times[name].append(time.perf_counter() - started)
    base = statistics.median(times["python -c pass"])
    print(f"{'command':<20} {'median s':>9} {'x python':>9}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:<20} {median:>9.3f} {median / base:>9.2f}")


if __name__ == "__main__":
    main()
