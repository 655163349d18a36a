"""The literature's scaling laws: a catalogue of families with their citations, and the programs that fit them.

A `LiteratureLaw` is a published functional form over named roles (``N`` a model size, ``D``
a token count, ``x`` any scale, ``h`` a hyper-parameter, ...), with its parameters, starting
points and formula; its numpy form lives in `sldbench.laws.literature_forms`. `bind` gives
its roles a task's features (`BoundLaw`, a `sldbench.laws.Law`), `program` writes the bound
law as a fit-and-predict program (per group: variable projection over the parameters the
form is affine in, else multi-start least squares) that carries ``LITERATURE_LAW`` and
``ROLES``, which is how `read` (and `sldbench.laws.read_law`) finds it again. The symbolic
search fits every law of the catalogue that binds to a task's features beside its own
families (`sldbench.symbolic.grammar`).

Add a family of your own in a few lines: write ``<name>_form(X, p)`` and ``<name>_starts(X, y)``
as in `sldbench.laws.literature_forms` (numpy only; ``X``'s columns are the roles in order),
then ``register(LiteratureLaw(name, citation, roles, parameters, form, starts, formula,
log_parameters, linear=..., bounds=...))`` (``bounds(X)``: ranges for constants the rows can
only identify within them, e.g. a break inside the rows).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from . import fitters, literature_forms as forms
from .program import function_source, literal_in


@dataclass(frozen=True)
class LiteratureLaw:
    """One published law family.

    Attributes
    ----------
    name : str
        Short identifier (the ``LITERATURE_LAW`` marker of its programs).
    citation : str
        Where the form comes from.
    roles : tuple of str
        What each input is, in the order of the form's columns (e.g. ``("N", "D")``).
    parameters : tuple of str
        Names of the fitted vector, in order.
    form : callable
        ``form(X, p) -> (N,)`` on ``X`` with the roles as columns.
    starts : callable
        ``starts(X, y)``: starting points of a fit on one group's rows.
    formula : str
        The law in words, with ``{role}`` for the feature a role is bound to and ``{y}`` for the target.
    log_parameters : tuple of str
        Parameters fitted in log space (kept positive).
    movers : tuple of str
        Roles that move an optimum (along them the target need not keep its trend).
    optima : tuple of str
        Hyper-parameter roles, each with an optimum: never bound to a feature the test
        extrapolates along, nor to one in step with it (as the grammar never makes a scale,
        `sldbench.laws.grammar.Geometry.scales`, a hyper-parameter).
    fractions : tuple of str
        Roles that are fractions in [0, 1) (every other role takes positive values).
    linear : tuple of str
        Parameters the form is affine in, given the others (the intercept, amplitudes): a fit
        solves them by linear least squares and searches only the others
        (`sldbench.laws.fitters.fit_projected`); those in ``log_parameters`` stay non-negative.
    bounds : callable, optional
        ``bounds(X) -> {parameter: (low, high)}``: ranges the rows of one group can identify
        (a break inside the rows, no sharper than their spacing); only with ``linear``.
    """

    name: str
    citation: str
    roles: tuple[str, ...]
    parameters: tuple[str, ...]
    form: Callable = field(repr=False)
    starts: Callable = field(repr=False)
    formula: str = ""
    log_parameters: tuple[str, ...] = ()
    movers: tuple[str, ...] = ()
    optima: tuple[str, ...] = ()
    fractions: tuple[str, ...] = ()
    linear: tuple[str, ...] = ()
    bounds: Callable | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.bounds is not None and not self.linear:
            raise ValueError(f"literature law {self.name!r}: bounds= needs linear= (only the variable-projection fit honours them)")

    def admits(self, X) -> bool:
        """Whether the columns of ``X`` (in role order) lie in the roles' domains."""
        X = np.asarray(X, dtype=float)
        for column, role in enumerate(self.roles):
            values = X[:, column]
            inside = (values >= 0) & (values < 1) if role in self.fractions else values > 0
            if not np.all(inside):
                return False
        return True


@dataclass(frozen=True)
class BoundLaw:
    """A `LiteratureLaw` with its roles given a task's features (by index): a `sldbench.laws.Law`."""

    law: LiteratureLaw
    roles: tuple[int, ...]

    def describe(self, features: Sequence[str], targets: Sequence[str]) -> str:
        names = {role: features[index] if index < len(features) else f"x{index}" for role, index in zip(self.law.roles, self.roles)}
        return self.law.formula.format(y=targets[0] if targets else "y", **names)

    def constant_names(self, targets: Sequence[str]) -> list[str]:
        return list(self.law.parameters)

    def natural_constants(self, values: Sequence[float], targets: Sequence[str]) -> dict[str, float]:
        return {name: float(value) for name, value in zip(self.law.parameters, values)}

    @property
    def movers(self) -> tuple[int, ...]:
        """The features bound to the law's mover roles."""
        return tuple(self.roles[self.law.roles.index(role)] for role in self.law.movers)


CATALOGUE: dict[str, LiteratureLaw] = {}
"""Every family, by name (`register` adds one)."""


def register(law: LiteratureLaw) -> LiteratureLaw:
    """Add ``law`` to `CATALOGUE` (its name must be new); returns it."""
    if law.name in CATALOGUE:
        raise ValueError(f"a literature law named {law.name!r} is already registered; choose another name")
    if len(law.parameters) != len(set(law.parameters)):
        raise ValueError(f"literature law {law.name!r}: parameter names repeat: {law.parameters}")
    CATALOGUE[law.name] = law
    return law


for _law in (
    LiteratureLaw(
        "kaplan", "Kaplan et al. 2020, Scaling Laws for Neural Language Models, eq. (1.5)", ("N", "D"),
        ("N_c", "D_c", "a_N", "a_D"), forms.kaplan_form, forms.kaplan_starts,
        "{y} = ((N_c / {N})^(a_N / a_D) + D_c / {D})^a_D", ("N_c", "D_c", "a_N", "a_D"),
    ),
    LiteratureLaw(
        "chinchilla", "Hoffmann et al. 2022, Training Compute-Optimal Large Language Models, eq. (2)", ("N", "D"),
        ("E", "A", "alpha", "B", "beta"), forms.chinchilla_form, forms.chinchilla_starts,
        "{y} = E + A / {N}^alpha + B / {D}^beta", ("A", "alpha", "B", "beta"),
        linear=('E', 'A', 'B'),
    ),
    LiteratureLaw(
        "saturating_power", "Alabdulmohsin et al. 2022, Revisiting Neural Scaling Laws in Language and Vision, M2", ("x",),
        ("eps_inf", "beta", "c"), forms.saturating_power_form, forms.saturating_power_starts,
        "{y} = eps_inf + beta * {x}^-c", ("beta", "c"),
        linear=('eps_inf', 'beta'),
    ),
    LiteratureLaw(
        "shifted_power", "Alabdulmohsin et al. 2022, M3 (the form of Zhai et al. 2022, Scaling Vision Transformers)", ("x",),
        ("eps_inf", "beta", "gamma", "c"), forms.shifted_power_form, forms.shifted_power_starts,
        "{y} = eps_inf + beta * ({x} + gamma)^-c", ("beta", "gamma", "c"),
        linear=('eps_inf', 'beta'),
    ),
    LiteratureLaw(
        "downstream_error", "Gadre et al. 2024, Language Models Scale Reliably with Over-Training and on Downstream Tasks: average top-1 error from the loss",
        ("L",), ("E", "k", "gamma"), forms.downstream_error_form, forms.downstream_error_starts,
        "{y} = E - k * exp(-gamma * {L})", ("k", "gamma"),
        linear=('E', 'k'),
    ),
    LiteratureLaw(
        "sigmoid_power", "Alabdulmohsin et al. 2022, M4", ("x",),
        ("eps_inf", "gap", "alpha", "beta", "c"), forms.sigmoid_power_form, forms.sigmoid_power_starts,
        "({y} - eps_inf) / (eps_inf + gap - {y})^alpha = beta * {x}^-c", ("gap", "alpha", "beta", "c"),
    ),
    LiteratureLaw(
        "broken_power", "Caballero et al. 2023, Broken Neural Scaling Laws, eq. (1) with one break", ("x",),
        ("a", "b", "c0", "c1", "d1", "f1"), forms.broken_power_form, forms.broken_power_starts,
        "{y} = a + b * {x}^-c0 * (1 + ({x} / d1)^(1 / f1))^(-c1 * f1)", ("b", "d1", "f1"),
        linear=('a', 'b'), bounds=forms.broken_power_bounds,
    ),
    LiteratureLaw(
        "broken_power2", "Caballero et al. 2023, Broken Neural Scaling Laws, eq. (1) with two breaks", ("x",),
        ("a", "b", "c0", "c1", "d1", "f1", "c2", "d2", "f2"), forms.broken_power2_form, forms.broken_power2_starts,
        "{y} = a + b * {x}^-c0 * (1 + ({x} / d1)^(1 / f1))^(-c1 * f1) * (1 + ({x} / d2)^(1 / f2))^(-c2 * f2)", ("b", "d1", "f1", "d2", "f2"),
        linear=('a', 'b'),
    ),
    LiteratureLaw(
        "data_constrained", "Muennighoff et al. 2023, Scaling Data-Constrained Language Models (repeated data)", ("N", "D", "U"),
        ("E", "A", "alpha", "B", "beta", "R"), forms.data_constrained_form, forms.data_constrained_starts,
        "{y} = E + A / {N}^alpha + B / D'^beta, D' = min({D}, {U}) + {U} * R * (1 - exp(-max({D} / {U} - 1, 0) / R))",
        ("A", "alpha", "B", "beta", "R"),
        linear=('E', 'A', 'B'),
    ),
    LiteratureLaw(
        "effective_size", "Clark et al. 2022, Unified Scaling Laws for Routed Language Models (effective parameters)", ("N", "X", "D"),
        ("E", "A", "alpha", "k", "B", "beta"), forms.effective_size_form, forms.effective_size_starts,
        "{y} = E + A * ({N} * (1 + k * ln {X}))^-alpha + B / {D}^beta", ("A", "alpha", "k", "B", "beta"),
        linear=('E', 'A', 'B'),
    ),
    LiteratureLaw(
        "precision", "Kumar et al. 2024, Scaling Laws for Precision (effective parameters of a low-precision model)", ("N", "D", "P"),
        ("E", "A", "alpha", "B", "beta", "gamma"), forms.precision_form, forms.precision_starts,
        "{y} = E + A * ({N} * (1 - exp(-{P} / gamma)))^-alpha + B / {D}^beta", ("A", "alpha", "B", "beta", "gamma"),
        linear=('E', 'A', 'B'),
    ),
    LiteratureLaw(
        "sparsity", "Frantar et al. 2023, Scaling Laws for Sparsely-Connected Foundation Models, eq. (1)", ("N", "D", "S"),
        ("a_S", "b_S", "c_S", "b_N", "a_D", "b_D", "c"), forms.sparsity_form, forms.sparsity_starts,
        "{y} = (a_S * (1 - {S})^b_S + c_S) * {N}^-b_N + (a_D / {D})^b_D + c", ("a_S", "b_S", "c_S", "b_N", "a_D", "b_D"),
        fractions=("S",),
        linear=('a_S', 'c_S', 'c'),
    ),
    LiteratureLaw(
        "moving_optimum", "Tao et al. 2024 (vocabulary); DeepSeek-AI 2024 and Li et al. 2025 (learning rate): an optimum that moves as a power of N",
        ("N", "D", "h"), ("E", "A", "alpha", "B", "beta", "c", "m0", "m1"), forms.optimum_form, forms.optimum_starts,
        "{y} = E + A / {N}^alpha + B / {D}^beta + c * (ln {h} - m0 - m1 * ln {N})^2", ("A", "alpha", "B", "beta", "c"),
        movers=("N",), optima=("h",),
        linear=('E', 'A', 'B', 'c'),
    ),
    LiteratureLaw(
        "two_optima", "Li et al. 2025, Predictable Scale (Step Law); Bergsma et al. 2025, Power Lines: learning-rate and batch-size optima",
        ("N", "D", "lr", "bsz"), ("E", "A", "alpha", "B", "beta", "c", "m0", "m1", "k", "b0", "b1"), forms.two_optima_form, forms.two_optima_starts,
        "{y} = E + A / {N}^alpha + B / {D}^beta + c * (ln {lr} - m0 - m1 * ln {N})^2 + k * (ln {bsz} - b0 - b1 * ln {D})^2",
        ("A", "alpha", "B", "beta", "c", "k"), movers=("N", "D"), optima=("lr", "bsz"),
        linear=('E', 'A', 'B', 'c', 'k'),
    ),
    LiteratureLaw(
        "u_shape", "U-shaped and inverted-U scaling (McKenzie et al. 2023, Inverse Scaling; Wei et al. 2023): a falling and a rising power law",
        ("x",), ("E", "A", "a", "C", "c"), forms.u_shape_form, forms.u_shape_starts,
        "{y} = E + A * {x}^-a + C * {x}^c", ("a", "c"),
        linear=('E', 'A', 'C'),
    ),
):
    register(_law)


def bind(law: LiteratureLaw, roles: Sequence[int]) -> BoundLaw:
    """``law`` with role ``i`` read from feature ``roles[i]`` of the task."""
    if len(roles) != len(law.roles):
        raise ValueError(f"literature law {law.name!r} has roles {', '.join(law.roles)}; got {len(roles)} feature indices")
    return BoundLaw(law, tuple(int(r) for r in roles))


def program(bound: BoundLaw, features: Sequence[str], targets: Sequence[str], note: str = "") -> str:
    """A fit-and-predict program of ``bound`` (one target), fitted per group: by variable projection
    (`sldbench.laws.fitters.fit_projected`) where the law has linear parameters, else by multi-start
    least squares.

    Parameters
    ----------
    bound : BoundLaw
    features, targets : sequence of str
        The task's column names (for the docstring).
    note : str
        A line for the docstring (who fitted it).

    Returns
    -------
    str
        Self-contained source (numpy, scipy) carrying ``LITERATURE_LAW`` and ``ROLES``.
    """
    law = bound.law
    if len(targets) != 1:
        raise ValueError(f"literature law {law.name!r} predicts one target; the task has {len(targets)}")
    if law.linear:
        how, fitter = f"variable projection (linear in {', '.join(law.linear)})", fitters.fit_projected
        bounded = f", bounds={law.bounds.__name__}(X)" if law.bounds else ""
        call = f"fit_projected({law.form.__name__}, X, y, {law.starts.__name__}(X, y), PARAMETERS, LINEAR, LOG_PARAMETERS{bounded})"
    else:
        how, fitter = "multi-start least squares", fitters.fit_least_squares
        # a cap per start: a form the data do not suit wanders its valley to any cap, and the search fits every family
        call = f"fit_least_squares({law.form.__name__}, X, y, {law.starts.__name__}(X, y), PARAMETERS, LOG_PARAMETERS, max_nfev=200)"
    return (
        f'"""{bound.describe(features, targets)}\n\n{law.citation}; fitted per group on the train split by '
        f'{how}.{chr(10) + note if note else ""}\n"""\n\nimport numpy as np\nfrom scipy.optimize import least_squares\n\n'
        f"LITERATURE_LAW = {law.name!r}\nROLES = {list(bound.roles)!r}\nPARAMETERS = {list(law.parameters)!r}\n"
        f"LINEAR = {list(law.linear)!r}\nLOG_PARAMETERS = {list(law.log_parameters)!r}\n\n\n"
        + "\n\n".join(function_source(f) for f in (law.form, forms.linear_start, law.starts, law.bounds, fitter) if f)
        + f"""

def scaling_law_func(data_points, params):
    X = np.asarray(data_points, dtype=float)[:, ROLES]
    return {law.form.__name__}(X, np.asarray(params, dtype=float))


def fit_scaling_law(data_points, loss_values):
    X = np.asarray(data_points, dtype=float)[:, ROLES]
    y = np.asarray(loss_values, dtype=float).reshape(len(X), -1)[:, 0]
    return {call}
"""
    )


def read(literal: object, tree: ast.Module) -> BoundLaw | None:
    """The bound law a program names in ``LITERATURE_LAW`` (with its ``ROLES``), or None."""
    law = CATALOGUE.get(literal) if isinstance(literal, str) else None
    roles = literal_in(tree, "ROLES")
    if law is None or not isinstance(roles, list) or len(roles) != len(law.roles) or not all(isinstance(r, int) for r in roles):
        return None
    return BoundLaw(law, tuple(roles))
