"""Where submissions run: the in-sandbox runner, its host side, and the sandbox providers.

==================  ================================================================
``runner``          runs inside the sandbox with the sandbox's Python: forks a limited
                    worker per job, one-off or as a warm runner (stdlib only)
``host``            the host side: `run_program`, `WarmRunner`, `fit_and_predict`
``local``           the ``sldbench-local`` provider (this machine; runs under bubblewrap)
``bubblewrap``      the view of the system a run gets under bubblewrap
``docker``          the ``sldbench-docker`` provider (a container per sample)
``spec``            what ``-T sandbox=...`` and ``-T isolation=...`` mean (`sandbox_spec`)
``doctor``          which isolation each sandbox gives on this machine
``errors``          the one-line error of a missing prerequisite
==================  ================================================================
"""

from .host import Limits, RunResult, WarmRunner, fit_and_predict, run_program
from .spec import sandbox_spec

__all__ = ["Limits", "RunResult", "WarmRunner", "fit_and_predict", "run_program", "sandbox_spec"]
