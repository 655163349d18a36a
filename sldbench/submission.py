"""Where a solver leaves its submission for the scorer.

A solver either stores a program in the sample state (`store_program`) or
leaves ``law.py`` in the sandbox working directory (what CLI agents do). The
scorer takes the stored program first, then ``law.py``.
"""

from __future__ import annotations

from inspect_ai.solver import TaskState
from inspect_ai.util import SandboxEnvironment

PROGRAM_KEY = "sldbench:program"
SHAPE_KEY = "sldbench:shape"
LAW_FILE = "law.py"


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
