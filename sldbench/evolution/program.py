"""Candidate programs: the checks made before evaluation (the program format itself: `sldbench.laws.program`)."""

from __future__ import annotations

import ast
import functools
import hashlib

from ..laws.program import REQUIRED_FUNCTIONS, evolve_block


class Rejected(Exception):
    """A proposal that is not evaluated (or whose evaluation failed), with the reason."""


def _squash(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines() if line.strip())


@functools.lru_cache(maxsize=4096)  # a search asks again and again about the same programs; parsing is most of the cost
def normalized(code: str) -> str:
    """A program's identity for duplicate detection: its AST (comments and layout ignored)."""
    return hashlib.sha256(ast.dump(ast.parse(code)).encode()).hexdigest()


def check_candidate(child: str, parent: str) -> None:
    """Reject, before evaluation, a child that does not parse, lacks a signature or edits outside the block.

    Raises
    ------
    Rejected
    """
    try:
        tree = ast.parse(child)
    except SyntaxError as err:
        raise Rejected(f"does not parse: {err.msg} (line {err.lineno})") from err
    except RecursionError as err:
        raise Rejected("does not parse: nested too deeply for Python's parser") from err
    functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    for name, arity in REQUIRED_FUNCTIONS.items():
        node = functions.get(name)
        if node is None:
            raise Rejected(f"missing top-level function {name}(data_points, ...)")
        if len(node.args.args) != arity:
            raise Rejected(f"{name} must take {arity} positional arguments, takes {len(node.args.args)}")
    before_p, _, after_p = evolve_block(parent)
    before_c, _, after_c = evolve_block(child)
    if _squash(before_p) != _squash(before_c) or _squash(after_p) != _squash(after_c):
        raise Rejected("changes code outside the EVOLVE-BLOCK markers")
