"""What a law is: `read_law` finds the law every kind of program carries, and each kind describes itself.

Programs are the recorded sources of `test_program_sources` (every writer's real output) and
their fits run on the synthetic example of ``examples/synthetic``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from sldbench.data import load_split
from sldbench.laws import read_law
from sldbench.laws.expert import LAWS
from sldbench.laws.expression import ExpressionLaw
from sldbench.laws.grammar import GrammarLaw
from sldbench.laws.stated import StatedLaw
from sldbench.laws.terms import TermsLaw
from sldbench.scorer import score_program
from sldbench.show import constant_lines, law_formula
from sldbench.specs import get_spec, load_spec_file

RECORDED = Path(__file__).parent / "program_sources"
EXAMPLE = load_spec_file(Path(__file__).parents[1] / "examples" / "synthetic" / "task.yaml")


def recorded(name: str) -> str:
    return (RECORDED / f"{name}.py").read_text()


@pytest.mark.parametrize(
    "name, kind, names, formula",
    [
        ("symbolic_form", TermsLaw, ["a1", "a2", "s2", "b", "c1", "c2"], "loss = b + c1 * N^a1 + c2 * (D + s2)^a2"),
        ("symbolic_grammar", GrammarLaw, ["a1", "a2", "E", "c1", "c2"], "loss = E + c1 * N^-a1 + c2 * D^-a2"),
        # Operon's (1.5 + (2.25 * (X1 ^ -0.3))) + (0.75 * exp(-0.2 * X2)) with X1 = ln N, X2 = ln D, simplified and named
        ("symbolic_operon", ExpressionLaw, ["c1", "c2", "c3", "c4", "c5"], "loss = c1 + c2*D^c3 + c4*log(N)^c5\n"),
    ],
)
def test_each_kind_of_program_is_read_back_as_its_law(name, kind, names, formula):
    program = recorded(name)
    law = read_law(program)
    assert isinstance(law, kind)
    assert law.constant_names(EXAMPLE.targets) == names
    assert law.describe(EXAMPLE.features, EXAMPLE.targets).startswith(formula.split("\n")[0])
    assert law_formula(program, EXAMPLE) == law.describe(EXAMPLE.features, EXAMPLE.targets)
    if "\n" in formula:
        assert law_formula(program, EXAMPLE) == formula.strip()


def test_the_score_records_the_constants_fitted_in_the_sandbox_by_name(local_sandbox):
    # the form's shift s2 is fitted as its log: the record shows it as itself, positive; show and discover print it
    score = asyncio.run(score_program(local_sandbox, recorded("symbolic_form"), EXAMPLE))
    constants = score.metadata["constants"]
    assert sorted(constants) == sorted(load_split(EXAMPLE, "test").groups)
    for values in constants.values():
        assert list(values) == ["a1", "a2", "s2", "b", "c1", "c2"] and values["s2"] > 0 and np.isfinite(list(values.values())).all()
    assert constant_lines(constants)[0].split()[1].startswith("a1=")
    # a program that names no constants records none
    assert "constants" not in asyncio.run(score_program(local_sandbox, recorded("initial_program"), EXAMPLE)).metadata


def test_a_program_of_its_own_states_its_law_or_says_nothing():
    stated = '"""My law.\n\n    loss = 2 + 3 * N^-0.5\n"""\ndef law(input_data, group):\n    return []\n'
    law = read_law(stated)
    assert isinstance(law, StatedLaw) and law.constant_names(["loss"]) is None
    assert law_formula(stated, EXAMPLE) == "loss = 2 + 3 * N^-0.5"
    assert read_law("def law(input_data, group):\n    return []\n") is None
    assert law_formula("def law(input_data, group):\n    return []\n", EXAMPLE) == ""


def test_a_marker_that_is_not_its_kind_is_not_trusted():
    # a literal of the wrong shape under a kind's marker is no law of that kind
    for marker in ("FAMILY = 3", "FORM = 'x'", "SIZES = [1.5]", "EXPERT_LAW = 'no such task'"):
        assert not isinstance(read_law(f"{marker}\n"), (GrammarLaw, TermsLaw, ExpressionLaw, type(LAWS["moe"])))


@pytest.mark.parametrize("task", sorted(LAWS))
def test_every_expert_law_describes_itself_with_its_task_columns(task):
    law, spec = LAWS[task], get_spec(task)
    text = law.describe(spec.features, spec.targets)
    assert [line.split(" = ")[0] for line in text.splitlines()[: len(spec.targets)]] == list(spec.targets)
    used = {feature for feature in spec.features if feature in text}
    assert used == set(spec.features), f"{task}: the formula leaves out {set(spec.features) - used}"
    assert law.constant_names(spec.targets) == list(law.parameters)


def test_the_initial_program_is_shown_as_its_law_not_as_a_program_of_its_own():
    program = recorded("initial_program")
    assert law_formula(program, EXAMPLE) == "loss = b + c1 * N^a1 + c2 * D^a2"
    assert law_formula(program.replace("method=\"BFGS\")", "method=\"Nelder-Mead\")"), EXAMPLE) == ""  # an edited program is its own


def test_the_shares_of_a_mixture_enter_raw_even_where_the_train_rows_never_leave_one_out(data_dir):
    # domain_mix's train rows where the fifth share is never zero: on its own a positive feature spanning
    # a factor 8, a scale by the numbers; as a share of the mixture, zero is a mixture like the others
    from sldbench.laws.grammar import Family, Geometry, Piece, program
    from sldbench.laws.program import feature_transforms, mixture_columns
    from sldbench.symbolic.validation import namespace

    spec = get_spec("domain_mix")
    train = load_split(spec, "train", data_dir)
    shares = list(spec.features)
    positive = train.frame[shares[4]] > 0
    X = train.frame.loc[positive, shares].to_numpy(dtype=float)
    assert X[:, 4].min() > 0 and X[:, 4].max() >= 2 * X[:, 4].min()
    assert mixture_columns(X) == frozenset(range(5))
    assert feature_transforms(X) == ("raw",) * 5
    # a scale beside the mixture stays a scale, and the shares alone are the mixture
    scaled = np.column_stack([X, np.geomspace(1e6, 1e9, len(X))])
    assert mixture_columns(scaled) == frozenset(range(5)) and feature_transforms(scaled)[5] == "log"
    lr_bsz = get_spec("lr_bsz")
    assert mixture_columns(load_split(lr_bsz, "train", data_dir).frame[list(lr_bsz.features)].to_numpy(dtype=float)) == frozenset()

    # a law fitted on those rows predicts the mixtures without the fifth share
    fitted_on = train.__class__(spec, "train", train.frame[positive], train.source)
    code = program(Family((Piece("power", (4,)),), 1), Geometry.of(fitted_on), [spec.targets[4]], note="a test")
    functions = namespace(code)
    params = functions["fit_scaling_law"](X, fitted_on.frame[spec.targets[4]].to_numpy(dtype=float))
    left_out = train.frame.loc[~positive, shares].to_numpy(dtype=float)
    assert len(left_out) and np.all(np.isfinite(functions["scaling_law_func"](left_out, params)))
