"""Every program writer's exact output, recorded: moving code between modules must not change a byte.

The recorded sources live in ``tests/program_sources/`` (one file per writer and case). A change
that is meant to change a program rewrites them with ``python tests/test_program_sources.py --write``
and says why in its commit; the diff of the recorded files shows what every user's programs gain.

Cases: each expert law prefitted (the published constants) and refitted; each kind of law the
symbolic search writes (a law-search form, a grammar family, an Operon expression) on the
synthetic example of ``examples/synthetic``; the initial program of SLDAgent; the power-law
baseline of ``sldbench discover``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from conftest import DATA_DIR

from sldbench.data import load_split
from sldbench.laws import expression as expression_law, grammar, program as program_format, terms as forms
from sldbench.laws.expert import LAWS, load_constants, prefitted_program, refit_program
from sldbench.laws.program import INITIAL_PROGRAM, POWER_LAW_BASELINE
from sldbench.specs import load_spec_file

RECORDED = Path(__file__).parent / "program_sources"
EXAMPLE = Path(__file__).parents[1] / "examples" / "synthetic" / "task.yaml"


def _example():
    spec = load_spec_file(EXAMPLE)
    return spec, load_split(spec, "train")


def _form_program() -> str:
    spec, train = _example()
    transforms = program_format.feature_transforms(train.frame[list(spec.features)].to_numpy(dtype=float))
    form = forms.Form(transforms, (forms.Term("power", (0,)), forms.Term("power", (1,), (1,))), "identity", 1).normal()
    return forms.program(form, list(spec.features), list(spec.targets), note="a recorded example")


def _grammar_program() -> str:
    spec, train = _example()
    family = grammar.Family((grammar.Piece("power", (0,)), grammar.Piece("power", (1,))), 1)
    return grammar.program(family, grammar.Geometry.of(train), list(spec.targets), note="a recorded example")


def _operon_program() -> str:
    spec, train = _example()
    transforms = program_format.feature_transforms(train.frame[list(spec.features)].to_numpy(dtype=float))
    expression = expression_law.translate("(1.5 + (2.25 * (X1 ^ -0.3))) + (0.75 * exp(-0.2 * X2))", transforms, spec.features)
    return expression_law.program([expression], list(spec.features), list(spec.targets), note="a recorded example")


WRITERS = {
    **{f"expert_prefitted_{task}": (lambda task=task: prefitted_program(task, load_constants(DATA_DIR.parent / "human_laws", task))) for task in LAWS},
    **{f"expert_refit_{task}": (lambda task=task: refit_program(task)) for task in LAWS},
    "symbolic_form": _form_program,
    "symbolic_grammar": _grammar_program,
    "symbolic_operon": _operon_program,
    "initial_program": lambda: INITIAL_PROGRAM,
    "power_law_baseline": lambda: POWER_LAW_BASELINE,
}


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_program_source_is_the_recorded_one(name):
    recorded = RECORDED / f"{name}.py"
    assert recorded.is_file(), f"{recorded} is missing: run python tests/test_program_sources.py --write"
    assert WRITERS[name]() == recorded.read_text(), f"{name}: the program differs from {recorded}"


def test_every_recorded_source_has_a_writer():
    assert sorted(path.stem for path in RECORDED.glob("*.py")) == sorted(WRITERS)


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    for name, writer in WRITERS.items():
        (RECORDED / f"{name}.py").write_text(writer())
    print(f"wrote {len(WRITERS)} sources to {RECORDED}")
