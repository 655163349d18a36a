"""From a law to a decision: `sldbench optimize` on a task whose optimum is known exactly.

The task: loss(N, lr) = 2 + 400 N^-0.3 + 0.1 (log10 lr - c(N))^2 with the best learning rate
moving with size, c(N) = -2.5 - 0.3 (log10 N - 8), so at N = 1e9 it is 10^-2.8. Train: four
sizes up to 3e8 on a learning-rate sweep; test: N = 1e9 on a sweep in steps of 0.2 decades
that holds 10^-2.8. Laws are files in both shapes, run through the real command.
"""

import json
import math
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest


def truth(n, lr, centre=None):
    centre = -2.5 - 0.3 * (np.log10(n) - 8) if centre is None else centre
    return 2 + 400 * n**-0.3 + 0.1 * (np.log10(lr) - centre) ** 2


TEST_LOG_LRS = np.round(np.arange(-3.6, -1.99, 0.2), 10)


@pytest.fixture
def task(tmp_path):
    train = [(n, lr) for n in (1e7, 3e7, 1e8, 3e8) for lr in 10 ** np.linspace(-4, -1.5, 11)]
    test = [(1e9, 10**e) for e in TEST_LOG_LRS]
    for name, rows in (("train", train), ("test", test)):
        frame = pd.DataFrame(rows, columns=["N", "lr"])
        frame["loss"] = truth(frame["N"].to_numpy(), frame["lr"].to_numpy())
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
    (tmp_path / "task.yaml").write_text(
        "name: moving_lr\ndescription: loss of models of N parameters trained at learning rate lr\n"
        "train: train.csv\ntest: test.csv\nfeatures: [N, lr]\ntargets: [loss]\nlog_features: [N, lr]\nextrapolates: [N]\n"
    )
    return tmp_path


def law_file(folder, name, centre="-2.5 - 0.3 * (math.log10(p['N']) - 8)", lr_term=None):
    """A law() file: the true law, with the optimum's centre (or the whole lr term) replaced."""
    term = lr_term or f"0.1 * (math.log10(p['lr']) - ({centre})) ** 2"
    path = folder / name
    path.write_text(f"import math\n\ndef law(input_data, group):\n    return [{{'loss': 2 + 400 * p['N'] ** -0.3 + {term}}} for p in input_data]\n")
    return path


def optimize(*args, cwd):
    return subprocess.run([sys.executable, "-m", "sldbench.cli", "optimize", *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=600)


def decided(law, task, at="N=1e9"):
    completed = optimize(law, "--task", task / "task.yaml", "--minimize", "lr", "--at", at, "--json", cwd=task)
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def test_the_true_law_finds_the_true_optimum_and_the_best_run(task):
    found = decided(law_file(task, "true.py"), task)
    assert found["optimum"]["lr"] == pytest.approx(10**-2.8, rel=1e-3)
    assert found["predicted"] == pytest.approx(2 + 400 * 1e9**-0.3, rel=1e-9)
    assert found["outside"] == {} and found["monotone"] == {}
    assert found["runs_at_point"] == len(TEST_LOG_LRS)
    assert found["nearest_run"] == found["best_run"] and found["nearest_run"]["lr"] == pytest.approx(10**-2.8)
    assert found["nearest_loss"] == found["best_loss"] == pytest.approx(truth(1e9, 10**-2.8))
    assert found["regret_percent"] == 0.0


def test_a_fitted_law_decides_from_the_train_split_alone(task):
    # a fit-and-predict law: the bowl's centre fitted as a + b log10 N on the train rows (FITTED_BOWL, below)
    path = task / "fitted.py"
    path.write_text(FITTED_BOWL)
    found = decided(path, task)
    assert found["optimum"]["lr"] == pytest.approx(10**-2.8, rel=1e-2)
    assert found["regret_percent"] == pytest.approx(0.0, abs=1e-9)


def test_a_law_whose_optimum_does_not_move_pays_its_regret(task):
    # the optimum kept at 10^-2.55 for every size: the nearest run at N = 1e9 is 10^-2.6, not the best 10^-2.8
    found = decided(law_file(task, "fixed.py", centre="-2.55"), task)
    assert found["optimum"]["lr"] == pytest.approx(10**-2.55, rel=1e-3)
    assert found["nearest_run"]["lr"] == pytest.approx(10**-2.6)
    expected = 100 * (truth(1e9, 10**-2.6) - truth(1e9, 10**-2.8)) / truth(1e9, 10**-2.8)
    assert found["regret_percent"] == pytest.approx(expected, rel=1e-9)


def test_an_optimum_outside_the_fitted_range_says_how_far(task):
    found = decided(law_file(task, "high.py", centre="-1.2"), task)
    assert found["optimum"]["lr"] == pytest.approx(10**-1.2, rel=1e-3)
    factor = 10**-1.2 / 10**-1.5
    assert found["outside"]["lr"].startswith(f"{factor:.3g}x above the largest lr the law was fitted on")


def test_a_monotone_law_has_no_optimum_rather_than_a_boundary_value(task):
    found = decided(law_file(task, "monotone.py", lr_term="0.01 * math.log10(p['lr'])"), task)
    assert found["optimum"] == {} and found["predicted"] is None
    assert "toward smaller lr" in found["monotone"]["lr"]
    text = optimize(task / "monotone.py", "--task", task / "task.yaml", "--minimize", "lr", "--at", "N=1e9", cwd=task)
    assert text.returncode == 0 and "no optimum in lr: the law keeps improving toward smaller lr" in text.stdout


def test_a_point_with_no_runs_is_decided_without_a_regret(task):
    found = decided(law_file(task, "true.py"), task, at="N=3e9")
    assert found["optimum"]["lr"] == pytest.approx(10 ** (-2.5 - 0.3 * (math.log10(3e9) - 8)), rel=1e-3)
    assert found["runs_at_point"] == 0 and found["nearest_run"] is None and found["regret_percent"] is None


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--minimize", "momentum", "--at", "N=1e9"], "--minimize: 'momentum' is not a feature of the task moving_lr; its features are N, lr"),
        (["--minimize", "lr", "--at", "N=big"], "--at: the value of N, 'big', is not a number"),
        (["--minimize", "lr", "--at", "D=1e9"], "--at: 'D' is not a feature of the task moving_lr"),
        (["--minimize", "lr", "--at", "lr=1e-3"], "--at gives lr, which --minimize optimizes"),
        (["--minimize", "lr", "--at", ""], "--at: no value for N; every feature not minimized needs one (add N=VALUE)"),
    ],
    ids=["unknown-feature", "not-a-number", "unknown-fixed-feature", "both", "missing-value"],
)  # fmt: skip
def test_bad_input_ends_with_one_line_that_names_it(task, arguments, message):
    completed = optimize(law_file(task, "true.py"), "--task", task / "task.yaml", *arguments, cwd=task)
    assert completed.returncode == 2 and completed.stdout == ""
    assert completed.stderr == f"sldbench optimize: {completed.stderr.split(': ', 1)[1]}" and completed.stderr.count("\n") == 1
    assert message in completed.stderr, completed.stderr


def test_a_law_that_fails_to_fit_ends_with_one_line_that_names_it(task):
    path = task / "broken.py"
    path.write_text("def scaling_law_func(data_points, params):\n    return data_points[:, 0]\n\ndef fit_scaling_law(data_points, loss_values):\n    raise ValueError('no convergence')\n")
    completed = optimize(path, "--task", task / "task.yaml", "--minimize", "lr", "--at", "N=1e9", cwd=task)
    assert completed.returncode == 2 and completed.stderr.count("\n") == 1
    assert "the law could not be fitted and run on the grid: exception: ValueError: no convergence" in completed.stderr
    missing = optimize(task / "nowhere.py", "--task", task / "task.yaml", "--minimize", "lr", "--at", "N=1e9", cwd=task)
    assert missing.returncode == 2 and "no file at" in missing.stderr and "nowhere.py" in missing.stderr


def test_a_logged_law_is_the_law_of_this_task_in_a_log_of_several(task, data_dir):
    # real runs of the file solver on two tasks; then one log holding both samples, the other task's first,
    # as a log of `sldbench/sldbench` holds one sample per task
    from inspect_ai import eval as inspect_eval
    from inspect_ai.log import read_eval_log, write_eval_log

    from sldbench.solvers import file as file_solver
    from sldbench.specs import load_spec_file
    from sldbench.tasks import sldbench_task

    moe_law = task / "moe_law.py"
    moe_law.write_text("def law(input_data, group):\n    return [{'loss_validation': 2.4} for _ in input_data]\n")
    logs = {}
    for name, source, law in (("moe", sldbench_task("moe", data_dir=str(data_dir)), moe_law), ("moving_lr", sldbench_task(load_spec_file(task / "task.yaml")), law_file(task, "true.py"))):
        (log,) = inspect_eval(source, solver=file_solver(path=str(law)), model="none", log_dir=str(task / f"logs-{name}"), display="none")
        assert log.status == "success", log.error
        logs[name] = read_eval_log(log.location)
    both = logs["moving_lr"]
    both.samples = logs["moe"].samples + both.samples
    write_eval_log(both, str(task / "both.eval"))
    found = decided(task / "both.eval", task)
    assert found["optimum"]["lr"] == pytest.approx(10**-2.8, rel=1e-3) and found["regret_percent"] == 0.0
    write_eval_log(logs["moe"], str(task / "moe.eval"))
    other = optimize(task / "moe.eval", "--task", task / "task.yaml", "--minimize", "lr", "--at", "N=1e9", cwd=task)
    assert other.returncode == 2 and other.stderr.count("\n") == 1
    assert "holds laws of 'moe', none of the task 'moving_lr'; give a log of a run on moving_lr or a law file" in other.stderr, other.stderr


# ------------------------------------------------------------------ sldbench select

# loss = E + A size^-alpha per (model, dataset). On d1 the curves cross: m2 is lowest at 1/16 of the
# full size (3200 of 51200) and highest at the full size, where m1 is best; on d2 the order never changes.
PAIRS = {
    ("m1", "d1"): (1.0, 10.0, 0.3), ("m2", "d1"): (1.5, 3.0, 0.3), ("m3", "d1"): (0.8, 30.0, 0.35),
    ("m1", "d2"): (2.0, 5.0, 0.3), ("m2", "d2"): (2.2, 5.0, 0.3), ("m3", "d2"): (2.4, 5.0, 0.3),
}  # fmt: skip
FULL = 51200.0


def pair_loss(pair, size):
    E, A, alpha = PAIRS[pair]
    return E + A * size**-alpha


@pytest.fixture
def pairs_task(tmp_path):
    for name, sizes in (("train", [100.0 * 2**k for k in range(9)]), ("test", [FULL])):
        rows = [(str(pair), size, pair_loss(pair, size)) for pair in PAIRS for size in sizes]
        pd.DataFrame(rows, columns=["group", "size", "loss"]).to_csv(tmp_path / f"{name}.csv", index=False)
    (tmp_path / "task.yaml").write_text(
        "name: pairs\ndescription: fine-tuned loss of models on datasets by data size\n"
        "train: train.csv\ntest: test.csv\nfeatures: [size]\ntargets: [loss]\ngroup: group\nlog_features: [size]\nextrapolates: [size]\n"
    )
    return tmp_path


def select(*args, cwd):
    return subprocess.run([sys.executable, "-m", "sldbench.cli", "select", *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=600)


def selected(law, task, *extra):
    completed = select(law, "--task", task / "task.yaml", "--json", *extra, cwd=task)
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def test_the_true_law_chooses_the_best_model_of_every_dataset(pairs_task):
    table = {str(pair): constants for pair, constants in PAIRS.items()}
    law = pairs_task / "true.py"
    law.write_text(f"TABLE = {table!r}\n\ndef law(input_data, group):\n    E, A, alpha = TABLE[group]\n    return [{{'loss': E + A * p['size'] ** -alpha}} for p in input_data]\n")
    found = selected(law, pairs_task)
    assert found["rel_acc"] == 1.0 and found["pearson"] == pytest.approx(1.0)
    assert {name: (d["chosen"], d["best"]) for name, d in found["per_dataset"].items()} == {"d1": ("m1", "m1"), "d2": ("m1", "m1")}
    assert found["per_dataset"]["d1"]["actual"]["m3"] == pytest.approx(pair_loss(("m3", "d1"), FULL))


def test_a_law_that_stops_at_the_budget_chooses_as_the_paper_scores_it(pairs_task):
    # the loss at the largest size fitted on (SubTuning in Lin et al.): on d1 it picks m2, the worst model at full size
    law = pairs_task / "last.py"
    law.write_text(
        "import numpy as np\n\ndef fit_scaling_law(data_points, loss_values):\n"
        "    X = np.asarray(data_points, dtype=float)\n    return np.array([float(np.asarray(loss_values).ravel()[np.argmax(X[:, 0])])])\n\n"
        "def scaling_law_func(data_points, params):\n    return np.full(len(np.asarray(data_points)), float(params[0]))\n"
    )
    found = selected(law, pairs_task)
    d1, d2 = found["per_dataset"]["d1"], found["per_dataset"]["d2"]
    assert (d1["chosen"], d1["best"], d1["rel_acc"]) == ("m2", "m1", 0.0)
    assert (d2["chosen"], d2["rel_acc"]) == ("m1", 1.0)
    budget = [pair_loss((m, "d1"), 3200.0) for m in ("m1", "m2", "m3")]
    full = [pair_loss((m, "d1"), FULL) for m in ("m1", "m2", "m3")]
    assert d1["pearson"] == pytest.approx(np.corrcoef(budget, full)[0, 1], rel=1e-9)
    assert found["rel_acc"] == 0.5 and found["pearson"] == pytest.approx((d1["pearson"] + d2["pearson"]) / 2)
    text = select(law, "--task", pairs_task / "task.yaml", cwd=pairs_task)
    assert "d1: chose m2; best m1; RelAcc 0.0%" in text.stdout and "mean       RelAcc 50.0%" in text.stdout


def test_select_says_what_is_wrong_in_one_line(pairs_task):
    law = law_file(pairs_task, "any.py")
    for extra, message in (
        (["--fraction", "0"], "--fraction: 0 is not in (0, 1]"),
        (["--fraction", "0.001"], "train run(s) of size at most 0.001 x 51200; a larger --fraction leaves more to fit on"),
    ):
        completed = select(law, "--task", pairs_task / "task.yaml", *extra, cwd=pairs_task)
        assert completed.returncode == 2 and completed.stderr.count("\n") == 1 and message in completed.stderr, completed.stderr
    for name in ("train", "test"):  # groups that name no pair
        frame = pd.read_csv(pairs_task / f"{name}.csv")
        frame["group"] = frame["group"].str.replace(r"\W", "", regex=True)
        frame.to_csv(pairs_task / f"{name}.csv", index=False)
    completed = select(law, "--task", pairs_task / "task.yaml", cwd=pairs_task)
    assert completed.returncode == 2 and "names no (model, dataset) pair; write each group as ('MODEL', 'DATASET')" in completed.stderr


# ----------------------------------------------------------------- sldbench predict

FITTED_BOWL = textwrap.dedent('''
    import numpy as np
    from scipy.optimize import least_squares

    def scaling_law_func(data_points, params):
        X = np.asarray(data_points, dtype=float)
        E, A, alpha, w, a, b = params
        return E + A * X[:, 0] ** -alpha + w * (np.log10(X[:, 1]) - (a + b * (np.log10(X[:, 0]) - 8))) ** 2

    def fit_scaling_law(data_points, loss_values):
        X, y = np.asarray(data_points, dtype=float), np.asarray(loss_values, dtype=float).ravel()
        fit = least_squares(lambda p: scaling_law_func(X, p) - y, [1.5, 300.0, 0.25, 0.05, -2.0, 0.0], x_scale="jac", max_nfev=20000)
        return fit.x
''')


def predicted(law, task, *extra):
    completed = subprocess.run(
        [sys.executable, "-m", "sldbench.cli", "predict", str(law), "--task", str(task / "task.yaml"), "--json", *extra],
        capture_output=True, text=True, cwd=task, timeout=600,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def test_a_law_of_fixed_constants_predicts_with_no_interval(task):
    found = predicted(law_file(task, "true.py"), task, "--at", "N=1e9,lr=1e-3", "--at", "N=1e10,lr=1e-3")
    expected = [truth(1e9, 1e-3), truth(1e10, 1e-3)]
    assert found["predicted"] == pytest.approx(expected, rel=1e-12)
    assert found["low"] == found["high"] == found["predicted"] and found["resamples"] == 0 and found["constants"] == []


def test_noise_free_runs_give_an_interval_of_nothing_but_the_fit(task):
    law = task / "fitted.py"
    law.write_text(FITTED_BOWL)
    found = predicted(law, task, "--at", "N=1e9,lr=1e-3", "--resamples", "5")
    assert found["predicted"][0] == pytest.approx(truth(1e9, 1e-3), rel=1e-6)
    assert found["high"][0] - found["low"][0] == pytest.approx(0, abs=1e-6)
    assert found["constants"] == pytest.approx([2.0, 400.0, 0.3, 0.1, -2.5, -0.3], rel=1e-4)


def test_noisy_runs_give_an_interval_around_the_truth_and_the_same_one_for_the_same_seed(task):
    rng = np.random.default_rng(7)
    frame = pd.read_csv(task / "train.csv")
    frame["loss"] *= np.exp(rng.normal(0, 0.01, len(frame)))  # 1% noise, as real runs have
    frame.to_csv(task / "train.csv", index=False)
    law = task / "fitted.py"
    law.write_text(FITTED_BOWL)
    at = ["--at", "N=1e9,lr=1.585e-3", "--resamples", "40"]
    found = predicted(law, task, *at)
    low, high = found["low"][0], found["high"][0]
    assert low < found["predicted"][0] < high and 0 < high - low < 0.2
    assert low <= truth(1e9, 1.585e-3) <= high
    assert all(lo <= c <= hi for c, lo, hi in zip(found["constants"], found["constants_low"], found["constants_high"]))
    assert predicted(law, task, *at) == found  # a seed and a count: the same interval on any machine
    assert predicted(law, task, *at, "--seed", "1")["low"] != found["low"]


def test_the_refits_are_the_same_however_many_runs_share_the_replicates(task):
    import asyncio

    from sldbench.decisions.predict import refit_on_resampled_runs
    from sldbench.sandbox.local import IsolatedLocalSandbox
    from sldbench.specs import load_spec_file

    spec = load_spec_file(str(task / "task.yaml"))
    frame = pd.read_csv(task / "train.csv")
    X, y = frame[["N", "lr"]].to_numpy(), frame[["loss"]].to_numpy()
    noise = np.exp(np.random.default_rng(5).normal(0, 0.01, (2, len(y), 1)))
    fit = {"first": (X, y * noise[0]), "second": (X, 1.1 * y * noise[1])}  # two groups, their replicates interleaved
    points = {"first": np.array([[1e9, 1e-3]]), "second": np.array([[1e9, 3e-3]])}

    async def refits(jobs):
        sandbox = IsolatedLocalSandbox()
        try:
            return (await refit_on_resampled_runs(sandbox, FITTED_BOWL, spec, fit, points, 5, seed=3, jobs=jobs))[1]
        finally:
            sandbox.directory.cleanup()

    alone, shared, three = (asyncio.run(refits(jobs)) for jobs in (1, 2, 3))
    for group in fit:
        replicates = np.array(alone[group].params)
        assert replicates.shape == (5, 6) and len(np.unique(replicates[:, 0])) == 5  # five different refits, in order
        for other in (shared, three):
            assert np.array_equal(np.array(other[group].params), replicates)
            assert np.array_equal(np.array(other[group].predictions), np.array(alone[group].predictions))


def test_a_point_to_predict_without_every_feature_ends_with_one_line_that_names_it(task):
    completed = subprocess.run(
        [sys.executable, "-m", "sldbench.cli", "predict", str(law_file(task, "true.py")), "--task", str(task / "task.yaml"), "--at", "N=1e9"],
        capture_output=True, text=True, cwd=task, timeout=600,
    )  # fmt: skip
    assert completed.returncode == 2 and completed.stdout == "" and completed.stderr.count("\n") == 1
    assert completed.stderr == "sldbench predict: --at: no value for lr; a point needs a value of every feature (add lr=VALUE)\n"


def test_a_law_that_names_its_constants_predicts_them_by_name_as_its_formula_reads_them(task):
    from sldbench.data import load_split
    from sldbench.laws.grammar import Family, Geometry, Piece, constant_names, program
    from sldbench.specs import load_spec_file

    train = load_split(load_spec_file(task / "task.yaml"), "train")
    family = Family((Piece("power", (0,)), Piece("bowl", (1,), (0,))))  # a power law in N, a bowl in lr moving with N
    law = task / "grammar.py"
    law.write_text(program(family, Geometry.of(train), ["loss"]))
    found = predicted(law, task, "--at", "N=1e9,lr=1e-3", "--resamples", "5")
    assert found["constant_names"] == constant_names(family)
    named = dict(zip(found["constant_names"], found["constants"]))
    # the truth's constants, as the formula (loss = E + c1 * N^-a1 + c2 * (log(lr) - (m2 + m3 * (log(N) - ref)))^2) reads them
    assert named["E"] == pytest.approx(2.0, rel=1e-3) and named["c1"] == pytest.approx(400.0, rel=1e-2) and named["a1"] == pytest.approx(0.3, rel=1e-3)
    assert all(value >= 0 for name, value in named.items() if name.startswith("c"))
    text = subprocess.run(
        [sys.executable, "-m", "sldbench.cli", "predict", str(law), "--task", str(task / "task.yaml"), "--at", "N=1e9,lr=1e-3", "--resamples", "5"],
        capture_output=True, text=True, cwd=task, timeout=600,
    ).stdout  # fmt: skip
    assert [line.split(":")[0] for line in text.splitlines() if line.split(":")[0] in named] == list(named)

# ------------------------------------------------- the paper's applications, in the law dialog


@pytest.mark.parametrize("task", ["lr_bsz", "sft"])
def test_the_law_dialog_shows_the_decision_of_the_expert_law(task, data_dir):
    import re

    from sldbench.laws.expert import refit_program
    from sldbench.report.leaderboard import law_decision

    run = pd.Series({"task": task, "data_dir": str(data_dir), "spec_file": ""})
    text = law_decision(run, refit_program(task))
    if task == "lr_bsz":
        found = re.fullmatch(
            r"Decision \(1B model, 100B tokens\): lr ([\d.e-]+), batch size ([\d.e+]+); nearest run's loss ([\d.]+), "
            r"best run's ([\d.]+): regret ([\d.]+)% \(the paper's SLDAgent law: 0.067%\)", text)  # fmt: skip
        assert found, text
        nearest, best, regret = (float(found.group(i)) for i in (3, 4, 5))
        assert best == 2.0762 and nearest > best  # the grid's best run; the refitted expert law misses it
        assert regret == pytest.approx(100 * (nearest - best) / best, abs=5e-4)
    else:
        assert text.startswith("Decision (model to fine-tune, from 6.25% of the data): flan: ")
        assert re.search(r"RelAcc [\d.]+%, PearCorr -?[\d.]+% \(the paper's SLDAgent law: 100%, 87.7%\)$", text), text
    assert law_decision(pd.Series({"task": "parallel", "data_dir": str(data_dir), "spec_file": ""}), refit_program("parallel")) == ""


def test_a_law_plot_draws_the_band_of_the_refits(task):
    import asyncio

    from sldbench.report.plots import _bands, draw_law, plot_series
    from sldbench.specs import load_spec_file

    train, test = pd.read_csv(task / "train.csv"), pd.read_csv(task / "test.csv")
    train["loss"] *= np.exp(np.random.default_rng(3).normal(0, 0.01, len(train)))
    train["group"] = test["group"] = "all_data"
    spec = load_spec_file(str(task / "task.yaml"))
    series = plot_series(spec, train, test)
    asyncio.run(_bands(spec, FITTED_BOWL, train, series, 8, 0.9, "auto"))
    assert series and all(s.band is not None and len(s.band[0]) == len(s.grid) for s in series)
    assert all(np.all(s.band[0] <= s.band[1]) and np.any(s.band[0] < s.band[1]) for s in series)
    picture = asyncio.run(draw_law(spec, FITTED_BOWL, "fit_predict", train, test, "moving_lr", band_refits=8))
    assert picture.png.startswith(b"\x89PNG") and not picture.problem


def test_a_law_undefined_between_its_series_gets_the_band_of_the_curves_it_is_drawn_with(task):
    import asyncio

    from sldbench.decisions.optimize import DecisionError
    from sldbench.report.plots import _bands, draw_law, plot_series
    from sldbench.specs import load_spec_file

    # the fitted bowl, undefined between the train sizes (up to 3e8) and the held-out size (1e9)
    gapped = FITTED_BOWL.replace(
        "    return E + A", "    inside = (X[:, 0] < 3.01e8) | (X[:, 0] > 0.99e9)\n    return np.where(inside, 1.0, np.nan) * E + A"
    )
    train, test = pd.read_csv(task / "train.csv"), pd.read_csv(task / "test.csv")
    train["loss"] *= np.exp(np.random.default_rng(3).normal(0, 0.01, len(train)))
    train["group"] = test["group"] = "all_data"
    assert gapped.count("np.nan") == 1
    spec = load_spec_file(str(task / "task.yaml"))
    wide = plot_series(spec, train, test)  # each curve across the group's whole range: through the gap
    with pytest.raises(DecisionError, match="could not be fitted and run"):
        asyncio.run(_bands(spec, gapped, train, wide, 8, 0.9, "auto"))
    picture = asyncio.run(draw_law(spec, gapped, "fit_predict", train, test, "moving_lr", band_refits=8))
    assert picture.png.startswith(b"\x89PNG") and not picture.problem
    assert picture.band_problem == "" and picture.constant_bounds  # refitted for the narrower curves drawn
