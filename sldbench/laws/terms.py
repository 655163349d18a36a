"""Symbolic law forms and the programs that fit and evaluate them.

A `Form` is, for every target, ``head(b + sum_k c_k g_k(X; theta))`` with the
same terms for each target. A feature enters through a transform fixed by the
train data: ``log x`` when it is positive and spans a range, else ``x`` itself.
Two kinds of term:

* ``power``: ``exp(sum_f a_f u_f)``, i.e. ``prod_f x_f^a_f`` on log features (a
  product of saturating power laws), ``exp(a x)`` on raw ones; a log feature may
  be shifted, ``u_f = log(x_f + s_f)``. Exponents and shifts are nonlinear
  parameters (``theta``).
* ``mono``: a product of transformed features (``log x``, ``log x log y``,
  ``(log x)^2``...), multiplied by a linear coefficient only: log-linear forms,
  interactions and quadratic optima.

`program` writes a form as a complete SLDAgent program (``scaling_law_func`` and
``fit_scaling_law`` inside EVOLVE-BLOCK markers) whose fitter is
`sldbench.laws.fitters`, copied verbatim. The program carries the form as
the ``FORM`` literal, so the proposer can read a parent back (`read_form`).
"""

from __future__ import annotations

import ast
import inspect
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from . import fitters
from ..submission import parse_program
from .program import EVOLVE_END, EVOLVE_START, literal_in

HEADS = ("identity", "exp")
# Read once: programs are written from worker threads, which must not parse source.
FITTER_SOURCE = inspect.getsource(fitters.solve_linear).rstrip() + "\n\n\n" + inspect.getsource(fitters.fit_law).rstrip()
EXPONENT_BOUND = {"log": 3.0, "raw": 20.0}
SHIFT_BOUNDS = (-30.0, 60.0)


@dataclass(frozen=True, order=True)
class Term:
    """One term: ``kind`` ``power`` or ``mono``; ``features`` (sorted, repeats allowed for mono); ``shifted`` log features."""

    kind: str
    features: tuple[int, ...]
    shifted: tuple[int, ...] = ()

    def theta_count(self) -> int:
        return len(self.features) + len(self.shifted) if self.kind == "power" else 0


@dataclass(frozen=True)
class Form:
    """A law: per target ``head(b + sum_k c_k term_k)``.

    Attributes
    ----------
    transforms : tuple of {"log", "raw"}
        How each feature enters (fixed by the train data, see `feature_transforms`).
    terms : tuple of Term
        Sorted, no duplicates.
    head : {"identity", "exp"}
    n_targets : int
    """

    transforms: tuple[str, ...]
    terms: tuple[Term, ...]
    head: str = "identity"
    n_targets: int = 1

    def __post_init__(self) -> None:
        if self.head not in HEADS:
            raise ValueError(f"head must be one of {HEADS}, got {self.head!r}")
        for term in self.terms:
            if term.kind not in ("power", "mono") or not term.features:
                raise ValueError(f"bad term {term}: kind must be power or mono, with at least one feature")
            if any(not 0 <= f < len(self.transforms) for f in term.features):
                raise ValueError(f"term {term} uses a feature outside 0..{len(self.transforms) - 1}")
            if any(self.transforms[f] != "log" or f not in term.features for f in term.shifted):
                raise ValueError(f"term {term}: only log features of the term can be shifted")

    @property
    def theta_count(self) -> int:
        return sum(t.theta_count() for t in self.terms)

    @property
    def param_count(self) -> int:
        """Fitted numbers per group (all targets): theta, the bias and one coefficient per term."""
        return self.n_targets * (self.theta_count + 1 + len(self.terms))

    def normal(self) -> "Form":
        return Form(self.transforms, tuple(sorted(set(self.terms))), self.head, self.n_targets)

    def to_literal(self) -> dict:
        return {
            "head": self.head,
            "transforms": list(self.transforms),
            "n_targets": self.n_targets,
            "terms": [[t.kind, list(t.features), list(t.shifted)] for t in self.terms],
        }

    @classmethod
    def from_literal(cls, value: dict) -> "Form":
        terms = tuple(Term(kind, tuple(features), tuple(shifted)) for kind, features, shifted in value["terms"])
        return cls(tuple(value["transforms"]), terms, value["head"], int(value["n_targets"])).normal()


# ------------------------------------------------------------------ programs


def _u(form: Form, f: int) -> str:
    return f"z{f}" if form.transforms[f] == "log" else f"X[:, {f}]"


def _terms_source(form: Form, names: list[str]) -> str:
    lines = ["def terms(X, theta):", '    """Values of the law\'s terms, shape (N, K), for nonlinear parameters theta."""']
    used = sorted({f for t in form.terms for f in t.features})
    for f in used:
        if form.transforms[f] == "log":
            lines.append(f"    z{f} = np.log(X[:, {f}])  # {names[f]}")
    columns, k = [], 0
    for term in form.terms:
        if term.kind == "mono":
            columns.append(" * ".join(_u(form, f) for f in term.features))
            continue
        parts = []
        for i, f in enumerate(term.features):
            u = _u(form, f)
            if f in term.shifted:
                u = f"np.log(X[:, {f}] + np.exp(theta[{k + len(term.features) + term.shifted.index(f)}]))"
            parts.append(f"theta[{k + i}] * {u}")
        k += term.theta_count()
        columns.append(f"np.exp({' + '.join(parts)})")
    lines.append(f"    return np.column_stack([{', '.join(columns) or 'np.zeros(len(X))'}])[:, :{len(form.terms)}]")
    return "\n".join(lines)


def describe(form: Form, names: list[str], target: str = "y") -> str:
    """The law in words, e.g. ``y = b + c1 * N^a1 * P^a2 + c2 * log(V)``."""
    symbols = []
    k = 0
    for index, term in enumerate(form.terms, start=1):
        if term.kind == "mono":
            factors = [f"log({names[f]})" if form.transforms[f] == "log" else names[f] for f in term.features]
            symbols.append(f"c{index} * " + " * ".join(factors))
            continue
        factors = []
        for f in term.features:
            k += 1
            if form.transforms[f] == "raw":
                factors.append(f"exp(a{k} * {names[f]})")
            else:
                base = f"({names[f]} + s{k})" if f in term.shifted else names[f]
                factors.append(f"{base}^a{k}")
        symbols.append(f"c{index} * " + " * ".join(factors))
    body = " + ".join(["b", *symbols])
    return f"{target} = {'exp(' + body + ')' if form.head == 'exp' else body}"


def theta_bounds(form: Form) -> tuple[list[float], list[float]]:
    lower, upper = [], []
    for term in form.terms:
        if term.kind != "power":
            continue
        for f in term.features:
            bound = EXPONENT_BOUND[form.transforms[f]]
            lower.append(-bound)
            upper.append(bound)
        lower += [SHIFT_BOUNDS[0]] * len(term.shifted)
        upper += [SHIFT_BOUNDS[1]] * len(term.shifted)
    return lower, upper


def _starts_source(form: Form) -> str:
    """``starts(X)``: generic starting values of theta (decaying and growing power laws; shifts at the median)."""
    lines = ["def generic_starts(X):", '    """Generic starting values of theta: decaying and growing terms, shifts at the median feature value."""', "    out = []"]
    lines.append("    for sign in (-1.0, 1.0):")
    lines.append("        theta = []")
    for term in form.terms:
        if term.kind != "power":
            continue
        for f in term.features:
            scale = 0.5 if form.transforms[f] == "log" else 1.0
            lines.append(f"        theta.append(sign * {scale})")
        for f in term.shifted:
            lines.append(f"        theta.append(float(np.log(np.median(X[:, {f}]))))")
    lines.append("        out.append(theta)")
    lines.append("    return out")
    return "\n".join(lines)


def program(form: Form, names: list[str], targets: list[str], theta_start: list[list[float]] | None = None, note: str = "") -> str:
    """A complete SLDAgent program fitting ``form`` per group with the variable-projection fitter.

    Parameters
    ----------
    form : Form
    names, targets : list of str
        Feature and target column names (for the docstring and comments).
    theta_start : list of list of float, optional
        Per target, a first starting point of theta for the fit (found on the train split).
    note : str
        A line added to the docstring (how the law was found).
    """
    lower, upper = theta_bounds(form)
    laws = "\n".join(f"    {describe(form, names, t)}" for t in targets)
    starts = theta_start if theta_start is not None else [[] for _ in range(form.n_targets)]
    starts = [[round(float(v), 12) for v in s] for s in starts]
    header = (
        f'"""Scaling law found by symbolic search (no language model); per group:\n\n{laws}\n\n'
        + (f"{note}\n" if note else "")
        + 'FORM describes the law for the symbolic proposer; fit_law fits it by variable projection.\n"""'
    )
    return f"""{EVOLVE_START}
{header}
import numpy as np
from scipy.optimize import least_squares

FORM = {form.to_literal()!r}
HEAD = {form.head!r}
N_THETA = {form.theta_count}
LOWER = {lower!r}
UPPER = {upper!r}
THETA_START = {starts!r}


{_terms_source(form, names)}


{_starts_source(form)}


{FITTER_SOURCE}


def scaling_law_func(data_points, params):
    X = np.atleast_2d(np.asarray(data_points, dtype=float))
    P = np.atleast_2d(np.asarray(params, dtype=float))
    columns = []
    for p in P:
        with np.errstate(all="ignore"):
            eta = p[N_THETA] + terms(X, p[:N_THETA]) @ p[N_THETA + 1 :]
        columns.append(np.exp(eta) if HEAD == "exp" else eta)
    pred = np.column_stack(columns)
    return pred[:, 0] if pred.shape[1] == 1 else pred


def fit_scaling_law(data_points, loss_values):
    X = np.atleast_2d(np.asarray(data_points, dtype=float))
    Y = np.asarray(loss_values, dtype=float).reshape(len(X), -1)
    params = [
        fit_law(terms, X, Y[:, t], ([THETA_START[t]] if THETA_START[t] else []) + generic_starts(X), LOWER, UPPER, HEAD)
        for t in range(Y.shape[1])
    ]
    return params[0] if len(params) == 1 else np.array(params)
{EVOLVE_END}
"""


def read_form(code: str) -> Form | None:
    """The ``FORM`` of a program written by `program`, or None for any other program."""
    tree = parse_program(code)
    law = read(literal_in(tree, "FORM"), tree) if tree is not None else None
    return law.form if law is not None else None


def _prefixed(names: list[str], targets: Sequence[str]) -> list[str]:
    return names if len(targets) == 1 else [f"{target}.{name}" for target in targets for name in names]


@dataclass(frozen=True)
class TermsLaw:
    """A law-search form read back from its program (a `sldbench.laws.Law`)."""

    form: Form

    def describe(self, features: Sequence[str], targets: Sequence[str]) -> str:
        return "\n".join(describe(self.form, list(features), target) for target in targets)

    def constant_names(self, targets: Sequence[str]) -> list[str]:
        """``a`` exponents and ``s`` shifts (theta, in order), the bias ``b`` and a ``c`` per term; per target."""
        theta, k = [], 0
        for term in self.form.terms:
            if term.kind != "power":
                continue
            exponents = []
            for _ in term.features:
                k += 1
                exponents.append(k)
            theta += [f"a{i}" for i in exponents]
            theta += [f"s{exponents[term.features.index(f)]}" for f in term.shifted]
        return _prefixed(theta + ["b"] + [f"c{i}" for i in range(1, len(self.form.terms) + 1)], targets)

    def natural_constants(self, values: Sequence[float], targets: Sequence[str]) -> dict[str, float]:
        """``{name: value}``, shifts (fitted as their logs) as themselves."""
        names = self.constant_names(targets)
        return {name: float(np.exp(v)) if name.split(".")[-1].startswith("s") else float(v) for name, v in zip(names, values)}


def read(literal: object, tree: ast.Module) -> TermsLaw | None:
    """The law of a program whose ``FORM`` is ``literal``, or None when it is no form."""
    try:
        return TermsLaw(Form.from_literal(literal))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
