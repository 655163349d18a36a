"""`sldbench/sldagent` (also `--solver sldagent`): evolve a law and its fitting routine with any Inspect model.

The defaults are the paper's configuration: 50 iterations, 5 islands, population
100, archive 50, migration every 25 iterations at rate 0.1, parent choice
0.7 / 0.2 / 0.1, MAP-Elites over (score, complexity, diversity) with 10 bins,
3 top and 2 diverse programs in the prompt, full rewrites, 4 candidates in
flight, 600 s evaluation timeout. Fitness is R^2 on the TRAIN split; the best
program is the submission, scored on the held-out split by the task's scorer.

`sldbench/best_of_n` spends the same budget on independent proposals from the
initial program (no evolution), to show whether evolution helps.

``proposer=symbolic`` replaces the model by law search (no language model, no API
key): the first children are the law grammar's families, then Operon's
expressions, then the best of a few rounds of law-shaped moves from the
parent's form, all fitted in this process on the train split
(`sldbench.symbolic`). Its fitness is then the mean clipped R^2 of test-shaped
validation folds of the train split (``fitness=extrapolation``,
`sldbench.folds`), and the submission is the simplest program within one
standard error of the best (`sldbench.folds.select`), an Operon
expression only when no structured law comes that close, so the loop
prefers laws that extrapolate; the test split is only ever read by the scorer.
The run is bounded by counts (iterations, candidates), so a seed gives the same
law on any machine; ``time_budget`` is a safety net whose use the log records.
Epoch k > 1 of ``--epochs`` runs with its own seed, derived from ``seed`` and k.
"""

from __future__ import annotations

import random
import sys
import time
from dataclasses import asdict, dataclass, replace
from typing import Callable

from inspect_ai.log import transcript
from inspect_ai.model import ChatMessageSystem, ChatMessageUser, get_model
from inspect_ai.solver import Generate, Solver, TaskState, solver
from inspect_ai.util import sandbox as current_sandbox

from sldbench.data import Split, load_split
from sldbench.evolution import Search, Settings, TextProposer, TrainEvaluator, normalized
from sldbench.folds import extrapolation_folds, fold_score, nearest_fold, search_rows, select, within_one_standard_error
from sldbench.evolution.controller import HARNESS_FAILURE
from sldbench.specs import sample_spec
from sldbench.submission import store_program
from sldbench.symbolic import SymbolicProposer

# A safety net only: the symbolic run is bounded by counts and ends long before it on a 2-core machine.
SYMBOLIC_SAFETY_CAP = 3600.0
# The symbolic proposer's default budget: the law grammar's 16 best, Operon's 4, then 12 rounds of hill
# climbing (each fits its candidates on every fold: minutes on the larger tasks, so fewer than a model's 50).
SYMBOLIC_ITERATIONS = 32
MODEL_ITERATIONS = 50
FITNESS = ("train", "extrapolation")


def epoch_seed(seed: int, epoch: int) -> int:
    """The seed of one epoch: ``seed`` itself for the first, else one derived from (seed, epoch), so epochs are independent runs."""
    return seed if epoch <= 1 else random.Random(f"{seed}:epoch:{epoch}").getrandbits(31)


def choose_submission(
    db, vetted: dict[str, bool] | None, fallback: set[str] = frozenset(), nearest: int | None = None
) -> tuple[object, dict]:
    """The submitted program and how it was chosen.

    With per-fold validation scores (``fitness=extrapolation``): the one-standard-error
    rule over the programs within the parameter limit (`sldbench.folds.select`; ``nearest``:
    the fold nearest the test, `sldbench.folds.nearest_fold`). ``vetted`` (the symbolic
    proposer's: `normalized` code -> whether the law responds to every feature) narrows
    the pool to the programs that passed its guard rails and, unless a law that ignores
    a feature is clearly better (no law using every feature within one standard error of
    it), to those that use every feature the task gives. ``fallback`` (the symbolic
    proposer's Operon programs, as `normalized` code) are expressions with no structure
    imposed: one is submitted only when no other program comes within one standard error
    of it, the laws of the grammar and the law search coming first (`_preferred`).
    Otherwise the best by fitness, as the paper's SLDAgent submits.
    """
    best = db.best()
    limit = db.param_limit
    pool = [p for p in db.programs.values() if p.folds and (limit is None or p.param_count <= limit)]
    if vetted:
        pool = [p for p in pool if normalized(p.code) in vetted] or pool
    if not pool:
        return best, {"rule": "best fitness", "chosen": best.id}
    rank = lambda programs: select(programs, folds=lambda p: p.folds, size=lambda p: (p.param_count, p.complexity), nearest=nearest)  # noqa: E731
    ranked = rank(pool)
    if not ranked:
        return best, {"rule": "best fitness", "chosen": best.id}
    if vetted:
        ranked, _ = _preferred(ranked, rank([p for p in ranked if vetted.get(normalized(p.code))]), nearest)
    ranked, structured = _preferred(ranked, rank([p for p in ranked if normalized(p.code) not in fallback]), nearest)
    used_fallback = not structured
    chosen, top = ranked[0], _leader(ranked)
    return chosen, {
        "rule": "one standard error: the simplest program (parameters, then length) within one standard error of the best mean fold R^2"
        + ("" if nearest is None else " and, of those, of the highest R^2 on the fold nearest the test")
        + " and of the highest worst fold"
        + ("" if not vetted else "; a law that ignores a feature only when no law of every feature is within one standard error of it")
        + ("" if not fallback else "; a symbolic-regression expression only when no structured law is within one standard error of it"),
        "chosen": chosen.id,
        "chosen_folds": chosen.folds,
        "best_by_score": top.id,
        "best_folds": top.folds,
        "candidates": len(pool),
        **({"fallback_programs": len([p for p in pool if normalized(p.code) in fallback]), "fallback_used": used_fallback} if fallback else {}),
    }


def _leader(programs: list):
    return max(programs, key=lambda p: fold_score(p.folds))


def _preferred(ranked: list, preferred: list, nearest: int | None) -> tuple[list, bool]:
    """``(preferred, True)`` when the best of ``preferred`` is within one standard error of the best of ``ranked``, else ``(ranked, False)``.

    A kind of law that comes first (one using every feature, a structured law before a
    symbolic-regression expression) yields to the others only when one of them is clearly better.
    """
    if preferred and within_one_standard_error(_leader(ranked).folds, _leader(preferred).folds, nearest):
        return preferred, True
    return ranked, False


class ModelProposer(TextProposer):
    """The proposer of the Inspect model of role ``role``: it writes from the prompts alone.

    It has the symbolic proposer's interface for the solver (`recall`, `close`, ``vetted``,
    ``fallback``), with nothing behind it: the model's programs are judged by their evaluation alone.
    """

    vetted: dict[str, bool] | None = None
    fallback: frozenset[str] = frozenset()

    def __init__(self, role: str) -> None:
        model = get_model(role=role)

        async def ask(system: str, user: str) -> tuple[str, dict]:
            output = await model.generate([ChatMessageSystem(content=system), ChatMessageUser(content=user)])
            return output.completion, (output.usage.model_dump() if output.usage else {})

        super().__init__(ask)

    async def recall(self, programs) -> None:
        """Nothing to vet again in a resumed search's programs."""

    def close(self) -> None:
        """Nothing to stop."""


@dataclass(frozen=True)
class ProposerKind:
    """What differs between the proposers a run can use: their defaults, and how one is made for a run."""

    iterations: int
    fitness: str
    time_budget: float | None  # the safety net when the run gives none
    modes: tuple[str, ...]
    make: Callable[[Split, Settings, str], object]  # (train rows, settings, model role) -> the proposer


PROPOSERS = {
    "model": ProposerKind(MODEL_ITERATIONS, "train", None, ("full", "diff"), lambda train, settings, role: ModelProposer(role)),
    "symbolic": ProposerKind(
        SYMBOLIC_ITERATIONS, "extrapolation", SYMBOLIC_SAFETY_CAP, ("full",), lambda train, settings, role: SymbolicProposer(train, seed=settings.seed)
    ),
}


def proposer_kind(name: str) -> ProposerKind:
    """The `ProposerKind` called ``name``; ValueError naming the choices for any other."""
    if name not in PROPOSERS:
        raise ValueError(f"proposer must be one of {', '.join(PROPOSERS)}, got {name!r}")
    return PROPOSERS[name]


def progress_bar(total: int):
    """A ``log`` hook printing the search's progress on one line of stderr (for ``sldbench discover``), with the
    time left at the pace so far (a guide only: the budget is a count of proposals, not seconds) and the
    stage the last proposal came from (law grammar, symbolic regression, hill climbing)."""
    started = time.monotonic()

    def show(event: dict) -> None:
        if "best_fitness" not in event or not isinstance(event.get("iteration"), int):
            return
        done, width = min(event["iteration"], total), 30
        filled = width * done // max(total, 1)
        best = event["best_fitness"]
        elapsed = time.monotonic() - started
        left = f"  about {_duration(elapsed / done * (total - done))} left" if 0 < done < total else f"  {_duration(elapsed)}" if done else ""
        stage = f"  ({event['stage']})" if event.get("stage") and done < total else ""
        line = f"  search [{'#' * filled}{'.' * (width - filled)}] {done}/{total}  best validation R^2 {best:.4f}{left}{stage}"
        sys.stderr.write("\r" + line.ljust(110))  # padded: a shorter line overwrites a longer one
        if done >= total:
            sys.stderr.write("\n  choosing the law to submit, then scoring it on the held-out rows ...\n")
        sys.stderr.flush()

    return show


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def _evolution_solver(
    settings: Settings, checkpoint: str | None, role: str, proposer: str, fitness: str | None, time_budget: float | None, progress: bool = False
) -> Solver:
    kind = proposer_kind(proposer)
    fitness = fitness or kind.fitness
    if fitness not in FITNESS:
        raise ValueError(f"fitness must be one of {', '.join(FITNESS)}, got {fitness!r}")
    if settings.mode not in kind.modes:
        raise ValueError(f"proposer={proposer} writes with mode {' or '.join(kind.modes)}, got mode={settings.mode}")
    time_budget = kind.time_budget if time_budget is None else time_budget
    base_settings = settings

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        settings = replace(base_settings, seed=epoch_seed(base_settings.seed, state.epoch))
        spec = sample_spec(state.metadata)
        every_row = load_split(spec, "train", state.metadata.get("data_dir"))
        train = search_rows(every_row)  # the submitted law is scored on every row; the search fits on at most SEARCH_ROWS
        path = checkpoint.format(task=spec.name, epoch=state.epoch) if checkpoint else None
        shown = progress_bar(settings.iterations) if progress else None
        if progress and len(train.frame) < len(every_row.frame):
            print(
                f"  the search fits its candidates on {len(train.frame)} of the {len(every_row.frame)} train rows, "
                "evenly along the scale; the law it finds is fitted and scored on every row", file=sys.stderr, flush=True,
            )  # fmt: skip

        def log(event: dict) -> None:
            transcript().info(event, source="sldagent")
            if shown is not None:
                shown(event)

        if fitness == "extrapolation":
            fit_rows, validation = extrapolation_folds(train)
            evaluate = TrainEvaluator(current_sandbox(), fit_rows, settings.eval_timeout, points=validation)
        else:
            validation, evaluate = train, TrainEvaluator(current_sandbox(), train, settings.eval_timeout)
        proposal = kind.make(train, settings, role)
        search = Search(
            settings,
            train,
            context=state.input_text,
            evaluate=evaluate,
            propose=proposal,
            checkpoint=path,
            log=log,
            validation=validation,
            time_budget=time_budget,
        )
        try:
            result = await search.run()
            await proposal.recall(result.database.programs.values())  # a resumed search's programs from before the checkpoint
        finally:
            await evaluate.close()
            proposal.close()
        db = result.database
        best, selection = choose_submission(db, proposal.vetted, proposal.fallback, nearest_fold(validation))
        store_program(state, best.code, shape="fit_predict")
        lineage, cursor = [], best
        while cursor is not None:
            lineage.append({"id": cursor.id, "iteration": cursor.iteration + 1, "train_r2": cursor.fitness})
            cursor = db.programs.get(cursor.parent) if cursor.parent else None
        rejected = [a for a in result.attempts if a.outcome == "rejected"]
        unjudged = [a for a in result.attempts if a.outcome == HARNESS_FAILURE]
        state.metadata["sldagent"] = {
            "settings": asdict(settings),
            "proposer": proposer,
            "fitness": fitness,
            "iterations_run": result.next_iteration,
            "time_budget": time_budget,
            "stopped_by_time_budget": result.next_iteration < settings.iterations,
            "best": {"id": best.id, "train_r2": best.fitness, "combined": best.combined, "param_count": best.param_count},
            "selection": selection,
            "trajectory": result.trajectory,
            "lineage": lineage,
            "usage": result.usage,
            "accepted": len(result.attempts) - len(rejected) - len(unjudged),
            "rejected": len(rejected),
            "harness_failures": [{"iteration": a.iteration + 1, "reason": a.reason} for a in unjudged],
            "rejections": [{"iteration": a.iteration + 1, "reason": a.reason} for a in rejected],
            "checkpoint": path,
            "search_rows": {"rows": len(train.frame), "of": len(every_row.frame)},
            "isolation": evaluate.runner.isolation,  # what every candidate ran under
        }
        return state

    return solve


@solver
def sldagent(
    iterations: int | None = None,
    islands: int = 5,
    population: int = 100,
    archive: int = 50,
    migration_interval: int = 25,
    migration_rate: float = 0.1,
    exploitation: float = 0.7,
    exploration: float = 0.2,
    feature_bins: int = 10,
    top_programs: int = 3,
    diverse_programs: int = 2,
    mode: str = "full",
    parallel: int = 4,
    eval_timeout: float = 600.0,
    seed: int = 42,
    checkpoint: str | None = None,
    role: str = "mutator",
    proposer: str = "model",
    fitness: str | None = None,
    time_budget: float | None = None,
    progress: bool = False,
    constants: str = "count",
) -> Solver:
    """SLDAgent: evolutionary search over (law, fitting routine) programs.

    Parameters
    ----------
    iterations : int, optional
        Proposals to evaluate. Default: the paper's 50 with a model, 32 with the symbolic
        proposer (16 from the law grammar, 4 from Operon, 12 rounds of hill climbing).
    islands, population, archive : int
        Island count, total population, elite archive size.
    migration_interval, migration_rate
        Ring migration every that many iterations, sending that share of each island.
    exploitation, exploration : float
        Parent choice probabilities (archive, own island); the rest is uniform over all programs.
    feature_bins : int
        MAP-Elites bins per feature (score, complexity, diversity).
    top_programs, diverse_programs : int
        Programs shown in the prompt besides the parent.
    mode : {"full", "diff"}
        Full rewrites in a ```python block, or SEARCH/REPLACE edits.
    parallel : int
        Candidates in flight (model calls overlap the previous wave's evaluation).
    eval_timeout : float
        Seconds per candidate evaluation; runaway code is killed.
    seed : int
        Seed of every random choice (epoch k > 1 uses a seed derived from it and k).
    checkpoint : str, optional
        JSON path (``{task}`` and ``{epoch}`` are filled in) written every wave; a run started
        with an existing checkpoint continues from it.
    role : str
        Model role of the proposer (falls back to the eval's model).
    proposer : {"model", "symbolic"}
        Who writes children: the model (through prompts), or law search with no model.
    fitness : {"train", "extrapolation"}, optional
        R^2 on the train split (the paper's), or R^2 of the largest-scale train rows
        held out per feature and predicted from the rest. Default: ``train`` with the
        model, ``extrapolation`` with the symbolic proposer.
    time_budget : float, optional
        Seconds after which no new proposals are asked for (the run then stops early,
        with the best program so far as the submission, and the log says so): a safety
        net, since a run cut short depends on the machine's speed. Default: none with
        the model, 3600 s with the symbolic proposer (whose run is bounded by counts).
    progress : bool
        Print the search's progress on stderr (for runs without Inspect's display).
    constants : {"count", "strict"}
        What to do with the numbers ``scaling_law_func`` predicts with that the fitted
        vector does not show (`sldbench.submission.hidden_constants`: a calibration table,
        a hand-set exponent; small integers, simple fractions, guards below 1e-6, indices
        and clamp bounds are not counted). ``count`` (default) records them in every
        attempt of the log and the score's metadata: the paper's limit is on the fitted
        vector, and an honest law may fix a constant of its form. ``strict`` adds them to
        the fitted parameters and rejects a candidate whose total exceeds the task's limit.
    """
    if iterations is None:
        iterations = proposer_kind(proposer).iterations
    settings = Settings(
        iterations, islands, population, archive, migration_interval, migration_rate, exploitation, exploration,
        feature_bins, top_programs, diverse_programs, mode, parallel, eval_timeout, seed, evolve=True, constants=constants,
    )  # fmt: skip
    return _evolution_solver(settings, checkpoint, role, proposer, fitness, time_budget, progress)


@solver
def best_of_n(
    iterations: int | None = None,
    mode: str = "full",
    parallel: int = 4,
    eval_timeout: float = 600.0,
    seed: int = 42,
    checkpoint: str | None = None,
    role: str = "mutator",
    proposer: str = "model",
    fitness: str | None = None,
    time_budget: float | None = None,
) -> Solver:
    """Baseline: ``iterations`` independent proposals from the initial program; the best on train wins.

    Same budget, prompt format, checks and evaluation as `sldagent` (see it for the
    arguments, and the default time budget of the symbolic proposer), without evolution.
    """
    if iterations is None:
        iterations = proposer_kind(proposer).iterations
    settings = Settings(iterations=iterations, mode=mode, parallel=parallel, eval_timeout=eval_timeout, seed=seed, evolve=False)
    return _evolution_solver(settings, checkpoint, role, proposer, fitness, time_budget)
