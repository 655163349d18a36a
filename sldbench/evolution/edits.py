"""A child program from a reply: a full rewrite in a fenced block, or SEARCH/REPLACE edits of the parent."""

from __future__ import annotations

import re

from ..laws.program import EVOLVE_END, EVOLVE_START, evolve_block
from .program import Rejected


FENCE = re.compile(r"```(?:python|py)?[ \t]*\n(.*?)```", re.DOTALL)
SEARCH_MARKER = re.compile(r"<{5,}[ \t]*SEARCH")
DIVIDER = re.compile(r"={5,}")
REPLACE_MARKER = re.compile(r">{5,}[ \t]*REPLACE")


def child_from_full_rewrite(reply: str, parent: str) -> str:
    """The program in the reply's last fenced Python block; a bare block replaces the parent's EVOLVE block."""
    blocks = FENCE.findall(reply)
    if not blocks:
        raise Rejected("the reply has no ```python block with the program")
    code = blocks[-1]
    if EVOLVE_START in code:
        return code
    before, _, after = evolve_block(parent)
    if not before and not after and EVOLVE_START not in parent:
        return code
    return f"{before}{EVOLVE_START}\n{code.strip()}\n{EVOLVE_END}{after}"


def _find_lines(haystack: list[str], needle: list[str]) -> int:
    """Index of ``needle`` in ``haystack`` comparing stripped lines (blank lines ignored at the ends)."""
    target = [line.strip() for line in needle]
    for index in range(len(haystack) - len(target) + 1):
        if all(haystack[index + k].strip() == target[k] for k in range(len(target))):
            return index
    return -1


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _reindent(line: str, shift: int) -> str:
    if shift >= 0:
        return " " * shift + line if line.strip() else line
    return line[min(-shift, _indent(line)) :]


def diff_blocks(reply: str) -> list[tuple[str, str]]:
    """The ``(search, replace)`` texts of the reply's SEARCH/REPLACE blocks, in order.

    Each marker (``<<<<<<< SEARCH``, ``=======``, ``>>>>>>> REPLACE``, five or more of the
    character) stands on a line of its own; a SEARCH marker before a block is closed starts the
    block again. One pass over the lines: a reply of any length or repetition is read in linear
    time (a pattern over the whole reply can take minutes on a run of repeated marker characters).
    """
    blocks, part, search, replace = [], None, [], []
    for line in reply.splitlines():
        marker = line.strip()
        if SEARCH_MARKER.fullmatch(marker):
            part, search, replace = "search", [], []
        elif part == "search" and DIVIDER.fullmatch(marker):
            part = "replace"
        elif part == "replace" and REPLACE_MARKER.fullmatch(marker):
            blocks.append(("\n".join(search), "\n".join(replace)))
            part = None
        elif part is not None:
            (search if part == "search" else replace).append(line)
    return blocks


def child_from_diff(reply: str, parent: str) -> str:
    """Apply the reply's SEARCH/REPLACE blocks to the parent, tolerating whitespace differences.

    Raises
    ------
    Rejected
        When the reply has no block, or a block's SEARCH text is not in the parent
        (the message quotes the block so the model can be told).
    """
    blocks = diff_blocks(reply)
    if not blocks:
        raise Rejected("the reply has no SEARCH/REPLACE block")
    code = parent
    for number, (search, replace) in enumerate(blocks, start=1):
        if search and search in code:
            code = code.replace(search, replace, 1)
            continue
        lines = code.splitlines()
        needle = search.splitlines()
        while needle and not needle[0].strip():
            needle.pop(0)
        while needle and not needle[-1].strip():
            needle.pop()
        at = _find_lines(lines, needle) if needle else -1
        if at < 0:
            first = needle[0].strip() if needle else ""
            raise Rejected(f"diff block {number} does not apply: its SEARCH text (starting {first!r}) is not in the parent program")
        # re-indent the replacement by the difference between the matched and the quoted indentation
        shift = _indent(lines[at]) - _indent(needle[0])
        replaced = [_reindent(line, shift) for line in replace.splitlines()]
        code = "\n".join(lines[:at] + replaced + lines[at + len(needle) :]) + ("\n" if code.endswith("\n") else "")
    return code
