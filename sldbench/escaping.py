"""Text from logs made inert for each place it is written: terminal, Markdown, LaTeX, CSV, HTML script.

Law sources, explanations, model, agent and task names come from logs and from
the code under test: they are untrusted. Every writer of such text goes through
one function here, chosen by where the text ends up:

- `for_terminal`: control characters (escape sequences, carriage returns,
  backspaces) and bidirectional overrides shown as visible ``\\x1b``-style escapes;
- `for_markdown`: HTML and the Markdown syntax a table cell or a line could be
  read as, escaped (CommonMark renderers pass raw HTML through);
- `for_latex`: LaTeX's special characters;
- `for_html`: HTML's (the standard library's ``html.escape``);
- `for_csv_cell`: a text cell that a spreadsheet would read as a formula, prefixed
  with ``'`` (OWASP's rule); `from_csv_cell` undoes it for this package's readers;
- `script_json`: data as JSON that cannot end or change an HTML ``<script>`` element;
  `shown_in_page` readies the data's texts for it.

Every writer for a reader (all but CSV, whose cells read back exactly) shows control
characters and bidirectional overrides as `for_terminal` does: a law's source read in a
page or a PDF reads as the characters that run, not reordered (Boucher and Anderson's
"Trojan Source"), and a control character cannot stop LaTeX.
"""

from __future__ import annotations

import html
import json
import re

# C0 and C1 controls but newline and tab, DEL, and the bidirectional embeddings, overrides and isolates
TERMINAL_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
MARKDOWN_ESCAPES = str.maketrans({
    "&": "&amp;", "<": "&lt;", ">": "&gt;", "\\": "\\\\", "`": "\\`", "*": "\\*", "[": "\\[", "]": "\\]",
    "|": "\\|", "\n": " ", "\r": " ",
})  # fmt: skip
LATEX_ESCAPES = str.maketrans({
    "\\": "\\textbackslash{}", "{": "\\{", "}": "\\}", "$": "\\$", "&": "\\&", "%": "\\%", "#": "\\#", "_": "\\_",
    "^": "\\textasciicircum{}", "~": "\\textasciitilde{}", "\n": " ", "\r": " ",
})  # fmt: skip
CSV_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
SCRIPT_UNSAFE = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def for_terminal(text: object) -> str:
    """``text`` with every character a terminal would act on shown as an escape instead.

    Parameters
    ----------
    text : object
        Anything printable; converted with ``str``.

    Returns
    -------
    str
        The same text, newlines and tabs kept, ``ESC`` shown as ``\\x1b``, ``U+202E`` as ``\\u202e``.
    """
    return TERMINAL_UNSAFE.sub(lambda match: _visible(match.group()), str(text))


def _visible(character: str) -> str:
    code = ord(character)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def for_markdown(text: object) -> str:
    """``text`` as literal Markdown: no raw HTML, link, emphasis, code span or table cell break.

    Parameters
    ----------
    text : object

    Returns
    -------
    str
        One line (newlines become spaces) that renders as the text itself.
    """
    return for_terminal(text).translate(MARKDOWN_ESCAPES)


def for_latex(text: object) -> str:
    """``text`` as literal LaTeX text, on one line.

    Parameters
    ----------
    text : object

    Returns
    -------
    str
    """
    return for_terminal(text).translate(LATEX_ESCAPES)


def for_html(text: object) -> str:
    """``text`` as literal HTML text or attribute value (quotes escaped too).

    Parameters
    ----------
    text : object

    Returns
    -------
    str
    """
    return html.escape(for_terminal(text))


def shown_in_page(data: object) -> object:
    """``data`` with every text in it as `for_terminal` shows it, for a page's script to put on screen.

    Parameters
    ----------
    data : object
        JSON-like data: dicts, lists, texts, numbers.

    Returns
    -------
    object
        The same structure; dict keys and texts with control characters shown as escapes.
    """
    if isinstance(data, str):
        return for_terminal(data)
    if isinstance(data, dict):
        return {shown_in_page(key): shown_in_page(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [shown_in_page(value) for value in data]
    return data


def for_csv_cell(value: object) -> object:
    """A CSV cell that no spreadsheet runs as a formula: a text starting with ``= + - @``, tab or CR gets a ``'``.

    Numbers pass unchanged (a negative R^2 is a number, not a formula).

    Parameters
    ----------
    value : object

    Returns
    -------
    object
        ``value``, or ``"'" + value`` for a text cell that would start a formula.
    """
    if isinstance(value, str) and value.lstrip("'").startswith(CSV_FORMULA_STARTS):
        return "'" + value  # also before quotes already there, so that `from_csv_cell` is exact
    return value


def from_csv_cell(value: str) -> str:
    """The text `for_csv_cell` was given (the leading ``'`` it added taken off).

    Parameters
    ----------
    value : str

    Returns
    -------
    str
    """
    if value.startswith("'") and value.lstrip("'").startswith(CSV_FORMULA_STARTS):
        return value[1:]
    return value


def script_json(data: object) -> str:
    """``data`` as JSON that is inert inside an HTML ``<script>`` element, whatever text it holds.

    Parameters
    ----------
    data : object
        JSON-serialisable data (texts from logs included).

    Returns
    -------
    str
        JSON with no ``<``, ``>`` or ``&`` and no line separators (``</script``, ``<!--`` cannot
        occur); ``JSON.parse`` reads the same data.
    """
    text = json.dumps(data, allow_nan=False)
    return re.sub("[<>&\u2028\u2029]", lambda match: SCRIPT_UNSAFE[match.group()], text)
