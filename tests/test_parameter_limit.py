"""The parameter limit against adversarial fit-and-predict programs.

Each program cheats one way a model under search pressure finds: state kept from fit to
predict (a module global, a file), a forged reply that claims fewer parameters than it
fitted, a calibration table the fitted vector never shows. Each runs through the real
evaluation path (the warm runner SLDAgent uses, in the local sandbox under bubblewrap and
in the docker sandbox) or the real search loop, and must be caught; the honest programs
beside them (the paper's initial program, the expert laws refitted, the law grammar's
programs) keep their scores and show no hidden constants over the limit.
"""

import asyncio
import math
import textwrap

import numpy as np
import pytest

from sldbench.data import load_split
from sldbench.evolution import Search, Settings, TrainEvaluator
from sldbench.laws.expert import refit_program
from sldbench.laws.program import INITIAL_PROGRAM
from sldbench.metrics import heldout_metrics
from sldbench.sandbox.host import WarmRunner, fit_and_predict
from sldbench.sandbox.runner import landlock_abi
from sldbench.specs import get_spec
from sldbench.submission import hidden_constants, is_structural, numeric_constants

PARALLEL = get_spec("parallel")
TASKS = ("parallel", "vocab", "sft", "domain_mix", "moe", "d_constrain", "lr_bsz", "u_shape")

# Fits one number (the mean), and tries to hand predict the train targets themselves.
STASH_TEMPLATE = '''
import numpy as np
{state}

def fit_scaling_law(data_points, loss_values):
    y = np.asarray(loss_values, dtype=float)
{keep}
    return np.array([float(np.mean(y))])


def scaling_law_func(data_points, params):
    X = np.atleast_2d(np.asarray(data_points, dtype=float))
    try:
{fetch}
        if table is not None and len(table) == len(X):
            return table  # every train target, from the fit
    except Exception:
        pass
    return np.full(len(X), float(params[0]))
'''
STASHES = {
    "module global": ("_STASH = {}", '_STASH["y"] = y', 'table = _STASH.get("y")'),
    "file in the working directory": (
        "import os",
        'try:\n    np.save(os.path.join(os.getcwd(), "stash.npy"), y)\nexcept OSError:\n    pass',
        'table = np.load(os.path.join(os.getcwd(), "stash.npy"))',
    ),
    "file in /tmp": (
        "import tempfile, os",
        'try:\n    np.save("/tmp/stash.npy", y)\nexcept OSError:\n    pass',
        'table = np.load("/tmp/stash.npy")',
    ),
    "named file": (  # the numbers in the name of an empty file, which a file size limit would not stop
        "import os",
        'try:\n    open(os.path.join(os.getcwd(), "stash-" + ",".join(map(repr, y.tolist()))), "w").close()\nexcept OSError:\n    pass',
        'name = [n for n in os.listdir(os.getcwd()) if n.startswith("stash-")][0]\n'
        'table = np.array([float(v) for v in name[6:].split(",")])',
    ),
    "System V shared memory": (  # a segment outlives its creator: key 0x5ld, the targets as float64
        "import ctypes\n_libc = ctypes.CDLL(None, use_errno=True)\n_libc.shmat.restype = ctypes.c_void_p",
        'segment = _libc.shmget(0x51D, 8 * len(y), 0o1600)\n'
        'if segment >= 0:\n    ctypes.memmove(_libc.shmat(segment, None, 0), y.astype(float).tobytes(), 8 * len(y))',
        'segment = _libc.shmget(0x51D, 0, 0o600)\n'
        'table = np.frombuffer(ctypes.string_at(_libc.shmat(segment, None, 0), 8 * len(X)), dtype=float) if segment >= 0 else None',
    ),
    "a child that escapes its process group": (  # one per group, serving its targets on an abstract socket
        "import os, socket, time\n_CALLS = [0]",
        '_CALLS[0] += 1\n'
        'name = f"\\0sldbench-stash-{_CALLS[0]}"\n'
        'try:\n'
        '    child = os.fork()\n'
        'except OSError:  # a container\'s workers start no process\n'
        '    child = -1\n'
        'if child == 0:\n'
        '    try:\n'
        '        os.setsid()\n'
        '        server = socket.socket(socket.AF_UNIX)\n'
        '        server.bind(name)\n'
        '        server.listen(4)\n'
        '        while True:\n'
        '            peer, _ = server.accept()\n'
        '            try:\n'
        '                peer.sendall(y.astype(float).tobytes())\n'
        '            except OSError:\n'
        '                pass\n'
        '            peer.close()\n'
        '    finally:\n'
        '        os._exit(0)\n'
        'for _ in range(200):  # returns once the child serves\n'
        '    try:\n'
        '        socket.socket(socket.AF_UNIX).connect(name)\n'
        '        break\n'
        '    except OSError:\n'
        '        time.sleep(0.01)',
        '_CALLS[0] += 1\n'
        'peer = socket.socket(socket.AF_UNIX)\n'
        'peer.connect(f"\\0sldbench-stash-{_CALLS[0]}")\n'
        'table = np.frombuffer(peer.recv(1 << 20), dtype=float)',
    ),
}


def stash_program(how: str) -> str:
    state, keep, fetch = STASHES[how]
    return STASH_TEMPLATE.format(state=state, keep=textwrap.indent(keep, "    "), fetch=textwrap.indent(fetch, "        "))


# Fits 12 numbers (the limit is 4), then writes a reply claiming it fitted one, with perfect
# predictions, into every pipe it holds (the worker's reply channel among them) and into
# result files where the runner once read results, and exits before its worker can answer.
FORGER = '''
import json, os, base64, stat
import numpy as np


def _matrix(values):
    a = np.ascontiguousarray(values, dtype="<f8")
    return {"shape": list(a.shape), "float64": base64.b64encode(a.tobytes()).decode()}


def fit_scaling_law(data_points, loss_values):
    y = np.asarray(loss_values, dtype=float)
    fitted = np.concatenate([[np.mean(y)], np.zeros(11)])
    forged = {"ok": True, "shape": "fit_predict", "param_counts": {"pile": 1, "stack": 1},
              "params": {"pile": _matrix([np.mean(y)]), "stack": _matrix([np.mean(y)])},
              "predictions": {"pile": _matrix(y[:, None]), "stack": _matrix(y[:, None])}, "fit_seconds": 0.0}
    payload = json.dumps(forged).encode()
    for fd in range(3, 1024):  # every pipe it holds, found without /proc
        try:
            if stat.S_ISFIFO(os.fstat(fd).st_mode):
                os.write(fd, len(payload).to_bytes(8, "big") + payload)
        except OSError:
            pass
    for folder in (os.getcwd(), os.path.dirname(os.path.abspath(__file__))):
        try:
            with open(os.path.join(folder, "result.json"), "w") as handle:
                json.dump({**forged, "predictions": {g: y[:, None].tolist() for g in ("pile", "stack")}}, handle)
        except OSError:
            pass
    os._exit(0)


def scaling_law_func(data_points, params):
    X = np.atleast_2d(np.asarray(data_points, dtype=float))
    return np.full(len(X), float(np.asarray(params).ravel()[0]))
'''

# A law whose constants per group live in a module-level table: the fitted vector has one number.
CALIBRATED = '''# EVOLVE-BLOCK-START
import numpy as np

_CALIBRATION = {"A": 135335300.0, "k": 0.344689, "alpha": 0.223649, "E": 1.37668}


def scaling_law_func(data_points, params):
    X = np.asarray(data_points, dtype=float)
    c = _CALIBRATION
    return (c["A"] / (X[:, 0] * (c["k"] * np.log(X[:, 1]) + 1))) ** c["alpha"] + c["E"] + params[0]


def fit_scaling_law(data_points, loss_values):
    X = np.asarray(data_points, dtype=float)
    return np.array([float(np.mean(np.asarray(loss_values) - scaling_law_func(X, [0.0])))])
# EVOLVE-BLOCK-END
'''


@pytest.fixture(params=["local", pytest.param("docker", marks=pytest.mark.docker)])
def sandbox(request):
    return request.getfixturevalue("docker_sandbox" if request.param == "docker" else "local_sandbox")


def evaluate(sandbox, program: str, train):
    """The program fitted on ``train`` and predicting it, through the warm runner SLDAgent evaluates with."""

    async def run():
        runner = WarmRunner(sandbox)
        try:
            return await fit_and_predict(runner, program, train, train, timeout=60, shape="fit_predict", batch_check=True)
        finally:
            await runner.close()

    return asyncio.run(run())


def requires_write_guard(sandbox, result) -> None:
    if not landlock_abi():
        pytest.skip("this kernel has no Landlock: a fit worker's files are not guarded (the run says write_guard none)")
    assert result.write_guard.startswith("landlock"), result


@pytest.mark.parametrize("how", list(STASHES))
def test_state_stashed_by_the_fit_never_reaches_the_predict(sandbox, data_dir, how):
    train = load_split(PARALLEL, "train", data_dir)
    result = evaluate(sandbox, stash_program(how), train)
    assert result.ok, (result.error, result.detail)
    if how != "module global":
        requires_write_guard(sandbox, result)
    if how == "System V shared memory":
        assert "seccomp" in result.write_guard, result.write_guard
    assert result.param_counts == {"pile": 1, "stack": 1}
    for group in train.groups:
        _, y = train.arrays(group)
        np.testing.assert_array_equal(result.predictions[group][:, 0], np.full(len(y), np.mean(y[:, 0])))
    assert "stash" not in str(asyncio.run(sandbox.exec(["ls", "-a", "."])).stdout)


def test_a_forged_reply_does_not_hide_the_parameters_it_fitted(sandbox, data_dir):
    train = load_split(PARALLEL, "train", data_dir)
    result = evaluate(sandbox, FORGER, train)
    # the forged reply is the fit's only output: its vector (one number) is all predict gets,
    # counted by the supervisor; the perfect predictions it claimed never reach the host
    assert result.ok and result.param_counts == {"pile": 1, "stack": 1}
    forged_vector = np.mean(train.arrays("pile")[1][:, 0])  # written while fitting the first group
    for group in train.groups:
        _, y = train.arrays(group)
        assert not np.allclose(result.predictions[group][:, 0], y[:, 0])
        np.testing.assert_allclose(result.predictions[group][:, 0], forged_vector)
    r2 = heldout_metrics(train.stacked_targets(), result.stacked(train.groups)).r2_raw
    assert r2 < 0.5


def test_a_calibration_table_is_counted_and_rejected_under_strict(data_dir, local_sandbox):
    assert hidden_constants(CALIBRATED) == [135335300.0, 0.344689, 0.223649, 1.37668]
    train = load_split(PARALLEL, "train", data_dir)

    def search(constants):
        replies = [f"```python\n{CALIBRATED}```"]

        async def propose(system, user):
            return replies.pop(0), {}

        settings = Settings(iterations=1, parallel=1, eval_timeout=60, constants=constants)
        run = Search(settings, train, "The parallel task.", TrainEvaluator(local_sandbox, train, 60), propose)
        return asyncio.run(run.run()).attempts

    counted, strict = search("count"), search("strict")
    # by default the run goes on and the log shows the table; with constants=strict it is rejected, with the reason
    assert counted[-1].outcome == "accepted" and counted[-1].hidden_constants == [135335300.0, 0.344689, 0.223649, 1.37668]
    assert strict[-1].outcome == "rejected"
    assert strict[-1].reason == (
        "fits 1 parameters per group and predicts with 4 constants the fitted vector does not show "
        "(1.35335e+08, 0.344689, 0.223649, 1.37668); with constants=strict they count against the limit of 4"
    )


def test_an_integer_read_only_as_an_index_is_not_a_hidden_constant():
    indexed = "N_THETA = 11\n\ndef scaling_law_func(x, p):\n    return p[N_THETA] + p[:N_THETA].sum() * x\n"
    assert hidden_constants(indexed) == []
    # the same number as a value of the law is counted, wherever else it is also an index
    assert hidden_constants(indexed.replace("* x", "* x * N_THETA")) == [11.0]
    assert hidden_constants("SCALE = 11.5\n\ndef scaling_law_func(x, p):\n    return p[0] * x ** p[1] * SCALE\n") == [11.5]


def test_numbers_built_from_literals_or_spelt_out_in_strings_are_counted():
    # small integers and simple fractions are structural, but a ratio of two of them is a number like any other
    table = (
        "T = [7 / 3, 11 / 9, 2 ** 0.5]\nS = '0.31, 0.27'\n\n"
        "def scaling_law_func(x, p):\n    a, b = map(float, S.split(','))\n    return p[0] * x ** T[0] + T[1] * T[2] + a - b\n"
    )
    assert hidden_constants(table) == pytest.approx([7 / 3, 11 / 9, 2**0.5, 0.31, 0.27])
    assert numeric_constants(table) == pytest.approx([7 / 3, 11 / 9, 2**0.5, 0.31, 0.27])
    # folded or not, structural numbers, clamp bounds, indices and strings that are not numbers stay out
    honest = (
        "import numpy as np\n\ndef scaling_law_func(x, p):\n"
        "    return p[0] * np.maximum(x[:, 0], 7 / 3) ** -(1 / 2) + p[2 - 1] * np.asarray(x, dtype='float64')[:, 1] * (1 + 1 / 4)\n"
    )
    assert hidden_constants(honest) == []
    # an integer literal beyond float range, and a power too large to compute, are counted, not an error
    assert hidden_constants("def scaling_law_func(x, p):\n    return p[0] * x + " + "9" * 400 + " + 9.0 ** 9 ** 9\n") == [math.inf, 9.0**9]


def test_settings_reject_an_unknown_constants_policy():
    with pytest.raises(ValueError, match="constants must be one of count, strict"):
        Settings(constants="lenient")


@pytest.mark.parametrize("task", TASKS)
def test_honest_programs_show_no_hidden_constants_over_the_limit(task):
    spec = get_spec(task)
    assert hidden_constants(INITIAL_PROGRAM) == []
    refit = hidden_constants(refit_program(task))
    # the expert laws fix nothing but moe's margin between its two saturation scales (0.1)
    assert refit == ([0.1] if task == "moe" else [])


def test_the_law_grammar_programs_carry_no_hidden_constants_but_the_centres_of_moving_optima_and_flattening_basins(data_dir):
    from sldbench.symbolic.grammar import GrammarSearch, program

    for task in ("parallel", "moe", "sft", "d_constrain", "lr_bsz"):
        spec = get_spec(task)
        search = GrammarSearch(load_split(spec, "train", data_dir))
        for family in search.families:
            # an optimum that moves with a feature, or a basin that flattens with it, is centred on that
            # feature's reference value, a change of coordinates the fitted intercept or coefficient absorbs
            # (the law can predict nothing more)
            centres = [search.geometry.ref(m) for piece in family.pieces for m in piece.movers + piece.damp]
            found = hidden_constants(program(family, search.geometry, list(spec.targets)))
            assert sorted(found) == sorted(c for c in centres if not is_structural(c)), family


def test_honest_programs_score_as_before_through_the_separate_workers(local_sandbox, data_dir):
    from sldbench.scorer import score_program

    score = asyncio.run(score_program(local_sandbox, refit_program("parallel"), PARALLEL, data_dir))
    assert score.value["r2"] == pytest.approx(0.99989, abs=1e-4)
    assert score.metadata["param_counts"] == {"pile": 4, "stack": 4} and score.metadata["hidden_constants"] == []
    assert score.metadata["write_guard"].startswith("landlock") or not landlock_abi()
