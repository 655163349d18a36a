"""Task specs: the schema of a task, the eight SLDBench tasks and tasks of your own data.

One `TaskSpec` per task, read from a spec file by `load_spec_file` (validated by `parse_spec`);
the eight built-in ones are the files in ``sldbench/task_specs/``, read by the same code as a spec
of your own; ``get_spec("moe")`` is the built-in task, ``get_spec(name, spec_file)`` a task of
your own, ``sample_spec(metadata)`` the task a sample of an eval ran. Column orders follow the
official dataset schema: the feature matrix handed to a law has its columns in ``features`` order.

A spec is a YAML (or JSON) mapping::
    name: my_sweep                     # [a-z0-9_], the task's name in logs and reports
    description: >                     # for the agent: what the runs are, what each column means
      Dense language models of N parameters trained on D tokens; loss is the final loss.
    data: runs.csv                     # one CSV of every run (paths relative to the spec file) ...
    # train: train.csv                 # ... or the two splits as files
    # test: test.csv
    features: [N, D]                   # input columns, in the order the law receives them
    targets: [loss]                    # output column(s)
    group: family                      # optional: runs sharing a law's constants (default: one group)
    param_limit: 6                     # optional: fitted constants per group
    holdout: "N: largest 2"            # with data: the test rows, per group: "COLUMN: largest K"
                                       # (its K largest values; or "smallest K") or "COLUMN >= VALUE"
                                       # (or > <= <)
    extrapolates: [N]                  # optional: the feature(s) the test split lies beyond, above
                                       # the train rows; {loss: smaller} where it lies below them
                                       # (default: the holdout column, the way it holds out);
                                       # solvers validate along them
    log_features: [N, D]               # optional: features on a multiplicative scale (sizes,
                                       # counts); laws may take their log or powers, so every
                                       # value must be > 0 (checked)
    law: expert_law.py                 # optional: the reference law for this data, in either
                                       # submission shape; `--solver sldbench/human` submits it

The built-in tasks name a config of the SLDBench dataset instead of files
(``dataset: moe_scaling_law``), read from the Hub or ``SLDBENCH_DATA_DIR``.

Every error names the file, the key and what was expected; nothing is read or
run before the spec validates (`load_spec_file`).
"""

from __future__ import annotations

import json
import re
import reprlib
from dataclasses import dataclass
from pathlib import Path

import yaml


KEYS = (
    "name", "description", "dataset", "data", "train", "test", "features", "targets", "group", "param_limit",
    "holdout", "extrapolates", "log_features", "law",
)  # fmt: skip
REQUIRED = ("name", "description", "features", "targets")
NAME = re.compile(r"^[a-z][a-z0-9_]*$")
HOLDOUT_EXTREME = re.compile(r"^\s*(?P<column>[^:<>=]+?)\s*:\s*(?P<end>largest|smallest)\s+(?P<count>\d+)\s*$")
TOWARD = ("larger", "smaller")  # the ways an extrapolation axis can run: beyond the train rows' largest or smallest values
HOLDOUT_THRESHOLD = re.compile(r"^\s*(?P<column>[^:<>=]+?)\s*(?P<op>>=|<=|>|<)\s*(?P<value>\S+)\s*$")
MAX_SPEC_BYTES = 1 << 20  # a spec is a few lines; anything near this is not one
OUTSIDE_PATHS_FIX = (
    "move the file into the spec's folder, or allow paths outside it explicitly "
    "(inspect eval ... -T allow_outside_paths=true; sldbench score, optimize, select or predict ... --allow-outside-paths)"
)
_SHOWN = reprlib.Repr()  # Python 3.11's takes no keywords
_SHOWN.maxstring = _SHOWN.maxother = 80
_SHOWN.maxlist = _SHOWN.maxdict = 6
_SHOWN.maxlevel = 2


class SpecError(ValueError):
    """A task spec is invalid; the message names the file, the key and the fix."""


def _shown(value: object) -> str:
    """``repr(value)`` cut short: a value in a message is evidence, never the whole of a large input."""
    return _SHOWN.repr(value)


class _SpecLoader(yaml.SafeLoader):
    """YAML's safe loader without aliases: a spec has no use for them, and an alias bomb (a few
    hundred bytes naming a list of lists a billion times) must not reach a reader or a message."""

    def __init__(self, stream) -> None:
        super().__init__(stream)
        self._keys: list[str] = []  # the keys above the node being read, for the message

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            where = f" under key {'.'.join(self._keys)}" if self._keys else ""
            raise yaml.composer.ComposerError(
                None, None, f"an alias (*{event.anchor}){where} is not allowed in a task spec; write the value out", event.start_mark
            )
        is_value = isinstance(parent, yaml.MappingNode) and isinstance(index, yaml.ScalarNode)
        if is_value:
            self._keys.append(str(index.value))
        try:
            return super().compose_node(parent, index)
        finally:
            if is_value:
                self._keys.pop()


@dataclass(frozen=True)
class Holdout:
    """Which rows of each group are the test split.

    Attributes
    ----------
    column : str
    rule : {"largest", "smallest", ">=", ">", "<=", "<"}
        ``largest`` (``smallest``): the rows whose ``column`` is among the group's ``count``
        largest (smallest) distinct values; otherwise rows with ``column`` ``rule`` ``value``.
    count : int
    value : float
    """

    column: str
    rule: str
    count: int = 0
    value: float = 0.0

    def describe(self) -> str:
        if self.rule in ("largest", "smallest"):
            return f"the rows whose {self.column} is among each group's {self.count} {self.rule} values"
        return f"the rows with {self.column} {self.rule} {self.value:g}"

    @property
    def below(self) -> bool:
        """Whether the held-out rows lie below the others (``smallest``, ``<``, ``<=``) rather than above."""
        return self.rule in ("smallest", "<", "<=")


def parse_holdout(text: str, where: str) -> Holdout:
    """A `Holdout` from ``"COLUMN: largest K"`` (or ``smallest``) or ``"COLUMN >= VALUE"``; SpecError naming ``where`` otherwise."""
    if not isinstance(text, str):
        raise SpecError(f"{where}: holdout must be a string such as 'N: largest 2' or 'N >= 1e9', got {_shown(text)}")
    if match := HOLDOUT_EXTREME.match(text):
        count = int(match["count"])
        if count < 1:
            raise SpecError(f"{where}: holdout {_shown(text)} holds out no rows; use 'COLUMN: {match['end']} K' with K >= 1")
        return Holdout(match["column"], match["end"], count=count)
    if match := HOLDOUT_THRESHOLD.match(text):
        try:
            value = float(match["value"])
        except ValueError:
            raise SpecError(f"{where}: holdout {_shown(text)}: {match['value']!r} is not a number") from None
        return Holdout(match["column"], match["op"], value=value)
    raise SpecError(f"{where}: holdout {_shown(text)} is not understood; expected 'COLUMN: largest K' (or smallest) or 'COLUMN >= VALUE' (or >, <=, <)")


def _columns(raw: object, key: str, where: str, allow_empty: bool = False) -> tuple[str, ...]:
    if isinstance(raw, str):
        raw = [part.strip() for part in raw.split(",") if part.strip()]
    if not isinstance(raw, list) or (not raw and not allow_empty) or not all(isinstance(c, str) and c.strip() for c in raw):
        raise SpecError(f"{where}: {key} must be a {'' if allow_empty else 'non-empty '}list of column names, got {_shown(raw)}")
    columns = tuple(c.strip() for c in raw)
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise SpecError(f"{where}: {key} names {', '.join(repeated)} more than once")
    return columns


def _extrapolates(raw: object, where: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(axes, toward_smaller)`` from ``extrapolates``: a list of names (every axis toward larger values) or a
    mapping of name to ``larger`` or ``smaller``."""
    if not isinstance(raw, dict):
        return _columns(raw, "extrapolates", where, allow_empty=True), ()
    axes = _columns(list(raw), "extrapolates", where, allow_empty=True)
    wrong = {name: way for name, way in raw.items() if way not in TOWARD}
    if wrong:
        name, way = next(iter(wrong.items()))
        raise SpecError(
            f"{where}: extrapolates: {name}: {_shown(way)} is not a direction; say larger (the test split lies above the "
            f"train rows' values of {name}) or smaller (below them), e.g. extrapolates: {{{name}: smaller}}"
        )
    return axes, tuple(name.strip() for name, way in raw.items() if way == "smaller")


def parse_spec(raw: object, where: str, base: Path | None = None, allow_outside_paths: bool = False):
    """Validate one spec mapping and return its `sldbench.specs.TaskSpec`.

    Parameters
    ----------
    raw : mapping
        The parsed YAML/JSON.
    where : str
        Its file, for messages.
    base : Path, optional
        Folder that relative data paths are relative to (the spec file's).
    allow_outside_paths : bool
        Let ``data``, ``train``, ``test`` and ``law`` name files outside ``base`` (symbolic
        links followed). Off by default: a spec from someone else must not make the harness
        read, and hand an agent, any file of this machine.

    Raises
    ------
    SpecError
    """
    if not isinstance(raw, dict):
        raise SpecError(f"{where}: a task spec is a mapping of keys ({', '.join(KEYS)}), got {type(raw).__name__}")
    unknown = sorted(set(map(str, raw)) - set(KEYS))
    if unknown:
        raise SpecError(f"{where}: unknown key(s) {', '.join(unknown)}; the known keys are {', '.join(KEYS)}")
    missing = [key for key in REQUIRED if raw.get(key) in (None, "")]
    if missing:
        raise SpecError(f"{where}: missing key(s) {', '.join(missing)} (required: {', '.join(REQUIRED)})")
    name = raw["name"]
    if not isinstance(name, str) or not NAME.match(name):
        raise SpecError(f"{where}: name must be lower-case letters, digits and underscores, starting with a letter, got {_shown(name)}")
    if raw.get("dataset") is None and name in BUILT_IN:
        raise SpecError(f"{where}: name {_shown(name)} is an SLDBench task's; give your task a name of its own (reports keep them apart by name)")
    if not isinstance(raw["description"], str) or not raw["description"].strip():
        raise SpecError(f"{where}: description must be text that tells an agent what the runs and columns are")
    features, targets = _columns(raw["features"], "features", where), _columns(raw["targets"], "targets", where)
    group = raw.get("group")
    if group is not None and (not isinstance(group, str) or not group.strip()):
        raise SpecError(f"{where}: group must be a column name (or left out for one group), got {_shown(group)}")
    both = sorted(set(features) & set(targets)) + ([group] if group in features + targets else [])
    if both:
        raise SpecError(f"{where}: column(s) {', '.join(both)} appear in more than one of features, targets and group")
    extrapolates, toward_smaller = _extrapolates(raw["extrapolates"], where) if raw.get("extrapolates") is not None else (None, ())
    log_features = _columns(raw["log_features"], "log_features", where) if raw.get("log_features") is not None else ()
    for key, named in (("extrapolates", extrapolates or ()), ("log_features", log_features)):
        strangers = [c for c in named if c not in features]
        if strangers:
            raise SpecError(f"{where}: {key} names {', '.join(strangers)}, which {'is' if len(strangers) == 1 else 'are'} not among the features ({', '.join(features)})")
    limit = raw.get("param_limit")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise SpecError(f"{where}: param_limit must be a positive whole number of fitted constants per group, got {_shown(limit)}")
    sources = [key for key in ("dataset", "data", "train") if raw.get(key) is not None]
    if len(sources) != 1:
        raise SpecError(f"{where}: give the runs in exactly one way: data: FILE (with holdout), train: + test: FILES, or dataset: CONFIG")
    files: dict[str, str] = {}
    holdout = None
    if "data" in sources:
        if raw.get("test") is not None:
            raise SpecError(f"{where}: data: holds every run, and holdout: says which are the test split; a test: file goes with train: instead")
        if raw.get("holdout") is None:
            raise SpecError(f"{where}: data: needs holdout: saying which rows are the test split, e.g. holdout: 'N: largest 2'")
        holdout = parse_holdout(raw["holdout"], where)
        if holdout.column not in features + targets:
            raise SpecError(f"{where}: holdout column {holdout.column!r} is not one of the features or targets ({', '.join(features + targets)})")
        files["data"] = raw["data"]
        if extrapolates is None and holdout.column in features:
            extrapolates = (holdout.column,)
            toward_smaller = (holdout.column,) if holdout.below else ()
    elif "train" in sources:
        if raw.get("test") is None:
            raise SpecError(f"{where}: train: needs test: (the held-out runs), or use data: with holdout:")
        if raw.get("holdout") is not None:
            raise SpecError(f"{where}: holdout: splits a data: file; with train: and test: files the split is given")
        files.update(train=raw["train"], test=raw["test"])
    elif raw.get("holdout") is not None or raw.get("test") is not None:
        raise SpecError(f"{where}: dataset: configs come with their splits; drop holdout:/test:")
    for key, value in files.items():
        if not isinstance(value, str) or not value.strip():
            raise SpecError(f"{where}: {key} must be the path of a CSV file, got {_shown(value)}")
        files[key] = _resolve(value, base, key, where, allow_outside_paths)
    law = raw.get("law")
    if law is not None:
        if not isinstance(law, str) or not law.strip():
            raise SpecError(f"{where}: law must be the path of a Python file holding the reference law, got {_shown(law)}")
        law = _resolve(law, base, "law", where, allow_outside_paths)
        if not Path(law).is_file():
            raise SpecError(f"{where}: law names {law}, which does not exist; give the path (relative to the spec) of a .py file defining law() or scaling_law_func() and fit_scaling_law()")
    dataset = raw.get("dataset")
    if dataset is not None and (not isinstance(dataset, str) or not dataset.strip()):
        raise SpecError(f"{where}: dataset must be a config name of the SLDBench dataset, got {_shown(dataset)}")
    return TaskSpec(
        name=name,
        config=dataset or name,
        features=features,
        targets=targets,
        param_limit=limit,
        description=" ".join(raw["description"].split()),
        group=group,
        files=tuple(sorted(files.items())),
        holdout=holdout,
        spec_file=where if dataset is None else None,
        extrapolates=tuple(extrapolates or ()),
        toward_smaller=toward_smaller,
        log_features=log_features,
        law_file=law,
        allow_outside_paths=allow_outside_paths,
    )


def _resolve(value: str, base: Path | None, key: str, where: str, allow_outside_paths: bool) -> str:
    """The absolute path ``value`` names (relative to ``base``); SpecError when it leaves ``base`` unallowed."""
    path = Path(value).expanduser()
    resolved = (base / path if base is not None and not path.is_absolute() else path).resolve()
    if base is not None and not allow_outside_paths and not resolved.is_relative_to(base.resolve()):
        raise SpecError(f"{where}: {key}: {_shown(value)} is {resolved}, outside the spec's folder {base.resolve()}; {OUTSIDE_PATHS_FIX}")
    return str(resolved)


def load_spec_file(path: str | Path, allow_outside_paths: bool = False):
    """Read and validate a spec file (``.yaml``, ``.yml`` or ``.json``); see the module docstring.

    Parameters
    ----------
    path : str or Path
    allow_outside_paths : bool
        See `parse_spec`: by default the files a spec names stay inside its folder.

    Returns
    -------
    sldbench.specs.TaskSpec

    Raises
    ------
    SpecError
        For a missing, oversized or unparsable file (YAML aliases included), or an invalid
        spec; the message names the file and the key.
    """
    path = Path(path).expanduser().resolve()
    if not path.is_file():
        raise SpecError(f"no task spec at {path} (-T spec=FILE: a .yaml or .json file, see sldbench.specs)")
    with path.open("rb") as handle:
        data = handle.read(MAX_SPEC_BYTES + 1)
    if len(data) > MAX_SPEC_BYTES:
        raise SpecError(f"{path}: larger than {MAX_SPEC_BYTES >> 20} MiB; a task spec is a few lines that name its data files")
    kind = "JSON" if path.suffix == ".json" else "YAML"
    try:
        text = data.decode("utf-8")
        raw = json.loads(text) if kind == "JSON" else yaml.load(text, Loader=_SpecLoader)
    except yaml.MarkedYAMLError as err:  # one line: the problem and where, not YAML's excerpt of the file
        mark = err.problem_mark
        raise SpecError(f"{path}: cannot be parsed as YAML: {err.problem} (line {mark.line + 1}, column {mark.column + 1})") from err
    except (ValueError, yaml.YAMLError) as err:
        raise SpecError(f"{path}: cannot be parsed as {kind}: {err}") from err
    return parse_spec(raw, str(path), path.parent, allow_outside_paths)


SPECS_DIR = Path(__file__).resolve().parent / "task_specs"
BUILT_IN = ("parallel", "vocab", "sft", "domain_mix", "moe", "d_constrain", "lr_bsz", "u_shape")
"""The built-in tasks, in the paper's table order."""


@dataclass(frozen=True)
class TaskSpec:
    """Static description of one task.

    Attributes
    ----------
    name : str
        Short task name (``"moe"``), also the Inspect task name ``sldbench/<name>`` of a built-in task.
    config : str
        Dataset config name on the Hub and folder name in a local data dir (a custom task: its name).
    features, targets : tuple of str
        Input and output columns, in the order the law receives and returns them.
    param_limit : int or None
        Maximum number of fitted parameters per group (None: no limit).
    description : str
        What the features and targets mean, in words, for prompts.
    group : str or None
        The column naming each run's group in the data files (None: one group, ``all_data``).
    files : tuple of (str, str)
        A custom task's data files: ``("data", PATH)`` with `holdout`, or ``("train", PATH), ("test", PATH)``;
        empty for a task of the SLDBench dataset.
    holdout : Holdout or None
        Which rows of ``data`` are the test split.
    spec_file : str or None
        The spec file of a custom task (solvers and scorers load the task from it again).
    extrapolates : tuple of str
        The features whose held-out values lie beyond the training range (empty: the test
        split is not along one axis). Solvers may validate along them; the prompt names them.
    toward_smaller : tuple of str
        The axes of ``extrapolates`` along which the held-out values lie below the training
        range (a downstream error extrapolated to lower loss); along the others they lie above.
    log_features : tuple of str
        Features declared to be on a multiplicative scale (every value checked > 0); empty:
        not declared (solvers may infer it from the train split).
    law_file : str or None
        A reference law for a custom task (a program in either submission shape).
    allow_outside_paths : bool
        Whether the spec file was allowed to name files outside its folder (solvers and the
        scorer read it again with the same permission: `sample_spec`).
    """

    name: str
    config: str
    features: tuple[str, ...]
    targets: tuple[str, ...]
    param_limit: int | None
    description: str
    group: str | None = "group"
    files: tuple[tuple[str, str], ...] = ()
    holdout: Holdout | None = None
    spec_file: str | None = None
    extrapolates: tuple[str, ...] = ()
    toward_smaller: tuple[str, ...] = ()
    log_features: tuple[str, ...] = ()
    law_file: str | None = None
    allow_outside_paths: bool = False

    @property
    def columns(self) -> tuple[str, ...]:
        """All columns of a split once loaded: ``group``, then features, then targets."""
        return ("group", *self.features, *self.targets)

    def toward(self, axis: str) -> int:
        """+1 where the test split lies above the train rows along ``axis``, -1 where below (`toward_smaller`)."""
        return -1 if axis in self.toward_smaller else 1

    def axes_text(self) -> str:
        """The extrapolation axes in words: ``"N, D"``, ``"loss (toward smaller values)"``."""
        return ", ".join(f"{axis} (toward smaller values)" if axis in self.toward_smaller else axis for axis in self.extrapolates)

    @property
    def is_custom(self) -> bool:
        """Whether the runs come from files of the user's own (not the SLDBench dataset)."""
        return bool(self.files)


_SPECS = [load_spec_file(SPECS_DIR / f"{name}.yaml") for name in BUILT_IN]

TASKS: dict[str, TaskSpec] = {spec.name: spec for spec in _SPECS}
"""Task specs by short name, in the paper's table order."""

BY_CONFIG: dict[str, TaskSpec] = {spec.config: spec for spec in _SPECS}
"""Task specs by dataset config name."""


def get_spec(name: str, spec_file: str | None = None, allow_outside_paths: bool = False) -> TaskSpec:
    """Look a task up by short name (``moe``) or config name (``moe_scaling_law``), or read it from ``spec_file``.

    Parameters
    ----------
    name : str
    spec_file : str, optional
        A spec of your own; ``name`` is then ignored.
    allow_outside_paths : bool
        Let ``spec_file`` name files outside its folder (`sldbench.specs.parse_spec`).

    Returns
    -------
    TaskSpec

    Raises
    ------
    ValueError
        If ``name`` is neither, with the list of valid names (a `SpecError` for a bad spec file).
    """
    if spec_file:
        return load_spec_file(spec_file, allow_outside_paths)
    spec = TASKS.get(name) or BY_CONFIG.get(name)
    if spec is None:
        raise ValueError(
            f"unknown SLDBench task {name!r}; expected one of {', '.join(TASKS)} "
            f"(or a config name: {', '.join(BY_CONFIG)})"
        )
    return spec


def sample_spec(metadata: dict) -> TaskSpec:
    """The task of a sample, from its metadata (``task``, and for a task of your own its spec file
    and whether that spec may name files outside its folder): what solvers and the scorer read.

    Parameters
    ----------
    metadata : dict
        ``Sample.metadata`` as `sldbench.tasks.record_to_sample` writes it.

    Returns
    -------
    TaskSpec
    """
    return get_spec(metadata["task"], metadata.get("spec_file"), bool(metadata.get("allow_outside_paths")))
