"""The symbolic proposer: SLDAgent's evolution loop with children written by law search instead of a model."""

from __future__ import annotations

import asyncio
import random

from ..data import Split
from ..evolution import Request, normalized
from .forms import Form, read_form
from .search import LawSearch, Scored


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
        parent, others = self._forms(request)
        # Fitting is CPU work: a thread keeps the event loop free for the sandboxed evaluations in flight.
        # The thread compiles and runs programs but never parses them into ASTs: CPython 3.11's
        # ast.parse is not thread-safe, and the loop checks candidates with it meanwhile.
        ranked = await asyncio.to_thread(self.search.climb, parent, random.Random(request.seed), others, self.width, self.depth, request.deadline)
        return self._reply(request, ranked)

    def propose_now(self, request: Request) -> tuple[str, dict]:
        """The reply for ``request``, computed in the calling thread (a pure function of the request)."""
        parent, others = self._forms(request)
        return self._reply(request, self.search.climb(parent, random.Random(request.seed), others, self.width, self.depth, request.deadline))

    def _forms(self, request: Request) -> tuple[Form, list[Form]]:
        parent = read_form(request.parent.code)
        if parent is None or parent.transforms != self.search.transforms or parent.n_targets != len(self.search.targets):
            parent = self.search.initial_form()  # not a symbolic program, or one written for other data
        others = [form for program in request.top + request.diverse if (form := read_form(program.code)) and form.transforms == parent.transforms]
        return parent, others

    @staticmethod
    def _reply(request: Request, ranked: list[Scored]) -> tuple[str, dict]:
        """The best candidate whose program was not evaluated yet (else the best), as a model would reply."""
        best = next((s for s in ranked if normalized(s.code) not in request.seen), ranked[0])
        return f"Law search from {request.parent.id} (extrapolation R^2 on held-out train rows {best.score:.6g}).\n```python\n{best.code}```\n", {}
