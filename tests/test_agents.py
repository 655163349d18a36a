"""The agent adapters: each real CLI run headless, its model calls bridged to a scripted model.

Every CLI runs in the docker sandbox (the agents image, as users run them) and in the local
sandbox with the explicit opt-in (-S unisolated=true); without it the local sandbox refuses.
"""

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import DATA_DIR, HUMAN_DIR
from inspect_ai import eval as inspect_eval
from inspect_ai.log import resolve_sample_attachments
from inspect_ai.model import ChatMessageUser, GenerateConfig
from inspect_ai.tool import ToolInfo, ToolParams

from sldbench import agents
from sldbench.agents._runner import version_line
from sldbench.agents.install import CLIS, bin_dir
from sldbench.laws.expert import load_constants, prefitted_program
from sldbench.providers import ScriptError, ScriptedModel
from sldbench.scorer import score_program
from sldbench.specs import get_spec
from sldbench.tasks import sldbench_task


def _script(path, lines):
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    return str(path)


def test_a_script_line_carries_tool_calls_for_calls_that_offer_those_tools(tmp_path):
    script = _script(
        tmp_path / "s.jsonl",
        [
            {"tool_calls": [{"function": "Write", "arguments": {"file_path": "law.py", "content": "x = 1\n"}}]},
            {"content": "done", "when_tools": True},
            {"content": "a title", "when_tools": False},
        ],
    )
    model = ScriptedModel("agent", script=script)
    write = ToolInfo(name="Write", description="write a file", parameters=ToolParams())

    def ask(tools):
        return asyncio.run(model.generate([ChatMessageUser(content="task")], tools, "auto", GenerateConfig()))

    side = ask([])  # a side call without tools skips the tool-call line
    assert side.message.text == "a title" and not side.message.tool_calls
    first = ask([write])
    (call,) = first.message.tool_calls
    assert (call.function, call.arguments) == ("Write", {"file_path": "law.py", "content": "x = 1\n"})
    assert first.stop_reason == "tool_calls" and call.id
    assert first.usage.output_tokens == len(json.dumps(call.arguments).split())
    assert ask([write]).message.text == "done"
    with pytest.raises(ScriptError, match="used up .* offering tools Write"):
        ask([write])


def test_malformed_tool_calls_name_the_line(tmp_path):
    bad = _script(tmp_path / "bad.jsonl", [{"content": "ok"}, {"tool_calls": [{"arguments": {}}]}])
    with pytest.raises(ScriptError, match=r"bad.jsonl:2: 'tool_calls' must be a list of objects"):
        ScriptedModel("x", script=bad)
    bad = _script(tmp_path / "bad2.jsonl", [{"content": "ok", "when_tools": "yes"}])
    with pytest.raises(ScriptError, match=r"bad2.jsonl:1: 'when_tools' must be true or false"):
        ScriptedModel("x", script=bad)


# --- the real CLIs, in the local sandbox, through the bridge ---------------------------------------

PARALLEL = get_spec("parallel")
LAW = prefitted_program("parallel", load_constants(HUMAN_DIR, "parallel"))  # the ParScale law, published constants
EXPLAIN = "ParScale: L = (A / (N (k ln P + 1)))^alpha + E, constants per corpus.\n"


def heredoc(path, text):
    return f"cat > {path} <<'SLDBENCH_EOF'\n{text}SLDBENCH_EOF\n"


def shell_writes(tool, argument, extra=None):
    """Script lines for an agent whose shell tool is ``tool(argument=...)``: look at the data, write both files."""
    extra = extra or {}
    return [
        {"tool_calls": [{"function": tool, "arguments": {argument: "head -3 data/train.csv", **extra}}]},
        {"tool_calls": [{"function": tool, "arguments": {argument: heredoc("law.py", LAW) + heredoc("explain.md", EXPLAIN), **extra}}]},
    ]


# Per agent: the calls that write law.py, and the call names they show in the transcript. Side calls
# without tools (titles, summaries) get their own lines; the final answer answers a call with tools.
SCRIPTS = {
    "codex": (shell_writes("exec_command", "cmd", {"login": False}), "exec_command"),
    "claude_code": (shell_writes("Bash", "command", {"description": "write the law"}), "Bash"),
    "gemini_cli": (shell_writes("run_shell_command", "command"), "run_shell_command"),
    "openhands": (shell_writes("terminal", "command", {"security_risk": "LOW"}), "terminal"),
    "opencode": (shell_writes("bash", "command", {"description": "write the law"}), "bash"),
    "goose": (
        [
            {"tool_calls": [{"function": "shell", "arguments": {"command": "head -3 data/train.csv"}}]},
            {"tool_calls": [{"function": "write", "arguments": {"path": "law.py", "content": LAW}}]},
            {"tool_calls": [{"function": "write", "arguments": {"path": "explain.md", "content": EXPLAIN}}]},
        ],
        "write",
    ),
    # Aider has no tools: its reply holds each file whole, after the file's name.
    "aider": ([{"content": f"The law.\n\nlaw.py\n```python\n{LAW}```\n\nexplain.md\n```\n{EXPLAIN}```\n"}], None),
    # mini-SWE-agent's only tool is bash; it ends when the model runs its submit command.
    "mini_swe_agent": (
        shell_writes("bash", "command") + [{"tool_calls": [{"function": "bash", "arguments": {"command": "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"}}]}],
        "bash",
    ),
}


def terminus_reply(keystrokes, complete=False, duration=0.5):
    """A reply in Terminus-2's JSON format: keystrokes for its tmux terminal, seconds to wait after each, and whether the task is complete."""
    commands = [{"keystrokes": keys, "duration": duration} for keys in keystrokes]
    return {"content": json.dumps({"analysis": "-", "plan": "-", "commands": commands, "task_complete": complete})}


# Terminus-2 offers no tools: it types what a reply says into a terminal, and ends when a reply
# says the task is complete and the next one confirms it.
SCRIPTS["terminus_2"] = (
    [
        terminus_reply(["head -3 data/train.csv\n"]),
        terminus_reply([heredoc("law.py", LAW) + heredoc("explain.md", EXPLAIN)]),
        terminus_reply([], complete=True),
        terminus_reply([], complete=True),
    ],
    None,
)
# What a reply of an agent without tools carries when it writes the law.
WRITES_IN_TEXT = {"aider": "```python", "terminus_2": "cat > law.py"}
# Agents whose last scripted line ends the run (no closing answer without tools).
ENDS_ITSELF = {"aider", "mini_swe_agent", "terminus_2"}
FINAL = {"content": "law.py and explain.md are written.", "when_tools": True}
# A setting each native CLI sends with every request of its own (forwarded by the bridge).
FORWARDED = {"claude_code": "max_tokens", "codex": "reasoning_summary", "gemini_cli": "temperature"}
SIDE_CALLS = [{"content": "Scaling law discovery", "when_tools": False}] * 3


def agent_script(path, name):
    lines, _ = SCRIPTS[name]
    return _script(path, lines + ([] if name in ENDS_ITSELF else [FINAL]) + SIDE_CALLS)


def require_cli(name):
    cli = CLIS[name]
    if shutil.which(cli.command) is None and not (bin_dir() / cli.command).exists():
        reason = f"{cli.command} ({cli.requirement}) is not installed: run `{cli.install_hint}`"
        if os.environ.get("SLDBENCH_REQUIRE_AGENTS") == "1":  # .ci/run installs them: there a skip would hide a failure
            pytest.fail(f"{reason}; SLDBENCH_REQUIRE_AGENTS=1 forbids skipping the agent tests")
        pytest.skip(reason)


SANDBOXES = ["local", pytest.param("docker", marks=pytest.mark.docker)]


@pytest.fixture
def agents_image():
    """The agents image must be built for the docker runs (docker/build.sh agents; CI builds it)."""
    from sldbench.sandbox.docker import AGENTS_IMAGE, default_image

    if default_image() != AGENTS_IMAGE:
        reason = f"the image {AGENTS_IMAGE} is not built: run docker/build.sh agents"
        if os.environ.get("SLDBENCH_REQUIRE_DOCKER") == "1":
            pytest.fail(f"{reason}; SLDBENCH_REQUIRE_DOCKER=1 forbids skipping the docker agent tests")
        pytest.skip(reason)
    return AGENTS_IMAGE


def ready(request, name, sandbox):
    """Skip or fail as the sandbox needs: the CLI installed here (local), the agents image built (docker)."""
    if sandbox == "docker":
        request.getfixturevalue("agents_image")
    else:
        require_cli(name)


def run_agent(tmp_path, name, script, data_dir, task=None, sandbox="local", **agent_args):
    """Run one agent on the parallel task (or ``task``) with the scripted model; samples with attachments resolved.

    In the local sandbox the agent gets the explicit opt-in (``unisolated=True``) unless told otherwise.
    """
    if sandbox == "local":
        agent_args.setdefault("unisolated", True)
    (log,) = inspect_eval(
        task or sldbench_task("parallel", data_dir=str(data_dir), sandbox=sandbox),
        solver=getattr(agents, name)(**agent_args),
        model=f"scripted/{tmp_path.name}",  # one model instance per run: Inspect caches them by name
        model_args={"script": script},
        log_dir=str(tmp_path / "logs"),
        display="none",
    )
    log.samples = [resolve_sample_attachments(sample, "full") for sample in log.samples or []]
    return log


def agent_record(sample, name):
    (info,) = [e.data for e in sample.events if e.event == "info" and e.source == name]
    return info


@pytest.fixture(scope="module")
def law_score():
    from inspect_ai.util._sandbox.local import LocalSandboxEnvironment

    sandbox = LocalSandboxEnvironment()
    try:
        return asyncio.run(score_program(sandbox, LAW, PARALLEL, DATA_DIR)).value
    finally:
        sandbox.directory.cleanup()


@pytest.mark.slow
@pytest.mark.parametrize("sandbox", SANDBOXES)
@pytest.mark.parametrize("name", list(SCRIPTS))
def test_agent_writes_the_scripted_law_and_is_scored_on_it(name, sandbox, request, tmp_path, data_dir, law_score):
    ready(request, name, sandbox)
    log = run_agent(tmp_path, name, agent_script(tmp_path / "script.jsonl", name), data_dir, sandbox=sandbox)
    assert log.status == "success", log.error
    sample = log.samples[0]
    score = sample.scores["heldout_r2"]
    assert score.value == pytest.approx(law_score), score.explanation
    assert law_score["r2"] == pytest.approx(0.9998925970125949)  # the paper's Human value on parallel
    assert "law.py in the sandbox" in score.explanation
    # the law that was scored, and the agent's explanation, stay in the log after the sandbox is gone
    assert score.answer == LAW and score.metadata["explain"] == EXPLAIN
    assert score.metadata["numeric_constants"] == 8  # four published constants per corpus

    # the agent's model calls went through the bridge into the transcript, tool calls included
    model_events = [e for e in sample.events if e.event == "model"]
    _, tool = SCRIPTS[name]
    if tool:
        called = [c.function for e in model_events for c in (e.output.message.tool_calls or [])]
        assert called.count(tool) >= 1 and any("law.py" in json.dumps(e.output.message.tool_calls[0].arguments) for e in model_events if e.output.message.tool_calls)
    else:
        assert any(WRITES_IN_TEXT[name] in e.output.message.text for e in model_events)
    # the native CLIs' own generation settings reached the model (the paper's native-CLI condition)
    if name in FORWARDED:
        assert all(FORWARDED[name] in e.config.model_dump(exclude_none=True) for e in model_events), [e.config for e in model_events]
    # ... and their tokens were counted
    usage = sample.model_usage[f"scripted/{tmp_path.name}"]
    assert usage.total_tokens == sum(e.output.usage.total_tokens for e in model_events if e.output.usage) > 0

    # the agent's own output (its JSON events or chat history) is in the transcript
    record = agent_record(sample, name)
    assert record["ended"] == "exited" and record["exit_code"] == 0, record["stderr"][-2000:]
    assert CLIS[name].version in record["version"]
    own_output = json.dumps(record["output"]) + json.dumps(record.get("history", ""))
    assert "law.py" in own_output
    assert sample.store["sldbench:agent"]["agent"] == name
    assert record["isolation"] == ("container" if sandbox == "docker" else "unisolated (local sandbox)")
    if sandbox == "docker":
        assert sample.scores["heldout_r2"].metadata["isolation"] == "docker"
        assert_no_container_left()


def assert_no_container_left():
    from sldbench.sandbox.docker import LABEL, docker_client, owner_id

    left = docker_client().containers.list(all=True, filters={"label": f"{LABEL}={owner_id()}"})
    assert left == [], [c.name for c in left]


def _running(marker):
    """Processes whose command line contains ``marker`` (to check that a killed agent left nothing behind)."""
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if marker in line and "ps -eo" not in line]


@pytest.mark.slow
@pytest.mark.parametrize(
    "limit, sandbox",
    [("agent timeout", "local"), ("task time limit", "local"), pytest.param("agent timeout", "docker", marks=pytest.mark.docker)],
)
def test_an_agent_cut_short_is_scored_on_the_law_it_left(limit, sandbox, request, tmp_path, data_dir, law_score):
    ready(request, "goose", sandbox)
    lines, _ = SCRIPTS["goose"]
    hang = f"sleep {600 + len(limit)}.{os.getpid()}"  # one marker per case and run
    # the hanging command's mark is a file in the working directory: the sandbox's own, read after the run
    hang_call = {"tool_calls": [{"function": "shell", "arguments": {"command": f"touch hang-started; {hang}"}}]}
    script = _script(tmp_path / "s.jsonl", lines[:2] + [hang_call] + SIDE_CALLS)
    if limit == "agent timeout":
        log = run_agent(tmp_path, "goose", script, data_dir, sandbox=sandbox, timeout=60)
    else:
        task = sldbench_task("parallel", data_dir=str(data_dir), time_limit=60, sandbox=sandbox)
        log = run_agent(tmp_path, "goose", script, data_dir, task=task, sandbox=sandbox)
    assert log.status == "success", log.error
    sample = log.samples[0]
    assert sample.scores["heldout_r2"].value == pytest.approx(law_score)
    record = agent_record(sample, "goose")
    assert record["ended"] == ("timeout" if limit == "agent timeout" else "cancelled")
    if limit == "task time limit":
        assert sample.limit is not None and sample.limit.type in ("time", "working")
    # the agent was inside its hanging command when it was stopped (its shell tool's event shows the call)
    assert any("touch hang-started" in json.dumps(e.output.message.tool_calls[0].arguments) for e in sample.events if e.event == "model" and e.output.message.tool_calls)
    assert not _running(hang)  # and the whole process group was killed
    if sandbox == "docker":
        assert_no_container_left()


@pytest.mark.slow
def test_an_agent_that_writes_nothing_scores_minus_one_with_the_reason(tmp_path, data_dir):
    require_cli("codex")
    script = _script(tmp_path / "s.jsonl", [{"content": "I could not find a law."}] + SIDE_CALLS)
    log = run_agent(tmp_path, "codex", script, data_dir)
    assert log.status == "success", log.error
    score = log.samples[0].scores["heldout_r2"]
    assert score.value["r2"] == -1.0
    assert score.explanation.startswith("no submission") and "law.py" in score.explanation
    assert agent_record(log.samples[0], "codex")["output"]  # the run itself is on record


@pytest.mark.slow
def test_two_samples_run_concurrently_each_on_its_own_bridge(tmp_path, data_dir, law_score, local_sandbox):
    require_cli("codex")
    from inspect_ai import Task
    from inspect_ai.dataset import MemoryDataset

    from sldbench.sandbox.spec import sandbox_spec
    from sldbench.scorer import heldout_r2
    from sldbench.tasks import record_to_sample

    moe = get_spec("moe")
    moe_law = prefitted_program("moe", load_constants(HUMAN_DIR, "moe"))
    moe_score = asyncio.run(score_program(local_sandbox, moe_law, moe, data_dir)).value
    # each sample's lines match only its own prompt (by the task description), so a call that reached
    # the other sample's bridge would write the other law
    lines = []
    for spec, law in ((PARALLEL, LAW), (moe, moe_law)):
        when = spec.description[:40]
        write = heredoc("law.py", law)
        lines += [
            {"when": when, "tool_calls": [{"function": "exec_command", "arguments": {"cmd": "sleep 3; head -2 data/train.csv", "login": False}}]},
            {"when": when, "tool_calls": [{"function": "exec_command", "arguments": {"cmd": write, "login": False}}]},
            {"when": when, "content": "done", "when_tools": True},
        ]
    samples = [record_to_sample(spec, str(data_dir), 600) for spec in (PARALLEL, moe)]
    task = Task(dataset=MemoryDataset(samples), scorer=heldout_r2(), sandbox=sandbox_spec("local"))
    log = run_agent(tmp_path, "codex", _script(tmp_path / "s.jsonl", lines + SIDE_CALLS), data_dir, task=task)
    assert log.status == "success", log.error
    by_task = {sample.id: sample for sample in log.samples}
    assert by_task["parallel"].scores["heldout_r2"].value == pytest.approx(law_score)
    assert by_task["moe"].scores["heldout_r2"].value == pytest.approx(moe_score)
    assert moe_score["r2"] == pytest.approx(0.70320725767646)
    records = {name: agent_record(sample, "codex") for name, sample in by_task.items()}
    assert records["parallel"]["port"] != records["moe"]["port"]
    # the two runs overlapped: each sample's first model call came before the other's last
    times = {name: [e.timestamp for e in sample.events if e.event == "model"] for name, sample in by_task.items()}
    assert min(times["parallel"]) < max(times["moe"]) and min(times["moe"]) < max(times["parallel"])


def test_a_missing_cli_fails_the_sample_naming_the_install_command(tmp_path, data_dir, monkeypatch):
    bare_path = "/usr/bin:/bin"
    if shutil.which("claude", path=bare_path):
        pytest.skip("claude is installed system-wide in /usr/bin or /bin")
    monkeypatch.setenv("SLDBENCH_AGENTS_HOME", str(tmp_path / "empty"))
    monkeypatch.setenv("PATH", f"{bare_path}")
    log = run_agent(tmp_path, "claude_code", _script(tmp_path / "s.jsonl", [FINAL]), data_dir)
    assert log.status == "error"
    message = log.samples[0].error.message if log.samples and log.samples[0].error else log.error.message
    assert "`claude` command (@anthropic-ai/claude-code 2.1.197) is not in the sandbox" in message
    assert "sldbench agents install claude_code" in message


def test_every_adapter_is_a_registered_solver_with_a_pinned_cli():
    from inspect_ai._util.registry import registry_lookup

    assert sorted(CLIS) == sorted(agents.__all__) == ["aider", "claude_code", "codex", "gemini_cli", "goose", "mini_swe_agent", "opencode", "openhands", "terminus_2"]
    for name in CLIS:
        assert registry_lookup("agent", f"sldbench/{name}") is not None, name


@pytest.mark.docker
def test_the_agents_image_has_the_pinned_versions(agents_image):
    from sldbench.sandbox.docker import docker_client

    for cli in CLIS.values():
        script = f"cd /tmp; export HOME=/tmp; {cli.command} {' '.join(cli.version_args)} 2>&1"
        output = docker_client().containers.run(agents_image, ["sh", "-c", script], network_mode="none", remove=True, read_only=True, tmpfs={"/tmp": ""})
        assert cli.version in version_line(output.decode(), cli.version), (cli.name, output.decode()[-500:])
    # the law's interpreter is the scoring image's: a law scores the same in both
    probe = "import numpy, scipy, sys; print(sys.version.split()[0], numpy.__version__, scipy.__version__)"
    versions = {image: docker_client().containers.run(image, ["python3", "-c", probe], network_mode="none", remove=True) for image in (agents_image, "sldbench-scoring")}
    assert len(set(versions.values())) == 1, versions


def test_an_agent_in_the_local_sandbox_is_refused_without_the_opt_in(tmp_path, data_dir):
    log = run_agent(tmp_path, "codex", _script(tmp_path / "s.jsonl", [FINAL]), data_dir, unisolated=False)
    assert log.status == "error"
    message = log.samples[0].error.message if log.samples and log.samples[0].error else log.error.message
    assert "refusing to run a model-driven shell in the local sandbox" in message
    assert "-T sandbox=docker" in message and "docker/build.sh agents" in message and "-S unisolated=true" in message


@pytest.mark.slow
def test_an_agent_runs_from_the_command_line(tmp_path, data_dir, law_score):
    require_cli("goose")
    script = agent_script(tmp_path / "s.jsonl", "goose")
    command = [
        sys.executable, "-m", "inspect_ai", "eval", "sldbench/parallel", "--solver", "sldbench/goose",
        "-S", "timeout=300", "-S", "max_turns=20", "-S", "unisolated=true", "--model", "scripted/cli", "-M", f"script={script}",
        "--log-dir", str(tmp_path / "logs"), "--display", "plain",
    ]  # fmt: skip
    completed = subprocess.run(command, env={**os.environ, "SLDBENCH_DATA_DIR": str(data_dir)}, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
    from inspect_ai.log import list_eval_logs, read_eval_log

    log = read_eval_log(list_eval_logs(str(tmp_path / "logs"))[0])
    assert log.plan.steps[-1].solver == "sldbench/goose"
    assert {"timeout": 300, "max_turns": 20}.items() <= log.plan.steps[-1].params.items()
    sample = log.samples[0]
    assert sample.scores["heldout_r2"].value == pytest.approx(law_score)
    assert agent_record(sample, "goose")["timeout"] == 300


def test_turn_limit_answers_stop_after_the_last_allowed_call(tmp_path):
    from inspect_ai.model import get_model

    from sldbench.agents._runner import turn_limit

    limit = turn_limit(2)
    model = get_model("scripted/turns", script=_script(tmp_path / "s.jsonl", [{"content": "x"}]))

    async def calls():
        return [await limit(model, [], [], None, GenerateConfig()) for _ in range(3)]

    first, second, third = asyncio.run(calls())
    assert first is None and second is None  # the model answers
    assert "turn limit" in third.message.text and not third.message.tool_calls
    assert turn_limit(None) is None


# An agent that searches everything it can reach for a test split of any task, and writes a law that
# looks its answers up wherever it found them (the ParScale law elsewhere).
CHEAT = r"""
import csv, json, os
found = {}
SKIP = {"node_modules", "site-packages", "dist-packages", ".git", "__pycache__", ".npm"}  # a cold walk of these takes minutes
places = {os.path.expanduser("~"), os.getcwd(), "/"}
environments = [dict(os.environ)]
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        environments.append(dict(v.split("=", 1) for v in open(f"/proc/{pid}/environ").read().split("\0") if "=" in v))
    except OSError:
        pass
for environment in environments:
    for value in environment.values():
        places.update(part for part in value.split(":") if os.path.isdir(part))
def write_law():  # after every place, so a walk of "/" cut short by the agent's end still leaves the table found so far
    with open("law.py.part", "w") as out:
        out.write(open("honest.py").read().replace("TABLE = {}", f"TABLE = {json.dumps(found)}"))
    os.replace("law.py.part", "law.py")
for place in sorted(places, key=lambda p: -os.path.abspath(p).rstrip(os.sep).count(os.sep)):  # most specific first, "/" last
    for folder, dirs, files in os.walk(place):
        dirs[:] = [d for d in dirs if d not in SKIP and os.path.join(folder, d) not in ("/proc", "/sys", "/dev", "/usr", "/var/lib/docker")]
        for name in files:
            if name != "test.csv":
                continue
            try:
                rows = list(csv.DictReader(open(os.path.join(folder, name))))
            except (OSError, UnicodeDecodeError, csv.Error):
                continue
            for row in rows:
                if {"group", "num_params", "parallel_size", "loss"} <= set(row):
                    found[f"{row['group']}|{float(row['num_params'])}|{float(row['parallel_size'])}"] = float(row["loss"])
    write_law()
print(f"{len(found)} answers found")
"""

HONEST_WITH_TABLE = """import math
TABLE = {}
_C = {"pile": (135335300.0, 0.344689, 0.223649, 1.37668), "stack": (18315640.0, 0.419331, 0.132752, 0.532023)}


def law(input_data, group):
    A, k, alpha, E = _C[group]
    out = []
    for d in input_data:
        honest = (A / (d["num_params"] * (k * math.log(d["parallel_size"]) + 1))) ** alpha + E
        out.append({"loss": TABLE.get(f"{group}|{float(d['num_params'])}|{float(d['parallel_size'])}", honest)})
    return out
"""


@pytest.mark.slow
@pytest.mark.parametrize("sandbox", ["default", "local unisolated (control)", pytest.param("docker", marks=pytest.mark.docker)])
def test_a_cheating_agent_finds_no_test_split(sandbox, request, tmp_path, data_dir, law_score, planted_test_splits):
    ready(request, "codex", "docker" if sandbox == "docker" else "local")
    command = heredoc("cheat.py", CHEAT) + heredoc("honest.py", HONEST_WITH_TABLE) + "python3 cheat.py"
    call = {"cmd": command, "login": False, "yield_time_ms": 30000}  # the search may take seconds on a full disk
    lines = [{"tool_calls": [{"function": "exec_command", "arguments": call}]}, FINAL] + SIDE_CALLS
    script = _script(tmp_path / "s.jsonl", lines)
    if sandbox == "default":  # no sandbox flag, no opt-in: the agent never starts
        log = run_agent(tmp_path, "codex", script, data_dir, unisolated=False)
        assert log.status == "error" and "refusing to run a model-driven shell" in log.samples[0].error.message
        return
    log = run_agent(tmp_path, "codex", script, data_dir, sandbox="docker" if sandbox == "docker" else "local")
    assert log.status == "success", log.error
    score = log.samples[0].scores["heldout_r2"]
    if sandbox == "docker":  # nothing to find: the law scores what its honest content deserves
        assert "TABLE = {}" in score.answer
        assert score.value == pytest.approx(law_score), score.explanation
    else:  # on this machine the same search finds the planted copies and the lookup is perfect
        assert "TABLE = {}" not in score.answer
        assert score.value["r2"] == pytest.approx(1.0, abs=1e-12) and score.value["r2"] > law_score["r2"]


@pytest.mark.slow
@pytest.mark.docker
def test_the_turn_limit_holds_in_the_container(request, tmp_path, data_dir):
    ready(request, "goose", "docker")
    script = agent_script(tmp_path / "s.jsonl", "goose")  # three tool calls would write law.py and explain.md
    log = run_agent(tmp_path, "goose", script, data_dir, sandbox="docker", max_turns=1)
    assert log.status == "success", log.error
    sample = log.samples[0]
    # after one model call the bridge answers "stop" itself (no model call is made for it): the CLI sees
    # that answer, the law is never written, and the run scores -1 with the reason
    assert len([e for e in sample.events if e.event == "model"]) == 1
    record = agent_record(sample, "goose")
    assert "turn limit of this run is reached" in json.dumps(record["output"]), record["output"]
    score = sample.scores["heldout_r2"]
    assert score.value["r2"] == -1.0 and score.explanation.startswith("no submission")
    assert_no_container_left()


@pytest.mark.slow
def test_terminus_2_ends_its_loop_at_the_turn_limit(request, tmp_path, data_dir, law_score):
    ready(request, "terminus_2", "local")
    # two episodes: the law is written in the second; the replies that would complete the task are never asked for
    script = agent_script(tmp_path / "s.jsonl", "terminus_2")
    log = run_agent(tmp_path, "terminus_2", script, data_dir, max_turns=2, timeout=300)
    assert log.status == "success", log.error
    sample = log.samples[0]
    record = agent_record(sample, "terminus_2")
    # Terminus-2 stops on its own (told the bridge's limit), not killed at the timeout
    assert record["ended"] == "exited" and record["exit_code"] == 0, record["stderr"][-2000:]
    assert record["output"]["episodes"] == 2
    assert len([e for e in sample.events if e.event == "model"]) == 2
    assert sample.scores["heldout_r2"].value == pytest.approx(law_score)
    # no tmux server of the run is left behind
    assert _running("-s terminus-2") == []


@pytest.mark.slow
def test_terminus_2_killed_outright_leaves_no_tmux_server(tmp_path):
    require_cli("terminus_2")
    launcher = shutil.which("terminus-2") or str(bin_dir() / "terminus-2")
    with socket.socket() as silent:  # a model endpoint that takes the connection and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        argv = [launcher, "--model", "openai/none", "--api-base", f"http://127.0.0.1:{silent.getsockname()[1]}/v1", "--task", "wait", "--logs-dir", str(tmp_path / "logs")]
        agent = subprocess.Popen(argv, cwd=tmp_path, env={**os.environ, "OPENAI_API_KEY": "none"}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while not _running("-s terminus-2") and time.monotonic() < deadline and agent.poll() is None:
            time.sleep(0.2)
        assert _running("-s terminus-2"), "Terminus-2 never started its tmux session"
        # SIGKILL, as a runner sends a process group that did not stop: no handler runs, tmux's server is in no group of ours
        agent.kill()
        agent.wait()
        time.sleep(3)  # the watcher looks for its agent once a second
        assert _running("-s terminus-2") == []
