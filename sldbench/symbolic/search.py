"""In-process search over law forms on the train split, scored by extrapolation.

`LawSearch` fits candidate forms in this process (fast: no sandbox round trip)
and scores each by `validation_r2` on the extrapolation folds of the train
split; the test split is never loaded. `LawSearch.climb` is the work of one proposal: a
few rounds of hill climbing from a parent form over law-shaped moves (add a
term from the library, drop or replace a term, merge power laws into a
product, drop a factor, shift a feature, switch between a linear and a
log-linear head, take a term from another program). Every random choice comes
from the generator passed in, so a proposal is a pure function of its inputs.
"""

from __future__ import annotations

import itertools
import math
import random
import threading
import time
from dataclasses import dataclass

import numpy as np

from ..data import Split
from ..laws.program import feature_transforms
from ..laws.terms import Form, Term, program
from ..folds import extrapolation_folds
from .validation import group_arrays, namespace, validation_r2
from .workers import IN_PROCESS, FitPool, InProcess

MAX_TERMS = 10  # for tasks without a parameter limit: keeps fits well posed


@dataclass(frozen=True)
class Scored:
    """A form, its program and its extrapolation score (R^2 on the held-out train rows)."""

    form: Form
    code: str
    score: float


class LawSearch:
    """Fit and score law forms on one train split.

    Parameters
    ----------
    train : Split
        The only data the search reads.
    note : str
        A line written into every program's docstring (how it was found).
    pool : FitPool or InProcess
        Where a round's forms are scored: worker processes holding the same search score them side
        by side (the same scores: a score is a pure function of the form and the split).
    """

    def __init__(self, train: Split, note: str = "", pool: FitPool | InProcess = IN_PROCESS) -> None:
        spec = train.spec
        self.train, self.note = train, note
        self.names, self.targets = list(spec.features), list(spec.targets)
        self.limit = spec.param_limit
        frame = train.frame
        self.transforms = feature_transforms(frame[self.names].to_numpy(dtype=float))
        self.positive = bool(np.all(frame[self.targets].to_numpy(dtype=float) > 0))
        fit, holdout = extrapolation_folds(train)
        self.fit_rows, self.holdout_rows = group_arrays(fit), group_arrays(holdout)
        self.train_rows = group_arrays(train)
        self.pool = pool
        self._cache: dict[Form, Scored] = {}
        self._lock = threading.Lock()

    # -- forms
    def allowed(self, form: Form) -> bool:
        if not form.terms:
            return False
        if self.limit is None:
            return len(form.terms) <= MAX_TERMS
        return form.param_count <= self.limit

    def make(self, terms, head: str = "identity") -> Form:
        return Form(self.transforms, tuple(terms), head, len(self.targets)).normal()

    def initial_form(self) -> Form:
        """The initial program's family: one power law per feature (as many as the limit allows) and a bias."""
        terms = [Term("power", (f,)) for f in range(len(self.names))]
        while len(terms) > 1 and not self.allowed(self.make(terms)):
            terms.pop()
        return self.make(terms)

    def library(self) -> list[Term]:
        """Every term a move may add: single and pairwise power laws, the product of all features, log monomials."""
        features = range(len(self.names))
        logs = [f for f in features if self.transforms[f] == "log"]
        terms = [Term("power", (f,)) for f in features]
        terms += [Term("power", (f,), (f,)) for f in logs]
        terms += [Term("power", pair) for pair in itertools.combinations(features, 2)]
        if len(self.names) > 2:
            terms.append(Term("power", tuple(features)))
        terms += [Term("mono", (f,)) for f in features]
        terms += [Term("mono", pair) for pair in itertools.combinations_with_replacement(features, 2)]
        return terms

    def moves(self, form: Form, others: list[Form]) -> dict[str, list[Form]]:
        """Neighbouring forms by kind of move (only those within the parameter limit)."""
        terms = list(form.terms)
        library = [t for t in self.library() if t not in terms]
        out: dict[str, list[Form]] = {
            "add": [self.make(terms + [t], form.head) for t in library],
            "drop": [self.make(terms[:i] + terms[i + 1 :], form.head) for i in range(len(terms))],
            "replace": [self.make(terms[:i] + [t] + terms[i + 1 :], form.head) for i in range(len(terms)) for t in library],
            "merge": [],
            "factor": [],
            "shift": [],
            "head": [self.make(terms, "exp" if form.head == "identity" else "identity")] if self.positive else [],
            "crossover": [],
        }
        powers = [i for i, t in enumerate(terms) if t.kind == "power"]
        for i, j in itertools.combinations(powers, 2):
            merged = Term("power", tuple(sorted(set(terms[i].features) | set(terms[j].features))), tuple(sorted(set(terms[i].shifted) | set(terms[j].shifted))))
            rest = [t for k, t in enumerate(terms) if k not in (i, j)]
            out["merge"].append(self.make(rest + [merged], form.head))
        for i in powers:
            term = terms[i]
            for f in term.features:
                if len(term.features) > 1:
                    smaller = Term("power", tuple(g for g in term.features if g != f), tuple(g for g in term.shifted if g != f))
                    out["factor"].append(self.make(terms[:i] + [smaller] + terms[i + 1 :], form.head))
                if self.transforms[f] == "log":
                    shifted = tuple(sorted(set(term.shifted) ^ {f}))
                    out["shift"].append(self.make(terms[:i] + [Term("power", term.features, shifted)] + terms[i + 1 :], form.head))
        for other in others:
            for t in other.terms:
                if t not in terms:
                    out["crossover"].append(self.make(terms + [t], form.head))
                    out["crossover"] += [self.make(terms[:i] + [t] + terms[i + 1 :], form.head) for i in range(len(terms))]
        return {kind: [f for f in forms if f != form and self.allowed(f)] for kind, forms in out.items()}

    # -- scoring
    def score(self, form: Form) -> Scored:
        """Fit ``form`` on the full train split (for the program's starting point), then score it on the folds."""
        with self._lock:
            cached = self._cache.get(form)
        if cached is not None:
            return cached
        start = namespace(program(form, self.names, self.targets))
        theta = self._theta_start(form, start)
        code = program(form, self.names, self.targets, theta, self.note)
        scored = Scored(form, code, validation_r2(namespace(code), self.fit_rows, self.holdout_rows))
        with self._lock:
            self._cache.setdefault(form, scored)
        return scored

    def score_all(self, forms: list[Form]) -> list[Scored]:
        """`score` of every form, in order, those not scored yet side by side in the pool."""
        with self._lock:
            missing = [f for f in dict.fromkeys(forms) if f not in self._cache]
        for scored in self.pool.map(LawSearch.score, self, missing):
            with self._lock:
                self._cache.setdefault(scored.form, scored)
        return [self.score(form) for form in forms]

    def _theta_start(self, form: Form, namespace: dict) -> list[list[float]] | None:
        """Per target, the median over groups of theta fitted on each group's train rows."""
        if not form.theta_count:
            return None
        fitted = []
        with np.errstate(all="ignore"):
            for x, y in self.train_rows.values():
                try:
                    params = np.atleast_2d(namespace["fit_scaling_law"](x, y[:, 0] if y.shape[1] == 1 else y))
                except Exception:  # noqa: BLE001 - a form that cannot be fitted keeps the generic starts
                    return None
                fitted.append(params[:, : form.theta_count])
        return np.median(np.stack(fitted), axis=0).tolist()

    # -- proposals
    def climb(
        self, parent: Form, rng: random.Random, others: list[Form] = (), width: int = 12, depth: int = 2, deadline: float | None = None
    ) -> list[Scored]:
        """Hill-climb from ``parent``: ``depth`` rounds, each scoring ``width`` random neighbours and moving to the best.

        Returns every form met except ``parent``, best first (ties: fewer parameters);
        the parent alone when it has no neighbour. A round begun after ``deadline`` (a
        ``time.monotonic()`` value) scores only its first form, and no round follows it.
        """
        current = parent
        met: dict[Form, Scored] = {}
        for _ in range(depth):
            moves = self.moves(current, list(others))
            kinds = [kind for kind in sorted(moves) if moves[kind]]
            pools = {kind: rng.sample(moves[kind], len(moves[kind])) for kind in kinds}
            sample: list[Form] = []
            while len(sample) < width and any(pools.values()):
                candidate = pools[rng.choice([k for k in kinds if pools[k]])].pop()
                if candidate not in sample:
                    sample.append(candidate)
            if not sample:
                break
            late = deadline is not None and time.monotonic() > deadline
            scored = self.score_all(sample[:1] if late else sample)
            met.update((s.form, s) for s in scored)
            current = max(scored, key=_rank).form
            if late:
                break
        met.pop(parent, None)
        return sorted(met.values(), key=_rank, reverse=True) or [self.score(parent)]


def _rank(scored: Scored) -> tuple[float, int]:
    """Higher score first; among ties (within 1e-9), fewer parameters."""
    value = scored.score if math.isfinite(scored.score) else -1e300
    return (round(value, 9), -scored.form.param_count)
