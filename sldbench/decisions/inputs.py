"""What a decision command is given, checked at the boundary: the law, the features, the point.

`law_program` reads a law from a file (either submission shape), from an Inspect log of a
scored run (the logged law), or the task's expert law; `feature_list` and `point` read the
``--minimize`` and ``--at`` options. Each failure is a `DecisionInputError` whose one line
names the option, what came and the fix.
"""

from __future__ import annotations

import math
from pathlib import Path

from ..specs import TaskSpec


class DecisionInputError(ValueError):
    """An option of a decision command that cannot be used as given (the message says why and the fix)."""


LOG_SUFFIXES = (".eval", ".json")


def law_program(law: str | None, spec: TaskSpec, expert: bool = False) -> tuple[str, str]:
    """The source of the law to decide with, and how to name it.

    Parameters
    ----------
    law : str or None
        A Python file (``law(input_data, group)`` or ``fit_scaling_law``/``scaling_law_func``), or an
        Inspect log (``.eval``/``.json``): the law of its first scored sample of this task (a log of
        several tasks, as ``sldbench/sldbench`` writes, holds one per task).
    spec : TaskSpec
        The task the law is for (its expert law with ``expert``).
    expert : bool
        Use the task's expert law, refitted on the train split, instead of ``law``.

    Returns
    -------
    tuple of (str, str)
        The program and a label for it (the path, or ``expert law (TASK)``).
    """
    if expert:
        if law:
            raise DecisionInputError(f"both a law ({law}) and --expert were given; give one")
        return _expert_program(spec), f"expert law ({spec.name})"
    if not law:
        raise DecisionInputError("no law given: name a law file, an Inspect log, or pass --expert")
    path = Path(law)
    if path.is_dir():
        raise DecisionInputError(f"{path} is a folder; expected a Python file with the law or an Inspect log")
    if not path.is_file():
        raise DecisionInputError(f"no file at {path}; expected a Python file with the law or an Inspect log")
    if path.suffix in LOG_SUFFIXES:
        return _logged_program(path, spec), f"{path} (logged law)"
    return path.read_text(), str(path)


def _expert_program(spec: TaskSpec) -> str:
    if spec.is_custom:
        if not spec.law_file:
            raise DecisionInputError(f"--expert: the task {spec.name} names no law in its spec (key 'law'); give a law file instead")
        return Path(spec.law_file).read_text()
    from ..laws.expert import refit_program

    return refit_program(spec.name)


def _logged_program(path: Path, spec: TaskSpec) -> str:
    from inspect_ai.log import read_eval_log

    from ..metrics import SCORER

    try:
        log = read_eval_log(str(path))
    except Exception as err:  # noqa: BLE001 - any unreadable log is the user's input error
        raise DecisionInputError(f"{path} could not be read as an Inspect log: {type(err).__name__}: {err}") from err
    scored = [sample for sample in log.samples or [] if (score := (sample.scores or {}).get(SCORER)) is not None and score.answer]
    if not scored:
        raise DecisionInputError(f"{path} holds no scored sample with a law; give a log of a scored run or a law file")
    tasks = [str((sample.metadata or {}).get("task", "")) for sample in scored]
    for sample, task in zip(scored, tasks):
        if task == spec.name:
            return sample.scores[SCORER].answer
    held = ", ".join(sorted({repr(task) for task in tasks}))
    raise DecisionInputError(f"{path} holds laws of {held}, none of the task {spec.name!r}; give a log of a run on {spec.name} or a law file")


def feature_list(text: str, option: str, spec: TaskSpec) -> list[str]:
    """The comma-separated feature names of ``option``, each a feature of ``spec``.

    Parameters
    ----------
    text : str
        The option's value, e.g. ``"lr,bsz"``.
    option : str
        Its name, for the message.
    spec : TaskSpec

    Returns
    -------
    list of str
    """
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise DecisionInputError(f"{option}: no feature named; expected some of {', '.join(spec.features)}")
    for name in names:
        _check_feature(name, option, spec)
    if len(set(names)) < len(names):
        raise DecisionInputError(f"{option}: a feature is named twice in {text!r}")
    return names


def point(text: str, option: str, spec: TaskSpec) -> dict[str, float]:
    """``FEATURE=VALUE,...`` of ``option`` as numbers, each feature one of ``spec``.

    Parameters
    ----------
    text : str
        The option's value, e.g. ``"data_size=1e11,non_embedding_param_size=1.07e9"``.
    option : str
        Its name, for the message.
    spec : TaskSpec

    Returns
    -------
    dict of str to float
    """
    values: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, raw = item.partition("=")
        name = name.strip()
        if not sep:
            raise DecisionInputError(f"{option}: {item!r} is not FEATURE=VALUE (e.g. {spec.features[0]}=1e9)")
        _check_feature(name, option, spec)
        try:
            value = float(raw)
        except ValueError:
            raise DecisionInputError(f"{option}: the value of {name}, {raw.strip()!r}, is not a number") from None
        if not math.isfinite(value):
            raise DecisionInputError(f"{option}: the value of {name} is {raw.strip()}; expected a finite number")
        if name in values:
            raise DecisionInputError(f"{option}: {name} is given twice")
        values[name] = value
    return values


def _check_feature(name: str, option: str, spec: TaskSpec) -> None:
    if name not in spec.features:
        raise DecisionInputError(
            f"{option}: {name!r} is not a feature of the task {spec.name}; its features are {', '.join(spec.features)}"
        )
