"""Where a solver leaves its submission for the scorer, and what the log keeps of it.

A solver either stores a program in the sample state (`store_program`) or
leaves ``law.py`` in the sandbox working directory (what CLI agents do). The
scorer takes the stored program first, then ``law.py``; the source it scored
goes into ``Score.answer``, the agent's ``explain.md`` (when there is one) and
the program's count of numeric constants into the score metadata, so a law can
be read and re-scored after its sandbox is gone.
"""

from __future__ import annotations

import ast
from fractions import Fraction

from inspect_ai.solver import TaskState
from inspect_ai.util import SandboxEnvironment

PROGRAM_KEY = "sldbench:program"
SHAPE_KEY = "sldbench:shape"
LAW_FILE = "law.py"
EXPLAIN_FILE = "explain.md"
EXPLAIN_KEEP_CHARS = 20_000
STRUCTURAL_LIMIT = 10  # |n| <= 10, with denominators up to 4: exponents, halves, small counts


def store_program(state: TaskState, program: str, shape: str = "auto") -> None:
    """Record ``program`` (source text) as the sample's submission, and show it as the output."""
    state.store.set(PROGRAM_KEY, program)
    state.store.set(SHAPE_KEY, shape)
    state.output.completion = program


async def find_submission(state: TaskState, sandbox: SandboxEnvironment) -> tuple[str | None, str, str]:
    """Return ``(program or None, shape, where it came from)`` for a sample."""
    program = state.store.get(PROGRAM_KEY)
    if program:
        return program, state.store.get(SHAPE_KEY, "auto"), "program stored by the solver"
    try:
        return await sandbox.read_file(LAW_FILE), "auto", f"{LAW_FILE} in the sandbox"
    except FileNotFoundError:
        return None, "auto", ""


async def read_explanation(sandbox: SandboxEnvironment) -> str | None:
    """The agent's ``explain.md`` in the sandbox working directory (its first 20,000 characters), or None."""
    try:
        text = await sandbox.read_file(EXPLAIN_FILE)
    except (FileNotFoundError, IsADirectoryError, PermissionError, UnicodeDecodeError):
        return None
    return text[:EXPLAIN_KEEP_CHARS]


def is_structural(value: float) -> bool:
    """Whether a numeric literal is structural rather than a fitted-looking constant.

    Small integers and simple fractions (``|x| <= 10`` with a denominator of at
    most 4: ``2``, ``-1``, ``0.5``, ``1.25``) are how forms are written (squares,
    halves, offsets); any other number is a constant the law carries.
    """
    if not abs(value) <= STRUCTURAL_LIMIT:
        return False
    return Fraction(value).limit_denominator(4) == Fraction(value)


def numeric_constants(source: str) -> list[float]:
    """The non-structural numeric literals of a program (`is_structural`), in source order; [] if it does not parse.

    In a pre-fitted law these are its fitted constants (per group, all groups);
    in a fit-and-predict program, numbers the fitted vector does not show.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    numbers = [
        node for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool)
    ]  # fmt: skip
    numbers.sort(key=lambda node: (node.lineno, node.col_offset))
    return [float(node.value) for node in numbers if not is_structural(float(node.value))]
