"""Discovery without a language model: the symbolic proposer in SLDAgent's loop, and the symbolic-regression baseline."""

import asyncio
import random
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from inspect_ai import eval as inspect_eval

from sldbench.data import load_split
from sldbench.evolution import Program, Request, TrainEvaluator, check_candidate, child_from_full_rewrite, normalized
from sldbench.laws.expression import TranslationError, translate
from sldbench.folds import extrapolation_folds
from sldbench.laws.program import INITIAL_PROGRAM, feature_transforms
from sldbench.laws.terms import read_form
from sldbench.scorer import score_program
from sldbench.solvers import sldagent, symreg
from sldbench.solvers.sldagent import SYMBOLIC_SAFETY_CAP, epoch_seed
from sldbench.specs import TASKS, get_spec
from sldbench.symbolic import LawSearch, SymbolicProposer, operon
from sldbench.symbolic.grammar import GrammarSearch
from sldbench.symbolic.proposer import OperonSettings
from sldbench.sandbox.runner import THREAD_VARS
from sldbench.symbolic.workers import IN_PROCESS, FitPool
from sldbench.symbolic.validation import group_arrays, namespace, validation_r2
from sldbench.tasks import sldbench_task

INITIAL = Program("p0000", INITIAL_PROGRAM, None, -1, 0, 0.0, 0.0, 5, len(INITIAL_PROGRAM))
NO_OPERON = OperonSettings(proposals=0)
SMALL_OPERON = OperonSettings(proposals=2, generations=20, population=100)
CLIMB_ONLY = {"operon_settings": NO_OPERON, "grammar_proposals": 0}  # hill climbing answers every iteration
SEED_ITERATIONS = 18  # on parallel: the law grammar's 12 admissible laws, Operon's 4 programs, 2 rounds of hill climbing


def request(seed, parent=INITIAL, top=(), seen=frozenset(), iteration=0):
    return Request(iteration, 0, seed, parent, list(top), [], [], seen, "system prompt", "user prompt")


def child_of(proposer, req):
    reply, usage = proposer.propose_now(req)
    assert list(usage) == ["stage"] and usage["stage"] in ("law grammar", "symbolic regression", "hill climbing")  # no tokens
    return child_from_full_rewrite(reply, req.parent.code)


@pytest.mark.parametrize("task", ["parallel", "domain_mix"])
def test_proposed_programs_pass_the_checks_evaluate_in_the_sandbox_and_respect_the_limit(task, data_dir, local_sandbox):
    spec = get_spec(task)
    train = load_split(spec, "train", data_dir)
    proposer = SymbolicProposer(train, width=4, depth=1, **CLIMB_ONLY)
    child = child_of(proposer, request(1))
    check_candidate(child, INITIAL_PROGRAM)
    result = asyncio.run(TrainEvaluator(local_sandbox, train, 120)(child))
    assert result.ok, result.error + result.detail
    assert set(result.param_counts) == set(train.groups)
    assert max(result.param_counts.values()) <= spec.param_limit
    form = read_form(child)
    assert form is not None and form.param_count == max(result.param_counts.values())
    # a child of that child: the proposer reads its own programs back
    grandchild = child_of(proposer, request(2, Program("p0001", child, "p0000", 0, 0, 0.0, 0.0, 4, len(child))))
    check_candidate(grandchild, child)
    assert read_form(grandchild) != form


@pytest.mark.parametrize("task", ["sft", "domain_mix"])
def test_the_first_proposals_are_operon_programs_that_pass_the_checks_and_evaluate(task, data_dir, local_sandbox):
    spec = get_spec(task)
    train = load_split(spec, "train", data_dir)
    proposer = SymbolicProposer(train, seed=3, operon_settings=SMALL_OPERON, grammar_proposals=0)
    first = child_of(proposer, request(1, iteration=0))
    second = child_of(proposer, request(1, iteration=1, seen=frozenset({normalized(first)})))  # as the loop asks: the first was evaluated
    assert "Operon" in first and "Operon" in second and first != second
    assert read_form(first) is None  # not a law-search form: a later child of it starts from the initial family
    evaluate = TrainEvaluator(local_sandbox, train, 120)
    for child in (first, second):
        check_candidate(child, INITIAL_PROGRAM)
        result = asyncio.run(evaluate(child))
        assert result.ok, result.error + result.detail
        assert set(result.param_counts) == set(train.groups)
        assert max(result.param_counts.values()) <= spec.param_limit
    # the same seed gives the same programs, proposed in the event loop as the search asks; the guard rails'
    # fits run in a thread, never in the event loop's (which the sandboxed evaluations in flight share)
    again = SymbolicProposer(train, seed=3, operon_settings=SMALL_OPERON, grammar_proposals=0)
    again.pool = fits = ThreadsOfFits(again.pool)

    async def propose_in_the_loop():
        return threading.get_ident(), await again.propose(request(1, iteration=0))

    loop_thread, (reply, _) = asyncio.run(propose_in_the_loop())
    assert child_from_full_rewrite(reply, INITIAL_PROGRAM) == first
    assert fits.threads and loop_thread not in fits.threads
    # past the Operon proposals, law search answers
    assert read_form(child_of(proposer, request(1, iteration=2))) is not None


class ThreadsOfFits:
    """A fit pool that notes the threads its fits are asked for from."""

    def __init__(self, pool):
        self.pool, self.threads = pool, set()

    def map(self, *arguments):
        self.threads.add(threading.get_ident())
        return self.pool.map(*arguments)

    def close(self):
        self.pool.close()


def test_every_move_stays_within_the_parameter_limit_on_every_task(data_dir):
    for name, spec in TASKS.items():
        search = LawSearch(load_split(spec, "train", data_dir))
        form = search.initial_form()
        assert search.allowed(form), name
        for kind, forms in search.moves(form, []).items():
            for candidate in forms:
                assert search.allowed(candidate), (name, kind, candidate)
                if spec.param_limit is not None:
                    assert candidate.param_count <= spec.param_limit


def test_same_seed_same_program_and_another_seed_explores(data_dir):
    train = load_split(get_spec("moe"), "train", data_dir)
    first = SymbolicProposer(train, width=4, depth=2, **CLIMB_ONLY).propose_now(request(7))
    again = SymbolicProposer(train, width=4, depth=2, **CLIMB_ONLY).propose_now(request(7))
    assert first == again
    others = {SymbolicProposer(train, width=4, depth=2, **CLIMB_ONLY).propose_now(request(seed))[0] for seed in (8, 9, 10)}
    assert len(others | {first[0]}) > 1


def test_the_proposer_avoids_programs_already_evaluated(data_dir):
    train = load_split(get_spec("parallel"), "train", data_dir)
    proposer = SymbolicProposer(train, width=6, depth=1, **CLIMB_ONLY)
    first = child_of(proposer, request(3))
    second = child_of(proposer, request(3, seen=frozenset({normalized(first)})))
    assert normalized(second) != normalized(first)


def test_worker_processes_fit_what_one_process_fits(data_dir):
    """The grammar's ranking, a climb and the guard rails' verdicts, fitted in two worker processes and in this
    one: the same laws, scores and verdicts (each fit is a pure function of its law and the split)."""
    train = load_split(get_spec("moe"), "train", data_dir)
    pool = FitPool(train, "a note", "a grammar note", processes=2)
    try:
        ranked, climbs, verdicts = {}, {}, {}
        for where, fits in (("workers", pool), ("here", IN_PROCESS)):
            grammar, search = GrammarSearch(train, "a grammar note", fits), LawSearch(train, "a note", fits)
            ranked[where] = grammar.run()
            climbs[where] = search.climb(search.initial_form(), random.Random(5), [], width=4, depth=2)
            verdicts[where] = fits.map(GrammarSearch.vet, grammar, [c.code for c in ranked[where][:6]] + [INITIAL_PROGRAM])
        workers = [w.process for w in pool._workers]
        assert all(w.poll() is None for w in workers)  # they did the work and are still up
        for worker in workers:  # one BLAS thread each: BLAS threads of their own would spin against the other workers'
            environ = dict(item.split("=", 1) for item in Path(f"/proc/{worker.pid}/environ").read_text().split("\0") if "=" in item)
            assert {name: environ.get(name) for name in THREAD_VARS} == dict.fromkeys(THREAD_VARS, "1")
    finally:
        pool.close()
    assert all(w.poll() is not None for w in workers)  # closing stops them
    assert repr(ranked["workers"]) == repr(ranked["here"]) and len(ranked["here"]) > 10
    assert climbs["workers"] == climbs["here"] and len(climbs["here"]) > 4
    assert verdicts["workers"] == verdicts["here"] and verdicts["here"][0] == ("", [])


def test_a_worker_that_dies_leaves_the_fits_to_the_proposer_with_the_same_results(data_dir, capfd):
    train = load_split(get_spec("moe"), "train", data_dir)
    search = LawSearch(train, "a note")
    forms = [form for forms in search.moves(search.initial_form(), []).values() for form in forms][:6]
    pool = FitPool(train, "a note", "a grammar note", processes=2)
    try:
        pool._workers[0].process.kill()  # as the kernel's OOM killer would
        assert LawSearch(train, "a note", pool).score_all(forms) == search.score_all(forms)
        assert "worker process" in capfd.readouterr().err  # said once, on stderr
        assert LawSearch(train, "a note", pool).score_all(forms[:2]) == search.score_all(forms[:2])  # and it goes on
    finally:
        pool.close()


@pytest.mark.slow
def test_a_script_that_searches_at_its_top_level_runs_once(tmp_path, data_dir):
    """The workers are not `multiprocessing`'s: a script without an ``if __name__ == "__main__":`` guard is not
    imported again in each of them, and gets the law its own process finds."""
    script = tmp_path / "search.py"
    script.write_text(
        "from sldbench.data import load_split\n"
        "from sldbench.specs import get_spec\n"
        "from sldbench.symbolic.grammar import GrammarSearch\n"
        "from sldbench.symbolic.workers import FitPool\n"
        "print('top level')\n"
        f"train = load_split(get_spec('moe'), 'train', {str(data_dir)!r})\n"
        "pool = FitPool(train, 'a note', 'a grammar note', processes=2)\n"
        "print(GrammarSearch(train, 'a grammar note', pool).run()[0].code)\n"
        "pool.close()\n"
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0 and "warning" not in done.stderr, done.stderr
    here = GrammarSearch(load_split(get_spec("moe"), "train", data_dir), "a grammar note").run()[0].code
    assert done.stdout.count("top level") == 1 and done.stdout.split("\n", 1)[1].strip() == here.strip()


def _eval(tmp_path, task, solver, data_dir, **kwargs):
    (log,) = inspect_eval(sldbench_task(task, data_dir=str(data_dir)), solver=solver, model="none", log_dir=str(tmp_path / "logs"), display="none", **kwargs)
    assert log.status == "success", log.error
    return log.samples[0]


@pytest.mark.slow
def test_symbolic_sldagent_through_inspect_beats_the_initial_program(tmp_path, data_dir, local_sandbox):
    sample = _eval(tmp_path, "moe", sldagent(proposer="symbolic", iterations=4, parallel=2, seed=5), data_dir)
    meta = sample.metadata["sldagent"]
    assert meta["proposer"] == "symbolic" and meta["fitness"] == "extrapolation" and meta["iterations_run"] == 4
    assert meta["time_budget"] == SYMBOLIC_SAFETY_CAP and not meta["stopped_by_time_budget"]  # a safety net that did not bind
    assert meta["selection"]["chosen"] == meta["best"]["id"] and len(meta["selection"]["chosen_folds"]) >= 2
    assert meta["accepted"] >= 1 and meta["best"]["id"] != "p0000"
    assert meta["usage"]["total_tokens"] == 0
    score = sample.scores["heldout_r2"].value
    initial = asyncio.run(score_program(local_sandbox, INITIAL_PROGRAM, get_spec("moe"), data_dir)).value
    assert score["r2"] > initial["r2"] + 0.5, (score, initial)
    submitted = sample.store["sldbench:program"]
    assert "FAMILY = " in submitted or read_form(submitted) is not None or "Operon" in submitted  # grammar, law search or Operon


@pytest.mark.slow
def test_time_budget_stops_the_loop_early_and_still_submits(tmp_path, data_dir):
    sample = _eval(tmp_path, "parallel", sldagent(proposer="symbolic", iterations=50, parallel=1, time_budget=0.01), data_dir)
    meta = sample.metadata["sldagent"]
    assert meta["stopped_by_time_budget"] and meta["iterations_run"] < 50
    assert sample.scores["heldout_r2"].value["r2"] > -1


@pytest.mark.slow
def test_symreg_end_to_end(tmp_path, data_dir):
    sample = _eval(tmp_path, "parallel", symreg(generations=20, population=200, seed=3), data_dir)
    meta = sample.metadata["symreg"]
    assert meta["param_count"] <= get_spec("parallel").param_limit
    assert meta["candidates_scored"] >= 2
    assert sample.scores["heldout_r2"].value["r2"] > 0.9


def test_operon_expressions_become_numpy_with_parameters():
    expression = translate("(1.5 + ((-2.0) * exp((0.25 * X2)))) ^ X1", ("log", "raw"), ["N", "lr"])
    assert expression.start == (1.5, -2.0, 0.25)
    # the law a person reads: the features by name (a positive one as its log, as Operon saw it), constants named
    assert expression.formula == "(c1 + c2*exp(c3*lr))^log(N)"
    # numbers that sympy merges are one constant: 2 * (0.5 * x) has one, and an unknown name is refused
    assert translate("2.0 * (0.5 * X1)", ("raw",), ["x"]).start == (1.0,)
    with pytest.raises(TranslationError, match="unknown name 'open'"):
        translate("open(X1)", ("raw",))
    # Operon writes numbers in scientific notation; one that is not finite makes the expression unusable
    assert translate("1.5e-05 * X1 + 2.0E+3", ("raw",), ["x"]).formula == "c1 + c2*x"
    with pytest.raises(TranslationError, match="not finite"):
        translate("1e400 * X1", ("raw",))
    X = np.array([[np.e, 2.0]])
    p = np.array(expression.start)
    value = eval(expression.source, {"np": np, "X": X, "p": p})  # noqa: S307 - the translated test expression
    assert value[0] == pytest.approx((1.5 - 2.0 * np.exp(0.25 * 2.0)) ** 1.0)


@pytest.mark.parametrize("task", ["parallel", "domain_mix"])
def test_an_operon_program_scores_as_its_folds_score_it(task, data_dir):
    """A one-target program's score is read from `rank_fronts` instead of fitted again: it must be the number the
    folds give that program; a program of several targets is fitted whole."""
    train = load_split(get_spec(task), "train", data_dir)
    features, targets = list(train.spec.features), list(train.spec.targets)
    transforms = feature_transforms(train.frame[features].to_numpy(dtype=float))
    infixes = ["(1.0 + (0.1 * X1))", "(1.0 + (0.1 * X2))"]
    fronts = [[translate(infix, transforms, features) for infix in infixes] for _ in targets]
    ranked, events = operon.rank_fronts(LawSearch(train), fronts, "a note")
    assert len(events) == 2 * len(targets) and all(r[0].score >= r[1].score for r in ranked)
    fit, holdout = (group_arrays(split) for split in extrapolation_folds(train))
    for k in range(2):
        choice = [expressions[k] for expressions in ranked]
        code = operon.front_program(train, choice, "a note")
        assert operon.front_score(choice, code, fit, holdout) == validation_r2(namespace(code), fit, holdout)


@pytest.mark.slow
def test_search_never_reads_the_test_split(tmp_path, data_dir):
    """Both solvers run (without the scorer) on a fresh copy of the data; no test.csv is opened meanwhile."""
    copy = tmp_path / "data"
    for task in ("moe", "u_shape"):
        config = get_spec(task).config
        shutil.copytree(data_dir / config, copy / config)
    opened = []

    def audit(event, args):
        if event == "open" and str(args[0]).startswith(str(copy)) and str(args[0]).endswith("test.csv"):
            opened.append(str(args[0]))

    sys.addaudithook(audit)
    for task, solver in (("moe", sldagent(proposer="symbolic", iterations=2, parallel=2)), ("u_shape", symreg(generations=5, population=50))):
        (log,) = inspect_eval(sldbench_task(task, data_dir=str(copy)), solver=solver, model="none", log_dir=str(tmp_path / "logs"), display="none", score=False)
        assert log.status == "success", log.error
    assert opened == []
    # the hook does see a read of the test split
    load_split(get_spec("moe"), "test", copy)
    assert opened == [str(copy / get_spec("moe").config / "test.csv")]


@pytest.mark.slow
def test_a_seed_gives_the_same_law_on_an_idle_and_a_loaded_machine(tmp_path, data_dir):
    """Budgets are counts: a CPU-bound neighbour slows the run down but changes nothing it finds, at any
    stage of the proposer (law grammar, Operon, hill climbing)."""
    solver = lambda: sldagent(proposer="symbolic", iterations=SEED_ITERATIONS, parallel=2, seed=11)  # noqa: E731
    idle = _eval(tmp_path / "idle", "parallel", solver(), data_dir)
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        loaded = _eval(tmp_path / "loaded", "parallel", solver(), data_dir)
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()
    stages = [[e.data["stage"] for e in sample.events if e.event == "info" and "stage" in (e.data or {})] for sample in (idle, loaded)]
    assert stages[0] == stages[1] and {"law grammar", "symbolic regression", "hill climbing"} <= set(stages[0]), stages
    assert loaded.store["sldbench:program"] == idle.store["sldbench:program"]
    assert loaded.scores["heldout_r2"].value == idle.scores["heldout_r2"].value
    for sample in (idle, loaded):
        assert not sample.metadata["sldagent"]["stopped_by_time_budget"]


def test_each_epoch_is_an_independent_run_with_its_own_seed():
    assert epoch_seed(42, 1) == 42  # the first epoch keeps the seed given
    seeds = {epoch_seed(42, epoch) for epoch in range(1, 6)}
    assert len(seeds) == 5 and epoch_seed(42, 3) == epoch_seed(42, 3) != epoch_seed(43, 3)
