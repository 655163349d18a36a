"""Task specs: the eight SLDBench tasks (shipped as spec files) and tasks of your own data.

One `TaskSpec` per task. The eight built-in ones are the files in
``sldbench/task_specs/``, read by the same code as a spec of your own
(`sldbench.taskspec`); ``sldbench/moe`` is ``TASKS["moe"]``. Column orders follow
the official dataset schema: the feature matrix handed to a law has its columns
in ``features`` order.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .taskspec import Holdout, load_spec_file

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
    log_features: tuple[str, ...] = ()
    law_file: str | None = None
    allow_outside_paths: bool = False

    @property
    def columns(self) -> tuple[str, ...]:
        """All columns of a split once loaded: ``group``, then features, then targets."""
        return ("group", *self.features, *self.targets)

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
        Let ``spec_file`` name files outside its folder (`sldbench.taskspec.parse_spec`).

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
