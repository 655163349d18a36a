"""`sldbench/human`: submit the expert law of the task (the paper's "Human" row).

For a task of your own data (``sldbench/custom``) the expert law is the program its
spec names with ``law:`` (either submission shape: a fit-and-predict program is
fitted per group on the train split, as every fit-and-predict submission is).
"""

from __future__ import annotations

from pathlib import Path

from inspect_ai.solver import Generate, Solver, TaskState, solver

from sldbench.laws.expert import get_law, load_constants, prefitted_program, refit_program
from sldbench.specs import sample_spec
from sldbench.submission import store_program


class NoExpertLaw(ValueError):
    """A task of your own data has no ``law:`` in its spec, so there is no expert law to submit."""


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
        least-squares fitter (fit-and-predict shape). Not used for a task of your own,
        whose ``law:`` file carries its constants or its fitter.
    """
    tables: dict[str, dict[str, list[float]]] = {}

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        task = state.metadata["task"]
        spec = sample_spec(state.metadata)
        if spec.is_custom:
            if not spec.law_file:
                raise NoExpertLaw(
                    f"sldbench/human: the task spec {spec.spec_file} names no expert law; add "
                    f"law: FILE.py (a program defining law(input_data, group), or scaling_law_func and "
                    f"fit_scaling_law) to it, or score a law file with --solver sldbench/file -S path=FILE.py"
                )
            store_program(state, Path(spec.law_file).read_text(), shape="auto")
            state.metadata["human_law"] = {"variant": "the spec's law", "source": spec.law_file}
            return state
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
