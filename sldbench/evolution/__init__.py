"""Program evolution for SLDAgent: candidates, checks, the island database and the search loop.

One module per concern, as OpenEvolve separates them: `program` (checks before
evaluation; the program format is `sldbench.laws.program`), `edits` (a child from a reply), `database`
(settings, programs, islands), `prompts`, `controller` (the search loop) and
`evaluator` (the sandboxed evaluation).

A candidate is a Python program with ``scaling_law_func(data_points, params)``
and ``fit_scaling_law(data_points, loss_values)`` between EVOLVE-BLOCK markers.
Each iteration picks a parent, asks a proposer (an Inspect model through its
prompts, or a program search such as the symbolic proposer) for a child, checks it before paying for an evaluation (parse,
signatures, code outside the block, duplicates), evaluates it in the sandbox
on the TRAIN split only (fitness: train R^2, or R^2 on held-out train rows),
and enforces the parameter limit
on the fitted vectors.

Determinism: prompts of wave *w* are built from the database with waves up to
*w-2* committed, while wave *w-1* is still being evaluated (model latency and
evaluation overlap), and results are committed in iteration order; all random
choices come from one seeded generator. A checkpoint holds exactly that state,
so a resumed run continues as the uninterrupted one would.
"""

from .controller import Pending, Proposer, Request, Search, SearchState, TextPropose, TextProposer
from .database import Attempt, Database, Program, Settings
from .edits import child_from_diff, child_from_full_rewrite
from .evaluator import TrainEvaluator
from .program import Rejected, check_candidate, normalized
from .prompts import column_statistics, system_prompt, user_prompt

__all__ = [
    "Attempt", "Database", "Pending", "Program", "Proposer",
    "Rejected", "Request", "Search", "SearchState", "Settings", "TextPropose", "TextProposer", "TrainEvaluator", "check_candidate",
    "child_from_diff", "child_from_full_rewrite", "column_statistics", "normalized", "system_prompt",
    "user_prompt",
]  # fmt: skip
