"""The catalogue of literature laws and the synthetic tasks of the generality suite drawn from it."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import numpy as np
import pytest

from sldbench.laws import read_law
from sldbench.laws.literature import CATALOGUE, LiteratureLaw, bind, program, register
from sldbench.specs import load_spec_file

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks" / "suite"))
import synthetic  # noqa: E402

PUBLIC = Path(__file__).resolve().parents[1] / "benchmarks" / "suite" / "public"


def test_every_synthetic_task_is_sampled_from_a_catalogue_law_with_an_extrapolation_split():
    laws_used = {task.law for task in synthetic.TASKS}
    public = {read_law(Path(load_spec_file(path).law_file).read_text()).law.name for path in PUBLIC.glob("*/task.yaml")}
    assert laws_used | public == set(CATALOGUE)  # every family of the catalogue is the law of a synthetic task or a public one's reference
    assert len(synthetic.TASKS) >= 12
    for task in synthetic.TASKS:
        train, test, truth = synthetic.sample(task)
        again = synthetic.sample(task)
        assert train.equals(again[0]) and test.equals(again[1])  # deterministic
        axis, _ = task.holdout
        for group in task.groups:
            assert test[test["group"] == group][axis].min() > train[train["group"] == group][axis].max(), (task.name, group)
        # noise is there (the truth does not fit exactly) and small (it still predicts the held-out runs)
        assert 0.95 < truth["r2"] < 1.0, (task.name, truth["r2"])
        assert set(truth["constants"]) == set(task.groups)


@pytest.mark.parametrize("name", ["chinchilla", "learning_curve_m2", "data_constrained", "lr_optimum"])
def test_a_literature_program_fits_in_the_sandbox_and_says_its_law(name, tmp_path):
    from sldbench.sandbox.local import IsolatedLocalSandbox
    from sldbench.scorer import score_program

    path = synthetic.write_task(synthetic.BY_NAME[name], tmp_path)
    spec = load_spec_file(path)
    code = Path(spec.law_file).read_text()
    law = read_law(code)
    assert law is not None and law.law.name == synthetic.BY_NAME[name].law
    described = law.describe(spec.features, spec.targets)
    assert described.startswith(f"{spec.targets[0]} = ") or described.startswith(f"({spec.targets[0]}")
    assert all(feature in described for feature in spec.features), described
    sandbox = IsolatedLocalSandbox("auto")
    try:
        score = asyncio.run(score_program(sandbox, code, spec, shape="fit_predict"))
    finally:
        sandbox.directory.cleanup()
    truth = synthetic.sample(synthetic.BY_NAME[name])[2]["r2"]
    assert score.value["r2_raw"] > truth - 0.02, (score.value, truth)
    assert score.metadata["constants"] and set(next(iter(score.metadata["constants"].values()))) == set(law.law.parameters)


def test_a_family_of_your_own_is_a_few_lines():
    def logistic_form(X, p):
        E, A, k, x0 = p
        return E + A / (1.0 + np.exp(k * (np.log(X[:, 0]) - x0)))

    def logistic_starts(X, y):
        return [[float(np.min(y)), float(np.ptp(y)), 1.0, float(np.median(np.log(X[:, 0])))]]

    law = register(LiteratureLaw("logistic_test", "a test", ("x",), ("E", "A", "k", "x0"), logistic_form, logistic_starts, "{y} = E + A / (1 + exp(k (ln {x} - x0)))"))
    try:
        with pytest.raises(ValueError, match="already registered"):
            register(law)
        code = program(bind(law, [1]), ["N", "steps"], ["loss"])
        assert read_law(code).describe(["N", "steps"], ["loss"]) == "loss = E + A / (1 + exp(k (ln steps - x0)))"
        namespace: dict = {}
        exec(compile(code, "law.py", "exec"), namespace)
        x = np.geomspace(1e2, 1e6, 30)
        X = np.column_stack([np.full(30, 7.0), x])
        y = 2.0 + 3.0 / (1.0 + np.exp(1.5 * (np.log(x) - 8.0)))
        params = namespace["fit_scaling_law"](X, y)
        assert np.allclose(namespace["scaling_law_func"](X, params), y, atol=1e-6)
    finally:
        CATALOGUE.pop("logistic_test")
    with pytest.raises(ValueError, match="has roles N, D"):
        bind(CATALOGUE["chinchilla"], [0])
    with pytest.raises(ValueError, match="bounds= needs linear="):  # a fit without linear parameters would ignore them
        LiteratureLaw("logistic_test", "a test", ("x",), ("E", "A", "k", "x0"), logistic_form, logistic_starts, bounds=lambda X: {"k": (0.0, 5.0)})


def test_a_law_linear_in_some_parameters_is_fitted_by_variable_projection():
    code = program(bind(CATALOGUE["chinchilla"], [0, 1]), ["N", "D"], ["loss"])
    assert "variable projection (linear in E, A, B)" in code and "def fit_projected(" in code
    assert "variable projection" not in program(bind(CATALOGUE["kaplan"], [0, 1]), ["N", "D"], ["loss"])
    namespace: dict = {}
    exec(compile(code, "law.py", "exec"), namespace)
    N, D = (grid.ravel() for grid in np.meshgrid(np.geomspace(1e7, 1e9, 6), np.geomspace(1e9, 1e11, 6)))
    X = np.column_stack([N, D])
    truth = np.array([1.7, 400.0, 0.34, 410.0, 0.28])
    params = namespace["fit_scaling_law"](X, CATALOGUE["chinchilla"].form(X, truth))
    assert np.allclose(params, truth, rtol=1e-5), params
    # an amplitude kept non-negative: data whose N-term falls the wrong way get A = 0, not a negative A
    rising = 1.7 - 50.0 * N ** (-0.3) + 410.0 * D ** (-0.28)
    fitted = namespace["fit_scaling_law"](X, rising)
    assert fitted[1] >= 0.0 and fitted[3] > 0.0


def test_the_one_break_law_keeps_its_break_where_the_rows_can_place_it():
    # broken_power's runs cut short, as a validation fold cuts them: the break is fitted inside the rows and no
    # sharper than half their spacing, so the law does not turn on the curvature of its last few rows (unbounded,
    # these fits put the break past the rows with slope changes up to 800, or as a kink, missing the next runs by 0.77)
    task = next(t for t in synthetic.TASKS if t.name == "broken_power")
    train, _, _ = synthetic.sample(task)
    code = program(bind(CATALOGUE["broken_power"], [0]), ["steps"], ["loss"])
    assert "bounds=broken_power_bounds(X)" in code
    namespace: dict = {}
    exec(compile(code, "law.py", "exec"), namespace)
    for group in task.groups:
        rows = train[train["group"] == group].sort_values("steps")
        for cut in (16, 18, 20):
            fit, ahead = rows.iloc[:cut], rows.iloc[cut : cut + 2]
            x = fit[["steps"]].to_numpy()
            a, b, c0, c1, d1, f1 = namespace["fit_scaling_law"](x, fit["loss"].to_numpy())
            spacing = np.median(np.diff(np.log(x[:, 0])))
            assert x.min() <= d1 <= x.max() * (1 + 1e-9) and f1 >= spacing / 2 * (1 - 1e-9), (group, cut, d1, f1)
            missed = namespace["scaling_law_func"](ahead[["steps"]].to_numpy(), [a, b, c0, c1, d1, f1]) - ahead["loss"].to_numpy()
            assert np.max(np.abs(missed)) < 0.4, (group, cut, missed)


def test_the_law_search_fits_the_catalogue_beside_its_own_families(tmp_path):
    from sldbench.data import load_split
    from sldbench.symbolic.grammar import GrammarSearch

    spec = load_spec_file(synthetic.write_task(synthetic.BY_NAME["kaplan"], tmp_path))
    search = GrammarSearch(load_split(spec, "train"))
    bound = {(b.law.name, b.roles) for b in search.literature_laws()}
    assert {("kaplan", (0, 1)), ("kaplan", (1, 0))} <= bound  # every binding of both roles
    # a role per feature, within the task's parameter limit (Chinchilla's five are one too many here)
    assert spec.param_limit == 4 and ("chinchilla", (0, 1)) not in bound
    assert all(len(CATALOGUE[name].roles) == len(spec.features) and len(CATALOGUE[name].parameters) <= 4 for name, _ in bound)
    kaplan = search.literature_candidate(next(b for b in search.literature_laws() if b.law.name == "kaplan" and b.roles == (0, 1)))
    assert not kaplan.problem and not kaplan.ignored and kaplan.score > 0.99, (kaplan.problem, kaplan.folds)
    assert read_law(kaplan.code).law.name == "kaplan"
    # a hyper-parameter role (an optimum) never lands on a feature the test extrapolates along, nor on one in
    # step with it: this task's tokens are 20 x its parameters in every run, so D extrapolates with N
    spec = load_spec_file(synthetic.write_task(synthetic.BY_NAME["lr_bsz_optimum"], tmp_path))
    search = GrammarSearch(load_split(spec, "train"))
    bindings = [b.roles for b in search.literature_laws() if b.law.name == "two_optima"]
    axes = {spec.features.index(name) for name in spec.extrapolates}
    assert axes == {0} and search.geometry.scales == {0, 1}
    # of 24 orders, the four that give lr and bsz the two hyper-parameter roles (N and D the scale roles, either way)
    assert sorted(bindings) == [(0, 1, 2, 3), (0, 1, 3, 2), (1, 0, 2, 3), (1, 0, 3, 2)]


def test_the_guard_rails_admit_a_curve_that_has_turned_in_the_data(tmp_path):
    """The trend a law must keep is read where the data ends: past its peak, inverse scaling may keep falling."""
    from sldbench.data import load_split
    from sldbench.symbolic.grammar import GrammarSearch
    from sldbench.symbolic.guards import _spearman, edge_rows

    spec = load_spec_file(synthetic.write_task(synthetic.BY_NAME["inverted_u"], tmp_path))
    search = GrammarSearch(load_split(spec, "train"))
    truth = next(b for b in search.literature_laws() if b.law.name == "u_shape")
    candidate = search.literature_candidate(truth)
    assert candidate.problem == "" and candidate.folds, candidate.problem
    # the data's trend over all rows and at its edge disagree in at least one group (the turn is in the train rows)
    disagree = []
    for x, y in search.train_rows.values():
        upper = edge_rows(x[:, 0], "log")
        whole, edge = _spearman(x[:, 0], y[:, 0]), _spearman(x[upper, 0], y[upper, 0])
        disagree.append(abs(whole) >= 0.5 and whole * edge < 0)
    assert any(disagree)


def test_the_band_beyond_the_data_follows_the_course_of_the_law_where_the_data_end(tmp_path):
    """A U steep past its turn may go on as steeply beyond the data, and no faster."""
    from sldbench.data import load_split
    from sldbench.laws.grammar import Geometry
    from sldbench.symbolic.guards import BAND, EXTRAPOLATION_FACTORS, guard_problem
    from sldbench.symbolic.validation import group_arrays, namespace

    task = synthetic.BY_NAME["u_shaped"]
    spec = load_spec_file(synthetic.write_task(task, tmp_path))
    train = load_split(spec, "train")
    geometry, rows = Geometry.of(train), group_arrays(train)
    # the truth leaves the band of the train targets alone within the distance the rails follow a law
    _, _, truth = synthetic.sample(task)
    outside = []
    for group, (x, y) in rows.items():
        far = np.array([[x[:, 0].max() * max(EXTRAPOLATION_FACTORS)]])
        true_far = CATALOGUE["u_shape"].form(far, list(truth["constants"][group].values()))[0]
        outside.append(true_far > y.max() + BAND * np.ptp(y))
    assert any(outside)
    # ... and its family, fitted on the train rows, passes the rails
    family = namespace(program(bind(CATALOGUE["u_shape"], [0]), list(spec.features), list(spec.targets)))
    assert guard_problem(family, rows, geometry)[0] == ""
    # a law that fits the rows but bends away past their edge, faster than its course there, is still excluded
    bends_away = namespace(
        "import numpy as np\n"
        "def fit_scaling_law(X, y):\n"
        "    u = np.log(X[:, 0])\n"
        "    return np.append(np.polyfit(u, y, 2), u.max())\n"
        "def scaling_law_func(X, p):\n"
        "    u = np.log(np.asarray(X, dtype=float)[:, 0])\n"
        "    return np.polyval(p[:3], u) + np.where(u > p[3], np.expm1(10.0 * (u - p[3])), 0.0)\n"
    )
    assert "band" in guard_problem(bends_away, rows, geometry)[0]



@pytest.mark.parametrize("name", sorted(path.name for path in PUBLIC.iterdir() if path.is_dir()))
def test_a_public_suite_task_is_a_valid_task_with_its_source_and_a_literature_reference(name):
    import pandas as pd

    from sldbench.data import load_split
    from sldbench.folds import extrapolation_scale

    spec = load_spec_file(PUBLIC / name / "task.yaml")
    train, test = load_split(spec, "train"), load_split(spec, "test")
    assert spec.extrapolates and spec.group == "group"
    for group, held in test.frame.groupby("group"):
        seen = train.frame[train.frame["group"] == group]
        assert len(seen) >= 20, (name, group)
        scale = extrapolation_scale(spec, pd.concat([seen, held]))  # on the folds' own scale, toward the test split
        # the test runs lie beyond the train runs (one of downstream_error's at their edge: SOURCE.md says which)
        assert np.median(scale[len(seen):]) > scale[: len(seen)].max() and scale[len(seen):].min() > 0.99 * scale[: len(seen)].max(), (name, group)
    source = (PUBLIC / name / "SOURCE.md").read_text()
    assert "Licence: MIT" in source and "@" in source  # repository@commit
    law = read_law(Path(spec.law_file).read_text())
    assert law is not None and law.law.name in CATALOGUE
