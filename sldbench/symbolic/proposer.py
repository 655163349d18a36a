"""The symbolic proposer: SLDAgent's evolution loop with children written by law search instead of a model."""

from __future__ import annotations

import asyncio
import random

from ..data import Split
from ..evolution import Request
from .forms import read_form
from .search import LawSearch


class SymbolicProposer:
    """Propose a child program by hill climbing over law forms from the parent's form.

    The parent's form is read back from its ``FORM`` literal; a parent without one
    (the initial program, or one a model wrote) starts from the initial program's
    family, a power law per feature. Forms of the request's top and diverse programs
    feed crossover moves. Candidates are fitted and scored in this process, on the
    train split alone (see `LawSearch`); the reply is the best one's program in a
    ```python block, as a model would write it.

    Parameters
    ----------
    train : Split
        The train split the solver was given.
    width, depth : int
        Candidates scored per round of hill climbing, and rounds per proposal.
    """

    def __init__(self, train: Split, width: int = 12, depth: int = 2) -> None:
        if width < 1 or depth < 1:
            raise ValueError(f"width and depth must be at least 1, got width={width}, depth={depth}")
        self.search = LawSearch(train, note="Found by SLDAgent's symbolic proposer on the train split.")
        self.width, self.depth = width, depth

    async def propose(self, request: Request) -> tuple[str, dict]:
        # Fitting is CPU work: a thread keeps the event loop free for the sandboxed evaluations in flight.
        return await asyncio.to_thread(self.propose_now, request)

    def propose_now(self, request: Request) -> tuple[str, dict]:
        """The reply for ``request``, computed in the calling thread (a pure function of the request)."""
        parent = read_form(request.parent.code) or self.search.initial_form()
        if parent.transforms != self.search.transforms or parent.n_targets != len(self.search.targets):
            parent = self.search.initial_form()  # a form written for other data
        others = [form for program in request.top + request.diverse if (form := read_form(program.code)) and form.transforms == parent.transforms]
        best = self.search.improve(parent, random.Random(request.seed), others, request.seen, self.width, self.depth)
        return f"Law search from {request.parent.id} (extrapolation R^2 on held-out train rows {best.score:.6g}).\n```python\n{best.code}```\n", {}
