"""The paper's expert ("Human") laws and the programs that submit them.

Two honest variants of the Human row:

* `prefitted_program`: the law with the benchmark authors' published
  constants per group (JSON files such as ``sldbench-data/human_laws/``),
  submitted in the pre-fitted shape ``law(input_data, group)``;
* `refit_program`: the same functional form, fitted per group on the train
  split by the package's multi-start least-squares fitter, submitted in the
  fit-and-predict shape.

Both programs are self-contained source (numpy and scipy only): the form and
fitter functions are copied in from `sldbench.laws.expert_forms` and
`sldbench.laws.fitters`. Each law is a `HumanLaw` object holding its form, its
starting points and its formula in words; a program names its law in
``EXPERT_LAW``, which is how `sldbench.laws.read_law` finds it again.
"""

from __future__ import annotations

import ast
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from ..specs import TaskSpec, get_spec
from . import expert_forms, fitters
from .program import function_source


PUBLISHED_R2 = {
    "parallel": 1.000, "vocab": 0.966, "sft": 0.957, "domain_mix": 0.671,
    "moe": 0.703, "d_constrain": 0.911, "lr_bsz": -0.076, "u_shape": -1.000,
}  # fmt: skip
"""The paper's Human row: held-out R^2 (clipped) of each expert law with its published constants."""


class ConstantsError(ValueError):
    """A constants file is missing or does not match the law. The message names the file and field."""


@dataclass(frozen=True)
class HumanLaw:
    """One expert law (a `sldbench.laws.Law`).

    Attributes
    ----------
    task : str
        Short task name.
    source : str
        The paper the form comes from.
    parameters : tuple of str
        Parameter names, in the order of the form's parameter vector (all targets together).
    form : callable
        ``form(X, p)``: predictions for the feature matrix ``X`` (`sldbench.laws.expert_forms`).
    starts : callable
        ``starts(X, Y)``: starting points of a refit on one group's train rows.
    formula : tuple of str
        The law in words, one line per target then its definitions, with ``{f[i]}`` for the
        name of feature ``i`` and ``{t[j]}`` for that of target ``j``.
    log_parameters : tuple of str
        Parameters refitted in log space (kept positive).
    fixed : dict of str to float
        Parameters the law holds fixed when refitted.
    """

    task: str
    source: str
    parameters: tuple[str, ...]
    form: Callable = field(repr=False)
    starts: Callable = field(repr=False)
    formula: tuple[str, ...] = ()
    log_parameters: tuple[str, ...] = ()
    fixed: dict[str, float] = field(default_factory=dict)

    @property
    def spec(self) -> TaskSpec:
        return get_spec(self.task)

    def describe(self, features: Sequence[str], targets: Sequence[str]) -> str:
        """The law in words with the task's column names, one line per target (and its definitions)."""
        return "\n".join(line.format(f=list(features), t=list(targets)) for line in self.formula)

    def constant_names(self, targets: Sequence[str]) -> list[str]:
        """The names of the fitted vector, in order: the law's parameters."""
        return list(self.parameters)

    def natural_constants(self, values: Sequence[float], targets: Sequence[str]) -> dict[str, float]:
        """``{parameter: value}``: the fitter returns every parameter as itself."""
        return {name: float(value) for name, value in zip(self.parameters, values)}


_MIX = tuple(
    f"{{t[{i}]}} = c_{i + 1} + k_{i + 1} * exp(" + " + ".join(f"t_{i + 1}_{j + 1} * {{f[{j}]}}" for j in range(5)) + ")" for i in range(5)
)

LAWS: dict[str, HumanLaw] = {
    law.task: law
    for law in [
        HumanLaw(
            "parallel", "Chen et al. 2025, Parallel Scaling Law for Language Models", ("A", "k", "alpha", "E"),
            expert_forms.parallel_form, expert_forms.parallel_starts,
            ("{t[0]} = (A / ({f[0]} * (k * ln({f[1]}) + 1)))^alpha + E",), ("A", "k", "alpha"),
        ),
        HumanLaw(
            "vocab", "Tao et al. 2024, Scaling Laws with Vocabulary", ("A", "alpha", "B", "beta", "C", "gamma", "E"),
            expert_forms.vocab_form, expert_forms.vocab_starts,
            ("{t[0]} = A / {f[0]}^alpha + B / {f[1]}^beta + C / {f[2]}^gamma + E",), ("alpha", "beta", "gamma"),
        ),
        HumanLaw(
            "sft", "Lin et al. 2024, Selecting Large Language Model to Fine-tune via Rectified Scaling Law", ("A", "alpha", "B", "C"),
            expert_forms.sft_form, expert_forms.sft_starts, ("{t[0]} = A / ({f[0]}^alpha + B) + C",), ("alpha",),
        ),
        HumanLaw(
            "domain_mix", "Ye et al. 2024, Data Mixing Laws",
            tuple([f"c_{i}" for i in range(1, 6)] + [f"k_{i}" for i in range(1, 6)] + [f"t_{i}_{j}" for i in range(1, 6) for j in range(1, 6)]),
            expert_forms.domain_mix_form, expert_forms.domain_mix_starts, _MIX,
        ),
        HumanLaw(
            "moe", "Clark et al. 2022, Unified Scaling Laws for Routed Language Models", ("a", "b", "c", "d", "E_start", "E_max"),
            expert_forms.moe_form, expert_forms.moe_starts,
            (
                "{t[0]} = exp(a * ln({f[1]}) + b * ln(E_hat) + c * ln({f[1]}) * ln(E_hat) + d)",
                "with 1 / E_hat = 1 / ({f[0]} - 1 + 1 / (1 / (E_start - 1) - 1 / (E_max - 1))) + 1 / E_max",
            ),
            ("E_start", "E_max"),
        ),
        HumanLaw(
            "d_constrain", "Muennighoff et al. 2023, Scaling Data-Constrained Language Models",
            ("A", "alpha", "B", "beta", "E", "R_N_star", "R_D_star", "c_UN"),
            expert_forms.d_constrain_form, expert_forms.d_constrain_starts,
            (
                "{t[0]} = A / N_eff^alpha + B / D_eff^beta + E",
                "with D_eff = U * (1 + R_D_star * (1 - exp(-({f[2]} / U - 1) / R_D_star))), U = {f[0]}, "
                "N_eff = U_N * (1 + R_N_star * (1 - exp(-max({f[1]} / U_N - 1, 0) / R_N_star))), U_N = min(c_UN * U, {f[1]})",
            ),
            ("A", "alpha", "B", "beta", "R_N_star", "R_D_star"), {"c_UN": 0.051},
        ),
        HumanLaw(
            "lr_bsz", "StepLaw-based form (Li et al. 2025, Predictable Scale: Part I)",
            ("A", "alpha", "B", "beta", "C", "D", "E_new", "F", "gamma", "zeta", "G", "eta"),
            expert_forms.lr_bsz_form, expert_forms.lr_bsz_starts,
            (
                "{t[0]} = A * {f[2]}^-alpha + B * {f[3]}^-beta + C + D * ({f[0]} - F * {f[3]}^gamma * {f[2]}^zeta)^2"
                " + E_new * (ln({f[1]}) + G * {f[2]}^eta / {f[1]})",
            ),
            ("A", "alpha", "B", "beta", "D", "F", "G"),
        ),
        HumanLaw(
            "u_shape", "Wu & Lo 2024, U-shaped and Inverted-U Scaling behind Emergent Abilities", ("a", "b", "c", "d", "e", "f"),
            expert_forms.u_shape_form, expert_forms.u_shape_starts, ("{t[0]} = a x^5 + b x^4 + c x^3 + d x^2 + e x + f, x = {f[0]}",),
        ),
    ]
}  # fmt: skip


def read(literal: object, tree: ast.Module) -> HumanLaw | None:
    """The expert law a program names in ``EXPERT_LAW``, or None when it names none."""
    return LAWS.get(literal) if isinstance(literal, str) else None


def get_law(task: str) -> HumanLaw:
    """The expert law of a task, by short or config name."""
    return LAWS[get_spec(task).name]


def load_constants(directory: str | Path, task: str) -> dict[str, list[float]]:
    """Read per-group constants for a task from ``<directory>/<config>.json``.

    The file has (at least) ``parameters`` (names, in order) and ``groups``
    (``{group: {name: value}}``), as in ``sldbench-data/human_laws/``.

    Returns
    -------
    dict of str to list of float
        ``{group: values in the law's parameter order}``.

    Raises
    ------
    ConstantsError
    """
    law = get_law(task)
    path = Path(directory).expanduser() / f"{law.spec.config}.json"
    if not path.is_file():
        raise ConstantsError(
            f"{path} is missing: expected one JSON file per task named <config>.json "
            f"with fields 'parameters' and 'groups' (as in sldbench-data/human_laws/)"
        )
    try:
        document = json.loads(path.read_text())
    except ValueError as err:
        raise ConstantsError(f"{path}: not valid JSON ({err})") from err
    groups = document.get("groups") if isinstance(document, dict) else None
    if not isinstance(groups, dict) or not groups:
        raise ConstantsError(f"{path}: field 'groups' must map each group name to {{parameter: value}}")
    constants = {}
    for group, values in groups.items():
        missing = [name for name in law.parameters if name not in (values or {})]
        if missing:
            raise ConstantsError(
                f"{path}: groups[{group!r}] lacks parameter(s) {', '.join(missing)}; "
                f"the {law.task} law needs {', '.join(law.parameters)}"
            )
        row = [float(values[name]) for name in law.parameters]
        if not all(math.isfinite(v) for v in row):
            raise ConstantsError(f"{path}: groups[{group!r}] has a non-finite constant")
        constants[group] = row
    return constants


def _header(law: HumanLaw, how: str) -> str:
    spec = law.spec
    return (
        f'"""Expert law for SLDBench task {spec.name} ({spec.config}): {law.source}.\n\n'
        f"{how}\n"
        f"Inputs: {', '.join(spec.features)}. Outputs: {', '.join(spec.targets)}.\n"
        f'"""\n\nimport numpy as np\n'
    )


def prefitted_program(task: str, constants: dict[str, list[float]]) -> str:
    """Source of a pre-fitted submission: ``law(input_data, group)`` with the given constants.

    Parameters
    ----------
    task : str
    constants : dict of str to list of float
        ``{group: parameter vector}`` as returned by `load_constants`.
    """
    law = get_law(task)
    spec = law.spec
    table = ",\n".join(f"    {group!r}: [{', '.join(repr(v) for v in values)}]" for group, values in sorted(constants.items()))
    return (
        _header(law, "Published constants per group (not refitted).")
        + f"\nEXPERT_LAW = {law.task!r}\nFEATURES = {list(spec.features)!r}\nTARGETS = {list(spec.targets)!r}\n"
        + f"PARAMETERS = {list(law.parameters)!r}\nCONSTANTS = {{\n{table},\n}}\n\n\n"
        + function_source(law.form)
        + f"""

def law(input_data, group):
    if group in CONSTANTS:
        params = CONSTANTS[group]
    elif len(CONSTANTS) == 1:
        params = next(iter(CONSTANTS.values()))
    else:
        raise KeyError(f"no constants for group {{group!r}}; known groups: {{sorted(CONSTANTS)}}")
    X = np.array([[float(point[name]) for name in FEATURES] for point in input_data], dtype=float)
    Y = np.asarray({law.form.__name__}(X, np.asarray(params, dtype=float)), dtype=float).reshape(len(X), -1)
    return [dict(zip(TARGETS, (float(v) for v in row))) for row in Y]
"""
    )


def refit_program(task: str) -> str:
    """Source of a fit-and-predict submission: the expert form refitted on each group's train rows."""
    law = get_law(task)
    return (
        _header(law, "The published functional form, refitted per group on the train split by multi-start least squares.")
        + "from scipy.optimize import least_squares\n\n"
        + f"EXPERT_LAW = {law.task!r}\nPARAMETERS = {list(law.parameters)!r}\nLOG_PARAMETERS = {list(law.log_parameters)!r}\nFIXED = {law.fixed!r}\n\n\n"
        + function_source(law.form)
        + "\n\n"
        + function_source(law.starts)
        + "\n\n"
        + function_source(fitters.fit_least_squares)
        + f"""

def scaling_law_func(data_points, params):
    return {law.form.__name__}(np.asarray(data_points, dtype=float), np.asarray(params, dtype=float))


def fit_scaling_law(data_points, loss_values):
    X = np.asarray(data_points, dtype=float)
    Y = np.asarray(loss_values, dtype=float).reshape(len(X), -1)
    starts = {law.starts.__name__}(X, Y)
    return fit_least_squares({law.form.__name__}, X, Y, starts, PARAMETERS, LOG_PARAMETERS, FIXED)
"""
    )
