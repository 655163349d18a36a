"""The held-out R^2 scorer (`sldbench/heldout_r2`), the default scorer of every task."""

from __future__ import annotations

import hashlib

import numpy as np
from inspect_ai.scorer import Score, Scorer, Target, mean, scorer, stderr
from inspect_ai.solver import TaskState
from inspect_ai.util import sandbox as current_sandbox

from .data import load_split
from .laws import Law, named_constants, read_law
from .sandbox.fresh import scoring_sandbox
from .sandbox.host import RunResult, fit_and_predict
from .metrics import ZERO_SPREAD, heldout_metrics
from .specs import get_spec, sample_spec
from .submission import find_submission, hidden_constants, numeric_constants, read_explanation

FAILURE_NMSE = 100000.0  # the reference evaluator's failure values


def failure_score(reason: str, detail: str = "", **metadata) -> Score:
    """Score of a submission that produced nothing usable: R^2 = -1, with the reason."""
    explanation = reason if not detail else f"{reason}\n\n{detail}"
    return Score(
        value={"r2": -1.0, "r2_raw": -1.0, "nmse": FAILURE_NMSE, "nmae": FAILURE_NMSE},
        answer=None,
        explanation=explanation,
        metadata={"error": reason, **metadata},
    )


def score_run(result: RunResult, test, source: str = "") -> Score:
    """Turn a sandboxed run on the test features into a Score (metrics computed here, on the host).

    Parameters
    ----------
    result : RunResult
        Output of `run_program` on ``test``'s features.
    test : sldbench.data.Split
        The test split, whose targets never left the host.
    source : str
        Where the submission came from, for the explanation.
    """
    info = {
        "shape": result.shape, "seconds": result.seconds, "source": source,
        "isolation": result.isolation, "write_guard": result.write_guard,
    }  # fmt: skip
    if not result.ok:
        return failure_score(f"{result.kind}: {result.error}", result.detail, kind=result.kind, **info)
    with np.errstate(over="ignore"):  # an overflow is reported below
        metrics = heldout_metrics(test.stacked_targets(), result.stacked(test.groups))
    per_target = dict(zip(test.spec.targets, metrics.r2_per_target))
    if not all(abs(v) < float("inf") for v in (metrics.r2_raw, metrics.nmse, metrics.nmae)):
        if (np.var(test.stacked_targets(), axis=0) <= ZERO_SPREAD).any():
            reason, kind = "the test targets have zero spread, so R^2 is undefined (-inf)", "undefined"
        else:  # finite predictions whose squared errors exceed the float range
            reason, kind = "overflow: the predictions are so large that their squared error overflows (R^2 = -inf)", "overflow"
        return failure_score(reason, kind=kind, r2_per_target=per_target, **info)
    return Score(
        value={"r2": metrics.r2, "r2_raw": metrics.r2_raw, "nmse": metrics.nmse, "nmae": metrics.nmae},
        explanation=(
            f"held-out R^2 = {metrics.r2_raw:.6g} (clipped {metrics.r2:.4f}), NMSE = {metrics.nmse:.6g}, "
            f"NMAE = {metrics.nmae:.6g} over {len(test.frame)} test points in {len(test.groups)} group(s); "
            f"submission: {source} ({result.shape})"
        ),
        metadata={
            "r2_per_target": per_target,
            "nmse_per_target": dict(zip(test.spec.targets, metrics.nmse_per_target)),
            "nmae_per_target": dict(zip(test.spec.targets, metrics.nmae_per_target)),
            "param_counts": result.param_counts,
            "fit_seconds": result.fit_seconds,
            **info,
        },
    )


async def score_program(sandbox, program: str, spec, data_dir=None, timeout: float = 600, shape: str = "auto", source: str = "") -> Score:
    """Fit on train (fit-and-predict shape), predict the test features in ``sandbox``, score on the host.

    Returns
    -------
    Score
        Value dict with ``r2`` (clipped), ``r2_raw``, ``nmse``, ``nmae``; ``answer`` is the
        program scored (the law that earned the score), ``metadata["numeric_constants"]``
        the count of its non-structural numbers (`sldbench.submission.numeric_constants`),
        ``metadata["hidden_constants"]`` the numbers its ``scaling_law_func`` predicts with that
        the fitted vector does not show (`sldbench.submission.hidden_constants`), and, for a law
        that names its constants (`sldbench.laws.read_law`), ``metadata["constants"]``: per group,
        the constants fitted on train, by name, in natural units.
    """
    train = load_split(spec, "train", data_dir)
    test = load_split(spec, "test", data_dir)
    result = await fit_and_predict(sandbox, program, train, test, timeout, shape)
    score = score_run(result, test, source)
    law = read_law(program)
    if result.ok:  # the law in words, beside the expert law's published score
        from .laws.expert import PUBLISHED_R2

        formula = law.describe(spec.features, spec.targets) if law is not None else ""
        expert = PUBLISHED_R2.get(spec.name) if not spec.is_custom else None
        score.explanation += ("\nlaw: " + formula.replace("\n", "; ") if formula else "") + (
            f"\nexpert law ({spec.name}, published constants): held-out R^2 {expert:.3f}" if expert is not None else ""
        )
    # the law that earned the score, readable and re-scorable after the sandbox is gone: the bytes that ran
    score.answer = program
    score.metadata = {
        **(score.metadata or {}),
        **({"constants": constants} if (constants := fitted_constants(law, spec, result)) else {}),
        "program_sha256": hashlib.sha256(program.encode("utf-8")).hexdigest(),
        "numeric_constants": len(numeric_constants(program)),
        "hidden_constants": hidden_constants(program),
    }
    return score


def fitted_constants(law: Law | None, spec, result: RunResult) -> dict[str, dict[str, float]]:
    """Per group, the constants the run fitted, by the names its program's law gives them; {} when it names none.

    The vectors are the ones the runner's supervisor checked and counted; a vector whose size
    is not the number of names (the law's program was edited) is left out.
    """
    if not (result.ok and result.params):
        return {}
    named = {group: named_constants(law, spec.targets, np.ravel(vector)) for group, vector in result.params.items()}
    return {group: {name: value for name, (value, _, _) in entries.items()} for group, entries in named.items() if entries}


@scorer(metrics={"r2": [mean(), stderr()], "r2_raw": [mean()], "nmse": [mean()], "nmae": [mean()]})
def heldout_r2(task: str | None = None, data_dir: str | None = None, timeout: float | None = None) -> Scorer:
    """Score a submission by its R^2 on the held-out test split, as the paper does.

    The submission (the stored program, else ``law.py`` of the sample's sandbox) is read
    on the host, then fitted and predicted in a sandbox made for this score
    (`sldbench.sandbox.fresh.scoring_sandbox`). A failure of the submission scores -1
    with its reason; a failure of the harness (`sldbench.sandbox.errors.HarnessError`)
    raises, so the sample errors instead of scoring.

    Parameters
    ----------
    task : str, optional
        Task name; defaults to the sample's ``metadata["task"]``.
    data_dir : str, optional
        Local data directory; defaults to the sample's ``metadata["data_dir"]``,
        then ``$SLDBENCH_DATA_DIR``, then the Hub.
    timeout : float, optional
        Wall seconds for the sandboxed run; defaults to ``metadata["score_timeout"]`` or 600.
    """

    async def score(state: TaskState, target: Target) -> Score:
        spec = get_spec(task) if task else sample_spec(state.metadata)
        sandbox = current_sandbox()
        program, shape, source = await find_submission(state, sandbox)
        explanation = await read_explanation(sandbox)
        if program is None:
            return failure_score(
                "no submission: the solver stored no program and there is no law.py "
                "in the sandbox working directory",
                kind="missing",
                **({"explain": explanation} if explanation else {}),
            )
        # the program's bytes are on the host now; it runs where nothing the solver started can reach it
        async with scoring_sandbox(sandbox) as (scoring, freshness):
            score = await score_program(
                scoring,
                program,
                spec,
                data_dir=data_dir or state.metadata.get("data_dir"),
                timeout=timeout or state.metadata.get("score_timeout", 600),
                shape=shape,
                source=source,
            )
        score.metadata = {**(score.metadata or {}), "scoring_sandbox": freshness, **({"explain": explanation} if explanation else {})}
        return score

    return score
