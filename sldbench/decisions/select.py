"""Which model to fine-tune, chosen by a law fitted on a small subset (``sldbench select``).

The paper's second application, after Lin et al., "Selecting Large Language Model to Fine-tune
via Rectified Scaling Law" (ICML 2024): for each (model, dataset) pair the law is fitted on the
runs whose fine-tuning data size is at most a fraction of the full size (6.25%: sizes up to
51,200 of 819,200 in sft), predicts the loss with the full data, and for each dataset the model
with the lowest prediction is chosen. Two metrics judge the choice, as that paper's code
(``src/draw.py``) computes them over the models of a dataset:

- RelAcc = (L_worst - L_chosen) / (L_worst - L_best), the true full-data losses of the worst
  model, the chosen one and the best one (1: the best model was chosen);
- PearCorr = Pearson's correlation between the predicted and the true full-data losses.

A group names its pair as ``(MODEL, DATASET)``, as sft's groups do (``('gpt2', 'flan')``); a
task of your own selects the same way when its group column is written so. The task has one
feature, the fine-tuning data size; the full size of a pair is its held-out runs' size.

Run it as::

    sldbench select LAW --task sft --fraction 0.0625
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

import numpy as np

from ..data import Split
from ..specs import TaskSpec
from .inputs import DecisionInputError
from .optimize import DecisionError


@dataclass
class DatasetChoice:
    """The choice for one dataset: the models' predicted and true full-data losses and the metrics."""

    chosen: str
    best: str
    rel_acc: float
    pearson: float | None  # None with fewer than two models, or constant predictions
    predicted: dict[str, float] = field(default_factory=dict)
    actual: dict[str, float] = field(default_factory=dict)


@dataclass
class Selection:
    """Every dataset's choice and the metrics' means.

    Attributes
    ----------
    fraction : float
        The share of the full data size the law was fitted on.
    per_dataset : dict of str to DatasetChoice
    rel_acc, pearson : float or None
        Means over the datasets (PearCorr over those where it is defined).
    """

    fraction: float
    per_dataset: dict[str, DatasetChoice]

    @property
    def rel_acc(self) -> float:
        return float(np.mean([choice.rel_acc for choice in self.per_dataset.values()]))

    @property
    def pearson(self) -> float | None:
        values = [choice.pearson for choice in self.per_dataset.values() if choice.pearson is not None]
        return float(np.mean(values)) if values else None

    def as_json(self) -> dict:
        """The keys of ``sldbench select --json``."""
        return {
            "fraction": self.fraction,
            "rel_acc": self.rel_acc,
            "pearson": self.pearson,
            "per_dataset": {name: vars(choice) for name, choice in self.per_dataset.items()},
        }


def model_and_dataset(group: str, spec: TaskSpec) -> tuple[str, str]:
    """The (model, dataset) pair a group names, or `DecisionInputError` saying how a group must be written."""
    try:
        pair = ast.literal_eval(group)
    except (ValueError, SyntaxError):
        pair = None
    if not (isinstance(pair, tuple) and len(pair) == 2 and all(isinstance(part, str) for part in pair)):
        raise DecisionInputError(
            f"the task {spec.name} has a group {group!r}, which names no (model, dataset) pair; "
            "write each group as ('MODEL', 'DATASET'), as sft's groups are"
        )
    return pair


def check_fraction(fraction: float) -> float:
    """``fraction`` when it is in (0, 1], else `DecisionInputError`."""
    if not 0 < fraction <= 1:
        raise DecisionInputError(f"--fraction: {fraction:g} is not in (0, 1]; e.g. 0.0625 fits on sizes up to 1/16 of the full data")
    return fraction


async def select_models(runner, program: str, spec: TaskSpec, train: Split, test: Split, fraction: float, timeout: float = 600.0) -> Selection:
    """Fit ``program`` per pair on sizes up to ``fraction`` of the full size, predict the full size, choose per dataset.

    Parameters
    ----------
    runner : SandboxEnvironment
        Where the law runs (`sldbench.sandbox.host.run_program`).
    program : str
        The law, either submission shape.
    spec : TaskSpec
        A task with one feature (the data size) whose groups name (model, dataset) pairs.
    train, test : Split
        Rows the law may be fitted on (those within the budget), and the full-data runs that judge the choice.
    fraction : float
        Share of the full data size the law is fitted on.
    timeout : float
        Wall seconds for the run.

    Returns
    -------
    Selection
    """
    from ..sandbox.host import Limits, run_program

    if len(spec.features) != 1:
        raise DecisionInputError(f"the task {spec.name} has features {', '.join(spec.features)}; selection needs one, the fine-tuning data size")
    pairs = {group: model_and_dataset(group, spec) for group in test.groups}
    fit, predict, actual = {}, {}, {}
    for group in test.groups:
        X_test, Y_test = test.arrays(group)
        full = float(X_test[:, 0].max())
        X, Y = train.arrays(group) if group in train.groups else (np.empty((0, 1)), np.empty((0, 1)))
        within = X[:, 0] <= fraction * full * (1 + 1e-9)
        if within.sum() < 2:
            raise DecisionInputError(
                f"the pair {group} has {int(within.sum())} train run(s) of size at most {fraction:g} x {full:g}; a larger --fraction leaves more to fit on"
            )
        fit[group] = (X[within], Y[within])
        at_full = X_test[:, 0] == full
        predict[group] = X_test[at_full][:1]
        actual[group] = float(Y_test[at_full][0, 0])
    result = await run_program(runner, program, spec, predict=predict, fit=fit, limits=Limits(timeout=timeout))
    if not result.ok:
        raise DecisionError(f"the law could not be fitted and run on every pair: {result.kind}: {result.error}")
    predicted = {group: float(result.predictions[group][0, 0]) for group in test.groups}
    datasets: dict[str, list[str]] = {}
    for group, (_, dataset) in pairs.items():
        datasets.setdefault(dataset, []).append(group)
    return Selection(fraction, {dataset: _choose(groups, pairs, predicted, actual) for dataset, groups in sorted(datasets.items())})


def _choose(groups: list[str], pairs: dict, predicted: dict, actual: dict) -> DatasetChoice:
    guesses = np.array([predicted[g] for g in groups])
    truths = np.array([actual[g] for g in groups])
    chosen, best = int(np.argmin(np.where(np.isfinite(guesses), guesses, np.inf))), int(np.argmin(truths))
    worst = float(truths.max())
    rel_acc = 1.0 if worst == truths[best] else float((worst - truths[chosen]) / (worst - truths[best]))
    pearson = None
    if len(groups) > 1 and np.all(np.isfinite(guesses)) and np.std(guesses) > 0 and np.std(truths) > 0:
        pearson = float(np.corrcoef(guesses, truths)[0, 1])
    return DatasetChoice(
        chosen=pairs[groups[chosen]][0],
        best=pairs[groups[best]][0],
        rel_acc=rel_acc,
        pearson=pearson,
        predicted={pairs[g][0]: predicted[g] for g in groups},
        actual={pairs[g][0]: actual[g] for g in groups},
    )


def describe(selection: Selection, law: str, spec: TaskSpec) -> str:
    """The choices as lines for a terminal."""
    lines = [f"task       {spec.name}: fitted per pair on sizes up to {selection.fraction:g} of the full size", f"law        {law}"]
    for dataset, choice in selection.per_dataset.items():
        pearson = "n/a" if choice.pearson is None else f"{100 * choice.pearson:.1f}%"
        lines.append(f"{dataset}: chose {choice.chosen}; best {choice.best}; RelAcc {100 * choice.rel_acc:.1f}%, PearCorr {pearson}")
    pearson = "n/a" if selection.pearson is None else f"{100 * selection.pearson:.1f}%"
    lines.append(f"mean       RelAcc {100 * selection.rel_acc:.1f}%, PearCorr {pearson} (Lin et al., ICML 2024)")
    return "\n".join(lines)
