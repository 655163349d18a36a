"""Grammar laws: the families of `sldbench.symbolic.grammar`'s search, and the programs that fit them.

A `Family` is ``y = E + sum_k s_k c_k phi_k(X; theta)`` per target, its pieces giving the
features roles (``power``, ``pair``, ``sat``, ``shift``, ``rect``, ``bowl``, ``linear``: the
search's module docstring describes each) and ``direction`` the sign of the target's trend with
scale. A `Geometry` is what the train split fixes about the features (transform, range, the
centre of a bowl's movers). `program` writes a family as a complete program (its fitter:
`sldbench.laws.fitters.fit_grammar_law`, copied verbatim) that carries the family as the
``FAMILY`` literal; `read_family` reads it back; `describe` and `constant_names` write it in
words and name its fitted vector; `natural_constants` undoes the log of shifts and ratios.
"""

from __future__ import annotations

import ast
import inspect
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..data import Split
from . import fitters
from ..submission import parse_program
from .program import EVOLVE_END, EVOLVE_START, feature_transforms, in_step_with, literal_in, mixture_columns
from .stated import StatedLaw, docstring_in

LOG_EXPONENT = (0.0, 3.0)
MOVER_SLOPE = 1.5
FITTER_SOURCE = inspect.getsource(fitters.project_nonnegative).rstrip() + "\n\n\n" + inspect.getsource(fitters.fit_grammar_law).rstrip()


@dataclass(frozen=True, order=True)
class Piece:
    """One role: ``kind`` (see the module docstring) on ``features``; a bowl's optimum moves with ``movers``, its
    curvature falls with ``damp``, and a bowl of two ``sides`` has its own curvature on each side of the optimum."""

    kind: str
    features: tuple[int, ...]
    movers: tuple[int, ...] = ()
    damp: tuple[int, ...] = ()
    sides: int = 1

    def theta_count(self) -> int:
        """Nonlinear parameters of the piece, less its damping rates (one per damping feature of the family: `Family.theta_count`)."""
        return {"power": len(self.features), "pair": 2, "sat": 2, "shift": 2, "rect": 2, "bowl": 1 + len(self.movers), "linear": 0}[self.kind]

    def column_count(self) -> int:
        return 2 if self.kind == "pair" or self.sides == 2 else 1


@dataclass(frozen=True)
class Family:
    """A law family: pieces (sorted) and the direction of the target with scale (+1 falls, -1 rises)."""

    pieces: tuple[Piece, ...]
    direction: int = 1

    @property
    def theta_count(self) -> int:
        return sum(p.theta_count() for p in self.pieces) + len(self.damping_features())

    def damping_features(self) -> list[int]:
        """The features that damp bowls, in order of first use: one rate each, however many bowls it damps."""
        return list(dict.fromkeys(d for p in self.pieces for d in p.damp))

    def theta_layout(self) -> tuple[list[int], dict[int, int]]:
        """Where each piece's own parameters start in theta, and where each damping feature's shared rate sits.

        Returns
        -------
        starts : list of int
            Index in theta of each piece's first own parameter (`Piece.theta_count` of them follow).
        rates : dict of int to int
            Damping feature -> index of its rate, placed just after the own parameters of the first bowl it damps.
        """
        starts, rates, k = [], {}, 0
        for piece in self.pieces:
            starts.append(k)
            k += piece.theta_count()
            for d in piece.damp:
                if d not in rates:
                    rates[d], k = k, k + 1
        return starts, rates

    @property
    def column_count(self) -> int:
        return sum(p.column_count() for p in self.pieces)

    def params_per_target(self) -> int:
        return self.theta_count + 1 + self.column_count

    def signs(self) -> list[float]:
        out = []
        for piece in self.pieces:
            sign = -1.0 if piece.kind == "linear" else 1.0
            out += [sign * self.direction] * piece.column_count()
        return out

    def to_literal(self) -> dict:
        return {"direction": self.direction, "pieces": [_piece_literal(p) for p in self.pieces]}


def _piece_literal(piece: Piece) -> list:
    """``[kind, features, movers]``, then ``damp`` when a bowl flattens or has two sides, then ``sides`` when it has two."""
    literal = [piece.kind, list(piece.features), list(piece.movers)]
    if piece.damp or piece.sides != 1:
        literal.append(list(piece.damp))
    if piece.sides != 1:
        literal.append(piece.sides)
    return literal


def _piece(kind, features, movers, damp=(), sides=1) -> Piece:
    """The `Piece` of one entry of a ``FAMILY`` literal (`_piece_literal`)."""
    if sides not in (1, 2) or (sides == 2 and kind != "bowl"):
        raise ValueError(f"a {kind} piece cannot have {sides!r} sides")
    return Piece(kind, tuple(features), tuple(movers), tuple(damp), sides)


@dataclass(frozen=True)
class Geometry:
    """What the train split fixes about a feature: its transform and the box of its parameters (never fitted per group),
    whether it is an extrapolation axis (the spec's), a share of a mixture, or a scale (an axis, or a feature in step with one)."""

    names: tuple[str, ...]
    transforms: tuple[str, ...]
    low: tuple[float, ...]  # min of u = log x (log features) or x (raw ones)
    high: tuple[float, ...]
    axes: tuple[int, ...] = ()  # the features the test split extrapolates along (the spec's ``extrapolates``)
    shares: frozenset[int] = frozenset()  # the features that are the shares of a mixture (`mixture_columns`)
    scales: frozenset[int] = frozenset()  # the extrapolation axes and the features in step with one (`in_step_with`): never a hyperparameter
    toward_smaller: frozenset[int] = frozenset()  # the axes the test split lies below the train rows along (the spec's ``toward_smaller``)

    @classmethod
    def of(cls, train: Split) -> "Geometry":
        X = train.frame[list(train.spec.features)].to_numpy(dtype=float)
        transforms = feature_transforms(X)
        U = np.column_stack([np.log(X[:, f]) if t == "log" else X[:, f] for f, t in enumerate(transforms)])
        low, high = tuple(map(float, U.min(axis=0))), tuple(map(float, U.max(axis=0)))
        names = tuple(train.spec.features)
        axes = tuple(names.index(a) for a in train.spec.extrapolates if a in names)
        smaller = frozenset(names.index(a) for a in train.spec.toward_smaller if a in names)
        return cls(names, transforms, low, high, axes, mixture_columns(X), frozenset(axes) | in_step_with(U, axes), smaller)

    def toward(self, f: int) -> int:
        """+1 where the test split lies above the train rows along feature ``f``, -1 where below."""
        return -1 if f in self.toward_smaller else 1

    def span(self, f: int) -> float:
        return max(self.high[f] - self.low[f], 1e-12)

    def ref(self, f: int) -> float:
        """A bowl mover's (or damping feature's) centre: the middle of the train range, rounded (a fixed reparametrisation, not a constant of the law)."""
        return round((self.low[f] + self.high[f]) / 2, 1)

    def exponent_box(self, f: int) -> tuple[float, float]:
        if self.transforms[f] == "log":
            return LOG_EXPONENT
        width = 10.0 / self.span(f)  # exp(-a x) changes by at most e^10 across the data
        return (-width, width)


def columns_source(family: Family, geometry: Geometry) -> tuple[str, list[float], list[float]]:
    """``columns(X, theta)`` as source, and the box of theta."""
    lines = ["def columns(X, theta):", '    """Values of the law\'s terms, shape (N, K), for nonlinear parameters theta."""']
    used = sorted({f for p in family.pieces for f in p.features + p.movers + p.damp})
    for f in used:
        value = f"np.log(X[:, {f}])" if geometry.transforms[f] == "log" else f"X[:, {f}]"
        lines.append(f"    u{f} = {value}  # {geometry.names[f]}")
    cols, lower, upper = [], [0.0] * family.theta_count, [0.0] * family.theta_count
    starts, rates = family.theta_layout()
    for piece, k in zip(family.pieces, starts):
        if piece.kind == "power":
            parts = []
            for i, f in enumerate(piece.features):
                parts.append(f"theta[{k + i}] * u{f}")
                lower[k + i], upper[k + i] = geometry.exponent_box(f)
            cols.append(f"np.exp(-({' + '.join(parts)}))")
        elif piece.kind == "pair":
            p, q = piece.features
            cols.append(f"np.exp(-theta[{k}] * u{p})")
            cols.append(f"np.exp(-theta[{k}] * u{p} - theta[{k + 1}] * u{q})")
            for i, f in enumerate((p, q)):
                lower[k + i], upper[k + i] = geometry.exponent_box(f)
        elif piece.kind == "sat":
            p, q = piece.features
            # log x_eff = log r + u_q + log(1 - exp(-exp(u_p - u_q - log r)))
            cols.append(f"np.exp(-theta[{k}] * (theta[{k + 1}] + u{q} + np.log(-np.expm1(-np.exp(u{p} - u{q} - theta[{k + 1}])))))")
            ratio = (geometry.low[p] - geometry.high[q], geometry.high[p] - geometry.low[q])
            lower[k : k + 2] = [LOG_EXPONENT[0], ratio[0] - 2.0]
            upper[k : k + 2] = [LOG_EXPONENT[1], ratio[1] + 2.0]
        elif piece.kind in ("shift", "rect"):
            (f,) = piece.features
            if piece.kind == "shift":
                cols.append(f"np.exp(-theta[{k}] * np.logaddexp(u{f}, theta[{k + 1}]))")
                box = (geometry.low[f] - 5.0, geometry.high[f] + 2.0)
            else:
                cols.append(f"np.exp(-np.logaddexp(theta[{k}] * u{f}, theta[{k + 1}]))")
                box = (-5.0, LOG_EXPONENT[1] * max(abs(geometry.low[f]), abs(geometry.high[f])) + 5.0)
            lower[k : k + 2] = [LOG_EXPONENT[0], box[0]]
            upper[k : k + 2] = [LOG_EXPONENT[1], box[1]]
        elif piece.kind == "bowl":
            (h,) = piece.features
            centre = f"theta[{k}]" + "".join(f" + theta[{k + 1 + i}] * (u{m} - {geometry.ref(m)!r})" for i, m in enumerate(piece.movers))
            lower[k], upper[k] = geometry.low[h] - 0.5 * geometry.span(h), geometry.high[h] + 0.5 * geometry.span(h)
            lower[k + 1 : k + 1 + len(piece.movers)] = [-MOVER_SLOPE] * len(piece.movers)
            upper[k + 1 : k + 1 + len(piece.movers)] = [MOVER_SLOPE] * len(piece.movers)
            for d in piece.damp:
                lower[rates[d]], upper[rates[d]] = LOG_EXPONENT
            damping = "".join(f" * np.exp(-theta[{rates[d]}] * (u{d} - {geometry.ref(d)!r}))" for d in piece.damp)
            if piece.sides == 2:  # below and above the optimum, each with its own coefficient
                cols += [f"np.minimum(u{h} - ({centre}), 0.0) ** 2{damping}", f"np.maximum(u{h} - ({centre}), 0.0) ** 2{damping}"]
            else:
                cols.append(f"(u{h} - ({centre})) ** 2{damping}")
        else:  # linear
            cols.append(f"u{piece.features[0]}")
    lines.append(f"    return np.column_stack([{', '.join(cols)}])")
    return "\n".join(lines), lower, upper


def constant_names(family: Family) -> list[str]:
    """Names of one target's fitted vector ``[theta..., E, c...]``, as `describe` writes them.

    Shifts ``s`` and saturation ratios ``r`` are fitted as their logs; `natural_constants` turns
    them back.
    """
    theta = [""] * family.theta_count
    starts, rates = family.theta_layout()
    for piece, k in zip(family.pieces, starts):
        symbols = {"power": ["a"] * len(piece.features), "pair": ["a", "a"], "sat": ["a", "r"], "shift": ["a", "s"], "rect": ["a", "s"]}
        for i, symbol in enumerate(symbols.get(piece.kind, ["m"] * (1 + len(piece.movers)) if piece.kind == "bowl" else [])):
            theta[k + i] = f"{symbol}{k + i + 1}"
    for index in rates.values():
        theta[index] = f"g{index + 1}"
    return theta + ["E"] + [f"c{i}" for i in range(1, family.column_count + 1)]


def natural_constants(names: list[str], values) -> dict[str, float]:
    """``{name: value}`` as `describe` writes the law: shifts and ratios (fitted as logs) as themselves, and
    coefficients ``c`` as magnitudes (the fit keeps each coefficient's sign, which the formula writes)."""
    out = {}
    for name, value in zip(names, values):
        symbol = name.split(".")[-1][0]
        out[name] = float(np.exp(value)) if symbol in "sr" else abs(float(value)) if symbol == "c" else float(value)
    return out


def describe(family: Family, names: list[str], target: str = "y", transforms: tuple[str, ...] = (), refs: dict[int, float] | None = None) -> str:
    """The law in words, e.g. ``loss = E + c1 * N^-a1 + c2 * D^-a2``; symbols as `constant_names` lists them.

    ``transforms`` marks raw features; ``refs`` are the centres of bowl movers (`Geometry.ref`).
    """
    terms, c = [], 0
    starts, rates = family.theta_layout()
    raw = {f for f, t in enumerate(transforms) if t == "raw"}
    refs = refs or {}

    def u(f: int) -> str:
        return names[f] if f in raw else f"log({names[f]})"

    for piece, k in zip(family.pieces, starts):
        if piece.kind == "power":
            factors = []
            for i, f in enumerate(piece.features, start=k + 1):
                factors.append(f"exp(-a{i} * {names[f]})" if f in raw else f"{names[f]}^-a{i}")
            c += 1
            terms.append(f"c{c} * " + " * ".join(factors))
        elif piece.kind == "pair":
            p, q = piece.features
            terms.append(f"{names[p]}^-a{k + 1} * (c{c + 1} + c{c + 2} * {names[q]}^-a{k + 2})")
            c += 2
        elif piece.kind == "sat":
            p, q = piece.features
            terms.append(f"c{c + 1} * X^-a{k + 1} with X = r{k + 2} * {names[q]} * (1 - exp(-{names[p]} / (r{k + 2} * {names[q]})))")
            c += 1
        elif piece.kind == "shift":
            terms.append(f"c{c + 1} * ({names[piece.features[0]]} + s{k + 2})^-a{k + 1}")
            c += 1
        elif piece.kind == "rect":
            terms.append(f"c{c + 1} / ({names[piece.features[0]]}^a{k + 1} + s{k + 2})")
            c += 1
        elif piece.kind == "bowl":
            h = u(piece.features[0])
            moving = "".join(f" + m{k + 2 + i} * ({u(m)} - {refs.get(m, 0.0):g})" for i, m in enumerate(piece.movers))
            centre = f"m{k + 1}"
            damping = "".join(f" * exp(-g{rates[d] + 1} * ({u(d)} - {refs.get(d, 0.0):g}))" for d in piece.damp)
            distance = f"{h} - ({centre}{moving})" if moving else f"{h} - {centre}"
            if piece.sides == 2:
                terms.append(f"c{c + 1} * min(0, {distance})^2{damping}")
                terms.append(f"c{c + 2} * max(0, {distance})^2{damping}")
            else:
                terms.append(f"c{c + 1} * ({distance})^2{damping}")
            c += piece.sides
        else:
            c += 1
            terms.append(f"-c{c} * {u(piece.features[0])}")
    if family.direction < 0:  # every term enters with its sign flipped: a score rises as a loss falls
        terms = [t[1:] if t.startswith("-") else f"-{t}" for t in terms]
    body = " + ".join(["E", *terms]).replace("+ -", "- ")
    return f"{target} = {body}"


def read_family(code: str) -> Family | None:
    """The ``FAMILY`` of a program written by `program`, or None for any other program."""
    tree = parse_program(code)
    law = read(literal_in(tree, "FAMILY"), tree) if tree is not None else None
    return law.family if law is not None else None


@dataclass(frozen=True)
class GrammarLaw:
    """A grammar family read back from its program (a `sldbench.laws.Law`); described as its docstring states it."""

    family: Family
    stated: StatedLaw

    def describe(self, features: Sequence[str], targets: Sequence[str]) -> str:
        return self.stated.describe(features, targets)  # written with the train split's transforms and centres

    def constant_names(self, targets: Sequence[str]) -> list[str]:
        names = constant_names(self.family)
        return names if len(targets) == 1 else [f"{target}.{name}" for target in targets for name in names]

    def natural_constants(self, values: Sequence[float], targets: Sequence[str]) -> dict[str, float]:
        return natural_constants(self.constant_names(targets), values)


def read(literal: object, tree: ast.Module) -> GrammarLaw | None:
    """The law of a program whose ``FAMILY`` is ``literal``, or None when it is no family."""
    try:
        pieces = tuple(_piece(*entry) for entry in literal["pieces"])
        return GrammarLaw(Family(pieces, int(literal["direction"])), StatedLaw(docstring_in(tree)))
    except (TypeError, KeyError, ValueError):
        return None


def program(family: Family, geometry: Geometry, targets: list[str], note: str = "") -> str:
    """A complete SLDAgent program that fits ``family`` per group (see `sldbench.laws.fitters`)."""
    source, lower, upper = columns_source(family, geometry)
    names = list(geometry.names)
    refs = {m: geometry.ref(m) for p in family.pieces for m in p.movers + p.damp}
    laws = "\n".join(f"    {describe(family, names, t, geometry.transforms, refs)}" for t in targets)
    header = (
        f'"""Scaling law found by the law grammar (no language model); per group:\n\n{laws}\n\n'
        "with c >= 0 and the signs shown"
        + ("; log is the natural log" if any(p.kind == "bowl" for p in family.pieces) else "")
        + ".\n"
        + (f"{note}\n" if note else "")
        + 'FAMILY names the law for the symbolic proposer; fit_grammar_law fits it by variable projection with NNLS.\n"""'
    )
    return f"""{EVOLVE_START}
{header}
import numpy as np
from scipy.optimize import least_squares, nnls
from scipy.stats import qmc

FAMILY = {family.to_literal()!r}
SIGNS = {family.signs()!r}
N_THETA = {family.theta_count}
LOWER = {[round(v, 6) for v in lower]!r}
UPPER = {[round(v, 6) for v in upper]!r}


{source}


{FITTER_SOURCE}


def scaling_law_func(data_points, params):
    X = np.atleast_2d(np.asarray(data_points, dtype=float))
    P = np.atleast_2d(np.asarray(params, dtype=float))
    out = []
    for p in P:
        with np.errstate(all="ignore"):
            out.append(p[N_THETA] + columns(X, p[:N_THETA]) @ p[N_THETA + 1 :])
    pred = np.column_stack(out)
    return pred[:, 0] if pred.shape[1] == 1 else pred


def fit_scaling_law(data_points, loss_values):
    X = np.atleast_2d(np.asarray(data_points, dtype=float))
    Y = np.asarray(loss_values, dtype=float).reshape(len(X), -1)
    params = [fit_grammar_law(columns, X, Y[:, t], np.array(SIGNS), LOWER, UPPER) for t in range(Y.shape[1])]
    return params[0] if len(params) == 1 else np.array(params)
{EVOLVE_END}
"""
