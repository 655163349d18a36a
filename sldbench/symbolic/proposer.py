"""The symbolic proposer: SLDAgent's evolution loop with children written by law search instead of a model."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter, itemgetter
from typing import Any

from ..data import Split
from ..evolution import Request, normalized
from ..laws import read_law
from ..laws.expression import Expression, ExpressionLaw
from ..laws.terms import Form, read_form
from . import operon
from .grammar import GrammarSearch
from .search import LawSearch, Scored
from .workers import fit_pool


@dataclass(frozen=True)
class OperonSettings:
    """How the proposer runs Operon, once per search (the defaults of `sldbench/symreg`).

    Attributes
    ----------
    proposals : int
        The first iterations answered with an Operon program (0: never run Operon).
    generations, population, max_length : int
        Operon's search, as in `operon.pareto_front`.
    """

    proposals: int = 4
    generations: int = 100
    population: int = 500
    max_length: int = 25


class SymbolicProposer:
    """Propose a child program from the law grammar, by symbolic regression, or by hill climbing over law forms.

    The first ``grammar_proposals`` iterations are answered with the law grammar's
    families (`sldbench.symbolic.grammar`), in the order its one-standard-error
    ranking gives (all of them fitted once per search, on the train split). The next
    ``operon.proposals`` iterations are answered with Operon programs: Operon runs
    once per search on the pooled train rows, every target's Pareto front is ranked
    on the extrapolation folds of the train split (`operon.rank_fronts`), and
    iteration ``k`` gets, per target, the k-th best expression (its constants refitted
    per group). Every other iteration
    hill-climbs over law forms from the parent's form, read back from its ``FORM``
    literal; a parent without one (the initial program, an Operon program, or one
    a model wrote) starts from the initial program's family, a power law per
    feature. Forms of the request's top and diverse programs feed crossover
    moves. Candidates are fitted and scored on the train split alone, side by side in
    worker processes (`workers.fit_pool`: one per core the process may use; the same
    results as in one process, since each fit is a pure function of its law and the
    split); an Operon or hill-climbing program is proposed only if it passes the
    grammar's guard rails (`guard_problem`: finite, in a sane band and on the
    data's trend beyond the data). The reply is the chosen program in a ```python
    block, as a model would write it, and the loop evaluates it like any other
    child. ``vetted`` maps every program proposed (as `normalized` code) to whether
    its fitted law responds to every feature, so the solver can submit only programs
    that passed those checks, and prefer laws of all the task's features;
    ``fallback`` holds the Operon programs, which the solver submits only when no
    structured law comes within one standard error of them.

    The work is bounded by counts (proposals, candidates per round), never by the
    clock, so a seed gives the same programs on a fast or a loaded machine; a
    request's ``deadline`` (the solver's safety cap) only cuts a climb short. Call
    `close` when the search is over: it stops the worker processes.

    Parameters
    ----------
    train : Split
        The train split the solver was given.
    width, depth : int
        Candidates scored per round of hill climbing, and rounds per proposal.
    grammar_proposals : int
        Iterations answered from the law grammar's ranking (fewer when it has fewer admissible laws).
    seed : int
        Operon's seed (one thread: the same front for the same seed).
    operon_settings : OperonSettings, optional
        Operon's share of the proposals and its search (default: `OperonSettings()`).
    """

    def __init__(
        self,
        train: Split,
        width: int = 3,
        depth: int = 1,
        seed: int = 42,
        operon_settings: OperonSettings | None = None,
        grammar_proposals: int = 16,
    ) -> None:
        if width < 1 or depth < 1 or grammar_proposals < 0:
            raise ValueError(f"width and depth must be at least 1 and grammar_proposals at least 0, got {width}, {depth}, {grammar_proposals}")
        self.operon = operon_settings or OperonSettings()
        if self.operon.proposals < 0:
            raise ValueError(f"OperonSettings.proposals must be at least 0, got {self.operon.proposals}")
        self.train, self.seed = train, seed
        search_note = "Found by SLDAgent's symbolic proposer on the train split."
        grammar_note = "Found by SLDAgent's symbolic proposer (law grammar) on the train split."
        self.pool = fit_pool(train, search_note, grammar_note)
        self.search = LawSearch(train, search_note, self.pool)
        self.width, self.depth = width, depth
        self.grammar = GrammarSearch(train, grammar_note, self.pool)
        self.grammar_proposals = grammar_proposals
        self._grammar_programs: list[tuple[float, str, bool]] | None = None
        self._operon_programs: list[tuple[str, list[operon.Ranked]]] | None = None  # (code, its expressions)
        self._ranking_lock = asyncio.Lock()
        self.vetted: dict[str, bool] = {}
        self.fallback: set[str] = set()  # the Operon programs proposed (normalized code)
        self._proposed: set[str] = set()  # every program this proposer replied with, vetted or not (normalized code)

    @property
    def _grammar_count(self) -> int:
        return min(self.grammar_proposals, len(self._grammar_programs or []))

    def _rank_grammar(self) -> list[tuple[float, str, bool]]:
        if not self.grammar_proposals:
            return []
        return [(c.score, c.code, not c.ignored) for c in self.grammar.run() if not c.problem][: self.grammar_proposals]

    def _grammar_reply(self, request: Request) -> tuple[str, dict] | None:
        """The ``request.iteration``-th law of the grammar's ranking, else the next one not evaluated yet."""
        for score, code, uses_all in _from(self._grammar_programs or [], request.iteration):
            if normalized(code) not in request.seen:
                self.vetted[normalized(code)] = uses_all
                self._proposed.add(normalized(code))
                return f"Law grammar on the train split (mean clipped R^2 of the validation folds {score:.6g}).\n```python\n{code}```\n", {"stage": "law grammar"}
        return None

    def _vet(self, code: str) -> tuple[bool, bool]:
        """(passes the guard rails, responds to every feature) of one of this package's programs (fitted in the pool)."""
        [(problem, ignored)] = self.pool.map(GrammarSearch.vet, self.grammar, [code])
        return not problem, not ignored

    def close(self) -> None:
        """Stop the worker processes (call when the search is over; a resumed search starts them again)."""
        self.pool.close()

    async def propose(self, request: Request) -> tuple[str, dict]:
        async with self._ranking_lock:  # the wave's requests share one grammar ranking
            if self._grammar_programs is None:
                self._grammar_programs = await asyncio.to_thread(self._rank_grammar)
        if request.iteration < self._grammar_count and (reply := self._grammar_reply(request)) is not None:
            return reply
        if request.iteration < self._grammar_count + self.operon.proposals:
            async with self._ranking_lock:  # the wave's requests share one Operon run
                if self._operon_programs is None:
                    # Operon and the fits run in threads; Operon's strings are parsed here, in the event
                    # loop's thread (CPython 3.11's ast.parse is not thread-safe).
                    infixes = await asyncio.to_thread(self._operon_fronts, request.deadline)
                    fronts = operon.translate_fronts(self.train, infixes)
                    self._operon_programs = await asyncio.to_thread(self._rank_operon, fronts)
            # The guard rails fit: in a thread, the candidates' keys parsed here (see above).
            chosen = self._take_operon(await asyncio.to_thread(self._first_passing, self._operon_candidates(request), itemgetter(1)))
            if chosen is not None:
                return await asyncio.to_thread(self._operon_reply, *chosen)
        parent, others = self._forms(request)
        # Fitting is CPU work: a thread keeps the event loop free for the sandboxed evaluations in flight.
        # The thread compiles and runs programs but never parses them into ASTs (see above).
        ranked = await asyncio.to_thread(self.search.climb, parent, random.Random(request.seed), others, self.width, self.depth, request.deadline)
        fresh = self._fresh(request, ranked)  # parses programs: here, in the event loop's thread
        return self._reply(request, ranked, fresh, await asyncio.to_thread(self._first_passing, fresh, attrgetter("code")))

    def propose_now(self, request: Request) -> tuple[str, dict]:
        """The reply for ``request``, computed in the calling thread (a pure function of the request)."""
        if self._grammar_programs is None:
            self._grammar_programs = self._rank_grammar()
        if request.iteration < self._grammar_count and (reply := self._grammar_reply(request)) is not None:
            return reply
        if request.iteration < self._grammar_count + self.operon.proposals:
            if self._operon_programs is None:
                self._operon_programs = self._rank_operon(operon.translate_fronts(self.train, self._operon_fronts(request.deadline)))
            chosen = self._take_operon(self._first_passing(self._operon_candidates(request), itemgetter(1)))
            if chosen is not None:
                return self._operon_reply(*chosen)
        parent, others = self._forms(request)
        ranked = self.search.climb(parent, random.Random(request.seed), others, self.width, self.depth, request.deadline)
        fresh = self._fresh(request, ranked)
        return self._reply(request, ranked, fresh, self._first_passing(fresh, attrgetter("code")))

    async def recall(self, programs) -> None:
        """Judge as its own the programs of a resumed search that this proposer did not write (a checkpoint's).

        ``vetted`` and ``fallback`` are filled as proposals are made; a search resumed from a
        checkpoint holds programs proposed in an earlier process, which the solver's rule would
        otherwise leave out. Each is judged now as it was then: a law of the grammar's ranking as
        that ranking judged it, any other by the guard rails (both pure functions of the program
        and the train rows). The seed program (no parent) never was.

        Parameters
        ----------
        programs : iterable of sldbench.evolution.database.Program
        """
        unknown = {normalized(c.code): c.code for c in programs if c.parent is not None}
        unknown = {key: code for key, code in unknown.items() if key not in self._proposed}
        if not unknown:
            return
        async with self._ranking_lock:
            if self._grammar_programs is None:
                self._grammar_programs = await asyncio.to_thread(self._rank_grammar)
        grammar = {normalized(code): uses_all for _, code, uses_all in self._grammar_programs}
        for key, code in unknown.items():
            self._proposed.add(key)
            if key in grammar:
                self.vetted[key] = grammar[key]
                continue
            passes, uses_all = await asyncio.to_thread(self._vet, code)  # fits; the parsing stays in this thread
            if passes:
                self.vetted[key] = uses_all
                if isinstance(read_law(code), ExpressionLaw):
                    self.fallback.add(key)

    # -- Operon
    def _operon_fronts(self, deadline: float | None) -> list[list[str]]:
        settings = self.operon
        # Within a time budget Operon may use half of what is left (a cap that rarely bites: it takes seconds).
        # At least a second per target: Operon reads a cap below one second as none.
        targets = len(self.train.spec.targets)
        budget = max(float(targets), (deadline - time.monotonic()) / 2) if deadline is not None else None
        return operon.search_fronts(self.train, self.seed, settings.generations, settings.population, settings.max_length, budget)

    def _rank_operon(self, fronts: list[list[Expression]]) -> list[tuple[str, list[operon.Ranked]]]:
        """The programs in proposal order: the k-th has, per target, that target's k-th best expression (or its last)."""
        note = f"Found by SLDAgent's symbolic proposer: Operon (seed {self.seed}) on the train split."
        try:
            ranked, _ = operon.rank_fronts(self.search, fronts, note)
        except operon.EngineError:  # nothing within the parameter limit: law search answers instead
            return []
        choices = [[expressions[min(k, len(expressions) - 1)] for expressions in ranked] for k in range(max(map(len, ranked)))]
        return [(operon.front_program(self.train, choice, note), choice) for choice in choices]

    def _operon_candidates(self, request: Request) -> list[tuple[str, str, list[operon.Ranked]]]:
        """(key, code, expressions) of the Operon programs not evaluated yet, the k-th first (k counted after the
        grammar's), then the ones after and before it (parses the programs: call from the event loop's thread)."""
        candidates = ((normalized(code), code, choice) for code, choice in _from(self._operon_programs or [], request.iteration - self._grammar_count))
        return [candidate for candidate in candidates if candidate[0] not in request.seen]

    def _take_operon(self, passing: tuple[tuple[str, str, list[operon.Ranked]], bool] | None) -> tuple[str, list[operon.Ranked]] | None:
        """Record the Operon candidate `_first_passing` found as proposed; (code, expressions), None when every one was evaluated."""
        if passing is None:
            return None
        (key, code, choice), uses_all = passing
        self.vetted[key] = uses_all
        self.fallback.add(key)
        self._proposed.add(key)
        return code, choice

    def _operon_reply(self, code: str, choice: list[operon.Ranked]) -> tuple[str, dict]:
        """The reply proposing an Operon program, with its R^2 on the search's held-out train rows (`operon.front_score`:
        read from the ranking for one target, fitted for several, here, for the programs proposed alone)."""
        score = operon.front_score(choice, code, self.search.fit_rows, self.search.holdout_rows)
        return f"Symbolic regression (Operon) on the train split (extrapolation R^2 on held-out train rows {score:.6g}).\n```python\n{code}```\n", {"stage": "symbolic regression"}

    # -- law search
    def _forms(self, request: Request) -> tuple[Form, list[Form]]:
        parent = read_form(request.parent.code)
        if parent is None or parent.transforms != self.search.transforms or parent.n_targets != len(self.search.targets):
            parent = self.search.initial_form()  # not a symbolic program, or one written for other data
        others = [form for program in request.top + request.diverse if (form := read_form(program.code)) and form.transforms == parent.transforms]
        return parent, others

    @staticmethod
    def _fresh(request: Request, ranked: list[Scored]) -> list[Scored]:
        """The candidates whose programs were not evaluated yet, in rank order."""
        return [s for s in ranked if normalized(s.code) not in request.seen]

    def _first_passing(self, candidates: list, code: Callable[[Any], str]) -> tuple[Any, bool] | None:
        """The first candidate whose program, ``code(candidate)``, passes the guard rails, and whether it uses every
        feature (fits: call from a worker thread)."""
        for candidate in candidates:
            passes, uses_all = self._vet(code(candidate))
            if passes:
                return candidate, uses_all
        return None

    def _reply(self, request: Request, ranked: list[Scored], fresh: list[Scored], guarded: tuple[Scored, bool] | None) -> tuple[str, dict]:
        """The best fresh candidate that passes the guard rails (else the best fresh one, else the best), as a model would reply."""
        best = guarded[0] if guarded else (fresh or ranked)[0]
        if guarded is not None:
            self.vetted[normalized(best.code)] = guarded[1]
        self._proposed.add(normalized(best.code))
        return f"Law search from {request.parent.id} (extrapolation R^2 on held-out train rows {best.score:.6g}).\n```python\n{best.code}```\n", {"stage": "hill climbing"}


def _from(programs: list, k: int) -> list:
    """``programs`` from the k-th on, then the ones before it (the order in which a proposal looks for one not yet evaluated)."""
    return programs[k:] + programs[:k]
