"""The search loop: proposals in waves, evaluation, commits in iteration order, checkpoints."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import math
import os
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Awaitable, Callable, Protocol, runtime_checkable

from ..data import Split
from ..folds import SEPARATOR, fold_r2s, fold_score
from ..metrics import heldout_metrics
from ..sandbox.errors import HarnessError
from ..submission import hidden_constants
from .database import Attempt, Database, Program, Settings
from .edits import child_from_diff, child_from_full_rewrite
from ..laws.program import INITIAL_PROGRAM
from .program import Rejected, check_candidate, normalized
from .prompts import system_prompt, user_prompt


HARNESS_FAILURE = "harness failure"
HARNESS_FAILURES_IN_A_ROW = 3  # then the search stops with the cause: the sandbox is broken, not the candidates

TextPropose = Callable[[str, str], Awaitable[tuple[str, dict]]]
"""``async (system_prompt, user_prompt) -> (reply text, usage dict)``: a model behind prompts."""


def _hidden_reason(hidden: list[float], params: int, limit: int) -> str:
    shown = ", ".join(f"{v:g}" for v in hidden[:8]) + (", ..." if len(hidden) > 8 else "")
    return (
        f"fits {params} parameters per group and predicts with {len(hidden)} constants the fitted vector does "
        f"not show ({shown}); with constants=strict they count against the limit of {limit}"
    )


@dataclass
class Pending:
    """A proposal received from the model and not yet evaluated."""

    iteration: int
    island: int
    parent: str
    reply: str
    stage: str = ""  # what the proposer says it was doing (a progress line shows it), e.g. "law grammar"


@dataclass
class Request:
    """Everything a proposer may use for one iteration: the prompts, and the same material structured."""

    iteration: int
    island: int
    seed: int  # for proposers that draw random numbers; fixed by the run's seed and the iteration
    parent: Program
    top: list[Program]
    diverse: list[Program]
    recent: list[Attempt]
    seen: frozenset[str]  # `normalized` hashes of every program evaluated so far
    system: str
    user: str
    deadline: float | None = None  # time.monotonic() by which a proposer that can stop early should reply


@runtime_checkable
class Proposer(Protocol):
    """Writes one child program per request: ``async propose(request) -> (reply text, usage dict)``.

    The usage dict holds token counts (summed over the run) and may name the proposer's
    ``stage`` (what it was doing), which the iteration's log event carries.
    """

    async def propose(self, request: Request) -> tuple[str, dict]: ...


class TextProposer:
    """The proposer of a model: it reads the prompts only (wraps an ``async (system, user)`` callable)."""

    def __init__(self, ask: TextPropose) -> None:
        self.ask = ask

    async def propose(self, request: Request) -> tuple[str, dict]:
        return await self.ask(request.system, request.user)


@dataclass
class SearchState:
    """Everything a checkpoint holds."""

    database: Database
    rng: random.Random
    next_iteration: int = 0
    pending: list[Pending] = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)
    trajectory: list[dict] = field(default_factory=list)
    usage: dict = field(default_factory=lambda: {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0})


class Search:
    """One evolutionary run on one task.

    Parameters
    ----------
    settings : Settings
    train : Split
        The training split (the only data the search sees).
    context : str
        The task in words (the task prompt).
    evaluate : callable
        ``async (code) -> RunResult``: the program's predictions of the ``validation`` rows.
    propose : Proposer or callable
        A `Proposer`, or an ``async (system, user) -> (text, usage)`` callable (a model),
        which is wrapped in a `TextProposer`.
    checkpoint : path, optional
        JSON file written after every wave; an existing one is resumed.
    log : callable, optional
        Receives one dict per iteration (for the transcript).
    validation : Split, optional
        The rows (and groups) fitness is computed on; ``evaluate`` must predict exactly
        these. Default: ``train`` (fitness is train R^2). The held-out split of
        `sldbench.folds.extrapolation_folds` (test-shaped folds of TRAIN rows, as
        pseudo-groups) makes fitness the mean of the folds' clipped R^2, kept per
        program in ``Program.folds``: it rewards laws that extrapolate.
    time_budget : float, optional
        Seconds after which no new wave is started (the proposals in flight are still
        evaluated): a safety net. A run cut short by it depends on the machine's
        speed, and the log says so (``time budget spent``).
    """

    def __init__(
        self, settings: Settings, train: Split, context: str, evaluate, propose: Proposer | TextPropose, checkpoint: str | None = None,
        log=None, validation: Split | None = None, time_budget: float | None = None,
    ) -> None:  # fmt: skip
        self.settings, self.train, self.context = settings, train, context
        self.evaluate = evaluate
        self.proposer = propose if isinstance(propose, Proposer) else TextProposer(propose)
        self.checkpoint = Path(checkpoint).expanduser() if checkpoint else None
        self.log = log or (lambda event: None)
        self.validation = validation or train
        self.targets = self.validation.stacked_targets()
        self.folded = all(SEPARATOR in g for g in self.validation.groups) and validation is not train
        if time_budget is not None and not time_budget > 0:
            raise ValueError(f"time_budget must be a positive number of seconds, got {time_budget}")
        self.time_budget = time_budget
        self._deadline: float | None = None
        self._harness_streak = 0

    @functools.cached_property
    def _data_digest(self) -> str:
        """SHA-256 of what the search reads besides its settings: the task's text, its train rows, its folds.

        A checkpoint of the same task name and settings but other data (a CSV edited between two
        runs) must not be resumed: its candidates were scored on rows that are no longer there.
        """
        digest = hashlib.sha256(self.context.encode("utf-8"))
        for split in (self.train, self.validation):
            digest.update(split.frame.to_csv(index=False).encode("utf-8"))
        return digest.hexdigest()

    # -- evaluation
    async def _fitness(self, code: str) -> tuple[float, float, int, list[float]]:
        result = await self.evaluate(code)
        if not result.ok:
            raise Rejected(f"{result.kind}: {result.error}")
        if result.batch_dependent:
            raise Rejected(
                f"scaling_law_func uses statistics of its input (min, max, mean, median, ...): predicting the points of "
                f"group {result.batch_dependent[0]!r} in two halves changed their predictions; a law must give each point "
                f"the same prediction whatever other points are passed with it"
            )
        metrics = heldout_metrics(self.targets, result.stacked(self.validation.groups))
        if not math.isfinite(metrics.r2_raw):
            raise Rejected("train R^2 is not finite")
        params = max(result.param_counts.values(), default=0)
        if not self.folded:
            return metrics.r2_raw, 1.0 / (1.0 + metrics.nmse), params, []
        groups = self.validation.groups
        folds = fold_r2s({g: self.validation.arrays(g)[1] for g in groups}, {g: result.predictions[g] for g in groups})
        return fold_score(folds), 1.0 / (1.0 + metrics.nmse), params, folds

    async def _evaluate_pending(self, state: SearchState, item: Pending) -> Attempt | Program:
        parent = state.database.programs[item.parent]
        attempt = Attempt(item.iteration, item.island, item.parent, "rejected")
        try:
            child = child_from_full_rewrite(item.reply, parent.code) if self.settings.mode == "full" else child_from_diff(item.reply, parent.code)
            check_candidate(child, parent.code)
            if normalized(child) in state.database.seen:
                raise Rejected("duplicates a program already evaluated")
            attempt.hidden_constants = hidden = hidden_constants(child)
            limit = self.train.spec.param_limit
            if self.settings.constants == "strict" and limit is not None and len(hidden) > limit:
                raise Rejected(_hidden_reason(hidden, 0, limit))
            fitness, combined, params, folds = await self._fitness(child)
            if limit is not None and params > limit:
                raise Rejected(f"fits {params} parameters per group; the limit is {limit}")
            if self.settings.constants == "strict" and limit is not None and params + len(hidden) > limit:
                raise Rejected(_hidden_reason(hidden, params, limit))
        except Rejected as err:
            attempt.reason = str(err)
            return attempt
        except HarnessError as err:  # the sandbox failed, not the candidate: it is not judged, and it is counted
            attempt.outcome, attempt.reason = HARNESS_FAILURE, str(err)
            return attempt
        return Program(f"p{item.iteration + 1:04d}", child, parent.id, item.iteration, item.island, fitness, combined, params, len(child), folds=folds)

    def _commit(self, state: SearchState, item: Pending, outcome: Attempt | Program) -> None:
        db = state.database
        if isinstance(outcome, Program):
            if normalized(outcome.code) in db.seen:  # a twin from the same wave got in first
                outcome = Attempt(item.iteration, item.island, item.parent, "rejected", "duplicates a program already evaluated")
            else:
                db.add(outcome)
                outcome = Attempt(
                    item.iteration, item.island, item.parent, "accepted", child=outcome.id, fitness=outcome.fitness,
                    hidden_constants=hidden_constants(outcome.code),
                )
        state.attempts.append(outcome)
        self._harness_streak = self._harness_streak + 1 if outcome.outcome == HARNESS_FAILURE else 0
        if self._harness_streak >= HARNESS_FAILURES_IN_A_ROW:
            raise HarnessError(
                f"{self._harness_streak} candidates in a row could not be evaluated (the sandbox failed, not the "
                f"candidates); the last: {outcome.reason}"
            )
        best = db.best()
        state.trajectory.append({"iteration": item.iteration + 1, "best": best.id, "best_fitness": best.fitness})
        self.log({**asdict(outcome), "iteration": item.iteration + 1, "best": best.id, "best_fitness": best.fitness, "stage": item.stage})
        if self.settings.evolve and self.settings.migration_interval and (item.iteration + 1) % self.settings.migration_interval == 0:
            db.migrate()

    # -- proposals
    def _prepare(self, state: SearchState, iteration: int) -> tuple[Pending, Request]:
        db, settings = state.database, self.settings
        island = iteration % settings.islands
        if settings.evolve:
            parent = db.choose_parent(island, state.rng)
            top, diverse = db.inspirations(island, parent, state.rng)
            recent = state.attempts[-5:]
        else:  # best-of-N: every proposal starts from the initial program, alone
            parent, top, diverse, recent = db.programs["p0000"], [], [], []
        prompt = user_prompt(self.context, self.train, iteration, settings.iterations, island, parent, top, diverse, recent)
        # A seed of its own per iteration (not drawn from state.rng): the model path's choices stay as they were.
        seed = random.Random(f"{settings.seed}:{iteration}").getrandbits(63)
        request = Request(
            iteration, island, seed, parent, top, diverse, recent, frozenset(db.seen), system_prompt(self.train, settings.mode), prompt, self._deadline
        )
        return Pending(iteration, island, parent.id, ""), request

    async def _ask(self, state: SearchState, waves: list[tuple[Pending, Request]]) -> list[Pending]:
        replies = await asyncio.gather(*(self.proposer.propose(request) for _, request in waves))
        for (pending, _), (text, usage) in zip(waves, replies):
            pending.reply, pending.stage = text, str(usage.get("stage", ""))
            for key in state.usage:
                state.usage[key] += int(usage.get(key, 0) or 0)
        return [pending for pending, _ in waves]

    # -- checkpoint
    def _save(self, state: SearchState) -> None:
        if self.checkpoint is None:
            return
        document = {
            "settings": asdict(self.settings),
            "task": self.train.spec.name,
            "data": self._data_digest,
            "database": state.database.to_json(),
            "rng": _rng_to_json(state.rng),
            "next_iteration": state.next_iteration,
            "pending": [asdict(p) for p in state.pending],
            "attempts": [asdict(a) for a in state.attempts],
            "trajectory": state.trajectory,
            "usage": state.usage,
        }
        self.checkpoint.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.checkpoint.with_suffix(self.checkpoint.suffix + ".tmp")
        temporary.write_text(json.dumps(document))
        os.replace(temporary, self.checkpoint)

    def _load(self) -> SearchState | None:
        if self.checkpoint is None or not self.checkpoint.is_file():
            return None
        document = json.loads(self.checkpoint.read_text())
        if document.get("task") != self.train.spec.name or document.get("settings") != asdict(self.settings) or document.get("data") != self._data_digest:
            raise ValueError(
                f"checkpoint {self.checkpoint} belongs to another run (task {document.get('task')!r}, other data or "
                f"different settings); use another checkpoint path or delete it to start afresh"
            )
        return SearchState(
            database=Database.from_json(self.settings, document["database"], self.train.spec.param_limit),
            rng=_rng_from_json(document["rng"]),
            next_iteration=document["next_iteration"],
            pending=[Pending(**p) for p in document["pending"]],
            attempts=[Attempt(**a) for a in document["attempts"]],
            trajectory=document["trajectory"],
            usage=document["usage"],
        )

    # -- loop
    async def run(self, initial_program: str = INITIAL_PROGRAM) -> SearchState:
        """Run (or resume) the search; return its final state. The best program is ``state.database.best()``."""
        state = self._load()
        if state is None:
            limit = self.train.spec.param_limit
            state = SearchState(Database(self.settings, limit), random.Random(self.settings.seed))
            try:
                fitness, combined, params, folds = await self._fitness(initial_program)
            except Rejected:
                fitness, combined, params, folds = -math.inf, 0.0, 0, []
            state.database.add(Program("p0000", initial_program, None, -1, 0, fitness, combined, params, len(initial_program), folds=folds))
            seed = {"iteration": 0, "island": 0, "parent": None, "outcome": "seed", "child": "p0000", "fitness": fitness}
            if limit is not None and params > limit:
                # short enough to stay inline in the log (longer strings become attachments)
                seed["note"] = f"{params} parameters per group, over the limit of {limit}: submitted only if no child is within it"
            self.log(seed)
            state.trajectory.append({"iteration": 0, "best": "p0000", "best_fitness": fitness})
            self._save(state)
        total = self.settings.iterations
        started = time.monotonic()
        self._deadline = started + self.time_budget if self.time_budget is not None else None
        while state.next_iteration < total or state.pending:
            # Wave w's prompts see waves <= w-2; wave w-1 (pending) is evaluated while the model answers.
            start = state.next_iteration
            if self.time_budget is not None and time.monotonic() - started > self.time_budget and start < total:
                self.log({"event": "time budget spent", "seconds": self.time_budget, "iterations": start})
                total = start
            wave = [self._prepare(state, i) for i in range(start, min(total, start + self.settings.parallel))]
            asking = asyncio.ensure_future(self._ask(state, wave)) if wave else None
            outcomes = await asyncio.gather(*(self._evaluate_pending(state, item) for item in state.pending))
            for item, outcome in zip(state.pending, outcomes):
                self._commit(state, item, outcome)
            state.pending = await asking if asking else []
            state.next_iteration = start + len(wave)
            self._save(state)
        return state


def _rng_to_json(rng: random.Random) -> list:
    version, internal, gauss = rng.getstate()
    return [version, list(internal), gauss]


def _rng_from_json(document: list) -> random.Random:
    rng = random.Random()
    rng.setstate((document[0], tuple(document[1]), document[2]))
    return rng
