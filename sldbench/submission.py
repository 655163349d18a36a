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
NUMERICAL_GUARD = 1e-6  # |x| below it: a floor against log(0) or division by zero, not a constant of the law


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
    except (SyntaxError, RecursionError):  # RecursionError: nested too deeply for the parser (it cannot run either)
        return []
    numbers = [
        node for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool)
    ]  # fmt: skip
    numbers.sort(key=lambda node: (node.lineno, node.col_offset))
    return [float(node.value) for node in numbers if not is_structural(float(node.value))]


def _used_names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


CLAMPS = {"max", "min", "maximum", "minimum", "fmax", "fmin", "clip"}


def _is_number(node: ast.AST) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        node = node.operand
    return isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool)


def _is_integer(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) is int


def _law_constants(node: ast.AST) -> list[ast.Constant]:
    """The numeric literals of ``node`` that are values of the law.

    Left out: a subscript's own literals (indices), and the literal bounds of a clamp
    (``max``, ``min``, ``np.maximum``, ``np.clip``...) of an expression that is not itself
    a literal: a bound keeps a value in the law's domain, it is not a value inside it.
    """
    skipped = {
        id(inner) for sub in ast.walk(node) if isinstance(sub, ast.Subscript)
        for inner in ast.walk(sub.slice) if isinstance(inner, ast.Constant)
    }  # fmt: skip
    for call in ast.walk(node):
        name = getattr(call.func, "attr", getattr(call.func, "id", "")) if isinstance(call, ast.Call) else ""
        if name in CLAMPS and any(not _is_number(arg) for arg in call.args):
            skipped.update(id(inner) for arg in call.args if _is_number(arg) for inner in ast.walk(arg))
    return [
        n for n in ast.walk(node)
        if isinstance(n, ast.Constant) and isinstance(n.value, (int, float)) and not isinstance(n.value, bool) and id(n) not in skipped
    ]  # fmt: skip


def _index_only_names(nodes: list[ast.AST]) -> set[str]:
    """Names that ``nodes`` read only inside subscript indices (``p[N_THETA]``): their values pick elements, they are not values of the law."""
    in_indices, elsewhere = set(), set()
    for node in nodes:
        indexed = {id(n) for sub in ast.walk(node) if isinstance(sub, ast.Subscript) for n in ast.walk(sub.slice)}
        for n in ast.walk(node):
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load):
                (in_indices if id(n) in indexed else elsewhere).add(n.id)
    return in_indices - elsewhere


def hidden_constants(source: str, function: str = "scaling_law_func") -> list[float]:
    """Numbers a fit-and-predict program predicts with that its fitted vector does not show.

    The numeric literals that ``function`` uses, in its own body and through the
    module-level names it reads (helper functions, tables, constants, followed
    transitively), less structural ones (`is_structural`: small integers and simple
    fractions), numerical guards (``|x| < 1e-6``), subscript indices (literal, or a
    module-level integer read only as an index) and the literal bounds of clamps
    (`_law_constants`). A law with a
    hand-tuned calibration table keeps it here; a law whose every fitted number is
    in the parameter vector has none.

    Parameters
    ----------
    source : str
        Program source.
    function : str
        The predicting function.

    Returns
    -------
    list of float
        The constants, in source order; [] when the source does not parse or lacks ``function``.
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, RecursionError):  # RecursionError: nested too deeply for the parser (it cannot run either)
        return []
    definitions: dict[str, list[ast.AST]] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            definitions.setdefault(node.name, []).append(node)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for name in {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}:
                definitions.setdefault(name, []).append(node)
    if function not in definitions:
        return []
    seen, pending, nodes = set(), [function], []
    while pending:
        name = pending.pop()
        if name in seen or name not in definitions:
            continue
        seen.add(name)
        for node in definitions[name]:
            nodes.append(node)
            pending.extend(_used_names(node) - seen)
    indices = _index_only_names(nodes)
    nodes = [
        node for node in nodes
        if not (isinstance(node, ast.Assign) and _is_integer(node.value) and {n.id for t in node.targets for n in ast.walk(t) if isinstance(n, ast.Name)} <= indices)
    ]  # fmt: skip
    constants = {id(c): c for node in nodes for c in _law_constants(node)}
    negated = {
        id(n.operand) for node in nodes for n in ast.walk(node) if isinstance(n, ast.UnaryOp) and isinstance(n.op, ast.USub)
    }  # fmt: skip
    ordered = sorted(constants.values(), key=lambda c: (c.lineno, c.col_offset))
    values = [-float(c.value) if id(c) in negated else float(c.value) for c in ordered]
    return [v for v in values if not is_structural(v) and not abs(v) < NUMERICAL_GUARD]
