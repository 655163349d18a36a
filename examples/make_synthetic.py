"""Write examples/synthetic/runs.csv: training runs of a known law, with noise, for trying sldbench discover.

Two model families share the form L = E + A / N^alpha + B / D^beta (Hoffmann et al.'s
Chinchilla law) with constants of their own; each run's loss gets 0.5% multiplicative
noise. 8 model sizes x 8 token counts per family (128 runs); the spec next to it holds
out each family's two largest model sizes.

    python examples/make_synthetic.py        # rewrites examples/synthetic/runs.csv (seeded: the same file)
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent / "synthetic" / "runs.csv"
TRUE_LAW = {  # family: (E, A, alpha, B, beta)
    "dense": (1.69, 406.4, 0.34, 410.7, 0.28),
    "moe": (1.62, 520.0, 0.36, 380.0, 0.27),
}


def true_loss(family: str, n: np.ndarray, d: np.ndarray) -> np.ndarray:
    """The law the runs come from (before noise)."""
    e, a, alpha, b, beta = TRUE_LAW[family]
    return e + a / n**alpha + b / d**beta


def main() -> None:
    rng = np.random.default_rng(20261202)
    sizes = np.geomspace(2e7, 3e9, 8)
    tokens = np.geomspace(4e8, 1e11, 8)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with open(OUT, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["family", "N", "D", "loss"])
        for family in TRUE_LAW:
            for n in sizes:
                for d in tokens:
                    loss = float(true_loss(family, n, d)) * (1 + 0.005 * rng.standard_normal())
                    writer.writerow([family, f"{n:.6g}", f"{d:.6g}", f"{loss:.6f}"])
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
