"""`sldbench/symreg`: plain symbolic regression (Operon), the Pareto front refitted per group, chosen on train alone.

A baseline for "what does search alone achieve?": no law-shaped moves, no
model. Operon searches expressions on the pooled train rows of each target;
every member of its Pareto front (R^2 vs length) within the task's parameter
limit is written as a program whose constants are refitted per group, and the
one with the best R^2 on the largest-scale train rows held out (the
extrapolation folds of `sldbench.symbolic.validation`) is submitted. The test
split is only read by the scorer.
"""

from __future__ import annotations

import asyncio
import itertools

from inspect_ai.log import transcript
from inspect_ai.solver import Generate, Solver, TaskState, solver

from sldbench.data import load_split
from sldbench.specs import get_spec
from sldbench.submission import store_program
from sldbench.symbolic import operon
from sldbench.symbolic.forms import feature_transforms
from sldbench.symbolic.validation import extrapolation_split, group_arrays, validation_r2


def _namespace(code: str) -> dict:
    namespace: dict = {}
    exec(compile(code, "<symbolic regression law>", "exec"), namespace)  # noqa: S102 - a program this module wrote
    return namespace


@solver
def symreg(generations: int = 100, population: int = 500, max_length: int = 25, seed: int = 42, time_budget: float | None = None, max_candidates: int = 200) -> Solver:
    """Symbolic regression baseline.

    Parameters
    ----------
    generations, population : int
        Operon's NSGA-II generations and population size (per target).
    max_length : int
        Longest expression (nodes) Operon may build.
    seed : int
        Operon's seed (one thread, so a fixed seed gives the same front).
    time_budget : float, optional
        Seconds of Operon search per task, shared by the targets (a cap: a search cut
        by it depends on the machine's speed).
    max_candidates : int
        Most combinations of per-target front members scored (multi-target tasks).
    """
    if generations < 1 or population < 2 or max_length < 3:
        raise ValueError("need generations >= 1, population >= 2 and max_length >= 3")

    def search_fronts(train) -> list[list[str]]:
        names = list(train.spec.features)
        X = train.frame[names].to_numpy(dtype=float)
        budget = time_budget / len(train.spec.targets) if time_budget else None
        return [
            operon.pareto_front(X, train.frame[t].to_numpy(dtype=float), feature_transforms(X), seed, generations, population, max_length, budget)
            for t in train.spec.targets
        ]

    def choose(train, fronts: list[list[operon.Expression]]) -> tuple[str, dict, list[dict]]:
        spec = train.spec
        limit = spec.param_limit
        share = None if limit is None else limit // len(spec.targets)
        fronts = [[e for e in front if share is None or len(e.start) <= share] for front in fronts]
        if not all(fronts):
            raise RuntimeError(f"symbolic regression found no expression within the parameter limit ({limit}) for every target of {spec.name}")
        fit, holdout = extrapolation_split(train)
        fit_rows, holdout_rows = group_arrays(fit), group_arrays(holdout)
        note = f"Operon seed {seed}, {generations} generations of {population}; chosen by R^2 on held-out largest-scale train rows."
        scored, events = [], []
        for choice in itertools.islice(itertools.product(*fronts), max_candidates):
            code = operon.program(list(choice), list(spec.features), list(spec.targets), note)
            score = validation_r2(_namespace(code), fit_rows, holdout_rows)
            scored.append((score, -sum(len(e.start) for e in choice), code, choice))
            events.append({"expressions": [e.infix for e in choice], "extrapolation_r2": score})
        score, _, code, choice = max(scored, key=lambda item: item[:2])
        metadata = {
            "expressions": [e.infix for e in choice],
            "extrapolation_r2": score,
            "param_count": sum(len(e.start) for e in choice),
            "front_sizes": [len(front) for front in fronts],
            "candidates_scored": len(scored),
        }
        return code, metadata, events

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        spec = get_spec(state.metadata["task"])
        train = load_split(spec, "train", state.metadata.get("data_dir"))
        # CPU-bound work in threads, so other samples' sandboxes keep running; Operon's expressions
        # are parsed here, in the event loop's thread (CPython 3.11's ast.parse is not thread-safe).
        infixes = await asyncio.to_thread(search_fronts, train)
        transforms = feature_transforms(train.frame[list(spec.features)].to_numpy(dtype=float))
        fronts = [operon.unique([operon.translate(infix, transforms) for infix in front]) for front in infixes]
        code, metadata, events = await asyncio.to_thread(choose, train, fronts)
        for event in events:
            transcript().info(event, source="symreg")
        store_program(state, code, shape="fit_predict")
        state.metadata["symreg"] = metadata
        return state

    return solve
