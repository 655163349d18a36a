"""The laws back out of Inspect logs: ``sldbench show LOG``, and the lines ``inspect eval`` ends with.

Every score keeps the program it was earned by (``Score.answer``). `law_formula`
writes the law a program carries in words (`sldbench.laws.read_law`); `describe_log` lists each
sample's law and held-out R^2 beside the expert law's published one. The
`LawSummary` hook prints that summary when an ``inspect eval`` of an SLDBench
task ends, so the console shows the law and not only the metrics
(``SLDBENCH_SUMMARY=0`` turns it off).
"""

from __future__ import annotations

import contextlib
import os
import sys

from inspect_ai.hooks import Hooks, RunEnd, hooks
from inspect_ai.log import EvalLog

from .escaping import for_terminal
from .laws import read_law
from .metrics import SCORER, first_line, unscored_reason
from .specs import TaskSpec, sample_spec

SUMMARY_ENV = "SLDBENCH_SUMMARY"
_quiet = 0  # evals run by code that prints its own account (sldbench discover)


@contextlib.contextmanager
def no_summary():
    """Evals run inside this block print no summary (their caller shows the law its own way).

    What Inspect itself prints meanwhile (its banner naming the hooks) goes to stderr, so
    the caller's standard output stays its own (``sldbench discover --json``).
    """
    global _quiet
    _quiet += 1
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        _quiet -= 1


def law_formula(program: str, spec: TaskSpec) -> str:
    """The law of a program in words, one line per target; "" when the program does not say (`sldbench.laws.read_law`)."""
    law = read_law(program)
    return law.describe(spec.features, spec.targets) if law is not None else ""


def constant_lines(constants: dict[str, dict[str, float]]) -> list[str]:
    """One line per group, ``GROUP  name=value ...``, groups aligned (``sldbench show``, ``sldbench discover``)."""
    width = max(len(str(group)) for group in constants)
    return [f"    {str(group):<{width}}  " + "  ".join(f"{name}={value:.6g}" for name, value in values.items()) for group, values in constants.items()]


def _spec_of(metadata: dict) -> TaskSpec | None:
    """The sample's task as its scorer read it (`sldbench.specs.sample_spec`); None when it cannot be read here."""
    try:
        return sample_spec(metadata)
    except (ValueError, KeyError, OSError):
        return None


def describe_log(log: EvalLog, programs: bool = True) -> str:
    """Each sample's law and held-out R^2, beside the expert law's published R^2.

    Parameters
    ----------
    log : EvalLog
        A log with its samples.
    programs : bool
        Print the whole program where no formula can be read from it (``sldbench show``);
        otherwise say where to find it (the console summary).

    Returns
    -------
    str
        Lines of text for a terminal (`sldbench.escaping.for_terminal`); the first names the log, the task, the solver and the model.
    """
    from .laws.expert import PUBLISHED_R2

    solver = log.plan.steps[-1].solver if log.plan and log.plan.steps else "?"
    parts = [f"{log.location}: {log.eval.task}, solver {solver}, model {log.eval.model}"]
    for sample in log.samples or []:
        score = (sample.scores or {}).get(SCORER)
        parts.append(f"\n--- sample {sample.id} (epoch {sample.epoch})")
        if score is None or not isinstance(score.value, dict):
            parts.append("    not scored: " + first_line(unscored_reason(log.status, sample.error.message if sample.error else None)))
            continue
        metadata = sample.metadata or {}
        spec = _spec_of(metadata)
        program = score.answer or ""
        formula = law_formula(program, spec) if spec is not None and program else ""
        parts.append(
            f"    held-out R² {score.value['r2_raw']:.6g} (clipped {score.value['r2']:.4f}); "
            f"isolation {(score.metadata or {}).get('isolation', '?')}"
        )
        if spec is not None and not spec.is_custom and spec.name in PUBLISHED_R2:
            parts.append(f"    expert law ({spec.name}, published constants): held-out R² {PUBLISHED_R2[spec.name]:.3f}")
        if formula:
            parts.append("    law: " + formula.replace("\n", "\n         "))
            constants = (score.metadata or {}).get("constants") or {}
            if constants:
                parts.append("    constants per group (fitted on train):")
                parts += [f"    {line}" for line in constant_lines(constants)]
        elif not program:
            parts.append("    law: (the log keeps no program for this sample)")
        elif programs:
            parts.append("    law: (a program of its own)\n" + program)
        else:
            parts.append(f"    law: a program of its own ({len(program.splitlines())} lines): sldbench show {log.location}")
        if (score.metadata or {}).get("explain"):
            parts.append("    explain.md:\n" + "\n".join(f"      {line}" for line in score.metadata["explain"].splitlines()))
    return for_terminal("\n".join(parts))  # law sources, explanations and names are the log's: none may drive the terminal


def show(log_path: str) -> str:
    """`describe_log` of the log at ``log_path``, programs included (``sldbench show LOG``)."""
    from inspect_ai.log import read_eval_log

    return describe_log(read_eval_log(log_path))


@hooks(name="sldbench_law_summary", description="Print the law and held-out R² of each SLDBench sample when an eval ends")
class LawSummary(Hooks):
    """After ``inspect eval`` of SLDBench tasks, print each sample's law (`describe_log`, programs left out)."""

    def enabled(self) -> bool:
        return not _quiet and os.environ.get(SUMMARY_ENV, "1") not in ("0", "false", "no")

    async def on_run_end(self, data: RunEnd) -> None:
        from inspect_ai.log import read_eval_log

        for log in data.logs:
            if (log.eval.metadata or {}).get("benchmark") != "sldbench":
                continue
            if not log.samples and log.location:
                log = read_eval_log(log.location)
            print("\n" + describe_log(log, programs=False), flush=True)
