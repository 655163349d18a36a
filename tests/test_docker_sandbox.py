"""The sldbench-docker sandbox against a real Docker engine: Inspect's contract, the limits, cleanup."""

import asyncio
import os
import signal
import subprocess
import sys
import time

import pytest
from inspect_ai import eval as inspect_eval
from inspect_ai.util import OutputLimitExceededError
from inspect_ai.util import SandboxUserUnsupportedError

from sldbench.sandbox.docker import (
    LABEL,
    SANDBOX_TYPE,
    TASK_LABEL,
    DockerSandboxConfig,
    DockerSandboxEnvironment,
    docker_client,
)
from sldbench.sandbox.fresh import SCORING_TASK
from sldbench.solvers import human
from sldbench.tasks import parallel

pytestmark = pytest.mark.docker

PARALLEL_HUMAN_R2 = 0.9998925970125949


def run(coro):
    return asyncio.run(coro)


def our_containers(*labels: str, **extra):
    """Containers of this sandbox type, and carrying ``labels`` too (``"key=value"``); ``extra``: Docker's other list filters."""
    return docker_client().containers.list(all=True, filters={"label": [LABEL, *labels], **extra})


def containers_of(process, *labels: str):
    """Our containers that ``process`` started (its pid is in the owner label)."""
    return [c for c in our_containers(*labels) if c.labels[LABEL].split(":")[1] == str(process.pid)]


def test_exec_contract(docker_sandbox):
    result = run(docker_sandbox.exec(["sh", "-c", "echo out; echo err >&2; exit 3"]))
    assert (result.returncode, result.success, result.stdout, result.stderr) == (3, False, "out\n", "err\n")
    assert run(docker_sandbox.exec(["cat"], input="piped\x00bytes")).stdout == "piped\x00bytes"
    assert run(docker_sandbox.exec(["pwd"])).stdout.strip() == "/home/sld/work"
    run(docker_sandbox.exec(["mkdir", "sub"]))
    assert run(docker_sandbox.exec(["pwd"], cwd="sub")).stdout.strip() == "/home/sld/work/sub"
    assert run(docker_sandbox.exec(["pwd"], cwd="/tmp")).stdout.strip() == "/tmp"
    assert run(docker_sandbox.exec(["sh", "-c", "echo $ANSWER"], env={"ANSWER": "42"})).stdout == "42\n"
    assert run(docker_sandbox.exec(["id", "-u"])).stdout.strip() == "1000"
    assert run(docker_sandbox.exec(["id", "-u"], user="root")).stdout.strip() == "0"
    with pytest.raises(SandboxUserUnsupportedError):
        run(docker_sandbox.exec(["true"], user="nobody-here"))
    missing = run(docker_sandbox.exec(["no-such-command"]))
    assert not missing.success and missing.returncode in (126, 127)


def test_exec_timeout_raises_and_kills_the_command(docker_sandbox):
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        run(docker_sandbox.exec(["sh", "-c", "sleep 300 & sleep 300"], timeout=2))
    assert time.monotonic() - started < 15
    processes = run(docker_sandbox.exec(["sh", "-c", "cat /proc/[0-9]*/cmdline | tr '\\0' ' '"])).stdout
    assert "sleep 300" not in processes


def test_exec_output_keeps_the_tail_past_the_limit(docker_sandbox):
    from inspect_ai.util._sandbox.limits import override_max_exec_output_size

    with override_max_exec_output_size(1000):
        result = run(docker_sandbox.exec(["python3", "-c", "print('x' * 5000 + 'END')"]))
    assert len(result.stdout) == 1000 and result.stdout.endswith("END\n")


def test_files_round_trip_and_errors(docker_sandbox):
    run(docker_sandbox.write_file("a/b/text.txt", "line\r\nnext é"))
    assert run(docker_sandbox.read_file("a/b/text.txt")) == "line\r\nnext é"
    payload = bytes(range(256)) * 1000
    run(docker_sandbox.write_file("/tmp/blob.bin", payload))
    assert run(docker_sandbox.read_file("/tmp/blob.bin", text=False)) == payload
    run(docker_sandbox.write_file("a/b/text.txt", "overwritten"))
    assert run(docker_sandbox.read_file("/home/sld/work/a/b/text.txt")) == "overwritten"
    assert run(docker_sandbox.exec(["stat", "-c", "%u", "a/b/text.txt"])).stdout.strip() == "1000"
    with pytest.raises(FileNotFoundError):
        run(docker_sandbox.read_file("missing.txt"))
    with pytest.raises(IsADirectoryError):
        run(docker_sandbox.read_file("a"))
    with pytest.raises(IsADirectoryError):
        run(docker_sandbox.write_file("a/b", "x"))
    with pytest.raises(PermissionError):
        run(docker_sandbox.read_file("/etc/shadow"))
    for outside in ("/etc/evil", "/home/sld/evil", "/usr/lib/python3/dist-packages/evil.py"):
        with pytest.raises(PermissionError):
            run(docker_sandbox.write_file(outside, "x"))
    from inspect_ai.util._sandbox.limits import override_max_read_file_size

    with override_max_read_file_size(1000), pytest.raises(OutputLimitExceededError):
        run(docker_sandbox.read_file("/tmp/blob.bin", text=False))


def test_container_is_locked_down(docker_sandbox):
    attrs = docker_client().containers.get(docker_sandbox.container_id).attrs
    host = attrs["HostConfig"]
    assert host["NetworkMode"] == "none"
    assert host["ReadonlyRootfs"] is True
    assert host["Memory"] == host["MemorySwap"] == 1024**3
    assert host["NanoCpus"] == 10**9 and host["PidsLimit"] == 128
    assert host["CapDrop"] == ["ALL"] and "no-new-privileges" in host["SecurityOpt"]
    # only the init and the idle keep-alive are root (so commands cannot kill the container)
    assert attrs["Config"]["User"] == "0:0" and docker_sandbox.config.exec_user == "1000:1000"
    owners = run(docker_sandbox.exec(["sh", "-c", "stat -c '%u %n' /proc/[0-9]*/cmdline"])).stdout.split()
    assert sorted(set(owners[::2])) == ["0", "1000"]
    assert set(host["Tmpfs"]) == {"/home/sld/work", "/tmp", "/var/tmp"}
    # inside: only the loopback interface, and only the working dir, /tmp and /var/tmp (Inspect's tools) are writable
    interfaces = run(docker_sandbox.exec(["cat", "/proc/net/dev"])).stdout
    assert [line.split(":")[0].strip() for line in interfaces.splitlines()[2:]] == ["lo"]
    probe = "for d in / /home/sld /usr /etc /var /root /home/sld/work /tmp /var/tmp; do touch $d/probe 2>/dev/null && echo $d; done"
    assert run(docker_sandbox.exec(["sh", "-c", probe])).stdout.split() == ["/home/sld/work", "/tmp", "/var/tmp"]


def test_sample_cleanup_removes_the_container():
    config = DockerSandboxConfig()
    environments = run(DockerSandboxEnvironment.sample_init("cleanup-test", config, {}))
    cid = environments["default"].container_id
    assert [c.id for c in our_containers(id=cid)] == [cid]
    run(DockerSandboxEnvironment.sample_cleanup("cleanup-test", config, environments, True))
    assert our_containers(id=cid) == []


def test_task_cleanup_and_cli_cleanup_remove_what_is_left():
    config = DockerSandboxConfig()
    kept = [run(DockerSandboxEnvironment.sample_init("task-a", config, {}))["default"] for _ in range(2)]
    other = run(DockerSandboxEnvironment.sample_init("task-b", config, {}))["default"]
    run(DockerSandboxEnvironment.task_cleanup("task-a", config, cleanup=True))
    assert [c.id for c in our_containers() if c.id in {s.container_id for s in kept}] == []
    assert [c.id for c in our_containers(id=other.container_id)] == [other.container_id]
    run(DockerSandboxEnvironment.cli_cleanup(None))
    assert our_containers() == []


def test_containers_of_a_killed_process_are_removed_by_the_next_task():
    config = DockerSandboxConfig()
    image = docker_client().images.get(config.image)
    orphan = docker_client().containers.run(
        image.id, ["/bin/sleep", "infinity"], detach=True, labels={LABEL: f"{os.uname().nodename}:999999999:1"}
    )
    live = run(DockerSandboxEnvironment.sample_init("live", config, {}))
    run(DockerSandboxEnvironment.task_init("next", config))
    assert our_containers(id=orphan.id) == []
    assert [c.id for c in our_containers(id=live["default"].container_id)] == [live["default"].container_id]
    run(DockerSandboxEnvironment.sample_cleanup("live", config, live, False))


def test_missing_image_is_named_with_the_build_command():
    from inspect_ai._util.error import PrerequisiteError

    with pytest.raises(PrerequisiteError, match="docker pull no-such-image"):
        run(DockerSandboxEnvironment.task_init("t", DockerSandboxConfig(image="no-such-image")))


def test_eval_in_docker_reproduces_the_human_score(data_dir, human_dir, tmp_path):
    before = {c.id for c in our_containers()}
    (log,) = inspect_eval(
        parallel(data_dir=str(data_dir), sandbox="docker"),
        solver=human(constants=str(human_dir)),
        model="none",
        log_dir=str(tmp_path),
        display="none",
    )
    assert log.status == "success", log.error
    assert log.eval.sandbox.type == SANDBOX_TYPE
    score = log.samples[0].scores["heldout_r2"]
    assert score.value["r2_raw"] == pytest.approx(PARALLEL_HUMAN_R2, abs=1e-9)
    assert {c.id for c in our_containers()} <= before  # its container is gone (others may go meanwhile)


def test_law_written_in_the_container_is_scored(data_dir, human_dir, tmp_path):
    # what a CLI agent does: leave law.py in the working directory, no stored program
    from inspect_ai.solver import solver
    from inspect_ai.util import sandbox

    from sldbench.laws.expert import load_constants, prefitted_program

    @solver
    def writes_law():
        async def solve(state, generate):
            await sandbox().write_file("law.py", prefitted_program("parallel", load_constants(human_dir, "parallel")))
            assert (await sandbox().exec(["ls", "data"])).stdout.split() == ["train.csv"]
            return state

        return solve

    (log,) = inspect_eval(
        parallel(data_dir=str(data_dir), sandbox="docker"), solver=writes_law(), model="none", log_dir=str(tmp_path), display="none"
    )
    score = log.samples[0].scores["heldout_r2"]
    assert "law.py in the sandbox" in score.explanation
    assert score.value["r2_raw"] == pytest.approx(PARALLEL_HUMAN_R2, abs=1e-9)


SLOW_LAW = "import time\ndef law(input_data, group):\n    time.sleep(600)\n"


def _start_eval(tmp_path, data_dir):
    law = tmp_path / "slow_law.py"
    law.write_text(SLOW_LAW)
    command = [
        sys.executable, "-m", "inspect_ai", "eval", "sldbench/parallel", "--solver", "sldbench/file",
        "-S", f"path={law}", "-T", "sandbox=docker", "-T", f"data_dir={data_dir}", "-T", "score_timeout=600",
        "--model", "none", "--log-dir", str(tmp_path / "logs"), "--display", "none",
    ]  # fmt: skip
    # SIGINT reaches the eval as Ctrl-C would, even when the tests run as a background job of a shell
    # (`pytest &`), which ignores SIGINT: an ignored signal stays ignored across exec, and Python would keep it
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        # the container the slow law is scored in: made after the one that proves the sandbox has gone,
        # and after the sample's own (where the solver ran)
        mine = containers_of(process, f"{TASK_LABEL}={SCORING_TASK}")
        if mine:
            return process, mine
        assert process.poll() is None, process.stdout.read().decode()
        time.sleep(0.5)
    process.kill()
    raise AssertionError("no container appeared within 120 s")


def _python_stacks(pid: int) -> str:
    """Every thread's Python stack in process ``pid`` (py-spy), to show where a hung process waits."""
    try:
        dump = subprocess.run(["py-spy", "dump", "--pid", str(pid)], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"(no stacks: {err})"
    return (dump.stdout + dump.stderr)[-12000:]


def _wait_for_runner(container, seconds: float = 120) -> None:
    """Wait until the scorer's runner (``python -I -c <runner>``) is a process of ``container``,
    so the interrupt lands while the slow law runs, not while the sample is still being set up."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        commands = [row[-1] for row in (container.top(ps_args="-eo pid,args").get("Processes") or [])]
        if any(" -I -c " in command for command in commands):
            return
        time.sleep(0.2)
    raise AssertionError(f"the scorer's runner did not start within {seconds:g} s")


def test_interrupted_eval_removes_its_container(data_dir, tmp_path):
    process, (container,) = _start_eval(tmp_path, data_dir)
    _wait_for_runner(container)
    time.sleep(1)  # the runner has read its job and is running the slow law
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=120)
    except subprocess.TimeoutExpired:
        stacks = _python_stacks(process.pid)
        process.kill()
        output = process.stdout.read().decode("utf-8", "replace")
        raise AssertionError(f"the interrupted eval did not exit within 120 s; its output:\n{output[-6000:]}\nits threads:\n{stacks}") from None
    finally:
        if process.poll() is None:
            process.kill()
    assert containers_of(process) == []  # the scoring container and the sample's own


def test_killed_eval_leaves_a_container_that_the_next_run_removes(data_dir, tmp_path):
    process, (container,) = _start_eval(tmp_path, data_dir)
    process.kill()  # SIGKILL: no cleanup code runs
    process.wait(timeout=30)
    assert [c.id for c in our_containers(id=container.id)] == [container.id]
    run(DockerSandboxEnvironment.task_init("next-run", DockerSandboxConfig()))
    assert containers_of(process) == []  # the scoring container and the sample's own
