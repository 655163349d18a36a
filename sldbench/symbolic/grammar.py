"""A grammar of scaling-law families, enumerated by giving the features roles, and its search.

The families themselves and their programs are `sldbench.laws.grammar`; this module
enumerates them and finds the best.

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
           ratio. A bowl of two sides, ``c_lo min(0, v)^2 + c_hi max(0, v)^2`` for the
           distance ``v`` from the optimum, has its own curvature on each side: a loss
           that rises faster past the optimum (a learning rate too high) keeps its
           optimum where the runs put it.
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
(`sldbench.folds`), drops those whose fits hit a bound or fail and
those that break the guard rails (`sldbench.symbolic.guards`), and ranks the rest
with the one-standard-error rule (`sldbench.folds.select`); then it puts the best basins on every other scale law of the
remaining features (`basin_families`), tries the best laws again with two-sided bowls
(`two_sided`), fits every law of the literature's catalogue that
binds to the task's features (`sldbench.laws.literature`: Kaplan, Chinchilla, broken power
laws, ...) beside them, and ranks all again. Nothing here depends on a task's name or reads
the test split.
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass, field

from ..data import Split
from ..folds import extrapolation_folds, fold_score, nearest_fold, select
from ..laws import literature
from ..laws.grammar import Family, Geometry, Piece, program
from ..laws.literature import BoundLaw
from .guards import BOUND_SHARE, fit_problem, guard_problem, ignored_features, vet
from .validation import group_arrays, namespace, validation_folds
from .workers import IN_PROCESS, FitPool, InProcess

MAX_PARAMS_PER_TARGET = 16  # for tasks without a limit: keeps fits well posed
REFINED_BASINS = 4  # hyperparameter basins tried on every scale law after the first stage (GrammarSearch.run)
SIDED_LAWS = 4  # laws with a bowl tried again with two-sided bowls after the second stage (GrammarSearch.run)


# ------------------------------------------------------------------ enumeration


def families(geometry: Geometry, axes: tuple[int, ...], limit: int | None, n_targets: int) -> list[Family]:
    """Every family the roles give for these features, within ``limit`` parameters per group (all targets).

    Parameters
    ----------
    geometry : Geometry
    axes : tuple of int
        The features the test split extrapolates along (kept in every law; never a hyperparameter, nor is a
        feature in step with one: ``geometry.scales``).
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
    bodies = full + [bowls + _powers(scale) for bowls, scale in basins(features, axes, geometry.scales)]
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


def basins(features: tuple[int, ...], axes: tuple[int, ...], scales: frozenset[int] = frozenset()) -> list[tuple[list[Piece], tuple[int, ...]]]:
    """Every basin of one or two hyperparameters (features that are neither axes nor scales), each with an optimum.

    Parameters
    ----------
    features : tuple of int
        Indices of every feature of the task.
    axes : tuple of int
        The extrapolation axes (never a hyperparameter; a flattening basin is damped along one).
    scales : frozenset of int
        The scales (`Geometry.scales`: the axes and the features in step with one): never a hyperparameter
        either, and a feature in step with an axis never moves an optimum beside it.

    Returns
    -------
    list of (list of Piece, tuple of int)
        ``(bowls, scale features)`` per basin: its bowl pieces and the features left to the law's scale part.
    """
    out: list[tuple[list[Piece], tuple[int, ...]]] = []
    candidates = [f for f in features if f not in axes and f not in scales]
    # a feature in step with an axis moves no optimum the axis does not already move: on rows where
    # log D = log N + const, slopes in both are one slope split at random (and one more constant)
    echoes = set(scales) - set(axes)
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
                    movers = () if movers_of == "fixed" else tuple(f for f in features if f != h and f not in echoes and (f in scale or coupled))
                    bowls.append(Piece("bowl", (h,), movers))
                out.append((bowls, scale))
                if movers_of == "fixed":
                    continue
                # a basin that flattens with scale: every bowl damped by one axis (one shared rate), or one bowl of two
                for d in (f for f in axes if f in scale):
                    for damped in [tuple(range(len(bowls)))] + ([(0,), (1,)] if len(bowls) == 2 else []):
                        out.append(([Piece("bowl", b.features, b.movers, (d,) if i in damped else ()) for i, b in enumerate(bowls)], scale))
    return out


def two_sided(family: Family, limit: int | None, n_targets: int) -> list[Family]:
    """``family`` with one or more of its bowls given two sides (`Piece.sides`), each within ``limit``.

    A loss often rises faster on one side of an optimum than on the other (past the best
    learning rate training destabilises), and one curvature fitted to both sides puts the
    optimum where the gentler side pulls it. `GrammarSearch` tries the best laws again with
    every non-empty set of their bowls two-sided.

    Returns
    -------
    list of Family
        Fewest bowls split first; empty when the family has no one-sided bowl or no room left.
    """
    cap = _param_cap(limit, n_targets)
    bowls = [i for i, p in enumerate(family.pieces) if p.kind == "bowl" and p.sides == 1]
    out = []
    for size in range(1, len(bowls) + 1):
        for split in itertools.combinations(bowls, size):
            pieces = tuple(dataclasses.replace(p, sides=2) if i in split else p for i, p in enumerate(family.pieces))
            variant = Family(tuple(sorted(pieces)), family.direction)
            if variant.params_per_target() * n_targets <= cap:
                out.append(variant)
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


# ------------------------------------------------------------------ scoring and selection


@dataclass
class Candidate:
    """A law (a grammar ``family``, or None for a bound literature law), its program, its R^2 per validation
    fold (clipped to [-1, 1]) and why it was excluded, if it was."""

    family: Family | None
    code: str
    params: int
    length: int  # description length: a family's pieces and the features they use; a literature law's roles, two each
    folds: list[float] = field(default_factory=list)
    problem: str = ""
    ignored: list[int] = field(default_factory=list)  # features the fitted law does not respond to

    @property
    def score(self) -> float:
        return fold_score(self.folds)

    @property
    def size(self) -> tuple[int, int]:
        """Simplicity: fitted parameters per group, then description length."""
        return (self.params, self.length)


def rank(candidates: list[Candidate], nearest: int | None = None) -> list[Candidate]:
    """``candidates`` in the order `GrammarSearch.run` returns them.

    The admissible ones that respond to every feature, ranked by `select` (the one-standard-error
    rule; ``nearest``: the fold nearest the test, `sldbench.folds.nearest_fold`), then the other
    admissible ones, ranked likewise, then the excluded ones (those with a ``problem``) in their given order.
    """
    admissible = [c for c in candidates if not c.problem]
    every, partial = [c for c in admissible if not c.ignored], [c for c in admissible if c.ignored]
    return select(every, nearest=nearest) + select(partial, nearest=nearest) + [c for c in candidates if c.problem]


class GrammarSearch:
    """Enumerate, fit and rank the grammar's families on one train split (which alone it reads).

    Parameters
    ----------
    train : Split
    note : str
        A line written into every program's docstring.
    pool : FitPool or InProcess
        Where a stage's laws are fitted: worker processes holding the same search fit them side by
        side (the same candidates: each is a pure function of its law and the split).
    """

    def __init__(self, train: Split, note: str = "", pool: FitPool | InProcess = IN_PROCESS) -> None:
        spec = train.spec
        self.train, self.note, self.pool = train, note, pool
        self.geometry = Geometry.of(train)
        self.axes = self.geometry.axes
        fit, held = extrapolation_folds(train)
        self.fit_rows, self.held_rows = group_arrays(fit), group_arrays(held)
        self.nearest = nearest_fold(held)
        self.train_rows = group_arrays(train)
        self.families = families(self.geometry, self.axes, spec.param_limit, len(spec.targets))

    def candidate(self, family: Family) -> Candidate:
        """Fit ``family``: guard rails and bound checks on the full train rows, then R^2 on every fold."""
        code = program(family, self.geometry, list(self.train.spec.targets), self.note)
        length = sum(p.sides + len(p.features) + len(p.movers) + len(p.damp) for p in family.pieces)
        candidate = Candidate(family, code, family.params_per_target() * len(self.train.spec.targets), length)
        movers = tuple(sorted({m for p in family.pieces if p.kind == "bowl" for m in p.movers}))

        def on_bounds(code_namespace: dict, fitted: list) -> str:
            problems = [p for params in fitted if (p := fit_problem(params, family, code_namespace["LOWER"], code_namespace["UPPER"]))]
            return f"{len(problems)} of {len(fitted)} group fits flagged, e.g. {problems[0]}" if len(problems) > BOUND_SHARE * len(fitted) else ""

        return self._judge(candidate, movers, on_bounds)

    def literature_candidate(self, bound: BoundLaw) -> Candidate:
        """Fit a bound literature law: guard rails on the full train rows, then R^2 on every fold."""
        spec = self.train.spec
        code = literature.program(bound, spec.features, spec.targets, self.note)
        return self._judge(Candidate(None, code, len(bound.law.parameters), 2 * len(bound.roles)), bound.movers)

    def _judge(self, candidate: Candidate, movers: tuple[int, ...], flagged=None) -> Candidate:
        """Set ``candidate``'s problem (guard rails, then ``flagged(namespace, fits)``), ignored features and fold R^2."""
        code_namespace = namespace(candidate.code)
        problem, fitted = guard_problem(code_namespace, self.train_rows, self.geometry, movers)
        candidate.problem = problem or (flagged(code_namespace, fitted) if flagged else "")
        if not candidate.problem:
            candidate.ignored = ignored_features(code_namespace, self.train_rows, fitted)
            candidate.folds = validation_folds(code_namespace, self.fit_rows, self.held_rows)
        return candidate

    def literature_laws(self) -> list[BoundLaw]:
        """Every law of the literature's catalogue that fits this task: one target, a role per feature (each
        feature in its role's domain, no hyper-parameter role on a scale, `Geometry.scales`), within the parameter
        limit; every such binding of features to roles."""
        spec = self.train.spec
        if len(spec.targets) != 1:
            return []
        X = self.train.frame[list(spec.features)].to_numpy(dtype=float)
        out = []
        for law in literature.CATALOGUE.values():
            if len(law.roles) != len(spec.features) or (spec.param_limit is not None and len(law.parameters) > spec.param_limit):
                continue
            optima = [law.roles.index(role) for role in law.optima]
            for roles in itertools.permutations(range(len(spec.features))):
                if law.admits(X[:, list(roles)]) and not any(roles[i] in self.geometry.scales for i in optima):
                    out.append(literature.bind(law, roles))
        return out

    def run(self) -> list[Candidate]:
        """Every family fitted: the admissible ones that respond to every feature, ranked by `select`, then the other
        admissible ones, ranked likewise, then the excluded ones (with their ``problem``).

        Three stages: the families of `families` (every basin on a sum of power laws), then the
        `REFINED_BASINS` best basins on every other scale law (`basin_families`), so the basin
        and the scale part are each searched without fitting every pairing of the two; then the
        `SIDED_LAWS` best laws whose bowls can take a second side within the limit, with two-sided
        bowls (`two_sided`).
        """
        out = self.pool.map(GrammarSearch.candidate, self, self.families)
        ranked = rank(out, self.nearest)
        refined: list[tuple[tuple[Piece, ...], int]] = []  # the best basins, each with its direction
        for c in ranked:
            basin = tuple(p for p in c.family.pieces if p.kind == "bowl") if c.family else ()
            if basin and not c.problem and (basin, c.family.direction) not in refined and len(refined) < REFINED_BASINS:
                refined.append((basin, c.family.direction))
        seen = set(self.families)
        more = [f for basin, direction in refined for f in basin_families(self.geometry, [basin], direction, self.train.spec.param_limit, len(self.train.spec.targets))]
        more = [f for f in dict.fromkeys(more) if f not in seen]
        published = self.literature_laws()
        out += self.pool.map(GrammarSearch.candidate, self, more)
        sided = self.sided(rank(out, self.nearest), seen | set(more))
        out += self.pool.map(GrammarSearch.candidate, self, sided)
        out += self.pool.map(GrammarSearch.literature_candidate, self, published)
        return rank(out, self.nearest)

    def sided(self, ranked: list[Candidate], seen: set[Family]) -> list[Family]:
        """The third stage's families: the `two_sided` variants of the `SIDED_LAWS` best admissible laws of
        ``ranked`` (`rank`'s order) that have any not in ``seen``.

        Returns
        -------
        list of Family
            In ``ranked``'s order, no duplicates.
        """
        spec, out, laws = self.train.spec, [], 0
        for c in ranked:
            if laws == SIDED_LAWS:
                break
            variants = [] if c.family is None or c.problem else [f for f in two_sided(c.family, spec.param_limit, len(spec.targets)) if f not in seen]
            if variants:
                laws += 1
                out += [f for f in variants if f not in out]
        return out

    def vet(self, code: str) -> tuple[str, list[int]]:
        """`guards.vet` of ``code`` on this split's rows: (its problem, the features it ignores)."""
        return vet(code, self.train_rows, self.geometry)
