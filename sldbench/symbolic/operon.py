"""Plain symbolic regression with Operon (the ``pyoperon`` package), as programs the scorer runs.

Operon runs NSGA-II over expressions (objectives: R^2 and length) on the train
rows of all groups pooled, one target at a time, with the same feature
transforms as the law search (``log x`` for positive features that span a
range). Every expression of its Pareto front becomes a program whose numeric
constants are the parameters, refitted per group by multi-start least squares
(`sldbench.laws.fitters.fit_least_squares`, copied verbatim) from Operon's values.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from ..data import Split
from ..laws.expression import Expression, TranslationError, program, translate
from ..laws.program import feature_transforms
from .search import LawSearch
from .validation import namespace, validation_r2

SYMBOLS = "add,sub,mul,div,constant,variable,exp,log,pow"


class EngineError(RuntimeError):
    """Operon is missing or gave an expression this module cannot translate."""


@dataclass(frozen=True)
class Ranked:
    """An expression of one target's front and its score on the extrapolation folds (`rank_fronts`)."""

    expression: Expression
    score: float


def pareto_front(X: np.ndarray, y: np.ndarray, transforms: tuple[str, ...], seed: int, generations: int, population: int, max_length: int, max_time: float | None) -> list[str]:
    """Operon's Pareto front (R^2 vs length) for one target, as Operon's infix strings (see `translate`).

    Raises
    ------
    EngineError
        When ``pyoperon`` is not installed.
    """
    try:
        from pyoperon.sklearn import SymbolicRegressor
    except ImportError as err:
        raise EngineError("symbolic regression needs the pyoperon package (pip install pyoperon)") from err
    Z = np.column_stack([np.log(X[:, f]) if t == "log" else X[:, f] for f, t in enumerate(transforms)])
    regressor = SymbolicRegressor(
        allowed_symbols=SYMBOLS,
        objectives=["r2", "length"],
        max_length=max_length,
        generations=generations,
        population_size=population,
        max_evaluations=generations * population * 4,
        optimizer_iterations=10,
        n_threads=1,  # one thread: the same front for the same seed
        random_state=seed,
        max_time=int(max_time) if max_time else None,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # Operon's extension computes in float32 only.
        regressor.fit(Z.astype(np.float32), np.asarray(y, dtype=np.float32))
    return [model["model"] for model in regressor.pareto_front_]


def search_fronts(train: Split, seed: int, generations: int, population: int, max_length: int, time_budget: float | None = None) -> list[list[str]]:
    """Operon's Pareto front of every target on the pooled train rows, as infix strings.

    Parses nothing, so it may run in a worker thread (turn the strings into
    expressions with `translate` in the event loop's thread).

    Parameters
    ----------
    train : Split
        The only rows Operon sees.
    seed, generations, population, max_length
        As in `pareto_front`.
    time_budget : float, optional
        Seconds of search for the task, shared by the targets.

    Returns
    -------
    list of list of str
        One front per target of ``train.spec.targets``.
    """
    names = list(train.spec.features)
    X = train.frame[names].to_numpy(dtype=float)
    transforms = feature_transforms(X)
    budget = time_budget / len(train.spec.targets) if time_budget else None
    return [
        pareto_front(X, train.frame[t].to_numpy(dtype=float), transforms, seed, generations, population, max_length, budget) for t in train.spec.targets
    ]


def translate_fronts(train: Split, infixes: list[list[str]]) -> list[list[Expression]]:
    """`translate` every expression of `search_fronts`, dropping repeats (parses: the event loop's thread only)."""
    transforms = feature_transforms(train.frame[list(train.spec.features)].to_numpy(dtype=float))
    fronts, problems = [], []
    for front in infixes:
        translated = []
        for infix in front:
            try:
                translated.append(translate(infix, transforms, train.spec.features))
            except TranslationError as err:  # one expression we cannot use: the rest of the front can still serve
                problems.append(str(err))
        if not translated:
            raise EngineError(f"no expression of Operon's front could be used; the first problem: {problems[0] if problems else 'an empty front'}")
        fronts.append(unique(translated))
    return fronts


def rank_fronts(search: LawSearch, fronts: list[list[Expression]], note: str = "") -> tuple[list[list[Ranked]], list[dict]]:
    """Per target, the front's expressions within the parameter limit, best on the extrapolation folds first.

    The pooled R^2 is one minus the mean of the targets' NMSE, so each target's
    expressions are ranked on their own: the held-out R^2 of the largest-scale
    train rows (`sldbench.folds.extrapolation_folds`), fitted per group on the rest; ties go to
    fewer constants. The task's parameter limit is shared equally by the targets.

    Parameters
    ----------
    search : LawSearch
        The law search of the train split: its extrapolation folds score the expressions, side by
        side in its pool.
    fronts : list of list of Expression
        One front per target (`translate_fronts`).
    note : str
        A line for the programs' docstrings.

    Returns
    -------
    (ranked, events)
        ``ranked[t]``: target t's expressions with their scores, best first; ``events``: one
        dict per expression scored (target, expression, extrapolation_r2).

    Raises
    ------
    EngineError
        When no expression of some target fits within the parameter limit.
    """
    spec = search.train.spec
    targets, limit = list(spec.targets), spec.param_limit
    share = None if limit is None else limit // len(targets)
    fronts = [[e for e in front if share is None or len(e.start) <= share] for front in fronts]
    if not all(fronts):
        raise EngineError(f"symbolic regression found no expression within the parameter limit ({limit}) for every target of {spec.name}")
    scores = iter(search.pool.map(expression_score, search, [(t, e, note) for t, front in enumerate(fronts) for e in front]))
    ranked, events = [], []
    for t, front in enumerate(fronts):
        scored = []
        for expression in front:
            score = next(scores)
            scored.append((score, -len(expression.start), expression))
            events.append({"target": targets[t], "expression": expression.infix, "extrapolation_r2": score})
        scored.sort(key=lambda item: item[:2], reverse=True)
        ranked.append([Ranked(expression, score) for score, _, expression in scored])
    return ranked, events


def expression_score(search: LawSearch, job: tuple[int, Expression, str]) -> float:
    """The validation score of one target's expression (``job``: the target's index, the expression, the note)
    on ``search``'s extrapolation folds: its program for that target alone, fitted per pseudo-group."""
    t, expression, note = job
    spec = search.train.spec
    fit = {g: (x, y[:, [t]]) for g, (x, y) in search.fit_rows.items()}
    holdout = {g: (x, y[:, [t]]) for g, (x, y) in search.holdout_rows.items()}
    return validation_r2(namespace(program([expression], list(spec.features), [spec.targets[t]], note)), fit, holdout)


def front_program(train: Split, choice: list[Ranked], note: str = "") -> str:
    """The program of one ranked expression per target (``choice``, in ``train.spec.targets``' order)."""
    return program([r.expression for r in choice], list(train.spec.features), list(train.spec.targets), note)


def front_score(choice: list[Ranked], code: str, fit: dict, holdout: dict) -> float:
    """The score on the extrapolation folds of ``code``, the `front_program` of ``choice``.

    One target's program is the one `rank_fronts` scored (same code, same folds), so its
    score is read from there; a program of several targets is fitted on the folds.

    Parameters
    ----------
    choice : list of Ranked
    code : str
        ``front_program(train, choice, note)`` with the note `rank_fronts` was given.
    fit, holdout : dict
        `group_arrays` of the two splits of `sldbench.folds.extrapolation_folds` of the train split.

    Returns
    -------
    float
        As `sldbench.symbolic.validation.validation_r2`.
    """
    return choice[0].score if len(choice) == 1 else validation_r2(namespace(code), fit, holdout)


def unique(expressions: list[Expression]) -> list[Expression]:
    """Expressions with distinct numpy source, in order."""
    seen: set[str] = set()
    return [e for e in expressions if not (e.source in seen or seen.add(e.source))]
