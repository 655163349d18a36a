"""A grammar of scaling-law families, enumerated by giving the features roles.

Every law is ``y = E + sum_k s_k c_k phi_k(X; theta)`` per target with ``c_k >= 0``
(non-negative least squares inside variable projection, see
`sldbench.laws.fitters`), so the signs of its terms are fixed by the
family, not found by the fit. ``direction`` says how the target moves with
scale: ``+1`` for a loss (decaying terms weigh positively, bowls open upwards,
log-linear slopes fall), ``-1`` for a score that rises. Pieces:

``power``  ``prod_f x_f^-a_f`` (``exp(-a x)`` on a raw feature): one power law, or a
           product of them (multiplicative interaction). Exponents on log features
           lie in [0, 3]: terms decay with scale.
``pair``   ``x_p^-a`` and ``x_p^-a x_q^-b`` with a shared ``a``: an effective size,
           ``x_p`` times a saturating function of ``x_q`` (the mixture-of-experts form).
``shift``  ``(x + e^t)^-a``, a shifted power law; ``t`` bounded around the data's range.
``rect``   ``1 / (x^a + e^t)``, a rectified power law (the fine-tuning form).
``bowl``   ``(u_h - m0 - sum_j m_j (u_j - ref_j))^2`` with ``u = log x``: a convex loss
           around an optimum of a hyperparameter ``h`` that moves as a power law of the
           ``movers`` (the learning-rate/batch-size form); no movers: a fixed optimum.
           A bowl may flatten with scale: times ``exp(-g (u_d - ref_d))`` for a ``damp``
           feature ``d`` (an extrapolation axis), ``g`` in [0, 3] as a decaying term's.
           Bowls damped by the same feature share one rate ``g``: the whole basin
           flattens, so two hyperparameters' curvatures and their coupling keep their
           ratio.
``sat``    ``x_eff^-a`` with ``x_eff = r x_q (1 - exp(-x_p / (r x_q)))``: ``x_p``'s effective
           value, equal to it while small and saturating at ``r`` times ``x_q`` (repeated
           data: tokens seen against unique tokens).
``linear`` ``u_f``: a log-linear (or, on a raw feature, linear) trend.

`families` assigns features to these roles (every feature a scale; one pair an
effective size or a saturating value; one feature shifted, rectified or
log-linear; one or two non-extrapolation features hyperparameters with a fixed
or a moving optimum, on a sum of power laws of the others), within the parameter
limit, for both directions. Two hyperparameters' optima may be coupled: the
first's moves with the second's value, the second's with scale alone (every
convex quadratic basin in the pair, with no free slope). A law uses every feature
the task gives; only when the limit leaves no room for such a law do laws of all
features but one (keeping the extrapolation axes) enter.
`GrammarSearch` fits every family on test-shaped folds of the train split
(`sldbench.symbolic.folds`), drops those whose fits hit a bound or fail and
those that break the guard rails, and ranks the rest with the one-standard-error
rule (`select`); then it puts the best basins on every other scale law of the
remaining features (`basin_families`) and ranks again. Nothing here depends on
a task's name or reads the test split.
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass, field

import numpy as np

from ..data import Split
from ..laws.grammar import Family, Geometry, Piece, program
from ..folds import fold_score, select
from ..folds import extrapolation_folds
from .validation import group_arrays, namespace, validation_folds

MAX_PARAMS_PER_TARGET = 16  # for tasks without a limit: keeps fits well posed
REFINED_BASINS = 4  # hyperparameter basins tried on every scale law after the first stage (GrammarSearch.run)
# Guard rails: how far beyond the data a law is followed, and how far outside the train targets it may go.
EXTRAPOLATION_FACTORS = (2.0, 4.0, 8.0, 16.0)
BAND = 1.0  # in units of the group's train target span, on each side
BOUND_SHARE = 0.25  # a law is excluded when more than this share of its group fits end on a bound or diverge
TREND = 0.5  # |Spearman rho| of target vs axis in a group above which the law must keep that trend beyond the data


# ------------------------------------------------------------------ enumeration


def families(geometry: Geometry, axes: tuple[int, ...], limit: int | None, n_targets: int) -> list[Family]:
    """Every family the roles give for these features, within ``limit`` parameters per group (all targets).

    Parameters
    ----------
    geometry : Geometry
    axes : tuple of int
        The features the test split extrapolates along (kept in every law; never a hyperparameter).
    limit : int, optional
        Fitted parameters per group over all targets (None: `MAX_PARAMS_PER_TARGET` per target).

    Returns
    -------
    list of Family
        Deterministic order, no duplicates.
    """
    features = tuple(range(len(geometry.names)))
    logs, cap = _log_features(geometry), _param_cap(limit, n_targets)
    # Every feature the task gives is an input the law should use; all but one only when the limit leaves
    # no room for a law of all of them (a law always keeps the extrapolation axes).
    full = _bodies([features], logs)
    if not any(Family(tuple(sorted(set(b)))).params_per_target() * n_targets <= cap for b in full):
        full += _bodies([s for s in itertools.combinations(features, len(features) - 1) if set(axes) <= set(s)], logs)
    bodies = full + [bowls + _powers(scale) for bowls, scale in basins(features, axes)]
    out, seen = [], set()
    for direction in (1, -1):
        for body in bodies:
            family = Family(tuple(sorted(set(body))), direction)
            if family in seen or not family.pieces:
                continue
            if family.params_per_target() * n_targets > cap:
                continue
            seen.add(family)
            out.append(family)
    return out


def _log_features(geometry: Geometry) -> list[int]:
    """Indices of the features the laws take the logarithm of."""
    return [f for f in range(len(geometry.names)) if geometry.transforms[f] == "log"]


def _param_cap(limit: int | None, n_targets: int) -> int:
    """Fitted parameters a family may have per group over all targets (``limit``, else the default per target)."""
    return limit if limit is not None else MAX_PARAMS_PER_TARGET * n_targets


def _powers(features) -> list[Piece]:
    """One power law per feature."""
    return [Piece("power", (f,)) for f in features]


def _bodies(subsets, logs) -> list[list[Piece]]:
    """The pieces of every scale-only law on each subset of features (``logs``: the log-transformed ones)."""
    bodies: list[list[Piece]] = []
    for subset in subsets:
        rest_of = lambda used: [f for f in subset if f not in used]  # noqa: E731
        bodies.append(_powers(subset))
        if len(subset) >= 2:
            bodies.append([Piece("power", subset)])
        for f in subset:
            if f in logs:
                bodies.append([Piece("shift", (f,))] + _powers(rest_of([f])))
                bodies.append([Piece("rect", (f,))] + _powers(rest_of([f])))
            bodies.append([Piece("linear", (f,))] + _powers(rest_of([f])))
        for p, q in itertools.permutations(subset, 2):
            bodies.append([Piece("pair", (p, q))] + _powers(rest_of([p, q])))
            if p in logs and q in logs:
                bodies.append([Piece("sat", (p, q))] + _powers(rest_of([p, q])))
                bodies.append([Piece("sat", (p, q))] + _powers(rest_of([p])))
        if len(subset) >= 3:
            for p, q in itertools.combinations(subset, 2):
                bodies.append([Piece("power", (p, q))] + _powers(rest_of([p, q])))
    return bodies


def basins(features: tuple[int, ...], axes: tuple[int, ...]) -> list[tuple[list[Piece], tuple[int, ...]]]:
    """Every basin of one or two hyperparameters (features that are not extrapolation axes), each with an optimum.

    Parameters
    ----------
    features : tuple of int
        Indices of every feature of the task.
    axes : tuple of int
        The extrapolation axes (never a hyperparameter).

    Returns
    -------
    list of (list of Piece, tuple of int)
        ``(bowls, scale features)`` per basin: its bowl pieces and the features left to the law's scale part.
    """
    out: list[tuple[list[Piece], tuple[int, ...]]] = []
    candidates = [f for f in features if f not in axes]
    for size in (1, 2):
        for hyper in itertools.combinations(candidates, size):
            scale = tuple(f for f in features if f not in hyper)
            if not scale and len(features) > 1:
                continue
            for movers_of in ("fixed", "scale", "all"):
                if movers_of != "fixed" and not scale:
                    continue
                if movers_of == "all" and size == 1:
                    continue  # the same as "scale" with one hyperparameter
                bowls = []
                for i, h in enumerate(hyper):
                    # "all": the first hyperparameter's optimum also moves with the second's value, whose own
                    # optimum moves with scale alone; the two bowls then span every convex quadratic basin
                    # in the pair (a triangular factorisation: coupling both ways would leave one slope free).
                    coupled = movers_of == "all" and i == 0
                    movers = () if movers_of == "fixed" else tuple(f for f in features if f != h and (f in scale or coupled))
                    bowls.append(Piece("bowl", (h,), movers))
                out.append((bowls, scale))
                if movers_of == "fixed":
                    continue
                # a basin that flattens with scale: every bowl damped by one axis (one shared rate), or one bowl of two
                for d in (f for f in axes if f in scale):
                    for damped in [tuple(range(len(bowls)))] + ([(0,), (1,)] if len(bowls) == 2 else []):
                        out.append(([Piece("bowl", b.features, b.movers, (d,) if i in damped else ()) for i, b in enumerate(bowls)], scale))
    return out


def basin_families(geometry: Geometry, basins: list[tuple[Piece, ...]], direction: int, limit: int | None, n_targets: int) -> list[Family]:
    """Each basin (its bowl pieces) on every scale-only law of the other features (`_bodies`), within ``limit``.

    `families` puts every basin on a sum of power laws; `GrammarSearch` then tries the best
    basins on the other scale laws (a loss floor that saturates in data, a shifted power law, ...).

    Parameters
    ----------
    geometry : Geometry
    basins : list of tuple of Piece
        Each basin's bowl pieces; the features they do not make hyperparameters form the scale part.
    direction : int
        +1 (a loss that falls with scale) or -1 (a score that rises).
    limit : int, optional
        Fitted parameters per group over all targets (None: `MAX_PARAMS_PER_TARGET` per target).
    n_targets : int

    Returns
    -------
    list of Family
        Deterministic order, no duplicates.
    """
    logs, cap = _log_features(geometry), _param_cap(limit, n_targets)
    out: dict[Family, None] = {}  # ordered, without duplicates
    for basin in basins:
        hyper = {p.features[0] for p in basin}
        scale = tuple(f for f in range(len(geometry.names)) if f not in hyper)
        for scale_law in _bodies([scale], logs) if scale else [[]]:
            family = Family(tuple(sorted(set(basin) | set(scale_law))), direction)
            if family.params_per_target() * n_targets <= cap:
                out[family] = None
    return list(out)


# ------------------------------------------------------------------ programs


# ------------------------------------------------------------------ scoring and selection


@dataclass
class Candidate:
    """A family, its program, its R^2 per validation fold (clipped to [-1, 1]) and why it was excluded, if it was."""

    family: Family
    code: str
    params: int
    folds: list[float] = field(default_factory=list)
    problem: str = ""
    ignored: list[int] = field(default_factory=list)  # features the fitted law does not respond to

    @property
    def score(self) -> float:
        return fold_score(self.folds)

    @property
    def size(self) -> tuple[int, int]:
        """Simplicity: fitted parameters per group, then description length (pieces and the features they use)."""
        return (self.params, sum(1 + len(p.features) + len(p.movers) + len(p.damp) for p in self.family.pieces))


def fit_problem(params: np.ndarray, family: Family, lower: list[float], upper: list[float]) -> str:
    """Why a fit is not trusted: non-finite values, or a nonlinear parameter on a bound of its box; '' when it is."""
    params = np.atleast_2d(np.asarray(params, dtype=float))
    if not np.all(np.isfinite(params)):
        return "the fit is not finite"
    lo, hi = np.asarray(lower), np.asarray(upper)
    tolerance = 1e-6 * np.maximum(1.0, hi - lo)
    for row in params:
        theta = row[: family.theta_count]
        on = np.where((theta <= lo + tolerance) | (theta >= hi - tolerance))[0]
        if len(on):
            return f"theta[{int(on[0])}] ends on a bound of its box [{lo[on[0]]:g}, {hi[on[0]]:g}]"
    return ""


def guard_problem(
    code_namespace: dict, train: dict, axes: tuple[int, ...], transforms: tuple[str, ...], movers: tuple[int, ...] = ()
) -> tuple[str, list]:
    """Guard rails on fits to each group's train rows; returns (problem or '', fitted params per group).

    Along every extrapolation axis, from each group's rows at its largest value, the
    law is followed to `EXTRAPOLATION_FACTORS` times that value (raw features: that
    many 32nds of its train span beyond it, up to half a span). Its predictions must stay finite, within `BAND`
    spans of the group's train targets, and keep the group's trend along the axis
    where the train rows show one (|Spearman rho| >= `TREND`): a loss that falls
    with scale in the data must not turn up beyond it. The trend is not asked along
    ``movers``, features that move a hyperparameter's optimum: at a fixed
    learning rate the loss may rise with scale as the optimum moves away from it.
    """
    fitted = []
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for group, (x, y) in train.items():
            try:
                params = code_namespace["fit_scaling_law"](x, y[:, 0] if y.shape[1] == 1 else y)
            except Exception as err:  # noqa: BLE001
                return f"fitting group {group} failed: {type(err).__name__}", []
            fitted.append(params)
            low, high = y.min(axis=0), y.max(axis=0)
            span = np.maximum(high - low, 1e-12)
            for f in axes:
                edge = x[x[:, f] == x[:, f].max()]
                path = []
                for step in EXTRAPOLATION_FACTORS:
                    far = edge.copy()
                    far[:, f] = far[:, f] * step if transforms[f] == "log" else far[:, f] + step / 32 * (x[:, f].max() - x[:, f].min())
                    try:
                        path.append(np.asarray(code_namespace["scaling_law_func"](far, params), dtype=float).reshape(len(far), -1))
                    except Exception as err:  # noqa: BLE001
                        return f"predicting beyond the data failed: {type(err).__name__}", []
                path = np.stack(path)  # (steps, rows, targets)
                if not np.all(np.isfinite(path)):
                    return f"predictions beyond the data along feature {f} are not finite (group {group})", []
                if np.any(path < low - BAND * span) or np.any(path > high + BAND * span):
                    return f"predictions leave the band of the train targets along feature {f} (group {group})", []
                for t in range(y.shape[1] if f not in movers else 0):
                    rho = _spearman(x[:, f], y[:, t])
                    if abs(rho) < TREND:
                        continue
                    steps = np.diff(np.concatenate([_predict_rows(code_namespace, edge, params, t), path[:, :, t]]), axis=0)
                    wrong = steps * np.sign(rho) < -1e-3 * span[t]
                    if np.any(wrong):
                        return f"the law turns against the data's trend along feature {f} beyond the data (group {group})", []
    return "", fitted


def ignored_features(code_namespace: dict, train: dict, fitted: list) -> list[int]:
    """Features a fitted law does not respond to in any group (a term dropped, or a coefficient fitted to zero).

    Each feature in turn is moved (x1.5 when positive, else by half its spread) on every
    train row; a feature whose moves change no prediction in any group is ignored.
    """
    used: set[int] = set()
    width = next(iter(train.values()))[0].shape[1]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for (x, _), params in zip(train.values(), fitted):
            base = np.asarray(code_namespace["scaling_law_func"](x, params), dtype=float)
            for f in sorted(set(range(width)) - used):
                moved = x.copy()
                moved[:, f] = x[:, f] * 1.5 if np.all(x[:, f] > 0) else x[:, f] + 0.5 * (np.std(x[:, f]) or 1.0)
                change = np.abs(np.asarray(code_namespace["scaling_law_func"](moved, params), dtype=float) - base)
                if np.any(change > 1e-9 * (1.0 + np.abs(base))):
                    used.add(f)
    return sorted(set(range(width)) - used)


def vet(code: str, train: dict, axes: tuple[int, ...], transforms: tuple[str, ...], movers: tuple[int, ...] = ()) -> tuple[str, list[int]]:
    """``(problem, ignored features)`` of one of this package's programs: `guard_problem`, then `ignored_features`."""
    code_namespace = namespace(code)
    problem, fitted = guard_problem(code_namespace, train, axes, transforms, movers)
    return problem, ([] if problem else ignored_features(code_namespace, train, fitted))


def _predict_rows(code_namespace: dict, rows: np.ndarray, params, t: int) -> np.ndarray:
    return np.asarray(code_namespace["scaling_law_func"](rows, params), dtype=float).reshape(len(rows), -1)[None, :, t]


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return 0.0
    ra, rb = _ranks(a), _ranks(b)
    return float(np.corrcoef(ra, rb)[0, 1])


def _ranks(v: np.ndarray) -> np.ndarray:
    order = np.argsort(v, kind="stable")
    ranks = np.empty(len(v))
    ranks[order] = np.arange(len(v))
    # ties share their mean rank
    for value in np.unique(v):
        mask = v == value
        ranks[mask] = ranks[mask].mean()
    return ranks


def rank(candidates: list[Candidate]) -> list[Candidate]:
    """``candidates`` in the order `GrammarSearch.run` returns them.

    The admissible ones that respond to every feature, ranked by `select` (the one-standard-error
    rule), then the other admissible ones, ranked likewise, then the excluded ones (those with a
    ``problem``) in their given order.
    """
    admissible = [c for c in candidates if not c.problem]
    return select([c for c in admissible if not c.ignored]) + select([c for c in admissible if c.ignored]) + [c for c in candidates if c.problem]


class GrammarSearch:
    """Enumerate, fit and rank the grammar's families on one train split (which alone it reads).

    Parameters
    ----------
    train : Split
    note : str
        A line written into every program's docstring.
    """

    def __init__(self, train: Split, note: str = "") -> None:
        spec = train.spec
        self.train, self.note = train, note
        self.geometry = Geometry.of(train)
        names = list(spec.features)
        self.axes = tuple(names.index(a) for a in spec.extrapolates if a in names)
        fit, held = extrapolation_folds(train)
        self.fit_rows, self.held_rows = group_arrays(fit), group_arrays(held)
        self.train_rows = group_arrays(train)
        self.families = families(self.geometry, self.axes, spec.param_limit, len(spec.targets))

    def candidate(self, family: Family) -> Candidate:
        """Fit ``family``: guard rails and bound checks on the full train rows, then R^2 on every fold."""
        code = program(family, self.geometry, list(self.train.spec.targets), self.note)
        candidate = Candidate(family, code, family.params_per_target() * len(self.train.spec.targets))
        code_namespace = namespace(code)
        movers = tuple(sorted({m for p in family.pieces if p.kind == "bowl" for m in p.movers}))
        problem, fitted = guard_problem(code_namespace, self.train_rows, self.axes, self.geometry.transforms, movers)
        if not problem:
            problems = [p for params in fitted if (p := fit_problem(params, family, code_namespace["LOWER"], code_namespace["UPPER"]))]
            if len(problems) > BOUND_SHARE * len(fitted):
                problem = f"{len(problems)} of {len(fitted)} group fits flagged, e.g. {problems[0]}"
        candidate.problem = problem
        if not problem:
            candidate.ignored = ignored_features(code_namespace, self.train_rows, fitted)
            candidate.folds = validation_folds(code_namespace, self.fit_rows, self.held_rows)
        return candidate

    def run(self, progress=None) -> list[Candidate]:
        """Every family fitted: the admissible ones that respond to every feature, ranked by `select`, then the other
        admissible ones, ranked likewise, then the excluded ones (with their ``problem``).

        Two stages: the families of `families` (every basin on a sum of power laws), then the
        `REFINED_BASINS` best basins on every other scale law (`basin_families`), so the basin
        and the scale part are each searched without fitting every pairing of the two.
        ``progress(done, total)`` is called after each fit (``total`` grows when the second stage is known).
        """
        out = [self._fit(family, i, len(self.families), progress) for i, family in enumerate(self.families)]
        ranked = rank(out)
        refined: list[tuple[tuple[Piece, ...], int]] = []  # the best basins, each with its direction
        for c in ranked:
            basin = tuple(p for p in c.family.pieces if p.kind == "bowl")
            if basin and not c.problem and (basin, c.family.direction) not in refined and len(refined) < REFINED_BASINS:
                refined.append((basin, c.family.direction))
        seen = set(self.families)
        more = [f for basin, direction in refined for f in basin_families(self.geometry, [basin], direction, self.train.spec.param_limit, len(self.train.spec.targets))]
        more = [f for f in dict.fromkeys(more) if f not in seen]
        total = len(out) + len(more)
        out += [self._fit(family, len(out) + i, total, progress) for i, family in enumerate(more)]
        return rank(out)

    def _fit(self, family: Family, index: int, total: int, progress) -> Candidate:
        candidate = self.candidate(family)
        if progress is not None:
            progress(index + 1, total)
        return candidate
