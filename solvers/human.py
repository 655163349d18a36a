"""`sldbench/human`: submit the expert law of the task (the paper's "Human" row)."""

from __future__ import annotations

from inspect_ai.solver import Generate, Solver, TaskState, solver

from sldbench.laws import get_law, load_constants, prefitted_program, refit_program
from sldbench.submission import store_program


@solver
def human(constants: str | None = None) -> Solver:
    """Submit the task's expert law.

    Parameters
    ----------
    constants : str, optional
        Directory of per-task JSON constants (format of ``sldbench-data/human_laws/``).
        Given: the published constants are submitted as ``law(input_data, group)``
        (this reproduces the paper's Human row). Omitted: the law's functional form
        is refitted per group on the train split by the package's multi-start
        least-squares fitter (fit-and-predict shape).
    """
    tables: dict[str, dict[str, list[float]]] = {}

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        task = state.metadata["task"]
        if constants:
            if task not in tables:
                tables[task] = load_constants(constants, task)
            store_program(state, prefitted_program(task, tables[task]), shape="law")
        else:
            store_program(state, refit_program(task), shape="fit_predict")
        state.metadata["human_law"] = {
            "variant": "published constants" if constants else "refit on train",
            "source": get_law(task).source,
        }
        return state

    return solve
