"""Hostile submissions through the real scoring path (run_program, then score_run on the host).

Every case runs in the local (default: bubblewrap) and in the docker sandbox. After each one
the same sandbox must have no process of the run left, and must still score the published
ParScale law exactly: the harness carries on and a submission cannot change a later score.
Cases that probe isolation (network, files outside the working directory, the environment, the
test split where users keep it, a whole-filesystem search) must find nothing in either; each
has the local sandbox without bubblewrap as its control, where the probe finds what it looks
for (so it would catch a leak). Only the sum of memory over many processes is bounded by
docker alone.
"""

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import DATA_DIR, WALK_EVERYTHING

from sldbench.data import load_split
from sldbench.sandbox import bubblewrap
from sldbench.sandbox.host import Limits, run_program
from sldbench.metrics import heldout_metrics
from sldbench.scorer import score_run
from sldbench.specs import get_spec
from sldbench.submission import hidden_constants, numeric_constants

PARALLEL = get_spec("parallel")
PARALLEL_HUMAN_R2 = 0.9998925970125949  # the published ParScale constants on the test split
# Generous wall time for runs that end by themselves (a loaded machine is slow to import numpy),
# short for the ones that can only end by the timeout.
FAST = dict(timeout=30, memory_mb=768, file_size_mb=8)
SHORT = 3

PUBLISHED = """
import math
_C = {"pile": (135335300.0, 0.344689, 0.223649, 1.37668), "stack": (18315640.0, 0.419331, 0.132752, 0.532023)}
def _truth(input_data, group):
    A, k, alpha, E = _C[group]
    return [{"loss": (A / (p["num_params"] * (k * math.log(p["parallel_size"]) + 1))) ** alpha + E} for p in input_data]
"""


def hostile(body: str, prelude: str = "") -> str:
    """A law that runs ``body`` before answering with the published law's predictions."""
    return PUBLISHED + textwrap.dedent(prelude) + "\ndef law(input_data, group):\n" + textwrap.indent(
        textwrap.dedent(body), "    "
    ) + "\n    return _truth(input_data, group)\n"


@pytest.fixture(params=["local", pytest.param("docker", marks=pytest.mark.docker)])
def sandbox(request):
    if request.param == "docker":
        sandbox = request.getfixturevalue("docker_sandbox")
    else:
        sandbox = request.getfixturevalue("local_sandbox")
    yield sandbox
    assert lasting_processes(sandbox) == []
    # the same sandbox still scores the real law exactly: nothing the submission did survived
    assert attack(sandbox, PUBLISHED + "law = _truth\n").value["r2_raw"] == pytest.approx(PARALLEL_HUMAN_R2, abs=1e-12)


def is_docker(sandbox) -> bool:
    return type(sandbox).__name__ == "DockerSandboxEnvironment"


def attack(sandbox, program: str, **limits):
    """Score ``program`` on the parallel task exactly as the scorer does, with short limits."""
    data_dir = str(DATA_DIR)
    train, test = load_split(PARALLEL, "train", data_dir), load_split(PARALLEL, "test", data_dir)
    result = asyncio.run(
        run_program(
            sandbox,
            program,
            PARALLEL,
            predict={g: test.arrays(g)[0] for g in test.groups},
            fit={g: train.arrays(g) for g in train.groups},
            limits=Limits(**{**FAST, **limits}),
        )
    )
    return score_run(result, test, "hostile")


def leftover_processes(sandbox) -> list[str]:
    """Live processes of past runs: in docker anything but init and the keepalive; locally, any
    process whose working directory or command line lies in the sandbox's folder."""
    if is_docker(sandbox):
        probe = (
            "import os\n"
            "for p in os.listdir('/proc'):\n"
            "    if p.isdigit() and int(p) not in (1, os.getpid()):\n"
            "        try:\n"
            "            state = open(f'/proc/{p}/stat').read().rsplit(')', 1)[1].split()[0]\n"
            "            cmd = open(f'/proc/{p}/cmdline').read().replace('\\0', ' ').strip()\n"
            "        except OSError:\n"
            "            continue\n"
            "        if state != 'Z' and cmd != '/bin/sleep infinity':\n"
            "            print(p, cmd)\n"
        )
        return asyncio.run(sandbox.exec(["python3", "-c", probe], user="root")).stdout.splitlines()
    folder = os.path.realpath(sandbox.directory.name)
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
            cmd = open(f"/proc/{pid}/cmdline").read().replace("\0", " ")
        except OSError:
            continue
        if cwd.startswith(folder) or folder in cmd:
            found.append(f"{pid} {cmd}")
    return found


def lasting_processes(sandbox, grace: float = 5.0) -> list[str]:
    """`leftover_processes` still there after ``grace`` seconds (a killed process takes a moment to go)."""
    deadline = time.monotonic() + grace
    while (found := leftover_processes(sandbox)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return found


def assert_fails(score, *reasons):
    assert score.value["r2"] == -1.0 and score.value["r2_raw"] == -1.0
    assert any(reason in score.explanation for reason in reasons), score.explanation


# ----------------------------------------------------------------- resources


def test_infinite_loop_times_out(sandbox):
    assert_fails(attack(sandbox, hostile("while True:\n    pass"), timeout=SHORT), "timeout: timed out after 3 s")


def test_fork_bomb(sandbox):
    if is_docker(sandbox):  # no worker in a container may start a process: the first fork fails
        body = "import os\nwhile True:\n    os.fork()"
    else:  # as root RLIMIT_NPROC does not apply and the host has no cap: a bounded swarm
        body = "import os, time\nfor _ in range(150):\n    if os.fork() == 0:\n        while True:\n            time.sleep(1)\nwhile True:\n    pass"
    score = attack(sandbox, hostile(body), timeout=SHORT)
    # which copy fails first is a race: any of these, always -1
    if is_docker(sandbox):
        assert_fails(score, "PermissionError: [Errno 1] Operation not permitted")
        return
    assert_fails(score, "timeout", "BlockingIOError", "Resource temporarily unavailable", "killed", "no_result")


def test_memory_bomb(sandbox):
    body = "blocks = []\nwhile True:\n    blocks.append(bytearray(64 * 2**20))"
    assert_fails(attack(sandbox, hostile(body)), "MemoryError", "killed by SIGKILL")


@pytest.mark.docker
def test_memory_spread_over_processes_is_stopped_in_the_container(docker_sandbox, local_sandbox):
    # each child stays under the per-process limit: only a container could bound their sum, and in one
    # a worker starts no process at all (the container's memory cgroup stays the last bound)
    body = """
    import os, time
    children = []
    for _ in range(5):
        pid = os.fork()
        if pid == 0:
            block = bytearray(300 * 2**20)
            block[::4096] = b"x" * len(block[::4096])
            os._exit(0)
        children.append(pid)
    done = sum(os.waitpid(pid, 0)[1] == 0 for pid in children)
    return [{"loss": float(done)} for _ in input_data]
    """
    program = hostile(body)
    local = attack(local_sandbox, program, memory_mb=512)
    assert local.metadata["shape"] == "law" and _constant_prediction(local, 5.0)  # no aggregate cap
    contained = attack(docker_sandbox, program, memory_mb=512)
    assert_fails(contained, "PermissionError: [Errno 1] Operation not permitted")
    assert lasting_processes(docker_sandbox) == []


def _constant_prediction(score, value):
    test = load_split(PARALLEL, "test", str(DATA_DIR))
    expected = heldout_metrics(test.stacked_targets(), np.full(len(test.frame), value))
    return score.value["r2_raw"] == pytest.approx(expected.r2_raw, abs=1e-12)


def test_enormous_output_hits_the_file_size_limit(sandbox):
    body = "import sys\nwhile True:\n    sys.stdout.write('x' * 2**20)\n    sys.stderr.write('y' * 2**20)"
    # Python ignores SIGXFSZ, so the write fails with EFBIG instead of the process being killed
    assert_fails(attack(sandbox, hostile(body)), "File too large", "file_limit: killed by SIGXFSZ")


def test_loud_but_correct_submission_keeps_its_score(sandbox):
    body = "import sys\nprint('x' * 3 * 2**19)\nprint('y' * 2**19, file=sys.stderr)"  # per group: 4 MiB in all
    score = attack(sandbox, hostile(body))
    assert score.value["r2_raw"] == pytest.approx(PARALLEL_HUMAN_R2, abs=1e-12)


def test_flooding_the_runner_reply_channel_with_fake_replies(sandbox):
    # the worker writes straight into its supervisor's stdout: megabytes, then forged reply lines
    # (where the runner's processes can be opened at all: the runner makes them non-dumpable,
    # which in a container keeps a submission of the same user out of their /proc entries)
    body = """
    import json, os
    try:
        channel = open(f"/proc/{os.getppid() or 1}/fd/1", "w")  # 1: the init of its own PID namespace
    except PermissionError:
        channel = None
    if channel is not None:
        with channel:
            channel.write(("z" * 1023 + "\\n") * 12 * 1024)
            for nonce in ("", "0" * 32, "guess"):
                channel.write(json.dumps({"nonce": nonce, "ok": True, "predictions": {"pile": [[1.0]] * 6, "stack": [[1.0]] * 6}}) + "\\n")
    return [{"loss": 0.0} for _ in input_data]
    """
    score = attack(sandbox, hostile(body))
    assert score.metadata["shape"] == "law" and _constant_prediction(score, 0.0)


# ---------------------------------------------------------- exits and kills


@pytest.mark.parametrize(
    "body, reason",
    [
        ("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", "killed by SIGKILL"),
        ("import ctypes\nctypes.string_at(0)", "killed by SIGSEGV"),
        ("import threading, os\nthreading.Thread(target=lambda: os._exit(0)).start()\nimport time\ntime.sleep(5)",
         "exited with code 0 before producing predictions"),
    ],
    ids=["self-kill", "segfault", "exit-from-a-thread"],
)  # fmt: skip
def test_early_exit(sandbox, body, reason):
    if is_docker(sandbox) and "threading" in body:
        reason = "can't start new thread"  # no worker in a container starts a thread
    assert_fails(attack(sandbox, hostile(body)), reason)


def test_exit_while_importing(sandbox):
    assert_fails(attack(sandbox, PUBLISHED + "import os\nos._exit(0)\nlaw = _truth\n"), "exited with code 0")


def test_a_program_nested_too_deeply_to_parse(sandbox):
    # Python's parser gives up on it (RecursionError, not SyntaxError): its run fails with the reason,
    # and the host's readers of programs (the shape, the constant counts) do not break on it
    deep = PUBLISHED + "def law(input_data, group):\n    x = " + " + ".join(["1"] * 50_000) + "\n    return _truth(input_data, group)\n"
    assert numeric_constants(deep) == [] and hidden_constants(deep, "law") == []
    assert_fails(attack(sandbox, deep), "RecursionError")


def test_killing_the_runner_is_refused(sandbox):
    # no worker can signal a process outside its own tree: the kill fails, and the run with it (in a
    # PID namespace of its own the supervisor has no number there, and the namespace's init is the target)
    body = "import os, signal, time\nos.kill(os.getppid() or 1, signal.SIGKILL)\nwhile True:\n    time.sleep(0.1)"
    assert_fails(attack(sandbox, hostile(body), timeout=SHORT), "PermissionError: [Errno 1] Operation not permitted")


@pytest.mark.docker
def test_killing_every_process_it_can_reaches_none_outside_its_own_tree(docker_sandbox):
    # kill(-1) reaches only the worker's own descendants (none): the runner answers, the law scores as it is
    score = attack(docker_sandbox, hostile("import os, signal\nos.kill(-1, signal.SIGKILL)"))
    assert score.value["r2_raw"] == pytest.approx(PARALLEL_HUMAN_R2, abs=1e-12)
    assert lasting_processes(docker_sandbox) == []
    assert attack(docker_sandbox, PUBLISHED + "law = _truth\n").value["r2_raw"] == pytest.approx(PARALLEL_HUMAN_R2)


# ------------------------------------------------------------------- tampering


def test_planting_modules_for_later_runs(sandbox):
    # The runner keeps no file in the sandbox (its source travels on the command line, its job
    # on stdin), so what a submission could tamper with is what a later run might import: modules
    # planted in the working directory or /tmp. A worker writes only in its scratch folder (its
    # working directory and its /tmp), which is removed when its phase ends.
    shared_tmp = "[tempfile.gettempdir()]" if is_docker(sandbox) else "[]"
    body = f"""
    import json, numpy, os, sys, tempfile  # loaded before the trojans: this run itself completes
    trojan = "raise SystemExit('trojan imported')\\n"
    for place in [os.getcwd(), os.path.join(os.getcwd(), ".sldbench")] + {shared_tmp}:
        for name in ("numpy.py", "json.py", "socket.py", "sitecustomize.py", "usercustomize.py", "math.py"):
            try:
                open(os.path.join(place, name), "w").write(trojan)
            except OSError:
                pass
    """
    score = attack(sandbox, hostile(body))
    assert score.value["r2_raw"] == pytest.approx(PARALLEL_HUMAN_R2, abs=1e-12)
    # the working directory took them (the phase's scratch folder), and went with the phase
    planted = asyncio.run(sandbox.exec(["find", ".", "-name", "*.py"]))
    assert planted.success and planted.stdout.strip() == ""


def test_patching_the_metric_code_in_its_own_process_changes_nothing(sandbox, data_dir):
    body = """
    import numpy
    numpy.mean = lambda *a, **k: 0.0
    numpy.var = lambda *a, **k: 1e-300
    numpy.isfinite = lambda x: numpy.ones(numpy.shape(x), bool)
    try:
        import sldbench.metrics as metrics
        metrics.heldout_metrics = lambda *a, **k: None
        metrics.as_prediction_matrix = lambda p, *a: p
    except ImportError:
        pass  # not in the docker sandbox at all
    return [{"loss": 2.5} for _ in input_data]
    """
    score = attack(sandbox, hostile(body))
    test = load_split(PARALLEL, "test", data_dir)
    expected = heldout_metrics(test.stacked_targets(), np.full(len(test.frame), 2.5))
    assert score.value["r2_raw"] == pytest.approx(expected.r2_raw, abs=1e-12)


def fit_predict(fit_body: str, predict_body: str) -> str:
    """A fit-and-predict program: ``fit_body`` ends by returning the vector, ``predict_body`` the predictions."""
    return (
        "import numpy as np\n\ndef fit_scaling_law(data_points, loss_values):\n" + textwrap.indent(textwrap.dedent(fit_body), "    ")
        + "\n\ndef scaling_law_func(data_points, params):\n" + textwrap.indent(textwrap.dedent(predict_body), "    ") + "\n"
    )


def test_constants_in_the_shape_of_an_empty_vector_are_refused(sandbox):
    # np.empty([0, A, k, alpha, E]) has no numbers to count, and four constants in its shape
    program = fit_predict(
        "return np.empty([0, 135, 3, 2, 1])",
        "A, k, alpha, E = np.shape(params)[1:]\nreturn np.full(len(data_points), float(E))",
    )
    score = attack(sandbox, program)
    assert_fails(score, "bad_params: fit_scaling_law must return a flat vector of numbers")
    assert "shape [0, 135, 3, 2, 1]" in score.explanation


def test_no_kernel_state_set_in_the_fit_reaches_the_predict_worker(sandbox):
    # the host name and domain name are state of the kernel that both workers see: a fit without
    # capabilities can set neither (it would store its constants there and return one number)
    program = fit_predict(
        """
        import socket, ctypes
        stored = 0
        for call in (lambda: socket.sethostname("c-3.1-4.1-5.9"), lambda: ctypes.CDLL(None, use_errno=True).setdomainname(b"c-2.6", 5)):
            try:
                stored += call() in (None, 0)
            except OSError:
                pass
        return np.array([float(stored)])
        """,
        """
        import socket
        import ctypes
        header, data = (ctypes.c_uint32 * 2)(0x20080522, 0), (ctypes.c_uint32 * 6)()  # capget, version 3
        ctypes.CDLL(None).capget(header, data)
        capabilities = data[0] | data[1] | data[3] | data[4]  # effective and permitted, both halves
        return np.full(len(data_points), 10 * params[0] + 100 * socket.gethostname().startswith("c-") + 1000 * (capabilities != 0))
        """,
    )
    assert _constant_prediction(attack(sandbox, program), 0.0)


def pid_channel(spawned: int) -> str:
    """A fit that tries to start ``spawned`` processes and a predict that answers with the process numbers
    and counts it can see (-1 for each it cannot)."""
    return fit_predict(
        f"""
        import os
        for _ in range({spawned}):
            try:
                child = os.fork()
            except OSError:
                break
            if child == 0:
                os._exit(0)
            os.waitpid(child, 0)
        return np.array([1.0])
        """,
        """
        import os
        state = globals()
        if "seen" not in state:  # the first group's call (the worker predicts every group)
            def number(read):
                try:
                    return read()
                except OSError:
                    return -1

            def child():
                pid = os.fork()
                if pid == 0:
                    os._exit(0)
                os.waitpid(pid, 0)
                return pid

            started = number(child)
            last = number(lambda: int(open("/proc/loadavg").read().split("/")[1].split()[1]))
            highest = number(lambda: max(int(p) for p in os.listdir("/proc") if p.isdigit()))
            forks = number(lambda: int(next(line for line in open("/proc/stat") if line.startswith("processes")).split()[1]))
            state["seen"] = (os.getpid() == 2) + 10 * started + 100 * last + 1000 * highest + 1e4 * forks
        return np.full(len(data_points), state["seen"])
        """,
    )


def test_no_process_number_made_in_the_fit_is_seen_by_the_predict_worker(sandbox):
    # the numbers the kernel hands out are state every worker sees: 20 processes started in the fit
    # would move every number the predict worker can read by 20 (the last process number, the highest
    # one alive, its own child's, the count of processes ever started), a channel for the constants
    quiet, busy = attack(sandbox, pid_channel(0)), attack(sandbox, pid_channel(20))
    for score in (quiet, busy):
        assert "no reads of /proc or /sys" in score.metadata["write_guard"], score.metadata["write_guard"]
    if is_docker(sandbox):
        # a container cannot make namespaces without privileges: its workers share one PID namespace,
        # so none may start a process or thread (the fit could not start its 20), and none reads /proc
        assert "no new processes or threads" in busy.metadata["write_guard"]
        for score in (quiet, busy):
            assert _constant_prediction(score, -10 - 100 - 1000 - 1e4), score.explanation
        return
    # each worker is process 2 of its own namespace and its child (reaped) was 3; /proc is not read
    assert "own PID namespace and /proc" in busy.metadata["write_guard"], busy.metadata["write_guard"]
    for score in (quiet, busy):
        assert _constant_prediction(score, 1 + 10 * 3 - 100 - 1000 - 1e4), score.explanation


def test_the_predict_worker_writes_nowhere_but_its_scratch_folder(sandbox):
    # every phase is guarded, not the fit alone: a predict worker could otherwise leave files for the
    # next candidate, or for the scorer
    program = fit_predict(
        "return np.array([1.0])",
        """
        import os
        written = 0
        for place in ("/tmp", "/var/tmp", "/dev/shm", os.environ.get("HOME", "/"), os.path.dirname(os.getcwd())):
            try:
                with open(os.path.join(place, "left-by-predict.txt"), "w") as handle:
                    handle.write("x")
                written += 1
            except OSError:
                pass
        with open("scratch.txt", "w") as handle:  # its own scratch folder takes a write
            handle.write("x")
        return np.full(len(data_points), float(written))
        """,
    )
    score = attack(sandbox, program)
    assert _constant_prediction(score, 0.0), score.explanation
    assert "landlock" in score.metadata["write_guard"] and "no capabilities" in score.metadata["write_guard"]


def test_no_worker_can_read_or_write_the_runners_own_processes(sandbox):
    # the supervisor's memory holds the nonce of the reply; its stdout is the reply channel
    body = """
    import os
    reached = 0
    try:  # the supervisor, the relay, ...
        pids = {int(p) for p in os.listdir("/proc") if p.isdigit()} - {os.getpid()}
    except OSError:
        pids = set(range(1, 4096)) - {os.getpid()}  # /proc cannot be listed: every other low process number
    pids = pids if PROBED is None else PROBED
    for pid in pids:
        for path, mode in ((f"/proc/{pid}/mem", "rb"), (f"/proc/{pid}/environ", "rb"), (f"/proc/{pid}/fd/1", "wb")):
            try:
                with open(path, mode) as handle:
                    handle.read(1) if "r" in mode else handle.write(b"{}")
                reached += 1
            except OSError:
                pass
    return [{"loss": float(reached)} for _ in input_data]
    """
    assert _constant_prediction(attack(sandbox, hostile(body, prelude="PROBED = None\n")), 0.0)
    # The same probe on the host reaches a process beside it. Only a bystander of this test's own:
    # on the host every process's stdout would take its write (opening it truncates a log file).
    bystander = subprocess.Popen(["sleep", "120"], stdout=subprocess.PIPE)
    try:
        assert unguarded(hostile(body, prelude=f"PROBED = {{{bystander.pid}}}\n")) >= 2  # its environ and its stdout
    finally:
        bystander.kill()
        bystander.communicate()


# ------------------------------------------------------------------- bad outputs


BAD_OUTPUTS = {
    "numpy array instead of list": ("import numpy as np\nreturn np.ones((len(input_data), 1))", "must return a list of dicts"),
    "generator": ("return ({'loss': 1.0} for _ in input_data)", "must return a list of dicts"),
    "None values": ("return [{'loss': None} for _ in input_data]", "NaN or Inf"),
    "complex values": ("return [{'loss': 1 + 2j} for _ in input_data]", "TypeError"),
    "nested rows": ("return [{'loss': [1.0, 2.0]} for _ in input_data]", "shape (6, 1, 2)"),
    "one row too many": ("return [{'loss': 1.0} for _ in range(len(input_data) + 1)]", "shape (7, 1), expected (6, 1)"),
    "nan in one row": ("return [{'loss': float('nan') if i == 3 else 1.0} for i, _ in enumerate(input_data)]", "NaN or Inf"),
    "-inf": ("return [{'loss': -float('inf')} for _ in input_data]", "NaN or Inf"),
    "overflowing squares": ("return [{'loss': 1e200} for _ in input_data]", "overflow"),
    "float raising": (
        "class Bad:\n    def __float__(self):\n        raise RuntimeError('no float')\nreturn [{'loss': Bad()} for _ in input_data]",
        "no float",
    ),
}


@pytest.mark.parametrize("case", list(BAD_OUTPUTS))
def test_bad_output(sandbox, case):
    body, reason = BAD_OUTPUTS[case]
    program = PUBLISHED + "\ndef law(input_data, group):\n" + textwrap.indent(body, "    ") + "\n"
    assert_fails(attack(sandbox, program), reason)


def test_fit_predict_bad_outputs(sandbox):
    nan_params = "import numpy as np\ndef fit_scaling_law(X, y):\n    return np.array([np.nan])\ndef scaling_law_func(X, p):\n    return X[:, 0] * p[0]\n"
    assert_fails(attack(sandbox, nan_params), "NaN or Inf")
    wide = "import numpy as np\ndef fit_scaling_law(X, y):\n    return np.ones(2)\ndef scaling_law_func(X, p):\n    return np.ones((len(X), 5))\n"
    assert_fails(attack(sandbox, wide), "shape (6, 5), expected (6, 1)")


# --------------------------------------------------------------- isolation
#
# Every probe runs in the isolated sandboxes (the default local sandbox under bubblewrap, and
# docker) and must find nothing there; its control is the local sandbox without bubblewrap
# (-T isolation=rlimits), where the same probe must find what it looks for.


@pytest.fixture(params=[pytest.param("local", marks=pytest.mark.bubblewrap), pytest.param("docker", marks=pytest.mark.docker)])
def isolated(request):
    """An isolating sandbox: the default local one (bubblewrap) or a container, checked after like `sandbox`."""
    sandbox = request.getfixturevalue("docker_sandbox" if request.param == "docker" else "local_sandbox")
    if request.param == "local":
        from sldbench.sandbox.isolation import isolation

        assert isolation(sandbox) == "bubblewrap"
    yield sandbox
    assert lasting_processes(sandbox) == []
    assert attack(sandbox, PUBLISHED + "law = _truth\n").value["r2_raw"] == pytest.approx(PARALLEL_HUMAN_R2, abs=1e-12)


def unguarded(program: str) -> float:
    """What ``program``'s law answers run by a plain Python on the host: no runner, no guard, no
    bubblewrap. The control of a probe the worker's own guards stop even without bubblewrap."""
    call = "\nprint(law([{'num_params': 1e8, 'parallel_size': 1.0}], 'pile')[0]['loss'])\n"
    with tempfile.TemporaryDirectory() as folder:  # its working directory, removed with what it wrote there
        completed = subprocess.run([sys.executable, "-c", program + call], capture_output=True, text=True, timeout=120, cwd=folder)
    assert completed.returncode == 0, completed.stderr
    return float(completed.stdout.split()[-1])


def test_network_connections(isolated):
    listener = socket.socket()
    listener.bind(("0.0.0.0", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    accepted = []
    threading.Thread(target=_accept_until_closed, args=(listener, accepted), daemon=True).start()
    targets = [("127.0.0.1", port), ("172.17.0.1", port), (_host_address(), port), ("1.1.1.1", 53)]
    body = f"""
    import socket
    reached = 0
    for host, port in {targets!r}:
        try:
            socket.create_connection((host, port), timeout=0.5).close()
            reached += 1
        except OSError:
            pass
    try:
        socket.getaddrinfo("example.com", 80)
        reached += 100
    except OSError:
        pass
    return [{{"loss": float(reached)}} for _ in input_data]
    """
    try:
        score = attack(isolated, hostile(body))
        assert _constant_prediction(score, 0.0) and accepted == []
        assert unguarded(hostile(body)) > 0 and accepted  # on the host the network is there
    finally:
        listener.close()


def _accept_until_closed(listener: socket.socket, accepted: list) -> None:
    """Accept connections on ``listener`` into ``accepted`` until the test closes it (accept then fails: the end, not an error)."""
    while True:
        try:
            accepted.append(listener.accept())
        except OSError:
            return


def _host_address() -> str:
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("10.255.255.255", 1))
        return probe.getsockname()[0]
    except OSError:
        return "127.0.0.1"
    finally:
        probe.close()


def test_writing_outside_the_working_directory(isolated, tmp_path):
    # a folder of the host, the root, system and library folders: only the working directory takes a write
    places = [str(tmp_path), "/", "/etc", "/usr/lib", os.path.dirname(os.__file__), "/home/sld", os.path.expanduser("~")]
    body = f"""
    import os
    written = []
    for place in {places!r} + [os.getcwd()]:
        try:
            with open(os.path.join(place, "planted-by-a-submission.txt"), "w") as f:
                f.write("x")
            written.append(place)
        except OSError:
            pass
    inside = os.getcwd() in written
    return [{{"loss": float((len(written) - inside) * 10 + inside)}} for _ in input_data]
    """
    try:
        assert _constant_prediction(attack(isolated, hostile(body)), 1.0)
        control = unguarded(hostile(body))  # on the host the host's folder takes it too
        assert control != 1.0 and (tmp_path / "planted-by-a-submission.txt").exists()
    finally:
        for place in places:
            with contextlib.suppress(OSError):
                os.remove(os.path.join(place, "planted-by-a-submission.txt"))


def test_environment_holds_nothing_of_the_eval(isolated, monkeypatch):
    monkeypatch.setenv("SLDBENCH_PLANTED_SECRET", "sk-planted-0123456789")
    monkeypatch.setenv("HF_HOME", str(DATA_DIR))
    body = """
    import os
    seen = " ".join(f"{k}={v}" for k, v in os.environ.items())
    try:
        visible = list(filter(str.isdigit, os.listdir("/proc")))  # every process it can see, its sandbox's init included
    except OSError:
        visible = map(str, range(1, 4096))
    for pid in visible:
        try:
            seen += open(f"/proc/{pid}/environ", errors="ignore").read()
        except OSError:
            pass
    leaks = ("SLDBENCH" in seen) + ("sk-planted" in seen) + ("sldbench-data" in seen) + ("HF_HOME" in seen)
    return [{"loss": float(leaks)} for _ in input_data]
    """
    # a process of the eval's that holds the secret in its environment from its start (a process's
    # /proc/PID/environ shows what it started with, not what it set later, as monkeypatch does here)
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], env=dict(os.environ))
    try:
        assert _constant_prediction(attack(isolated, hostile(body)), 0.0)
        # on the host the holder's environment is in view: the probe finds its secret
        assert unguarded(hostile(body)) > 0
    finally:
        holder.kill()
        holder.wait()


def test_test_split_where_users_keep_it_is_out_of_reach(isolated, rlimits_sandbox, planted_test_splits):
    body = f"""
    found = 0
    for path in {[str(p) for p in planted_test_splits]!r}:
        try:
            found += "loss" in open(path).read()
        except OSError:
            pass
    return [{{"loss": float(found)}} for _ in input_data]
    """
    assert _constant_prediction(attack(isolated, hostile(body)), 0.0)
    control = attack(rlimits_sandbox, hostile(body))  # without bubblewrap a submission reads them all
    assert _constant_prediction(control, float(len(planted_test_splits)))


@pytest.mark.slow
def test_whole_filesystem_search_finds_no_test_targets(isolated, data_dir, planted_test_splits):
    test = load_split(PARALLEL, "test", data_dir)
    train = load_split(PARALLEL, "train", data_dir)
    # a planted copy of the test split in the working directory is the control: the search must find it, and nothing else
    asyncio.run(isolated.write_file("cache/test.csv", test.frame.to_csv(index=False)))
    secrets = sorted({repr(float(v)) for v in test.frame["loss"]} - {repr(float(v)) for v in train.frame["loss"]})
    # Under bubblewrap the view also holds /usr and the interpreter's prefix, read-only: their
    # names are searched, their contents (gigabytes of system and library files) are not.
    skipped = ["/usr", *(inside for _, inside in bubblewrap.interpreter_paths())] if not is_docker(isolated) else []
    folder = asyncio.run(isolated.exec(["pwd"])).stdout.strip() if is_docker(isolated) else os.path.realpath(isolated.directory.name)
    planted = os.path.join(folder, "cache", "test.csv")  # the worker runs in a scratch folder of its own
    search = f"""
    import functools, os
    SECRETS = {secrets!r}
    SKIPPED = {skipped!r}
    PLANTED = {planted!r}

    @functools.cache
    def search():
        leaks = 0
        for folder, dirs, files in walk_everything(("proc", "sys", "dev")):
            for name in files:
                path = os.path.join(folder, name)
                if path == os.path.abspath(__file__) or os.path.islink(path):
                    continue
                if (name == "test.csv" or "scaling_law" in path) and path != PLANTED:
                    leaks += 100
                if any(path.startswith(s + "/") for s in SKIPPED):
                    continue
                try:
                    with open(path, errors="ignore") as f:
                        text = f.read(1_000_000)
                except OSError:
                    continue
                if sum(s in text for s in SECRETS) >= len(SECRETS) // 2:
                    leaks += 1
        try:
            visible = list(filter(str.isdigit, os.listdir("/proc")))
        except OSError:
            visible = map(str, range(1, 4096))
        for pid in visible:
            try:
                environ = open(f"/proc/{{pid}}/environ", errors="ignore").read()
            except OSError:
                continue
            leaks += 10000 * ("sldbench-data" in environ or "SLDBENCH" in environ)
        return leaks
    """
    body = 'return [{"loss": float(search())} for _ in input_data]'
    score = attack(isolated, hostile(body, prelude=WALK_EVERYTHING + textwrap.dedent(search)), timeout=300)
    assert score.metadata["shape"] == "law", score.explanation
    assert _constant_prediction(score, 1.0), score.metadata


@pytest.mark.docker
def test_the_scoring_code_is_not_in_the_container(docker_sandbox):
    body = """
    import os
    found = 0
    for folder, dirs, files in walk_everything(("proc", "sys", "dev")):
        found += sum(name in ("metrics.py", "scorer.py", "host.py") for name in files)
    return [{"loss": float(found)} for _ in input_data]
    """
    assert _constant_prediction(attack(docker_sandbox, hostile(body, prelude=WALK_EVERYTHING), timeout=120), 0.0)


# ------------------------------------------------------- what the solver left behind

WATCHER = """
import glob, sys, time
swapped = open(sys.argv[1]).read()
deadline = time.time() + 120
while time.time() < deadline:  # every program a runner writes into /tmp becomes the swapped law
    for path in glob.glob("/tmp/sldbench-run-*/program.py") + glob.glob("/tmp/*/sldbench-run-*/program.py"):
        try:
            if open(path).read() != swapped:
                with open(path, "w") as handle:
                    handle.write(swapped)
        except OSError:
            pass
    time.sleep(0.0002)
"""
LOGGED_LAW = "def law(input_data, group):\n    return [{'loss': 2.0} for _ in input_data]\n"


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["local", pytest.param("docker", marks=pytest.mark.docker)])
def test_a_process_the_solver_left_behind_cannot_change_what_is_scored(kind, tmp_path):
    # an agent's last act: a detached process that rewrites whatever program a runner writes, then a
    # weak law.py; the score must be that law's own, since the scorer runs it where nothing else ran
    from inspect_ai import eval as inspect_eval
    from inspect_ai.solver import solver
    from inspect_ai.util import sandbox as sample_sandbox

    from sldbench.tasks import sldbench_task

    python = "python3" if kind == "docker" else sys.executable
    marker = f"watcher-{os.getpid()}-{kind}"

    @solver
    def leave_a_watcher():
        async def solve(state, generate):
            box = sample_sandbox()
            await box.write_file("watcher.py", WATCHER)
            await box.write_file("swapped.py", PUBLISHED + "law = _truth\n")
            started = await box.exec(["sh", "-c", f"setsid nohup {python} watcher.py swapped.py {marker} >/dev/null 2>&1 &"])
            assert started.success, started.stderr
            await box.write_file("law.py", LOGGED_LAW)
            return state

        return solve

    try:
        (log,) = inspect_eval(sldbench_task("parallel", data_dir=str(DATA_DIR), sandbox=kind), solver=leave_a_watcher(), model="none",
                              log_dir=str(tmp_path / "logs"), display="none")  # fmt: skip
    finally:
        subprocess.run(["pkill", "-f", marker])  # the local sandbox's solver commands run on this machine
    assert log.status == "success", log.error
    score = log.samples[0].scores["heldout_r2"]
    assert score.answer == LOGGED_LAW and score.metadata["scoring_sandbox"] == "fresh"
    assert _constant_prediction(score, 2.0), score.explanation
