"""Where submissions run: the in-sandbox runner, its host side, and the sandbox providers.

==================  ================================================================
``runner``          runs inside the sandbox with the sandbox's Python: forks a limited
                    worker per job, one-off or as a warm runner (stdlib only)
``host``            the host side: `run_program`, `WarmRunner`, `fit_and_predict`
``docker``          the ``sldbench-docker`` provider (a container per sample)
``spec``            what ``-T sandbox=...`` means (`sandbox_spec`)
==================  ================================================================
"""

from .host import Limits, RunResult, WarmRunner, fit_and_predict, run_program
from .spec import sandbox_spec

__all__ = ["Limits", "RunResult", "WarmRunner", "fit_and_predict", "run_program", "sandbox_spec"]
