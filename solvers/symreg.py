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

from inspect_ai.log import transcript
from inspect_ai.solver import Generate, Solver, TaskState, solver

from sldbench.data import load_split
from sldbench.laws.expression import Expression
from sldbench.specs import sample_spec
from sldbench.submission import store_program
from sldbench.symbolic import LawSearch, operon


@solver
def symreg(generations: int = 100, population: int = 500, max_length: int = 25, seed: int = 42, time_budget: float | None = None) -> Solver:
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
    """
    if generations < 1 or population < 2 or max_length < 3:
        raise ValueError("need generations >= 1, population >= 2 and max_length >= 3")

    def choose(train, fronts: list[list[Expression]]) -> tuple[str, dict, list[dict]]:
        note = f"Operon seed {seed}, {generations} generations of {population}; chosen by R^2 on held-out largest-scale train rows."
        search = LawSearch(train)  # its extrapolation folds rank the fronts
        ranked, events = operon.rank_fronts(search, fronts, note)
        chosen = [expressions[0] for expressions in ranked]
        code = operon.front_program(train, chosen, note)
        metadata = {
            "expressions": [r.expression.infix for r in chosen],
            "extrapolation_r2": operon.front_score(chosen, code, search.fit_rows, search.holdout_rows),
            "param_count": sum(len(r.expression.start) for r in chosen),
            "front_sizes": [len(expressions) for expressions in ranked],
            "candidates_scored": len(events),
        }
        return code, metadata, events

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        spec = sample_spec(state.metadata)
        train = load_split(spec, "train", state.metadata.get("data_dir"))
        # CPU-bound work in threads, so other samples' sandboxes keep running; Operon's expressions
        # are parsed here, in the event loop's thread (CPython 3.11's ast.parse is not thread-safe).
        infixes = await asyncio.to_thread(operon.search_fronts, train, seed, generations, population, max_length, time_budget)
        code, metadata, events = await asyncio.to_thread(choose, train, operon.translate_fronts(train, infixes))
        for event in events:
            transcript().info(event, source="symreg")
        store_program(state, code, shape="fit_predict")
        state.metadata["symreg"] = metadata
        return state

    return solve
