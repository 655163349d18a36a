"""``sldbench discover``: a law for a CSV of training runs in one command.

`discover` writes a task spec for the CSV (`sldbench.specs`), runs SLDAgent on
it through Inspect (the symbolic proposer by default, a model with ``model=``),
and returns a `Discovery`: the law as a formula with its constants per group, its
held-out R^2 beside the initial program's and a plain power law's, the log, and a
plot of the law against the data.
"""

from __future__ import annotations

import asyncio
import re
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path


from .data import Split, load_split
from .laws import named_constants, read_law
from .laws.grammar import Geometry
from .laws.program import INITIAL_PROGRAM, POWER_LAW_BASELINE
from .metrics import SCORER, first_line
from .show import constant_lines, law_formula, no_summary
from .specs import TaskSpec, load_spec_file, parse_spec



@dataclass
class Discovery:
    """What ``sldbench discover`` found.

    Attributes
    ----------
    formula : str
        The law in words (``loss = b + c1 * N^a1 + c2 * D^a2``), or "" when the program is not one
        the symbolic search wrote (then read ``program``).
    program : str
        The submitted program (fit-and-predict shape).
    constants : dict of str to dict of str to float
        Per group, the law's fitted constants by name (empty for a model's program).
    r2, r2_raw : float
        Held-out R^2, clipped to [-1, 1] and raw.
    baselines : dict of str to float
        Held-out raw R^2 of the initial program and of a plain power law.
    log : str
        The Inspect log of the run.
    plot : str
        The PNG of the law against the data ("" when it could not be drawn; see ``plot_problem``).
    spec_file : str
    features, groups : tuple of str
        The task's features and train groups (for the ``sldbench predict`` command `render` suggests).
    intervals : dict of str to dict of str to list of float
        Per group, each named constant's interval (``[low, high]``, `INTERVAL_LEVEL`) from refits on the
        runs with their residuals drawn again (`sldbench.decisions.predict`); ``interval_note`` says how many.
    """

    formula: str
    program: str
    constants: dict[str, dict[str, float]]
    r2: float
    r2_raw: float
    baselines: dict[str, float]
    log: str
    plot: str = ""
    plot_problem: str = ""
    spec_file: str = ""
    explanation: str = ""
    extra: dict = field(default_factory=dict)
    intervals: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    features: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    interval_note: str = ""

    def as_json(self) -> dict:
        return {
            "formula": self.formula, "program": self.program, "constants": self.constants, "r2": self.r2, "r2_raw": self.r2_raw,
            "baselines": self.baselines, "log": self.log, "plot": self.plot, "spec_file": self.spec_file,
            "intervals": self.intervals,
        }  # fmt: skip


MULTIPLICATIVE_SPAN = 10.0
"""A feature whose values are all positive and span at least this factor is on a multiplicative scale (a size, a count, a rate)."""


def multiplicative_features(files: list[Path], features: list[str]) -> tuple[list[str], list[str]]:
    """The features on a multiplicative scale in the CSV ``files``, and a warning for each one that nearly is.

    A feature is multiplicative when every value is > 0 and they span at least a factor
    `MULTIPLICATIVE_SPAN`: a law may take its log (or powers of it). A column whose positive
    values span that much but that has a few values <= 0 (at most a tenth of its rows) is named
    with those rows: the law cannot take its log, so it enters as itself, which is rarely what
    was meant.

    Returns
    -------
    inferred : list of str
        In the order of ``features``.
    warnings : list of str
        One line per nearly multiplicative column: the file, the column and the data rows.
    """
    import pandas as pd

    inferred, warnings = [], []
    frames = [(path, pd.read_csv(path)) for path in files]
    for feature in features:
        values = pd.concat([pd.to_numeric(frame[feature], errors="coerce") for _, frame in frames if feature in frame])
        positive = values[values > 0]
        if positive.empty or positive.max() < MULTIPLICATIVE_SPAN * positive.min():
            continue
        if len(positive) == len(values):
            inferred.append(feature)
            continue
        if len(values) - len(positive) <= max(1, len(values) // 10):
            for path, frame in frames:
                column = pd.to_numeric(frame[feature], errors="coerce") if feature in frame else pd.Series(dtype=float)
                rows = [int(i) + 1 for i in column.index[~(column > 0)]]
                if rows:
                    shown = ", ".join(map(str, rows[:8])) + (", ..." if len(rows) > 8 else "")
                    warnings.append(
                        f"{path}: column {feature!r} spans {positive.min():.3g} to {positive.max():.3g} but is not > 0 at data row(s) "
                        f"{shown}; a law cannot take its log, so {feature} enters as itself. Fix or drop those rows, or pass "
                        f"--log-features without {feature} to keep them"
                    )
    return inferred, warnings


def task_name(path: Path) -> str:
    """A task name from a file name: lower case, other characters as underscores, starting with a letter."""
    name = re.sub(r"[^a-z0-9_]+", "_", path.stem.lower()).strip("_") or "runs"
    return name if name[0].isalpha() else f"runs_{name}"


def extrapolation_axes(items: list[str]) -> list[str] | dict[str, str]:
    """The spec's ``extrapolates`` from the command line's ``NAME`` or ``NAME:smaller`` items (`sldbench.specs.TOWARD`).

    Parameters
    ----------
    items : list of str
        ``["N", "D"]``: beyond the largest values of each; ``["loss:smaller"]``: below the smallest.

    Returns
    -------
    list or dict
        The names, or a mapping of name to direction where any item gives one (the spec's check names a wrong one).
    """
    if not any(":" in item for item in items):
        return items
    pairs = [item.split(":", 1) if ":" in item else (item, "larger") for item in items]
    return {name.strip(): way.strip() for name, way in pairs}


def write_spec(
    data: Path, features: list[str], target: list[str], group: str | None, holdout: str | None, test: Path | None,
    param_limit: int | None, out: Path, log_features: list[str] | None = None, extrapolates: list[str] | None = None,
    notes: list[str] | None = None,
) -> Path:  # fmt: skip
    """Validate the command's choices as a task spec, and its data, then write it to ``out/task.yaml``; its path.

    Without ``log_features``, the features that are multiplicative in the data are inferred
    (`multiplicative_features`) and written as the spec's ``log_features``; what was inferred,
    and every column that is nearly multiplicative but not quite, is appended to ``notes``, and
    so are the features that move in step with an extrapolation axis on the train rows
    (`sldbench.laws.grammar.Geometry.scales`: the search treats them as scales, never as a
    hyperparameter with an optimum).

    Raises
    ------
    SpecError, DataError
        Before anything is written.
    """
    import yaml

    raw = {
        "name": task_name(data),
        "description": (
            f"Training runs from {data.name}: inputs {', '.join(features)}, output(s) {', '.join(target)}"
            + (f", runs grouped by {group}" if group else "") + "."
        ),
        "features": features,
        "targets": target,
    }  # fmt: skip
    if test is not None:
        raw.update(train=str(data.resolve()), test=str(test.resolve()))
    else:
        raw.update(data=str(data.resolve()), holdout=holdout)
    if group:
        raw["group"] = group
    if param_limit is not None:
        raw["param_limit"] = param_limit
    if log_features:
        raw["log_features"] = log_features
    if extrapolates:
        raw["extrapolates"] = extrapolation_axes(extrapolates)
    spec = parse_spec(raw, "options", Path.cwd(), allow_outside_paths=True)  # the same checks as a spec file; paths are the command line's
    train = load_split(spec, "train")  # and the data's, before anything is written
    if not log_features:
        inferred, warnings = multiplicative_features([data] + ([test] if test is not None else []), features)
        if inferred:
            raw["log_features"] = inferred
            spec = parse_spec(raw, "options", Path.cwd(), allow_outside_paths=True)
            train = load_split(spec, "train")
        if notes is not None:
            notes += [f"multiplicative features (every value > 0, spanning at least a factor {MULTIPLICATIVE_SPAN:g}): "
                      f"{', '.join(inferred)}; laws may take their logs (--log-features chooses them yourself)"] * bool(inferred)
            notes += warnings
    if notes is not None:
        notes += _in_step_note(train)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "task.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def _in_step_note(train: Split) -> list[str]:
    """A note naming the features that move in step with an extrapolation axis on the train rows (none: no note)."""
    geometry = Geometry.of(train)
    in_step = sorted(geometry.scales - set(geometry.axes))
    if not in_step:
        return []
    return [f"{', '.join(geometry.names[f] for f in in_step)}: in step with the extrapolation axis ({train.spec.axes_text()}) "
            "on every train row, so beyond the data it grows with it; the search treats it as a scale, never as a "
            "hyperparameter with an optimum"]  # fmt: skip


INTERVAL_LEVEL = 0.9
INTERVAL_RESAMPLES = 20  # refits per group: a count, so the intervals are the same on any machine
INTERVAL_REFITS = 200  # refits in all: a task of many groups gets fewer per group (never fewer than 5)


def _named_intervals(program: str, spec: TaskSpec, bounds: dict) -> dict[str, dict[str, list[float]]]:
    """Per group, each named constant's interval in the units the constants are printed in (groups whose vector the
    law does not name are left out)."""
    law, out = read_law(program), {}
    for group, group_bounds in bounds.items():
        lows, highs = [a for a, _ in group_bounds], [b for _, b in group_bounds]
        named = named_constants(law, spec.targets, lows, lows, highs)  # the value itself is printed elsewhere
        if named:
            out[group] = {name: [low, high] for name, (_, low, high) in named.items()}
    return out


async def held_out_r2s(spec: TaskSpec, programs: list[str], isolation: str = "auto") -> list[float]:
    """Raw held-out R^2 of fit-and-predict programs, each scored as the benchmark scores it (local sandbox).

    Parameters
    ----------
    spec : TaskSpec
    programs : list of str
        Program sources in the fit-and-predict shape.
    isolation : str
        The local sandbox's isolation (`sldbench.sandbox.local.IsolatedLocalSandbox`); one sandbox
        serves them all, each score in a fresh scratch folder.

    Returns
    -------
    list of float
        One per program, in order.
    """
    from .sandbox.local import IsolatedLocalSandbox
    from .scorer import score_program

    sandbox = IsolatedLocalSandbox(isolation)
    try:
        return [float((await score_program(sandbox, program, spec, shape="fit_predict")).value["r2_raw"]) for program in programs]
    finally:
        sandbox.directory.cleanup()


class SearchFailed(RuntimeError):
    """The search ended without a law (the harness failed, or no candidate could be evaluated); the log says more."""


class SearchInterrupted(SearchFailed):
    """Discovery was stopped (Ctrl-C) before it ended; its checkpoint, if it has one, keeps what the search did.

    Parameters
    ----------
    checkpoint : Path, optional
        The search's checkpoint, named in the message when it is there.
    """

    def __init__(self, checkpoint: Path | None) -> None:
        kept = checkpoint is not None and checkpoint.is_file()
        super().__init__("interrupted" + (f"; the search so far is kept in {checkpoint}: run the same again to go on from there" if kept else ""))


def _stage(progress: bool, what: str) -> None:
    if progress:
        print(f"  {what}", file=sys.stderr, flush=True)


def discover(
    spec_file: Path, iterations: int = 50, model: str | None = None, seed: int = 42, log_dir: Path | None = None,
    progress: bool = True, plot: Path | None = None, allow_outside_paths: bool = False, isolation: str = "auto",
    checkpoint: Path | None = None, intervals: int = INTERVAL_RESAMPLES,
) -> Discovery:  # fmt: skip
    """Run SLDAgent on a task spec and describe what it found (see `Discovery`).

    Parameters
    ----------
    spec_file : Path
        The task (`write_spec` writes one for a CSV).
    iterations : int
        Proposals the search evaluates (a count: the same law on any machine for a seed).
    model : str, optional
        An Inspect model for SLDAgent; default: the symbolic proposer, no model.
    seed : int
    log_dir : Path, optional
        Where the Inspect log goes (default: ``logs`` beside the spec).
    progress : bool
        Show the search's progress on stderr.
    plot : Path, optional
        PNG file of the law against the data (default: ``law.png`` beside the spec).
    allow_outside_paths : bool
        Let the spec name files outside its folder (`sldbench.specs.parse_spec`); `write_spec`
        writes the paths a user gave on the command line, wherever they are.
    isolation : {"auto", "required", "rlimits"}
        The local sandbox's policy for every run of a candidate, the scoring and the plot
        (`sldbench.sandbox.local`): bubblewrap where it works, required, or never.
    checkpoint : Path, optional
        JSON file the search writes after every wave (every candidate and its score); an
        existing one is resumed, so an interrupted search loses nothing.
    intervals : int
        Refits per group on resampled runs that bound each constant (0: none).

    Returns
    -------
    Discovery
    """
    from inspect_ai import eval as inspect_eval

    from .report.plots import draw_law
    from .solvers import sldagent
    from .tasks import sldbench_task

    spec = load_spec_file(spec_file, allow_outside_paths)
    proposer = "model" if model else "symbolic"
    # the solver fills {task} and {epoch} into a checkpoint path: braces of the path itself are doubled
    path = str(checkpoint).replace("{", "{{").replace("}", "}}") if checkpoint else None
    with no_summary():
        logs = inspect_eval(
            sldbench_task(spec, isolation=isolation),
            solver=sldagent(iterations=iterations, proposer=proposer, seed=seed, progress=progress, checkpoint=path),
            model=model or "none",
            log_dir=str(log_dir or spec_file.parent / "logs"),
            display="none",
        )
    if not logs or logs[0].status == "cancelled":  # on Ctrl-C Inspect writes a cancelled log and returns none
        raise SearchInterrupted(checkpoint)
    (log,) = logs
    if log.status != "success" or not log.samples:
        raise SearchFailed(f"the search did not finish ({log.status}): {first_line(log.error.message) if log.error else 'no sample'} (log: {log.location})")
    score = log.samples[0].scores[SCORER]
    program = score.answer or ""
    train, test = load_split(spec, "train"), load_split(spec, "test")
    if intervals:
        intervals = max(5, min(intervals, INTERVAL_REFITS // max(len(train.groups), 1)))
    bounding = f", bounding the constants ({intervals} refits per group on the runs with their residuals drawn again)" if intervals else ""
    _stage(progress, f"scoring the baselines (initial program, power law), drawing the plot{bounding} ...")

    async def baselines_and_plot():  # side by side, each in sandboxes of its own
        return await asyncio.gather(
            held_out_r2s(spec, [INITIAL_PROGRAM, POWER_LAW_BASELINE], isolation),
            draw_law(
                spec, program, "fit_predict", train.frame, test.frame, f"{spec.name}: discovered law, held-out R² {score.value['r2_raw']:.4f}",
                isolation=isolation, band_refits=intervals, band_level=INTERVAL_LEVEL, band_seed=seed,
            ),
        )  # fmt: skip

    baseline_r2s, picture = asyncio.run(baselines_and_plot())
    found = Discovery(
        formula=law_formula(program, spec),
        program=program,
        constants=(score.metadata or {}).get("constants", {}),  # fitted in the scoring sandbox, by name
        r2=score.value["r2"],
        r2_raw=score.value["r2_raw"],
        baselines=dict(zip(("initial program", "power law"), baseline_r2s)),
        log=log.location,
        spec_file=str(spec_file),
        explanation=score.explanation or "",
        features=spec.features,
        groups=tuple(train.groups),
    )
    if intervals:
        found.intervals = _named_intervals(program, spec, picture.constant_bounds)
        problem = picture.band_problem or picture.problem
        found.interval_note = (
            f"no intervals: {problem}" if problem
            else f"{INTERVAL_LEVEL:.0%} intervals from {intervals} refits per group on the runs with their residuals drawn again"
        )  # fmt: skip
    if picture.png:
        target = plot or spec_file.parent / "law.png"
        target.write_bytes(picture.png)
        found.plot = str(target)
    else:
        found.plot_problem = picture.problem
    return found


def render(found: Discovery) -> str:
    """A person's view of a `Discovery`: the law, its constants per group, the scores, where the files are."""
    lines = ["", "Law (one form for every group):"]
    lines += [f"    {line}" for line in (found.formula or "(a program of its own: see below)").splitlines()]
    if found.constants:
        lines.append("\nConstants per group:")
        lines += constant_lines(found.constants)
    if found.intervals:
        lines.append(f"\nConstants' {found.interval_note}:")
        width = max(len(str(group)) for group in found.intervals)
        for group, bounds in found.intervals.items():
            lines.append(f"    {str(group):<{width}}  " + "  ".join(f"{name} [{low:.4g}, {high:.4g}]" for name, (low, high) in bounds.items()))
    elif found.interval_note:
        lines.append(f"\nConstants' intervals: {found.interval_note}")
    lines.append("\nHeld-out R² (the rows the holdout rule set aside):")
    for name, value in {"discovered law": found.r2_raw, **found.baselines}.items():
        lines.append(f"    {name:<16} {_r2(value)}")
    if not found.formula:
        lines += ["\nProgram:", found.program]
    lines.append(f"\nLog:  {found.log}")
    lines.append(f"Plot: {found.plot}" if found.plot else f"Plot: not drawn ({found.plot_problem})")
    lines.append(f"Spec: {found.spec_file}  (inspect eval sldbench/custom -T spec={found.spec_file} -T allow_outside_paths=true --solver ... runs any solver on it)")
    if found.features and found.log and found.spec_file:
        at = shlex.quote(",".join(f"{name}=..." for name in found.features))
        group = f" --group {shlex.quote(found.groups[0])}" if len(found.groups) > 1 else ""
        lines.append(
            f"Next: sldbench predict {shlex.quote(found.log)} --task {shlex.quote(found.spec_file)} --allow-outside-paths{group} --at {at}"
            "  (the law's prediction with an interval)"
        )
    return "\n".join(lines)


def _r2(value: float) -> str:
    """R² as the benchmark reports it (clipped at -1), the raw value beside it when clipping changed it."""
    if value >= -1.0:
        return f"{value:.4f}"
    return f"-1.0000 (clipped; raw {value:.4f})" if value > -1e4 else f"-1.0000 (clipped; raw {value:.3g})"
