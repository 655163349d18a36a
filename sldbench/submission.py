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
import math
import operator
import re
from fractions import Fraction
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: the law parsers here are imported by processes that never run Inspect
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


def parse_program(source: str) -> ast.Module | None:
    """The syntax tree of a program, or None when Python cannot parse it.

    That is a syntax error, or nesting too deep for the parser (a few thousand chained
    operations), which raises RecursionError rather than SyntaxError; such a program cannot
    run either, so its readers treat both alike.
    """
    try:
        return ast.parse(source)
    except (SyntaxError, RecursionError):
        return None


def numeric_constants(source: str) -> list[float]:
    """The non-structural numbers of a program (`is_structural`), in source order; [] if it does not parse.

    Numbers as `literal_values` reads them: literals, arithmetic of literals alone, number strings.
    In a pre-fitted law these are its fitted constants (per group, all groups);
    in a fit-and-predict program, numbers the fitted vector does not show.
    """
    tree = parse_program(source)
    if tree is None:
        return []
    return [value for _, value in literal_values(tree) if not is_structural(value)]


_FOLDED = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
}  # fmt: skip
_NUMBER_SEPARATORS = re.compile(r"[\s,;]+")


def _folded_values(tree: ast.AST) -> dict[int, float]:
    """``{id(node): value}`` for every node of ``tree`` that is an expression of numeric literals alone
    (``0.25``, ``7 / 3``, ``-(2 ** 0.5)``).

    Arithmetic is done in floats (no huge integer powers); an expression whose value is not a
    finite real (a division by zero, a complex power) has none, so its literals count one by one.
    Children are folded before their parents without recursion: a deeply nested program must
    not end the scorer.
    """
    ordered, pending = [], [tree]
    while pending:
        node = pending.pop()
        ordered.append(node)
        pending.extend(ast.iter_child_nodes(node))
    values: dict[int, float] = {}
    for node in reversed(ordered):  # every node after its children
        value = None
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            try:
                value = float(node.value)
            except OverflowError:  # an integer literal beyond float range
                value = math.inf
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)) and id(node.operand) in values:
            value = values[id(node.operand)] * (-1 if isinstance(node.op, ast.USub) else 1)
        elif isinstance(node, ast.BinOp) and type(node.op) in _FOLDED and id(node.left) in values and id(node.right) in values:
            try:
                value = _FOLDED[type(node.op)](values[id(node.left)], values[id(node.right)])
            except (ArithmeticError, ValueError):
                value = None
            if not (isinstance(value, float) and math.isfinite(value)):
                value = None
        if value is not None:
            values[id(node)] = value
    return values


def _string_numbers(text: str) -> list[float]:
    """The finite numbers a string spells out and nothing else (``"0.31"``, ``"0.31, 0.27"``); [] otherwise."""
    words = [word for word in _NUMBER_SEPARATORS.split(text) if word]
    try:
        values = [float(word) for word in words]
    except ValueError:
        return []
    return [value for value in values if math.isfinite(value)]


def literal_values(node: ast.AST, skipped: frozenset = frozenset(), folded: dict[int, float] | None = None) -> list[tuple[ast.AST, float]]:
    """Every number written into ``node``: ``(the node that writes it, its value)``, in source order.

    A number is a numeric literal, an expression of numeric literals alone (folded to its value:
    ``7 / 3`` is one number, 2.333..., not two structural ones) or a string that spells out numbers
    (``float("0.2857")``, one number per value). Subtrees whose node id is in ``skipped`` are left
    out; ``folded`` is `_folded_values` of ``node`` when the caller has it.
    """
    folded = _folded_values(node) if folded is None else folded
    found, pending = [], [node]
    while pending:
        current = pending.pop()
        if id(current) in skipped:
            continue
        if id(current) in folded:
            found.append((current, folded[id(current)]))
        elif isinstance(current, ast.Constant) and isinstance(current.value, str):
            found += [(current, number) for number in _string_numbers(current.value)]
        else:
            pending.extend(ast.iter_child_nodes(current))
    return sorted(found, key=lambda item: (item[0].lineno, item[0].col_offset))


def _used_names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


CLAMPS = {"max", "min", "maximum", "minimum", "fmax", "fmin", "clip"}


def _is_integer(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) is int


def _law_constants(node: ast.AST) -> list[tuple[ast.AST, float]]:
    """The numbers of ``node`` (`literal_values`) that are values of the law.

    Left out: a subscript's own numbers (indices), and the literal bounds of a clamp
    (``max``, ``min``, ``np.maximum``, ``np.clip``...) of an expression that is not itself
    a literal: a bound keeps a value in the law's domain, it is not a value inside it.
    """
    folded = _folded_values(node)
    skipped = {id(sub.slice) for sub in ast.walk(node) if isinstance(sub, ast.Subscript)}
    for call in ast.walk(node):
        if isinstance(call, ast.Call) and getattr(call.func, "attr", getattr(call.func, "id", "")) in CLAMPS:
            bounds = [arg for arg in call.args if id(arg) in folded]
            if len(bounds) < len(call.args):  # a clamp of an expression, not of numbers alone
                skipped.update(id(arg) for arg in bounds)
    return literal_values(node, frozenset(skipped), folded)


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

    The numbers (`literal_values`: literals, arithmetic of literals alone, number
    strings) that ``function`` uses, in its own body and through the
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
    tree = parse_program(source)
    if tree is None:
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
    statements = {id(node): node for node in nodes}.values()  # one reached through two names (``a = b = 0.3``) is read once
    found = sorted((item for node in statements for item in _law_constants(node)), key=lambda item: (item[0].lineno, item[0].col_offset))
    return [value for _, value in found if not is_structural(value) and not abs(value) < NUMERICAL_GUARD]
