"""The search's settings, its evaluated programs, what happened to each proposal (`Attempt`) and the island database (MAP-Elites grids and an elite archive)."""

from __future__ import annotations

import math
import random
import re
from dataclasses import asdict, dataclass, field

import numpy as np

from .program import normalized

CONSTANTS_POLICIES = ("count", "strict")


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
    constants: str = "count"  # or "strict": hidden constants count against the parameter limit

    def __post_init__(self) -> None:
        if self.mode not in ("full", "diff"):
            raise ValueError(f"mode must be 'full' or 'diff', got {self.mode!r}")
        if self.constants not in CONSTANTS_POLICIES:
            raise ValueError(f"constants must be one of {', '.join(CONSTANTS_POLICIES)}, got {self.constants!r}")
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


@dataclass
class Attempt:
    """What happened to one proposal (logged per iteration)."""

    iteration: int
    island: int
    parent: str
    outcome: str  # "accepted", "rejected", or "harness failure" (controller.HARNESS_FAILURE: the candidate was never judged)
    reason: str = ""
    child: str | None = None
    fitness: float | None = None
    hidden_constants: list[float] | None = None  # numbers scaling_law_func uses that the fitted vector does not show
