"""The prompts a model proposer reads: the system prompt (task, rules, limits) and each iteration's user prompt."""

from __future__ import annotations

from ..data import Split
from .database import Attempt, Program


def column_statistics(train: Split) -> str:
    """Per-column range, mean and variance of the train split, as a Markdown table."""
    lines = ["| column | min | max | mean | variance |", "|---|---|---|---|---|"]
    for column in train.spec.features + train.spec.targets:
        values = train.frame[column].to_numpy()
        lines.append(f"| {column} | {values.min():.6g} | {values.max():.6g} | {values.mean():.6g} | {values.var():.6g} |")
    return "\n".join(lines)


def system_prompt(train: Split, mode: str) -> str:
    spec = train.spec
    limit = (
        f"The fitted parameter vector returned by fit_scaling_law may have at most {spec.param_limit} "
        f"numbers per group (programs that exceed it are rejected)."
        if spec.param_limit
        else "There is no hard limit on the number of parameters; prefer few."
    )
    reply = (
        "Reply with the complete new program in one ```python block (keep the EVOLVE-BLOCK markers)."
        if mode == "full"
        else "Reply with one or more edits, each as\n<<<<<<< SEARCH\n(exact lines of the current program)\n=======\n(new lines)\n>>>>>>> REPLACE"
    )
    return (
        "You are an expert in scaling laws and numerical optimisation. You improve a Python program "
        "that models how a training outcome scales, so that it extrapolates to larger-scale held-out runs.\n\n"
        "The program must keep two functions with these signatures:\n"
        f"  scaling_law_func(data_points, params) -> predictions; data_points is an (N, {len(spec.features)}) "
        f"array with columns {', '.join(spec.features)}; predictions have shape (N,)"
        + (f" or (N, {len(spec.targets)})" if len(spec.targets) > 1 else "")
        + f" for {', '.join(spec.targets)}.\n"
        "  fit_scaling_law(data_points, loss_values) -> params, fitted on one group's training rows.\n"
        f"{limit}\n"
        "Write code only between the EVOLVE-BLOCK-START and EVOLVE-BLOCK-END markers. Use numpy and scipy only. "
        "scaling_law_func must be a fixed function of its inputs and params: do not use statistics of "
        "data_points (min, max, mean, median, ...) inside it (programs whose predictions change when the "
        "points are passed in smaller batches are rejected).\n\n" + reply
    )


def _program_section(title: str, program: Program) -> str:
    return f"### {title} (train R^2 = {program.fitness:.6g}, {program.param_count} parameters per group)\n```python\n{program.code}\n```"


def user_prompt(
    context: str, train: Split, iteration: int, total: int, island: int, parent: Program, top: list[Program], diverse: list[Program], recent: list[Attempt]
) -> str:
    parts = [
        f"Iteration {iteration + 1} of {total} (island {island}).",
        "## Task\n" + context.strip(),
        "## Training data statistics\n" + column_statistics(train),
        "## Current program\n" + _program_section("Parent " + parent.id, parent),
    ]
    if top:
        parts.append("## Best programs so far\n" + "\n\n".join(_program_section(p.id, p) for p in top))
    if diverse:
        parts.append("## Different approaches\n" + "\n\n".join(_program_section(p.id, p) for p in diverse))
    if recent:
        rows = [
            f"- iteration {a.iteration + 1}, parent {a.parent}: "
            + (f"accepted as {a.child}, train R^2 {a.fitness:.6g}" if a.outcome == "accepted" else f"{a.outcome}: {a.reason}")
            for a in recent
        ]
        parts.append("## Recent attempts\n" + "\n".join(rows))
    parts.append("Propose an improved program: a better functional form and/or a more robust fitting routine.")
    return "\n\n".join(parts)
