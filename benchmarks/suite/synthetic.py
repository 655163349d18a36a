"""Synthetic scaling-law tasks drawn from the literature's laws, for the generality suite.

Each `SyntheticTask` samples training runs from one family of `sldbench.laws.literature`
(the truth), with constants of the size the cited papers report, per-group variation,
multiplicative log-normal noise, and an extrapolation split (each group's largest values of
the scale axis held out). `write_task` writes a task folder in the spec format of
``../shared/generality/``: ``task.yaml``, ``train.csv``, ``test.csv``, ``reference_law.py``
(the true family, refitted per group on train: the literature's law) and ``truth.json``
(the true constants and the held-out R^2 of the noise-free truth).

    python benchmarks/suite/synthetic.py OUT_DIR [--seed 0]     # writes every task under OUT_DIR
"""

from __future__ import annotations

import argparse
import itertools
import json
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import yaml

from sldbench.laws import literature
from sldbench.metrics import heldout_metrics


@dataclass(frozen=True)
class SyntheticTask:
    """One synthetic task.

    Attributes
    ----------
    name : str
    law : str
        The catalogue family that generates it (`sldbench.laws.literature.CATALOGUE`).
    features : tuple of str
        Column names, in the order of the law's roles.
    target : str
    groups : dict of str to tuple of float
        True constants per group, in the law's parameter order.
    design : callable
        ``design(rng) -> ndarray (rows, features)``: the runs of one group.
    holdout : tuple of (str, int)
        The scale axis and how many of each group's largest values of it are held out.
    noise : float
        Standard deviation of the multiplicative log-normal noise.
    about : str
        What the runs are, in words (the spec's description; the law is not named).
    """

    name: str
    law: str
    features: tuple[str, ...]
    target: str
    groups: dict[str, tuple[float, ...]]
    design: Callable = field(repr=False)
    holdout: tuple[str, int] = ("N", 2)
    noise: float = 0.005
    about: str = ""

    @property
    def family(self) -> literature.LiteratureLaw:
        return literature.CATALOGUE[self.law]


def _grid(*axes) -> np.ndarray:
    return np.array(list(itertools.product(*axes)), dtype=float)


def _model_sweep(sizes=np.geomspace(2e7, 2e9, 9), ratios=(5, 10, 20, 40, 80)):
    """Model sizes N, each trained on a few tokens-per-parameter ratios: (N, D) rows."""
    return lambda rng: np.array([[n, n * r] for n in sizes for r in ratios])


def _learning_curve(low=1e3, high=1e7, points=24):
    return lambda rng: np.geomspace(low, high, points)[:, None] * rng.uniform(0.98, 1.02, (points, 1))


def _subsample(rows: np.ndarray, rng, share: float) -> np.ndarray:
    return rows[rng.random(len(rows)) < share]


TASKS: list[SyntheticTask] = [
    SyntheticTask(
        "chinchilla", "chinchilla", ("N", "D"), "loss",
        {"web": (1.69, 406.4, 0.34, 410.7, 0.28), "code": (1.05, 250.0, 0.31, 620.0, 0.30)},
        _model_sweep(), about="Dense language models of N parameters trained on D tokens, on two corpora (group).",
    ),
    SyntheticTask(
        "kaplan", "kaplan", ("N", "D"), "loss",
        {"webtext": (8.8e13, 5.4e13, 0.076, 0.095), "books": (3.0e14, 2.0e13, 0.07, 0.10)},
        _model_sweep(np.geomspace(1e6, 1e9, 9), (1, 3, 10, 30, 100)),
        about="Language models of N non-embedding parameters trained on D tokens (early stopping), on two corpora.",
    ),
    SyntheticTask(
        "learning_curve_m2", "saturating_power", ("n",), "error",
        {"resnet": (0.08, 4.0, 0.35), "vit": (0.05, 9.0, 0.42), "mixer": (0.11, 3.0, 0.30), "cnn": (0.15, 2.5, 0.33)},
        _learning_curve(), holdout=("n", 6), noise=0.015,
        about="Image classifiers (group: architecture) trained on n examples; error is the test error rate.",
    ),
    SyntheticTask(
        "learning_curve_m3", "shifted_power", ("n",), "error",
        {"resnet": (0.06, 30.0, 2e4, 0.45), "vit": (0.04, 80.0, 8e4, 0.5), "mixer": (0.09, 12.0, 5e3, 0.38)},
        _learning_curve(), holdout=("n", 6), noise=0.015,
        about="Image classifiers (group: architecture) trained on n examples; error is the test error rate.",
    ),
    SyntheticTask(
        "learning_curve_m4", "sigmoid_power", ("n",), "error",
        {"transformer": (0.12, 0.78, 1.0, 3e2, 0.55), "lstm": (0.2, 0.7, 0.8, 1e2, 0.45), "conv": (0.16, 0.74, 1.2, 5e2, 0.6)},
        _learning_curve(1e2, 1e7, 26), holdout=("n", 6), noise=0.01,
        about="Translation models (group: architecture) trained on n sentence pairs; error is 1 - accuracy on a held-out set.",
    ),
    SyntheticTask(
        "broken_power", "broken_power", ("steps",), "loss",
        {"small": (0.9, 6.0, 0.05, 0.35, 3e6, 0.3), "base": (0.8, 7.0, 0.06, 0.40, 5e6, 0.35), "large": (0.7, 8.0, 0.05, 0.45, 8e6, 0.4)},
        _learning_curve(1e4, 1e8, 30), holdout=("steps", 7), noise=0.004,
        about="Models (group: size class) trained for a number of examples seen (steps); loss at the end of each run.",
    ),
    SyntheticTask(
        "broken_power2", "broken_power2", ("compute",), "loss",
        {"a": (0.6, 3.0, 0.02, 0.3, 1e14, 0.25, 0.25, 3e16, 0.3), "b": (0.5, 3.5, 0.03, 0.35, 2e14, 0.3, 0.2, 5e16, 0.3)},
        _learning_curve(1e12, 1e18, 34), holdout=("compute", 7), noise=0.004,
        about="A model family (group) trained at compute budgets (FLOPs); loss at the end of training.",
    ),
    SyntheticTask(
        "data_constrained", "data_constrained", ("N", "D", "U"), "loss",
        {"c4": (1.87, 521.0, 0.35, 1488.0, 0.35, 15.4)},
        lambda rng: np.array([[n, e * u, u] for n in np.geomspace(5e7, 3e9, 7) for u in (1e8, 4e8, 1.6e9) for e in (1, 2, 4, 8, 16, 40)]),
        about="Language models of N parameters trained for D tokens drawn from U unique tokens (repeated for D / U epochs).",
    ),
    SyntheticTask(
        "moe_effective", "effective_size", ("N", "experts", "D"), "loss",
        {"routed": (1.8, 300.0, 0.32, 0.45, 400.0, 0.28)},
        lambda rng: np.array([[n, m, n * r] for n in np.geomspace(1e7, 1.3e9, 8) for m in (1, 4, 16, 64) for r in (10, 40)]),
        about="Mixture-of-experts language models: N dense parameters, a number of experts, D training tokens.",
    ),
    SyntheticTask(
        "precision", "precision", ("N", "D", "bits"), "loss",
        {"int": (1.9, 350.0, 0.33, 420.0, 0.29, 2.6), "fp": (1.85, 340.0, 0.34, 400.0, 0.28, 1.8)},
        lambda rng: np.array([[n, n * r, b] for n in np.geomspace(3e7, 2e9, 7) for r in (10, 40) for b in (3, 4, 6, 8, 16)]),
        about="Language models of N parameters trained on D tokens with weights quantised to a number of bits (group: format).",
    ),
    SyntheticTask(
        "sparsity", "sparsity", ("N", "D", "sparsity"), "loss",
        {"t5": (60.0, 1.6, 25.0, 0.25, 6e5, 0.3, 1.3)},
        lambda rng: np.array([[n, n * r, s] for n in np.geomspace(2e7, 2e9, 7) for r in (10, 40) for s in (0.0, 0.5, 0.75, 0.875)]),
        about="Sparsely connected transformers: N non-zero parameters, D tokens, the fraction of weights pruned (sparsity).",
    ),
    SyntheticTask(
        "vocab_optimum", "moving_optimum", ("N", "D", "V"), "loss",
        {"slimpajama": (1.9, 380.0, 0.33, 410.0, 0.28, 0.012, -0.5, 0.55)},
        lambda rng: np.array([[n, n * 20, v] for n in np.geomspace(3e7, 3e9, 7) for v in np.geomspace(4096, 262144, 7)]),
        about="Language models of N non-vocabulary parameters trained on D tokens with a vocabulary of V tokens.",
    ),
    SyntheticTask(
        "lr_optimum", "moving_optimum", ("N", "D", "lr"), "loss",
        {"dense": (1.8, 390.0, 0.33, 420.0, 0.28, 0.035, 0.6, -0.35)},
        lambda rng: np.array([[n, n * r, lr] for n in np.geomspace(2e7, 2e9, 7) for r in (20, 80) for lr in np.geomspace(1e-4, 3e-2, 9)]),
        about="Language models of N parameters trained on D tokens at a peak learning rate lr (one run per setting).",
    ),
    SyntheticTask(
        "lr_bsz_optimum", "two_optima", ("N", "D", "lr", "bsz"), "loss",
        {"dense": (1.8, 390.0, 0.33, 420.0, 0.28, 0.03, 0.6, -0.35, 0.02, -5.5, 0.5)},
        lambda rng: _subsample(_grid(np.geomspace(3e7, 1.5e9, 6), np.geomspace(1e-4, 1e-2, 6), np.geomspace(32, 2048, 6)), rng, 0.7)[:, [0, 0, 1, 2]]
        * [1.0, 20.0, 1.0, 1.0],
        about="Language models of N parameters trained on D tokens at peak learning rate lr and batch size bsz (sequences).",
    ),
    SyntheticTask(
        "u_shaped", "u_shape", ("compute",), "loss",
        {"task_a": (0.3, 500.0, 0.15, 5e-5, 0.2), "task_b": (0.4, 300.0, 0.14, 1.5e-4, 0.18), "task_c": (0.35, 800.0, 0.16, 4e-5, 0.21)},
        _learning_curve(1e17, 1e23, 20), holdout=("compute", 4), noise=0.01,
        about="Evaluation loss of a downstream task (group) against training compute (FLOPs) of a model family.",
    ),
    SyntheticTask(
        "inverted_u", "u_shape", ("compute",), "accuracy",
        {"task_a": (0.9, -200.0, 0.15, -2e-4, 0.15), "task_b": (0.85, -150.0, 0.14, -3e-4, 0.14)},
        _learning_curve(1e17, 1e23, 20), holdout=("compute", 4), noise=0.01,
        about="Accuracy on a downstream task (group) against training compute (FLOPs) of a model family.",
    ),
]  # fmt: skip


BY_NAME = {task.name: task for task in TASKS}


def sample(task: SyntheticTask, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """The train and test frames of ``task`` (columns ``group``, the features, the target) and its truth.

    Parameters
    ----------
    task : SyntheticTask
    seed : int
        The same seed gives the same rows (each task draws from its own stream).

    Returns
    -------
    train, test : pandas.DataFrame
    truth : dict
        ``law``, ``constants`` (per group, by name) and ``r2`` (held-out R^2 of the noise-free truth).
    """
    rng = np.random.default_rng([seed, zlib.crc32(task.name.encode())])
    law, frames = task.family, []
    for group, constants in task.groups.items():
        X = np.asarray(task.design(rng), dtype=float)
        clean = np.asarray(law.form(X, np.asarray(constants, dtype=float)), dtype=float)
        if not np.all(np.isfinite(clean)) or np.any(clean <= 0):
            raise ValueError(f"synthetic task {task.name!r}, group {group!r}: the truth is not finite and > 0 on its design")
        frame = pd.DataFrame(X, columns=list(task.features))
        frame.insert(0, "group", group)
        frame["_clean"] = clean
        frame[task.target] = clean * np.exp(task.noise * rng.standard_normal(len(X)))
        frames.append(frame)
    rows = pd.concat(frames, ignore_index=True)
    axis, count = task.holdout
    largest = rows.groupby("group")[axis].transform(lambda values: values >= np.sort(values.unique())[-count])
    train, test = rows[~largest].reset_index(drop=True), rows[largest].reset_index(drop=True)
    ordered = test.sort_values("group", kind="stable")  # pooled in sorted group order, as the scorer does
    r2 = heldout_metrics(ordered[[task.target]].to_numpy(), ordered[["_clean"]].to_numpy()).r2_raw
    names = law.parameters
    truth = {"law": law.name, "constants": {g: dict(zip(names, c)) for g, c in task.groups.items()}, "r2": float(r2)}
    return train.drop(columns="_clean"), test.drop(columns="_clean"), truth


def write_task(task: SyntheticTask, out: Path, seed: int = 0) -> Path:
    """Write ``task`` as a folder of the spec format under ``out``; returns its ``task.yaml``."""
    train, test, truth = sample(task, seed)
    folder = out / task.name
    folder.mkdir(parents=True, exist_ok=True)
    train.to_csv(folder / "train.csv", index=False)
    test.to_csv(folder / "test.csv", index=False)
    everything = pd.concat([train, test])
    logged = [f for f in task.features if everything[f].min() > 0 and everything[f].max() >= 10 * everything[f].min()]
    bound = literature.bind(task.family, range(len(task.features)))
    (folder / "reference_law.py").write_text(literature.program(bound, task.features, [task.target]))
    (folder / "truth.json").write_text(json.dumps(truth, indent=1) + "\n")
    axis, count = task.holdout
    description = (
        f"{task.about} Synthetic runs. The test split holds each group's {count} largest values of {axis}; "
        f"you extrapolate along {axis}."
    )
    spec = {
        "name": task.name, "description": description, "train": "train.csv", "test": "test.csv",
        "features": list(task.features), "targets": [task.target], "group": "group",
        "param_limit": len(task.family.parameters), "extrapolates": [axis], "log_features": logged,
        "law": "reference_law.py",
    }  # fmt: skip
    (folder / "task.yaml").write_text(yaml.safe_dump(spec, sort_keys=False, width=100))
    return folder / "task.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for task in TASKS:
        path = write_task(task, args.out, args.seed)
        truth = json.loads((path.parent / "truth.json").read_text())
        print(f"{task.name:<18} {task.law:<17} truth R^2 {truth['r2']:.4f}  {path}")


if __name__ == "__main__":
    main()
