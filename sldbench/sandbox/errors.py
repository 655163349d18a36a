"""The one error a missing prerequisite raises: Inspect prints its message as one line, without a traceback."""

from __future__ import annotations

from inspect_ai._util.error import PrerequisiteError  # inspect-evals-lint: ignore[private_api_imports] -- PrerequisiteError is not exported; Inspect prints it as one line
from rich.markup import escape


def prerequisite_error(message: str) -> PrerequisiteError:
    """A PrerequisiteError that Inspect prints as ``message`` exactly; ``str()`` gives it too.

    Inspect prints the message as rich markup, which would swallow ``[docker]`` in
    ``pip install 'sldbench[docker]'``: the markup is escaped.
    """
    error = PrerequisiteError(escape(message))
    error.args = (message,)
    return error


class HarnessError(RuntimeError):
    """The harness itself failed, not the submission: never a score.

    A sandbox or runner that cannot start, a runner that gives no reply or a malformed
    one, an exec or relay error. Raised out of a scorer or solver, Inspect records a
    sample error (which ``--retry-on-error`` retries), not an R^2 of -1; a submission's
    own failures (exception, timeout, NaN, wrong shape, parameter limit) are scores of -1
    with their reason (`sldbench.sandbox.host.RunResult`).
    """
