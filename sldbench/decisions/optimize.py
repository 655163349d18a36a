"""Where a law puts the optimum of some features at fixed values of the others (``sldbench optimize``).

The paper's first application: fit a law L(N, D, lr, bsz) on the train split, then read off the
learning rate and batch size it says are best for a larger model on more tokens. Any law is
accepted (it runs in the sandbox, as a score does), so the optimum is found by search, not by
calculus: the law is fitted once on the group's train rows and predicts a grid over the
minimized features (log-spaced where a feature's train values are positive), one decade
wider on each side than the values it was fitted on; a second run predicts a finer grid
around the best point. An optimum on the edge of the wide grid is no optimum: the law keeps
falling in that direction (monotone), and it is reported as such. Where the task holds runs
at the given point (train or test rows), the decision is scored as in the paper: the loss of
the run nearest the law's optimum, the best run's loss, and the regret in percent.

Run it as::

    sldbench optimize LAW --task lr_bsz --minimize lr,bsz --at data_size=1e11,non_embedding_param_size=1.07e9
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..data import Split
from ..specs import TaskSpec
from .inputs import DecisionInputError

GRID_POINTS = 40_000  # points of each grid, split evenly over the minimized features
WIDENING_DECADES = 1.0  # the coarse grid reaches this far beyond the fitted values, on each side
MATCH_TOLERANCE = 0.01  # a run is "at the point" when every fixed feature is within 1% of the value given
FINE_CELLS = 2  # the fine grid spans this many coarse cells on each side of the coarse optimum


class DecisionError(RuntimeError):
    """The law could not be used for the decision (it failed to fit or predict); the message says why."""


@dataclass
class Axis:
    """One minimized feature: the values the law was fitted on and how its grid is spaced."""

    name: str
    low: float  # smallest train value
    high: float  # largest train value
    log: bool  # grid in log10 (every train value positive)

    def to_grid(self, value: float) -> float:
        return math.log10(value) if self.log else value

    def from_grid(self, value: np.ndarray) -> np.ndarray:
        return 10.0**value if self.log else value

    def span(self) -> tuple[float, float]:
        """The coarse grid's ends: the fitted range widened on both sides."""
        low, high = self.to_grid(self.low), self.to_grid(self.high)
        widen = WIDENING_DECADES if self.log else max(high - low, abs(high), 1e-12)
        return low - widen, high + widen

    def outside(self, value: float) -> str | None:
        """How far ``value`` lies outside the fitted values, or None inside them."""
        if self.low <= value <= self.high:
            return None
        edge, side = (self.low, "below the smallest") if value < self.low else (self.high, "above the largest")
        if self.log:
            return f"{max(value, edge) / min(value, edge):.3g}x {side} {self.name} the law was fitted on ({edge:.4g})"
        return f"{abs(value - edge):.4g} {side} {self.name} the law was fitted on ({edge:.4g})"


@dataclass
class Optimum:
    """What a law decides at one point, and how the task's runs there judge it.

    Attributes
    ----------
    optimum : dict of str to float
        The minimized features' values at the law's optimum (those with an interior optimum).
    predicted : float or None
        The law's prediction there (None when some feature has no interior optimum).
    monotone : dict of str to str
        Features with no interior optimum, and the direction the law keeps improving in.
    outside : dict of str to str
        Optimum values outside the range the law was fitted on, and by how much.
    nearest_run, best_run : dict or None
        The run at the point nearest the optimum (in log space of the minimized features), and the best run.
    nearest_loss, best_loss, regret_percent : float or None
        Their targets, and ``100 * (nearest_loss - best_loss) / |best_loss|``.
    runs_at_point : int
        How many runs of the task are at the point.
    """

    at: dict[str, float]
    group: str
    target: str
    fitted_range: dict[str, tuple[float, float]]
    optimum: dict[str, float] = field(default_factory=dict)
    predicted: float | None = None
    monotone: dict[str, str] = field(default_factory=dict)
    outside: dict[str, str] = field(default_factory=dict)
    runs_at_point: int = 0
    nearest_run: dict | None = None
    nearest_loss: float | None = None
    best_run: dict | None = None
    best_loss: float | None = None
    regret_percent: float | None = None

    def as_json(self) -> dict:
        """The keys of ``sldbench optimize --json``."""
        return {
            "optimum": self.optimum,
            "predicted": self.predicted,
            "monotone": self.monotone,
            "outside": self.outside,
            "at": self.at,
            "group": self.group,
            "target": self.target,
            "fitted_range": {name: list(bounds) for name, bounds in self.fitted_range.items()},
            "runs_at_point": self.runs_at_point,
            "nearest_run": self.nearest_run,
            "nearest_loss": self.nearest_loss,
            "best_run": self.best_run,
            "best_loss": self.best_loss,
            "regret_percent": self.regret_percent,
        }


def check_request(spec: TaskSpec, minimize: list[str], at: dict[str, float], train: Split, group: str | None, target: str | None) -> tuple[str, str]:
    """The group and target to optimize, once the request is whole; `DecisionInputError` otherwise.

    Parameters
    ----------
    spec : TaskSpec
    minimize : list of str
        Features to optimize.
    at : dict of str to float
        Values of every other feature.
    train : Split
        The train split (its groups).
    group, target : str or None
        As given; None: the only one there is.

    Returns
    -------
    tuple of (str, str)
        The group and the target.
    """
    both = sorted(set(minimize) & set(at))
    if both:
        raise DecisionInputError(f"--at gives {', '.join(both)}, which --minimize optimizes; give each feature to one of them")
    missing = [name for name in spec.features if name not in minimize and name not in at]
    if missing:
        example = ",".join(f"{name}=VALUE" for name in missing)
        needs = "every feature not minimized needs one" if minimize else "a point needs a value of every feature"
        raise DecisionInputError(f"--at: no value for {', '.join(missing)}; {needs} (add {example})")
    groups = train.groups
    if group is None:
        if len(groups) > 1:
            raise DecisionInputError(f"--group: the task has {len(groups)} groups ({', '.join(groups[:8])}{', ...' if len(groups) > 8 else ''}); name one")
        group = groups[0]
    elif group not in groups:
        raise DecisionInputError(f"--group: {group!r} is not a group of the task's train split; its groups are {', '.join(groups[:8])}")
    if target is None:
        target = spec.targets[0]
        if len(spec.targets) > 1:
            raise DecisionInputError(f"--target: the task has {len(spec.targets)} targets ({', '.join(spec.targets)}); name one")
    elif target not in spec.targets:
        raise DecisionInputError(f"--target: {target!r} is not a target of the task; its targets are {', '.join(spec.targets)}")
    return group, target


async def find_optimum(
    runner,
    program: str,
    spec: TaskSpec,
    train: Split,
    runs: list[Split],
    minimize: list[str],
    at: dict[str, float],
    group: str,
    target: str,
    timeout: float = 300.0,
) -> Optimum:
    """Fit ``program`` on ``group``'s train rows and find where it puts the optimum of ``minimize`` at ``at``.

    Parameters
    ----------
    runner : SandboxEnvironment
        Where the law runs (`sldbench.sandbox.host.run_program`).
    program : str
        The law, either submission shape.
    spec : TaskSpec
    train : Split
        Rows the law is fitted on.
    runs : list of Split
        Every split of the task whose runs may be at the point (they judge the decision; the law never sees them).
    minimize : list of str
        Features to optimize.
    at : dict of str to float
        Values of the other features.
    group, target : str
        Which group's rows to fit and which target to minimize.
    timeout : float
        Wall seconds for each of the two runs of the law.

    Returns
    -------
    Optimum
    """
    X_train, _ = train.arrays(group)
    axes = []
    for name in minimize:
        column = X_train[:, spec.features.index(name)]
        axes.append(Axis(name, float(column.min()), float(column.max()), bool(np.all(column > 0))))
    result = Optimum(at=at, group=group, target=target, fitted_range={axis.name: (axis.low, axis.high) for axis in axes})
    per_axis = max(int(GRID_POINTS ** (1 / len(axes))), 5)
    coarse = [np.linspace(*axis.span(), per_axis) for axis in axes]
    values = await _predict_grid(runner, program, spec, train, group, target, axes, coarse, at, timeout)
    best = np.unravel_index(_argmin(values), values.shape)
    for axis, grid, index in zip(axes, coarse, best):
        if index in (0, len(grid) - 1):
            toward = "smaller" if index == 0 else "larger"
            result.monotone[axis.name] = f"the law keeps improving toward {toward} {axis.name} (no optimum within a decade of the fitted values)"
    if result.monotone:
        return result
    fine = []
    for grid, index in zip(coarse, best):
        step = grid[1] - grid[0]
        fine.append(np.linspace(grid[index] - FINE_CELLS * step, grid[index] + FINE_CELLS * step, per_axis))
    values = await _predict_grid(runner, program, spec, train, group, target, axes, fine, at, timeout)
    best = np.unravel_index(_argmin(values), values.shape)
    result.predicted = float(values[best])
    for axis, grid, index in zip(axes, fine, best):
        value = float(axis.from_grid(grid[index]))
        result.optimum[axis.name] = value
        if (note := axis.outside(value)) is not None:
            result.outside[axis.name] = note
    _judge(result, spec, runs, axes)
    return result


def _argmin(values: np.ndarray) -> int:
    finite = np.isfinite(values)
    if not finite.any():
        raise DecisionError("the law predicts no finite value anywhere on the grid")
    return int(np.argmin(np.where(finite, values, np.inf)))


async def _predict_grid(runner, program, spec, train, group, target, axes, grids, at, timeout) -> np.ndarray:
    """The law's predictions of ``target`` on the grid ``grids`` (one array per axis), shaped like the grid."""
    from ..sandbox.host import Limits, run_program

    mesh = np.meshgrid(*grids, indexing="ij")
    X = np.empty((mesh[0].size, len(spec.features)))
    for name, value in at.items():
        X[:, spec.features.index(name)] = value
    for axis, coordinates in zip(axes, mesh):
        X[:, spec.features.index(axis.name)] = axis.from_grid(coordinates.ravel())
    result = await run_program(
        runner, program, spec, predict={group: X}, fit={group: train.arrays(group)}, limits=Limits(timeout=timeout)
    )
    if not result.ok:
        raise DecisionError(f"the law could not be fitted and run on the grid: {result.kind}: {result.error}")
    return result.predictions[group][:, spec.targets.index(target)].reshape(mesh[0].shape)


def _judge(result: Optimum, spec: TaskSpec, runs: list[Split], axes: list[Axis]) -> None:
    """Fill in the runs at the point: the one nearest the optimum, the best one, the regret."""
    rows = []
    for split in runs:
        if result.group not in split.groups:
            continue
        X, Y = split.arrays(result.group)
        at_point = np.ones(len(X), dtype=bool)
        for name, value in result.at.items():
            column = X[:, spec.features.index(name)]
            at_point &= np.abs(column - value) <= MATCH_TOLERANCE * max(abs(value), 1e-300)
        rows += [(x, float(y[spec.targets.index(result.target)])) for x, y in zip(X[at_point], Y[at_point])]
    result.runs_at_point = len(rows)
    if not rows:
        return

    def coordinates(x) -> np.ndarray:
        return np.array([axis.to_grid(float(x[spec.features.index(axis.name)])) for axis in axes])

    target = np.array([axis.to_grid(result.optimum[axis.name]) for axis in axes])
    nearest = min(rows, key=lambda row: float(np.sum((coordinates(row[0]) - target) ** 2)))
    best = min(rows, key=lambda row: row[1])
    as_run = lambda row: {name: float(row[0][i]) for i, name in enumerate(spec.features)}  # noqa: E731
    result.nearest_run, result.nearest_loss = as_run(nearest), nearest[1]
    result.best_run, result.best_loss = as_run(best), best[1]
    result.regret_percent = 100.0 * (nearest[1] - best[1]) / abs(best[1]) if best[1] else None


def describe(result: Optimum, law: str, spec: TaskSpec) -> str:
    """The decision as lines for a terminal."""
    def run_text(run: dict) -> str:
        return ", ".join(f"{name}={run[name]:.4g}" for name in result.optimum)

    lines = [
        f"task       {spec.name} (group {result.group}, minimizing {result.target})",
        f"law        {law}",
        "fitted on  " + "; ".join(f"{name} in [{low:.4g}, {high:.4g}]" for name, (low, high) in result.fitted_range.items()),
        "at         " + ", ".join(f"{name}={value:.4g}" for name, value in result.at.items()),
    ]
    for name, note in result.monotone.items():
        lines.append(f"no optimum in {name}: {note}")
    if result.monotone:
        return "\n".join(lines)
    lines.append("optimum    " + ", ".join(f"{name}={value:.4g}" for name, value in result.optimum.items()))
    for note in result.outside.values():
        lines.append(f"           outside the fitted range: {note}")
    lines.append(f"predicted  {result.target} {result.predicted:.6g}")
    if not result.runs_at_point:
        lines.append("runs       none of the task's runs is at this point (within 1% of every --at value)")
        return "\n".join(lines)
    lines.append(f"runs       {result.runs_at_point} of the task's runs are at this point")
    lines.append(f"nearest    {run_text(result.nearest_run)}: {result.target} {result.nearest_loss:.6g} (the run nearest the law's optimum)")
    lines.append(f"best       {run_text(result.best_run)}: {result.target} {result.best_loss:.6g}")
    if result.regret_percent is not None:
        lines.append(f"regret     {result.regret_percent:.3f}% (the nearest run's {result.target} above the best run's)")
    return "\n".join(lines)
