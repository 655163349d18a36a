"""`sldbench/file`: submit a law written by hand, so any law can be scored through `inspect eval`."""

from __future__ import annotations

from pathlib import Path

from inspect_ai.solver import Generate, Solver, TaskState, solver

from sldbench.submission import store_program


@solver
def file(path: str, shape: str = "auto") -> Solver:
    """Submit the program at ``path`` (on the host).

    Parameters
    ----------
    path : str
        A Python file defining ``law(input_data, group)``, or
        ``scaling_law_func(data_points, params)`` with ``fit_scaling_law(data_points, loss_values)``.
    shape : {"auto", "law", "fit_predict"}
        Which submission shape to use; ``auto`` prefers ``law`` when it is defined.
    """
    source = Path(path).expanduser()
    if not source.is_file():
        raise FileNotFoundError(f"sldbench/file: no file at {source} (solver argument -S path=FILE)")
    if shape not in ("auto", "law", "fit_predict"):
        raise ValueError(f"sldbench/file: shape must be auto, law or fit_predict, got {shape!r}")
    program = source.read_text()

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        store_program(state, program, shape=shape)
        return state

    return solve
