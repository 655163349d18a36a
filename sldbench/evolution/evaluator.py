"""The candidate evaluator: fit per group and predict, in the sandbox, through a warm runner."""

from __future__ import annotations

from ..data import Split
from ..sandbox.host import WarmRunner, fit_and_predict


class TrainEvaluator:
    """``await evaluator(code) -> RunResult``: fit per group on ``train`` and predict ``points``.

    Runs through a `WarmRunner` in ``sandbox``; call `close` when the search is over.
    ``points`` defaults to ``train`` (fitness on the rows fitted); the batch check
    (predictions must not depend on the other points passed with them) is always on.
    """

    def __init__(self, sandbox, train: Split, timeout: float, points: Split | None = None) -> None:
        self.runner = WarmRunner(sandbox)
        self.train, self.points, self.timeout = train, points or train, timeout

    async def __call__(self, code: str):
        return await fit_and_predict(self.runner, code, self.train, self.points, self.timeout, shape="fit_predict", batch_check=True)

    async def close(self) -> None:
        await self.runner.close()
