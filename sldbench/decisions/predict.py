"""A law's prediction at new points, with an interval (``sldbench predict``).

The interval comes from a residual bootstrap that keeps the runs' design: the law is fitted
on the group's train rows; each run's residual is its ratio to the fitted value (log scale,
where every target and prediction is positive; a difference otherwise); each of ``resamples``
replicates keeps every run's features (its scale, its group) and gives it the fitted value
times a residual drawn from the group's, and the law is refitted on it. The interval is the
replicates' central ``level`` share of predictions at each point, and of each fitted constant:
how far the law's answer moves when the noise of its runs is drawn again. All replicates fit
in one sandboxed run (each a group of its own, so a fitting routine sees one replicate at a
time), and a seed fixes the draws. A law with no fitting routine (``law()``) has nothing to
refit: its interval is its value.

Run it as::

    sldbench predict LAW --task TASK --at N=7e10,D=1.4e12 [--at ...] [--level 0.9] [--resamples 100]
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import numpy as np

from ..data import Split
from ..laws import named_constants, read_law
from ..specs import TaskSpec
from .inputs import DecisionInputError
from .optimize import DecisionError

DEFAULT_RESAMPLES = 100
DEFAULT_LEVEL = 0.9
REFIT_JOBS = 2
"""Runs the replicates are refitted in, side by side (a laptop's cores): each replicate is drawn
before any run starts and fitted on its own, so how they are shared out changes no interval."""


@dataclass
class Prediction:
    """Predictions at the points with their intervals, and the fitted constants' intervals.

    Attributes
    ----------
    points : list of dict
        The points, feature -> value.
    predicted : list of float
        The law fitted on the train rows, at each point.
    low, high : list of float
        The interval's ends at each point.
    constants, constants_low, constants_high : list of float
        The fitted vector and each entry's interval (empty for a ``law()``); for a law that names its
        constants, in the units its formula reads them (`sldbench.laws.named_constants`).
    constant_names : list of str
        Their names, as the law's formula writes them (empty when the law does not name them).
    """

    group: str
    target: str
    level: float
    resamples: int
    residuals: str  # "relative" or "absolute"
    points: list[dict]
    predicted: list[float]
    low: list[float]
    high: list[float]
    constants: list[float]
    constants_low: list[float]
    constants_high: list[float]
    constant_names: list[str]

    def as_json(self) -> dict:
        """The keys of ``sldbench predict --json``."""
        return dict(vars(self))


def check_level(level: float, resamples: int) -> None:
    """`DecisionInputError` unless ``level`` is in (0, 1) and ``resamples`` at least 2."""
    if not 0 < level < 1:
        raise DecisionInputError(f"--level: {level:g} is not in (0, 1); e.g. 0.9 for a 90% interval")
    if resamples < 2:
        raise DecisionInputError(f"--resamples: {resamples} is too few; the interval needs at least 2 (default {DEFAULT_RESAMPLES})")


async def predict_with_interval(
    runner,
    program: str,
    spec: TaskSpec,
    train: Split,
    points: list[dict],
    group: str,
    target: str,
    level: float = DEFAULT_LEVEL,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    timeout: float = 600.0,
) -> Prediction:
    """Fit ``program`` on ``group``'s train rows, predict ``points``, and bound both by a residual bootstrap.

    Parameters
    ----------
    runner : SandboxEnvironment
        Where the law runs (`sldbench.sandbox.host.run_program`).
    program : str
        The law, either submission shape.
    spec : TaskSpec
    train : Split
    points : list of dict
        Each a value for every feature.
    group, target : str
    level : float
        The interval's share of the replicates (0.9: from the 5th to the 95th percentile).
    resamples : int
        Replicates (a count: the same seed gives the same interval on any machine).
    seed : int
    timeout : float
        Wall seconds for each of the two runs.

    Returns
    -------
    Prediction
    """
    X, _ = train.arrays(group)
    column = spec.targets.index(target)
    P = np.array([[point[name] for name in spec.features] for point in points], dtype=float)
    first, refits = await refit_on_resampled_runs(runner, program, spec, {group: train.arrays(group)}, {group: P}, resamples, seed, timeout)
    predicted = first.predictions[group][len(X) :, column]
    constants = [float(v) for v in first.params.get(group, [])] if first.shape == "fit_predict" else []
    low, high = predicted.copy(), predicted.copy()
    constants_low, constants_high = list(constants), list(constants)
    if refits:
        low, high = central_interval([prediction[:, column] for prediction in refits[group].predictions], level)
        bounds = constant_intervals(first, refits, level).get(group)
        if bounds:
            constants_low, constants_high = [low_ for low_, _ in bounds], [high_ for _, high_ in bounds]
    relative = refits[group].relative if refits else True
    named = named_constants(read_law(program), spec.targets, constants, constants_low, constants_high) if constants else None
    if named:
        constants, constants_low, constants_high = map(list, zip(*named.values()))
    return Prediction(
        group=group,
        target=target,
        level=level,
        resamples=len(refits[group].predictions) if refits else 0,
        residuals="relative" if relative else "absolute",
        points=points,
        predicted=[float(v) for v in predicted],
        low=[float(v) for v in low],
        high=[float(v) for v in high],
        constants=constants,
        constants_low=constants_low,
        constants_high=constants_high,
        constant_names=list(named) if named else [],
    )


@dataclass
class Refits:
    """The refits of one group: each replicate's predictions and fitted vector, and how residuals were drawn."""

    predictions: list[np.ndarray]
    params: list[np.ndarray]
    relative: bool


async def refit_on_resampled_runs(runner, program: str, spec: TaskSpec, fit: dict, points: dict, resamples: int, seed: int = 0, timeout: float = 600.0, jobs: int = REFIT_JOBS):
    """Fit ``program`` on every group of ``fit`` and predict its train rows and ``points``; then refit it on
    ``resamples`` replicates per group, each the group's runs with their residuals drawn again.

    Parameters
    ----------
    runner : SandboxEnvironment
    program : str
    spec : TaskSpec
    fit : dict of str to (ndarray, ndarray)
        Each group's train rows.
    points : dict of str to ndarray
        Points to predict per group (may have no rows).
    resamples : int
    seed : int
    timeout : float
        Wall seconds for each run: the fit on the runs, then each run of the replicates.
    jobs : int
        Runs of the replicates side by side (`REFIT_JOBS`).

    Returns
    -------
    tuple of (RunResult, dict of str to Refits)
        The fit on the runs themselves (predictions: the train rows, then the points), and each group's
        refits (none for a ``law()``, which has nothing to refit).
    """
    from ..sandbox.host import Limits, run_program

    predict = {group: np.vstack([X, points[group]]) for group, (X, _) in fit.items()}
    first = await run_program(runner, program, spec, predict=predict, fit=fit, limits=Limits(timeout=timeout))
    if not first.ok:
        raise DecisionError(f"the law could not be fitted and run: {first.kind}: {first.error}")
    if first.shape != "fit_predict" or resamples < 1:
        return first, {}
    rng = np.random.default_rng(seed)
    replicates, owners, relative = {}, {}, {}
    for group, (X, Y) in fit.items():
        fitted = first.predictions[group][: len(X)]
        relative[group] = bool(np.all(Y > 0) and np.all(fitted > 0))
        residuals = np.log(Y / fitted) if relative[group] else Y - fitted
        for b in range(resamples):
            drawn = residuals[rng.integers(0, len(X), size=len(X))]
            name = f"{group} replicate {b}"
            replicates[name] = (X, fitted * np.exp(drawn) if relative[group] else fitted + drawn)
            owners[name] = group
    names = list(replicates)
    shares = [names[job::jobs] for job in range(jobs) if names[job::jobs]]
    runs = await asyncio.gather(*(
        run_program(runner, program, spec, predict={name: points[owners[name]] for name in share}, fit={name: replicates[name] for name in share}, limits=Limits(timeout=timeout))
        for share in shares
    ))  # fmt: skip
    failed = next((run for run in runs if not run.ok), None)
    if failed is not None:
        raise DecisionError(f"the law could not be refitted on the resampled runs: {failed.kind}: {failed.error}")
    fitted_by = {name: run for share, run in zip(shares, runs) for name in share}
    refits = {group: Refits([], [], relative[group]) for group in fit}
    for name, group in owners.items():  # in replicate order, whichever run fitted them
        refits[group].predictions.append(fitted_by[name].predictions[name])
        refits[group].params.append(np.asarray(fitted_by[name].params.get(name, []), dtype=float))
    return first, refits


def central_interval(replicates: list, level: float) -> tuple[np.ndarray, np.ndarray]:
    """The central ``level`` share of the replicates, entry by entry.

    Parameters
    ----------
    replicates : list of array_like
        One array per replicate, all of one shape.
    level : float
        In (0, 1); 0.9 runs from the 5th to the 95th percentile.

    Returns
    -------
    tuple of ndarray
        The interval's low and high ends, each of one replicate's shape.
    """
    low, high = np.percentile(np.array(replicates, dtype=float), [(1 - level) / 2 * 100, (1 + level) / 2 * 100], axis=0)
    return low, high


def constant_intervals(first, refits: dict, level: float) -> dict[str, list[tuple[float, float]]]:
    """Each group's fitted constants' intervals, from `refit_on_resampled_runs` (groups whose refits disagree in size are left out)."""
    bounds = {}
    for group, found in refits.items():
        size = len(first.params.get(group, []))
        if size and found.params and all(len(vector) == size for vector in found.params):
            low, high = central_interval(found.params, level)
            bounds[group] = [(float(a), float(b)) for a, b in zip(low, high)]
    return bounds


def describe(prediction: Prediction, law: str, spec: TaskSpec) -> str:
    """The predictions and intervals as lines for a terminal."""
    share = f"{100 * prediction.level:g}%"
    lines = [f"task       {spec.name} (group {prediction.group}, predicting {prediction.target})", f"law        {law}"]
    if prediction.resamples:
        lines.append(f"interval   {share}, from {prediction.resamples} refits on the runs with their {prediction.residuals} residuals drawn again")
    else:
        lines.append("interval   none: the law has no fitting routine to refit (a law() of fixed constants)")
    for point, value, low, high in zip(prediction.points, prediction.predicted, prediction.low, prediction.high):
        where = ", ".join(f"{name}={v:.4g}" for name, v in point.items())
        lines.append(f"at {where}: {value:.6g}  [{low:.6g}, {high:.6g}]")
    names = prediction.constant_names or [f"constant {index}" for index in range(len(prediction.constants))]
    for name, value, low, high in zip(names, prediction.constants, prediction.constants_low, prediction.constants_high):
        lines.append(f"{name}: {value:.6g}  [{low:.6g}, {high:.6g}]")
    return "\n".join(lines)
