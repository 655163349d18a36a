"""The warm runner: same results as a one-off run, isolation between jobs, recovery, shutdown.

Every warm-runner test runs over both ways a job reaches the runner: the host's own
connection to the socket (the local sandbox) and the client run in the sandbox (any
other sandbox; here a local one that does not say it is local).
"""

import asyncio
import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from test_scorer import FAILURES, FIT_PREDICT_SHAPE, _alive, marked_processes, new_marker, runaway_program, started_pids

from sldbench.data import load_split
from inspect_ai.util import SandboxEnvironment

from sldbench.sandbox.host import RUNNER_SOURCE, Limits, WarmRunner, run_program
from sldbench.sandbox.runner import decode_matrix, encode_matrix
from sldbench.specs import get_spec

PARALLEL = get_spec("parallel")
POINTS = {"pile": np.array([[1e8, 2.0], [5e8, 4.0]])}
FIT = {"pile": (POINTS["pile"], np.array([[3.0], [2.5]]))}


class ExecOnlySandbox(SandboxEnvironment):
    """A local sandbox seen only through exec and files, as a container is: jobs go through the client."""

    def __init__(self, local) -> None:
        self.local = local
        self.directory = local.directory

    async def exec(self, *args, **kwargs):
        return await self.local.exec(*args, **kwargs)

    async def write_file(self, *args, **kwargs):
        return await self.local.write_file(*args, **kwargs)

    async def read_file(self, *args, **kwargs):
        return await self.local.read_file(*args, **kwargs)

    @classmethod
    async def sample_cleanup(cls, *args, **kwargs) -> None:
        return None


@pytest.fixture(params=["host socket", "client in the sandbox"])
def warm_sandbox(request, local_sandbox):
    """The local sandbox, reached directly or through the client."""
    return local_sandbox if request.param == "host socket" else ExecOnlySandbox(local_sandbox)


def _parent(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as handle:
        return int(handle.read().rsplit(")", 1)[1].split()[1])


def _serving_in(directory: str) -> list[int]:
    """Pids of live processes run as ``runner.py --serve`` in ``directory``: runners and all they forked."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                argv = handle.read().split(b"\0")
            cwd = os.readlink(f"/proc/{entry}/cwd")
        except OSError:
            continue
        if b"--serve" in argv and cwd == directory and _alive(int(entry)):
            found.append(int(entry))
    return found


def _warm_processes(sandbox, forked_too: bool = False) -> list[int]:
    """Pids of warm runners serving a socket in this sandbox's folder (and, if asked, their forked handlers)."""
    found = _serving_in(sandbox.directory.name)
    if forked_too:
        return found
    forked = set()
    for pid in found:
        try:
            if _parent(pid) in found:
                forked.add(pid)
        except OSError:
            forked.add(pid)  # gone meanwhile
    return [pid for pid in found if pid not in forked]


def _until(condition, seconds=5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def _parallel_job(data_dir, predicted: str, **options) -> dict:
    """Arguments of a run of the ParScale fit-predict program, fitted on train, predicting split ``predicted``."""
    train = load_split(PARALLEL, "train", data_dir)
    points = load_split(PARALLEL, predicted, data_dir)
    return dict(
        program=textwrap.dedent(FIT_PREDICT_SHAPE),
        spec=PARALLEL,
        predict={g: points.arrays(g)[0] for g in points.groups},
        fit={g: train.arrays(g) for g in train.groups},
        limits=Limits(timeout=60),
        **options,
    )


def test_warm_and_one_off_runs_give_the_same_predictions(warm_sandbox, data_dir):
    test = load_split(PARALLEL, "test", data_dir)
    arguments = _parallel_job(data_dir, "test")

    async def both():
        warm = WarmRunner(warm_sandbox)
        try:
            return await run_program(warm_sandbox, **arguments), await warm.run(**arguments)
        finally:
            await warm.close()

    cold, warm = asyncio.run(both())
    assert cold.ok and warm.ok
    assert warm.param_counts == cold.param_counts == {"pile": 4, "stack": 4}
    for result in (cold, warm):  # the program's own time is measured apart from the runner's
        assert 0 < result.fit_seconds and 0 < result.predict_seconds and result.fit_seconds + result.predict_seconds < result.seconds
    for group in test.groups:
        np.testing.assert_array_equal(warm.predictions[group], cold.predictions[group])


@pytest.mark.parametrize(
    "values",
    [np.array([[1e-308, -0.0], [np.nan, np.inf], [-np.inf, 1 / 3]]), np.arange(5.0), np.empty((0, 2)), [[1, 2], [3, 4]]],
)
def test_matrices_cross_the_protocol_bit_for_bit(values):
    expected = np.asarray(values, dtype=float)
    decoded = decode_matrix(json.loads(json.dumps(encode_matrix(values))))
    assert decoded.shape == expected.shape and decoded.tobytes() == expected.tobytes()
    decoded[...] = 0  # the worker may change its arrays in place


def test_warm_runner_reports_each_failure_like_a_one_off_run(warm_sandbox):
    async def compare():
        warm = WarmRunner(warm_sandbox)
        try:
            for program, reason in FAILURES.values():
                cold = await run_program(warm_sandbox, program, PARALLEL, POINTS, FIT, Limits(timeout=30))
                hot = await warm.run(program, PARALLEL, POINTS, FIT, Limits(timeout=30))
                assert not hot.ok and (hot.kind, hot.error) == (cold.kind, cold.error), program
                assert reason in f"{hot.kind}: {hot.error}\n{hot.detail}"
        finally:
            await warm.close()

    asyncio.run(compare())


def record_execs(sandbox) -> list:
    """The commands ``sandbox.exec`` runs from now on (they still run), in order."""
    commands = []
    exec_in_sandbox = sandbox.exec

    async def recorded_exec(cmd, *args, **kwargs):
        commands.append(cmd)
        return await exec_in_sandbox(cmd, *args, **kwargs)

    sandbox.exec = recorded_exec
    return commands


def test_local_sandbox_jobs_reach_the_warm_runner_without_a_process_per_job(local_sandbox):
    commands = record_execs(local_sandbox)

    async def jobs():
        warm = WarmRunner(local_sandbox)
        try:
            results, runners = [], set()
            for k in range(5):
                results.append(await warm.run(f"def law(d, g):\n    return [{{'loss': {k}.0}} for _ in d]\n", PARALLEL, POINTS))
                runners.add(warm._process.pid)
            return results, runners
        finally:
            await warm.close()

    results, runners = asyncio.run(jobs())
    assert [r.predictions["pile"][0, 0] for r in results] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert len(runners) == 1  # one runner, a child of this process, served all five
    assert len(commands) == 1 and commands[0][:2] == ["rm", "-f"], commands  # only the removal of its socket on close


def test_jobs_cannot_affect_one_another(warm_sandbox):
    tamper = textwrap.dedent('''
        import builtins, numpy
        numpy.asarray = lambda *a, **k: "tampered"
        builtins.float = lambda x: 42.0
        def law(input_data, group):
            return [{"loss": 1.0} for _ in input_data]
    ''')
    honest = "import numpy\ndef law(input_data, group):\n    return [{'loss': float(numpy.asarray(p['parallel_size']))} for p in input_data]\n"

    async def sequence():
        warm = WarmRunner(warm_sandbox)
        try:
            first = await warm.run(tamper, PARALLEL, POINTS)
            second = await warm.run(honest, PARALLEL, POINTS)
            return first, second
        finally:
            await warm.close()

    first, second = asyncio.run(sequence())
    assert not first.ok  # the runner's own numpy.asarray is the tampered one inside that job only
    assert second.ok, second.error
    np.testing.assert_array_equal(second.predictions["pile"], [[2.0], [4.0]])


def test_concurrent_jobs_get_their_own_results(warm_sandbox):
    programs = [f"def law(input_data, group):\n    return [{{'loss': {k}.0}} for _ in input_data]\n" for k in range(6)]

    async def together():
        warm = WarmRunner(warm_sandbox)
        try:
            return await asyncio.gather(*(warm.run(p, PARALLEL, POINTS) for p in programs))
        finally:
            await warm.close()

    results = asyncio.run(together())
    assert [r.predictions["pile"][0, 0] for r in results] == [float(k) for k in range(6)]


def test_a_job_can_neither_kill_the_warm_runner_nor_plant_modules(warm_sandbox):
    # every worker is under the guards: no signal leaves its own tree, no file is written
    assassin = textwrap.dedent('''
        import os, signal
        def _parent(pid):
            with open(f"/proc/{pid}/stat") as f:
                return int(f.read().rsplit(")", 1)[1].split()[1])
        def law(input_data, group):
            refused = []
            for place in (os.environ["HOME"], "."):  # the sandbox's folder (refused), the phase's scratch (removed after it)
                for name in ("json.py", "numpy.py", "socket.py", "sitecustomize.py"):  # for the next runner to import
                    try:
                        open(os.path.join(place, name), "w").write("raise SystemExit('trojan imported')\\n")
                    except PermissionError:
                        refused.append(name)
            handler = os.getppid()
            # the warm runner, and the process waiting for this job; in a PID namespace of its own
            # neither has a number, and the namespace's init is the one other process there is
            for pid in (_parent(handler), handler) if handler else (1, 1):
                try:
                    os.kill(pid, signal.SIGKILL)
                except PermissionError:
                    refused.append(pid)
            return [{"loss": float(len(refused))} for _ in input_data]
    ''')
    honest = "def law(input_data, group):\n    return [{'loss': 7.0} for _ in input_data]\n"

    async def sequence():
        warm = WarmRunner(warm_sandbox)
        try:
            await warm.run(honest, PARALLEL, POINTS)
            first_runner = _warm_processes(warm_sandbox)
            attempt = await warm.run(assassin, PARALLEL, POINTS, limits=Limits(timeout=20))
            after = await warm.run(honest, PARALLEL, POINTS)
            return first_runner, attempt, after, _warm_processes(warm_sandbox)
        finally:
            await warm.close()

    first_runner, attempt, after, runner_after = asyncio.run(sequence())
    assert attempt.ok and attempt.predictions["pile"][0, 0] == 6.0, attempt  # four files in the folder and two kills refused
    assert len(first_runner) == 1 and runner_after == first_runner
    assert not [path.name for path in Path(warm_sandbox.directory.name).rglob("*.py")]
    assert after.ok and after.predictions["pile"][0, 0] == 7.0


def test_a_warm_runner_killed_from_outside_is_replaced_and_the_next_job_runs(warm_sandbox):
    honest = "def law(input_data, group):\n    return [{'loss': 7.0} for _ in input_data]\n"

    async def sequence():
        warm = WarmRunner(warm_sandbox)
        try:
            await warm.run(honest, PARALLEL, POINTS)
            first_runner = _warm_processes(warm_sandbox)
            os.kill(first_runner[0], signal.SIGKILL)
            # Until the killed runner's exit completes, its spare handlers still take jobs (and
            # serve them); wait for them to go, so the next job needs a new runner.
            gone = _until(lambda: _warm_processes(warm_sandbox, forked_too=True) == [])
            after = await warm.run(honest, PARALLEL, POINTS)
            return first_runner, gone, after, _warm_processes(warm_sandbox)
        finally:
            await warm.close()

    first_runner, gone, after, second_runner = asyncio.run(sequence())
    assert gone, "the killed warm runner's handlers outlived it"
    assert len(first_runner) == 1 and len(second_runner) == 1 and first_runner != second_runner
    assert after.ok and after.predictions["pile"][0, 0] == 7.0


@pytest.mark.slow
def test_a_warm_runner_killed_while_it_forks_its_spares_leaves_no_process(tmp_path):
    """Killed at moments spread over its first 30 ms, while its spare handlers fork their workers
    (and, where it may, each worker's PID namespace with its init), the runner leaves nothing
    behind: what it forked dies with it, whatever step of forking it was at."""
    key_hash = hashlib.sha256(b"key").hexdigest()
    survivors = {}
    for attempt, delay in enumerate(np.linspace(0.0, 0.03, 40)):
        folder = tmp_path / str(attempt)
        folder.mkdir()
        started = subprocess.run(
            [sys.executable, "-I", "-c", RUNNER_SOURCE, "--serve", str(folder / "socket"), "--key-hash", key_hash, "--idle", "60"],
            cwd=folder, capture_output=True, text=True, check=True,
        )
        runner = int(started.stdout.split()[1])  # "ready PID"
        time.sleep(delay)
        os.kill(runner, signal.SIGKILL)
        if not _until(lambda: _serving_in(str(folder)) == [], seconds=3.0):
            survivors[f"killed after {delay * 1000:.1f} ms"] = left = _serving_in(str(folder))
            for pid in left:
                os.kill(pid, signal.SIGKILL)
    assert not survivors, survivors


def test_a_foreground_runner_whose_parent_died_before_it_asked_to_die_with_it_exits(tmp_path):
    """The parent starts a foreground runner as the host does (stdin a pipe it keeps) and exits at
    once, long before the runner's interpreter has started: the death signal it then asks for
    would follow whatever adopted it, so the closed pipe must end it."""
    key_hash = hashlib.sha256(b"key").hexdigest()
    serve = [sys.executable, "-I", "-c", RUNNER_SOURCE, "--serve", str(tmp_path / "socket"), "--key-hash", key_hash, "--idle", "60", "--foreground"]
    parent = (
        "import os, subprocess, sys\n"
        "subprocess.Popen(sys.argv[1:], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)\n"
        "os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", parent, *serve], cwd=tmp_path, check=True)
    gone = _until(lambda: _serving_in(str(tmp_path)) == [], seconds=10.0)
    left = _serving_in(str(tmp_path))
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert gone, f"the runner outlived its parent: {left}"


def test_runaway_job_is_killed_with_no_process_left(warm_sandbox):
    marker = new_marker()

    async def run():
        warm = WarmRunner(warm_sandbox)
        try:
            return await warm.run(runaway_program(marker), PARALLEL, POINTS, limits=Limits(timeout=3))
        finally:
            await warm.close()

    result = asyncio.run(run())
    assert result.kind == "timeout" and "timed out after 3 s" in result.error
    assert len(started_pids(result.detail)) == 2  # both had started
    # killed before the reply, reaped just after it
    assert _until(lambda: marked_processes(marker) == []), marked_processes(marker)


@pytest.mark.parametrize("how", ["close", "sandbox removed"])
def test_warm_runner_stops_when_closed_or_when_its_sandbox_goes(how):
    from inspect_ai.util._sandbox.local import LocalSandboxEnvironment

    sandbox = LocalSandboxEnvironment()
    warm = WarmRunner(sandbox)
    result = asyncio.run(warm.run("def law(d, g):\n    return [{'loss': 1.0} for _ in d]\n", PARALLEL, POINTS))
    assert result.ok
    (pid,) = _warm_processes(sandbox)
    if how == "close":
        asyncio.run(warm.close())
    else:
        sandbox.directory.cleanup()
    assert _until(lambda: not _alive(pid)), f"the warm runner {pid} outlived its {how}"
    if how == "close":
        sandbox.directory.cleanup()


@pytest.mark.docker
def test_warm_runner_in_a_docker_container_matches_the_local_one(docker_sandbox, local_sandbox, data_dir):
    train = load_split(PARALLEL, "train", data_dir)
    arguments = _parallel_job(data_dir, "train", batch_check=True)

    async def in_both():
        results = []
        for sandbox in (docker_sandbox, local_sandbox):
            warm = WarmRunner(sandbox)
            try:
                results.append(await warm.run(**arguments))
                results.append(await warm.run(**arguments))  # the second job reuses the runner
            finally:
                await warm.close()
        return results

    results = asyncio.run(in_both())
    assert all(r.ok and r.batch_dependent == [] for r in results), [r.error for r in results]
    for group in train.groups:
        np.testing.assert_allclose(results[0].predictions[group], results[2].predictions[group], rtol=1e-6)


@pytest.mark.docker
def test_docker_jobs_reach_the_warm_runner_through_one_relay_not_an_exec_per_job(docker_sandbox):
    from sldbench.sandbox.relay import REQUEST_HEADER

    exec_in_sandbox = docker_sandbox.exec
    commands = record_execs(docker_sandbox)
    relays = "import os\nprint(sum('>QIQ' in open(f'/proc/{p}/cmdline').read() for p in os.listdir('/proc') if p.isdigit() and int(p) != os.getpid()))"

    async def jobs():
        warm = WarmRunner(docker_sandbox)
        try:
            results = await asyncio.gather(*(warm.run(f"def law(d, g):\n    return [{{'loss': {k}.0}} for _ in d]\n", PARALLEL, POINTS) for k in range(6)))
            during = (await exec_in_sandbox(["python3", "-c", relays])).stdout.strip()
        finally:
            await warm.close()
        return results, during

    results, during = asyncio.run(jobs())
    assert REQUEST_HEADER.format == ">QIQ"
    assert sorted(r.predictions["pile"][0, 0] for r in results) == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]  # jobs in flight together
    assert during == "1"  # one relay served all six
    # the execs: making the runner's folder, starting it, removing its socket on close; none per job
    assert len(commands) == 3 and commands[0][:2] == ["mkdir", "-p"] and commands[-1][:2] == ["rm", "-f"], commands


ISOLATION_PROBE = """
import os, socket
def law(input_data, group):
    leaks = 0
    for path in {paths!r}:  # 1: a test split where users keep it
        try:
            leaks |= 1 * ("loss" in open(path).read())
        except OSError:
            pass
    leaks |= 2 * any("SLDBENCH" in k or "sk-planted" in v for k, v in os.environ.items())  # 2: the eval's environment
    try:  # 4: a port on the host
        socket.create_connection(("127.0.0.1", {port}), timeout=0.5).close()
        leaks |= 4
    except OSError:
        pass
    try:  # 8: a folder outside the working directory
        open({outside!r}, "w").write("x")
        leaks |= 8
    except OSError:
        pass
    return [{{"loss": float(leaks)}} for _ in input_data]
"""


@pytest.mark.bubblewrap
def test_warm_runs_are_isolated_as_one_off_runs_are(local_sandbox, rlimits_sandbox, planted_test_splits, tmp_path, monkeypatch):
    import socket

    monkeypatch.setenv("SLDBENCH_PLANTED_SECRET", "sk-planted-0123456789")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    program = ISOLATION_PROBE.format(paths=[str(p) for p in planted_test_splits], port=listener.getsockname()[1], outside=str(tmp_path / "planted.txt"))

    async def both(sandbox):
        warm = WarmRunner(sandbox)
        try:
            return await run_program(sandbox, program, PARALLEL, POINTS), await warm.run(program, PARALLEL, POINTS)
        finally:
            await warm.close()

    try:
        isolated = asyncio.run(both(local_sandbox))
        control = asyncio.run(both(rlimits_sandbox))
    finally:
        listener.close()
    assert [r.isolation for r in isolated] == ["bubblewrap", "bubblewrap"]
    assert [r.predictions["pile"][0, 0] for r in isolated] == [0.0, 0.0]
    # without bubblewrap the same probe reads the test split; the port and the folder outside stay
    # out of reach of the worker's own guards, and the environment is cleared either way
    assert [r.isolation for r in control] == ["rlimits-only", "rlimits-only"]
    assert [r.predictions["pile"][0, 0] for r in control] == [1.0, 1.0]


INJECTOR = '''
import glob, json, os, socket
def law(input_data, group):
    places = [os.path.join(os.environ.get("HOME", "/"), ".sldbench"), "/home/sld/work/.sldbench", FOLDER + "/.sldbench"]
    sockets = sorted({path for place in places for path in glob.glob(os.path.join(place, "*.sock"))})
    job = {"program": "def law(d, g):\\n    return [{'loss': 5.0} for _ in d]\\n", "shape": "law", "features": ["num_params", "parallel_size"],
           "targets": ["loss"], "predict": {}, "limits": {}}
    ran = 0
    for path in sockets:
        for header in ({"nonce": "n", "timeout": 5}, {"nonce": "n", "timeout": 5, "key": "0" * 64}):
            try:
                connection = socket.socket(socket.AF_UNIX)
                connection.connect(path)
                connection.sendall((json.dumps(header) + "\\n" + json.dumps(job)).encode())
                connection.shutdown(socket.SHUT_WR)
                reply = b"".join(iter(lambda: connection.recv(65536), b""))
                ran += json.loads(reply).get("ok") is True
            except (OSError, ValueError):
                pass
    return [{"loss": float(100 * len(sockets) + ran)} for _ in input_data]
'''


@pytest.fixture(params=["host socket", "client in the sandbox", pytest.param("docker", marks=pytest.mark.docker)])
def any_warm_sandbox(request, local_sandbox):
    if request.param == "docker":
        return request.getfixturevalue("docker_sandbox")
    return local_sandbox if request.param == "host socket" else ExecOnlySandbox(local_sandbox)


def test_a_job_cannot_make_the_warm_runner_run_a_job_of_its_own(any_warm_sandbox):
    # the runner's socket is in reach (a connect is no write), but it runs only requests carrying the
    # host's key, which no process in the sandbox holds: the runner was given its hash
    async def run():
        warm = WarmRunner(any_warm_sandbox)
        try:
            folder = getattr(getattr(any_warm_sandbox, "directory", None), "name", "/nowhere")
            return await warm.run(f"FOLDER = {folder!r}\n" + INJECTOR, PARALLEL, POINTS)
        finally:
            await warm.close()

    result = asyncio.run(run())
    assert result.ok, result.error
    assert result.predictions["pile"][0, 0] == 100.0  # one socket found, no forged job run
