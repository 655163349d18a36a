"""Program evolution for SLDAgent: candidates, checks, the island database and the search loop.

A candidate is a Python program with ``scaling_law_func(data_points, params)``
and ``fit_scaling_law(data_points, loss_values)`` between EVOLVE-BLOCK markers.
Each iteration picks a parent, asks a proposer (an Inspect model through its
prompts, or a program search such as the symbolic proposer) for a child, checks it before paying for an evaluation (parse,
signatures, code outside the block, duplicates), evaluates it in the sandbox
on the TRAIN split only (fitness: train R^2, or R^2 on held-out train rows),
and enforces the parameter limit
on the fitted vectors.

Determinism: prompts of wave *w* are built from the database with waves up to
*w-2* committed, while wave *w-1* is still being evaluated (model latency and
evaluation overlap), and results are committed in iteration order; all random
choices come from one seeded generator. A checkpoint holds exactly that state,
so a resumed run continues as the uninterrupted one would.
"""

from __future__ import annotations

import ast
import asyncio
import hashlib
import json
import math
import os
import random
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Awaitable, Callable, Protocol, runtime_checkable

import numpy as np

from .data import Split
from .folds import SEPARATOR, fold_r2s, fold_score
from .sandbox.host import WarmRunner, fit_and_predict
from .metrics import heldout_metrics

EVOLVE_START = "# EVOLVE-BLOCK-START"
EVOLVE_END = "# EVOLVE-BLOCK-END"
REQUIRED_FUNCTIONS = {"scaling_law_func": 2, "fit_scaling_law": 2}

INITIAL_PROGRAM = f'''{EVOLVE_START}
"""Scaling law: per target, a sum of power laws of the features plus a bias (2F+1 parameters)."""
import numpy as np
from scipy.optimize import minimize


def scaling_law_func(data_points, params):
    X = np.atleast_2d(np.asarray(data_points, dtype=float))
    n_features = X.shape[1]
    P = np.atleast_2d(np.asarray(params, dtype=float))
    coeffs, exponents, bias = P[:, :n_features], P[:, n_features:2 * n_features], P[:, -1]
    pred = (coeffs[None, :, :] * X[:, None, :] ** exponents[None, :, :]).sum(axis=2) + bias[None, :]
    return pred[:, 0] if pred.shape[1] == 1 else pred


def fit_scaling_law(data_points, loss_values):
    X = np.atleast_2d(np.asarray(data_points, dtype=float))
    y = np.asarray(loss_values, dtype=float)
    Y = y[:, None] if y.ndim == 1 else y
    n_targets, n_params = Y.shape[1], 2 * X.shape[1] + 1
    init = np.ones(n_targets * n_params)

    def objective(flat):
        pred = scaling_law_func(X, flat.reshape(n_targets, n_params)).reshape(len(X), n_targets)
        return np.mean((pred - Y) ** 2)

    result = minimize(objective, init, method="BFGS")
    params = (result.x if result.success else init).reshape(n_targets, n_params)
    return params[0] if n_targets == 1 else params
{EVOLVE_END}
'''


# ------------------------------------------------------------------ candidates


class Rejected(Exception):
    """A proposal that is not evaluated (or whose evaluation failed), with the reason."""


def evolve_block(code: str) -> tuple[str, str, str]:
    """Split a program into (before, block, after) around the EVOLVE markers; no markers: all block."""
    start, end = code.find(EVOLVE_START), code.rfind(EVOLVE_END)
    if start < 0 or end < start:
        return "", code, ""
    return code[:start], code[start + len(EVOLVE_START) : end], code[end + len(EVOLVE_END) :]


def _squash(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines() if line.strip())


def normalized(code: str) -> str:
    """A program's identity for duplicate detection: its AST (comments and layout ignored)."""
    return hashlib.sha256(ast.dump(ast.parse(code)).encode()).hexdigest()


def check_candidate(child: str, parent: str) -> None:
    """Reject, before evaluation, a child that does not parse, lacks a signature or edits outside the block.

    Raises
    ------
    Rejected
    """
    try:
        tree = ast.parse(child)
    except SyntaxError as err:
        raise Rejected(f"does not parse: {err.msg} (line {err.lineno})") from err
    functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    for name, arity in REQUIRED_FUNCTIONS.items():
        node = functions.get(name)
        if node is None:
            raise Rejected(f"missing top-level function {name}(data_points, ...)")
        if len(node.args.args) != arity:
            raise Rejected(f"{name} must take {arity} positional arguments, takes {len(node.args.args)}")
    before_p, _, after_p = evolve_block(parent)
    before_c, _, after_c = evolve_block(child)
    if _squash(before_p) != _squash(before_c) or _squash(after_p) != _squash(after_c):
        raise Rejected("changes code outside the EVOLVE-BLOCK markers")


FENCE = re.compile(r"```(?:python|py)?[ \t]*\n(.*?)```", re.DOTALL)
DIFF = re.compile(r"<{5,}\s*SEARCH[ \t]*\n(.*?)\n={5,}[ \t]*\n(.*?)\n?>{5,}\s*REPLACE", re.DOTALL)


def child_from_full_rewrite(reply: str, parent: str) -> str:
    """The program in the reply's last fenced Python block; a bare block replaces the parent's EVOLVE block."""
    blocks = FENCE.findall(reply)
    if not blocks:
        raise Rejected("the reply has no ```python block with the program")
    code = blocks[-1]
    if EVOLVE_START in code:
        return code
    before, _, after = evolve_block(parent)
    if not before and not after and EVOLVE_START not in parent:
        return code
    return f"{before}{EVOLVE_START}\n{code.strip()}\n{EVOLVE_END}{after}"


def _find_lines(haystack: list[str], needle: list[str]) -> int:
    """Index of ``needle`` in ``haystack`` comparing stripped lines (blank lines ignored at the ends)."""
    target = [line.strip() for line in needle]
    for index in range(len(haystack) - len(target) + 1):
        if all(haystack[index + k].strip() == target[k] for k in range(len(target))):
            return index
    return -1


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _reindent(line: str, shift: int) -> str:
    if shift >= 0:
        return " " * shift + line if line.strip() else line
    return line[min(-shift, _indent(line)) :]


def child_from_diff(reply: str, parent: str) -> str:
    """Apply the reply's SEARCH/REPLACE blocks to the parent, tolerating whitespace differences.

    Raises
    ------
    Rejected
        When the reply has no block, or a block's SEARCH text is not in the parent
        (the message quotes the block so the model can be told).
    """
    blocks = DIFF.findall(reply)
    if not blocks:
        raise Rejected("the reply has no SEARCH/REPLACE block")
    code = parent
    for number, (search, replace) in enumerate(blocks, start=1):
        if search and search in code:
            code = code.replace(search, replace, 1)
            continue
        lines = code.splitlines()
        needle = search.splitlines()
        while needle and not needle[0].strip():
            needle.pop(0)
        while needle and not needle[-1].strip():
            needle.pop()
        at = _find_lines(lines, needle) if needle else -1
        if at < 0:
            first = needle[0].strip() if needle else ""
            raise Rejected(f"diff block {number} does not apply: its SEARCH text (starting {first!r}) is not in the parent program")
        # re-indent the replacement by the difference between the matched and the quoted indentation
        shift = _indent(lines[at]) - _indent(needle[0])
        replaced = [_reindent(line, shift) for line in replace.splitlines()]
        code = "\n".join(lines[:at] + replaced + lines[at + len(needle) :]) + ("\n" if code.endswith("\n") else "")
    return code


# -------------------------------------------------------------------- database


@dataclass
class Program:
    """An evaluated program. ``fitness`` is R^2 on the train split (higher is better)."""

    id: str
    code: str
    parent: str | None
    iteration: int
    island: int
    fitness: float
    combined: float
    param_count: int
    complexity: int
    diversity: float = 0.0
    folds: list[float] = field(default_factory=list)  # clipped R^2 per validation fold, when fitness is their mean


@dataclass
class Settings:
    """The search's knobs (the paper's configuration by default)."""

    iterations: int = 50
    islands: int = 5
    population: int = 100
    archive: int = 50
    migration_interval: int = 25
    migration_rate: float = 0.1
    exploitation: float = 0.7
    exploration: float = 0.2
    feature_bins: int = 10
    top_programs: int = 3
    diverse_programs: int = 2
    mode: str = "full"
    parallel: int = 4
    eval_timeout: float = 600.0
    seed: int = 42
    evolve: bool = True

    def __post_init__(self) -> None:
        if self.mode not in ("full", "diff"):
            raise ValueError(f"mode must be 'full' or 'diff', got {self.mode!r}")
        if self.iterations < 0 or self.islands < 1 or self.parallel < 1 or self.population < self.islands:
            raise ValueError("need iterations >= 0, islands >= 1, parallel >= 1 and population >= islands")
        if not 0 <= self.exploitation + self.exploration <= 1:
            raise ValueError("exploitation + exploration must lie in [0, 1] (the rest is random choice)")


def _tokens(code: str) -> set[str]:
    return set(re.findall(r"[A-Za-z_]\w*|\d+\.?\d*|\S", code))


class Database:
    """Islands of programs with a MAP-Elites grid each (score, complexity, diversity) and an elite archive."""

    def __init__(self, settings: Settings, param_limit: int | None = None) -> None:
        self.settings = settings
        self.param_limit = param_limit
        self.programs: dict[str, Program] = {}
        self.islands: list[list[str]] = [[] for _ in range(settings.islands)]
        self.grids: list[dict[str, str]] = [{} for _ in range(settings.islands)]
        self.archive: list[str] = []
        self.seen: set[str] = set()

    # -- state
    def to_json(self) -> dict:
        return {
            "programs": {pid: asdict(p) for pid, p in self.programs.items()},
            "islands": self.islands,
            "grids": self.grids,
            "archive": self.archive,
            "seen": sorted(self.seen),
        }

    @classmethod
    def from_json(cls, settings: Settings, state: dict, param_limit: int | None = None) -> "Database":
        db = cls(settings, param_limit)
        db.programs = {pid: Program(**p) for pid, p in state["programs"].items()}
        db.islands, db.grids, db.archive, db.seen = state["islands"], state["grids"], state["archive"], set(state["seen"])
        return db

    # -- features
    def _cell(self, program: Program, island: int) -> str:
        bins = self.settings.feature_bins
        score = min(bins - 1, max(0, int(max(program.fitness, 0.0) * bins)))
        complexity = min(bins - 1, max(0, int(2 * math.log2(max(program.complexity, 1) / 400.0) + bins / 2)))
        diversity = min(bins - 1, int(program.diversity * bins))
        return f"{score},{complexity},{diversity}"

    def _diversity(self, code: str, island: int) -> float:
        others = [self.programs[pid].code for pid in sorted(self.islands[island])[-10:]]
        if not others:
            return 0.0
        mine = _tokens(code)
        return float(np.mean([1 - len(mine & _tokens(o)) / max(1, len(mine | _tokens(o))) for o in others]))

    # -- updates
    def add(self, program: Program) -> None:
        """Insert an evaluated program into its island, grid and the archive; trim the island."""
        program.diversity = self._diversity(program.code, program.island)
        self.programs[program.id] = program
        self.seen.add(normalized(program.code))
        self._place(program.id, program.island)
        self.archive = sorted(set(self.archive) | {program.id}, key=self._rank_key)[: self.settings.archive]

    def _rank_key(self, pid: str) -> tuple:
        return (-self.programs[pid].fitness, self.programs[pid].iteration, pid)

    def _place(self, pid: str, island: int) -> None:
        if pid in self.islands[island]:
            return
        self.islands[island].append(pid)
        cell = self._cell(self.programs[pid], island)
        holder = self.grids[island].get(cell)
        if holder is None or self.programs[pid].fitness > self.programs[holder].fitness:
            self.grids[island][cell] = pid
        capacity = max(1, self.settings.population // self.settings.islands)
        while len(self.islands[island]) > capacity:
            protected = set(self.grids[island].values()) | {self.best().id}
            removable = [p for p in self.islands[island] if p not in protected] or self.islands[island][:-1]
            worst = max(removable, key=self._rank_key)
            self.islands[island].remove(worst)

    def migrate(self) -> None:
        """Ring migration: each island sends its best programs to the next one."""
        moves = []
        for island, members in enumerate(self.islands):
            count = max(1, int(self.settings.migration_rate * len(members)))
            moves += [(pid, (island + 1) % len(self.islands)) for pid in sorted(members, key=self._rank_key)[:count]]
        for pid, destination in moves:
            self._place(pid, destination)

    # -- queries
    def best(self) -> Program:
        """The top-ranked program within the parameter limit (the seed, which alone may exceed it, only if nothing else is)."""
        limit = self.param_limit
        eligible = [pid for pid, p in self.programs.items() if limit is None or p.param_count <= limit] or list(self.programs)
        return self.programs[min(eligible, key=self._rank_key)]

    def choose_parent(self, island: int, rng: random.Random) -> Program:
        """0.7 exploitation (rank-weighted from the archive), 0.2 exploration (uniform in the island), else uniform."""
        draw = rng.random()
        if draw < self.settings.exploitation and self.archive:
            weights = [1.0 / (rank + 1) for rank in range(len(self.archive))]
            return self.programs[rng.choices(self.archive, weights=weights)[0]]
        members = self.islands[island] if draw < self.settings.exploitation + self.settings.exploration else []
        pool = members or sorted(self.programs)
        return self.programs[rng.choice(pool)]

    def inspirations(self, island: int, parent: Program, rng: random.Random) -> tuple[list[Program], list[Program]]:
        """(top programs of the island, diverse programs from other grid cells), excluding the parent."""
        ranked = [pid for pid in sorted(self.islands[island], key=self._rank_key) if pid != parent.id]
        top = ranked[: self.settings.top_programs]
        cells = sorted(pid for pid in set(self.grids[island].values()) if pid not in top and pid != parent.id)
        diverse = rng.sample(cells, min(self.settings.diverse_programs, len(cells)))
        return [self.programs[p] for p in top], [self.programs[p] for p in diverse]


# ---------------------------------------------------------------------- search

TextPropose = Callable[[str, str], Awaitable[tuple[str, dict]]]
"""``async (system_prompt, user_prompt) -> (reply text, usage dict)``: a model behind prompts."""


@dataclass
class Attempt:
    """What happened to one proposal (logged per iteration)."""

    iteration: int
    island: int
    parent: str
    outcome: str  # "accepted" or "rejected"
    reason: str = ""
    child: str | None = None
    fitness: float | None = None


@dataclass
class Pending:
    """A proposal received from the model and not yet evaluated."""

    iteration: int
    island: int
    parent: str
    reply: str


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
    """Writes one child program per request: ``async propose(request) -> (reply text, usage dict)``."""

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


def column_statistics(train: Split) -> str:
    """Per-column range, mean and variance of the train split, as a Markdown table."""
    lines = ["| column | min | max | mean | variance |", "|---|---|---|---|---|"]
    for column in train.spec.features + train.spec.targets:
        values = train.frame[column].to_numpy()
        lines.append(f"| {column} | {values.min():.6g} | {values.max():.6g} | {values.mean():.6g} | {values.var():.6g} |")
    return "\n".join(lines)


def system_prompt(train: Split, mode: str) -> str:
    spec = train.spec
    limit = (
        f"The fitted parameter vector returned by fit_scaling_law may have at most {spec.param_limit} "
        f"numbers per group (programs that exceed it are rejected)."
        if spec.param_limit
        else "There is no hard limit on the number of parameters; prefer few."
    )
    reply = (
        "Reply with the complete new program in one ```python block (keep the EVOLVE-BLOCK markers)."
        if mode == "full"
        else "Reply with one or more edits, each as\n<<<<<<< SEARCH\n(exact lines of the current program)\n=======\n(new lines)\n>>>>>>> REPLACE"
    )
    return (
        "You are an expert in scaling laws and numerical optimisation. You improve a Python program "
        "that models how a training outcome scales, so that it extrapolates to larger-scale held-out runs.\n\n"
        "The program must keep two functions with these signatures:\n"
        f"  scaling_law_func(data_points, params) -> predictions; data_points is an (N, {len(spec.features)}) "
        f"array with columns {', '.join(spec.features)}; predictions have shape (N,)"
        + (f" or (N, {len(spec.targets)})" if len(spec.targets) > 1 else "")
        + f" for {', '.join(spec.targets)}.\n"
        "  fit_scaling_law(data_points, loss_values) -> params, fitted on one group's training rows.\n"
        f"{limit}\n"
        "Write code only between the EVOLVE-BLOCK-START and EVOLVE-BLOCK-END markers. Use numpy and scipy only. "
        "scaling_law_func must be a fixed function of its inputs and params: do not use statistics of "
        "data_points (min, max, mean, median, ...) inside it (programs whose predictions change when the "
        "points are passed in smaller batches are rejected).\n\n" + reply
    )


def _program_section(title: str, program: Program) -> str:
    return f"### {title} (train R^2 = {program.fitness:.6g}, {program.param_count} parameters per group)\n```python\n{program.code}\n```"


def user_prompt(
    context: str, train: Split, iteration: int, total: int, island: int, parent: Program, top: list[Program], diverse: list[Program], recent: list[Attempt]
) -> str:
    parts = [
        f"Iteration {iteration + 1} of {total} (island {island}).",
        "## Task\n" + context.strip(),
        "## Training data statistics\n" + column_statistics(train),
        "## Current program\n" + _program_section("Parent " + parent.id, parent),
    ]
    if top:
        parts.append("## Best programs so far\n" + "\n\n".join(_program_section(p.id, p) for p in top))
    if diverse:
        parts.append("## Different approaches\n" + "\n\n".join(_program_section(p.id, p) for p in diverse))
    if recent:
        rows = [
            f"- iteration {a.iteration + 1}, parent {a.parent}: "
            + (f"accepted as {a.child}, train R^2 {a.fitness:.6g}" if a.outcome == "accepted" else f"rejected: {a.reason}")
            for a in recent
        ]
        parts.append("## Recent attempts\n" + "\n".join(rows))
    parts.append("Propose an improved program: a better functional form and/or a more robust fitting routine.")
    return "\n\n".join(parts)


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
        `sldbench.symbolic.extrapolation_split` (test-shaped folds of TRAIN rows, as
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
            fitness, combined, params, folds = await self._fitness(child)
            limit = self.train.spec.param_limit
            if limit is not None and params > limit:
                raise Rejected(f"fits {params} parameters per group; the limit is {limit}")
        except Rejected as err:
            attempt.reason = str(err)
            return attempt
        return Program(f"p{item.iteration + 1:04d}", child, parent.id, item.iteration, item.island, fitness, combined, params, len(child), folds=folds)

    def _commit(self, state: SearchState, item: Pending, outcome: Attempt | Program) -> None:
        db = state.database
        if isinstance(outcome, Program):
            if normalized(outcome.code) in db.seen:  # a twin from the same wave got in first
                outcome = Attempt(item.iteration, item.island, item.parent, "rejected", "duplicates a program already evaluated")
            else:
                db.add(outcome)
                outcome = Attempt(item.iteration, item.island, item.parent, "accepted", child=outcome.id, fitness=outcome.fitness)
        state.attempts.append(outcome)
        best = db.best()
        state.trajectory.append({"iteration": item.iteration + 1, "best": best.id, "best_fitness": best.fitness})
        self.log({**asdict(outcome), "iteration": item.iteration + 1, "best": best.id, "best_fitness": best.fitness})
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
            pending.reply = text
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
        if document.get("task") != self.train.spec.name or document.get("settings") != asdict(self.settings):
            raise ValueError(
                f"checkpoint {self.checkpoint} belongs to another run (task {document.get('task')!r} or different "
                f"settings); use another checkpoint path or delete it to start afresh"
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


class TrainEvaluator:
    """``await evaluator(code) -> RunResult``: fit per group on ``train`` and predict ``points``.

    Runs through a `WarmRunner` in ``sandbox``; call `close` when the search is over.
    ``points`` defaults to ``train`` (fitness on the rows fitted); the batch check
    (predictions must not depend on the other points passed with them) is always on.
    """

    def __init__(self, sandbox, train: Split, timeout: float, points: Split | None = None) -> None:
        self.runner = WarmRunner(sandbox)
        self.train, self.points, self.timeout = train, points or train, timeout

    async def __call__(self, code: str):
        return await fit_and_predict(self.runner, code, self.train, self.points, self.timeout, shape="fit_predict", batch_check=True)

    async def close(self) -> None:
        await self.runner.close()


def train_evaluator(sandbox, train: Split, timeout: float) -> TrainEvaluator:
    """The candidate evaluator of a search in ``sandbox`` (see `TrainEvaluator`)."""
    return TrainEvaluator(sandbox, train, timeout)
