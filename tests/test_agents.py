"""The agent adapters: each real CLI run headless in the local sandbox, its model calls bridged to a scripted model."""

import asyncio
import json
import shutil

import pytest
from conftest import DATA_DIR, HUMAN_DIR
from inspect_ai import eval as inspect_eval
from inspect_ai.log import resolve_sample_attachments
from inspect_ai.model import ChatMessageUser, GenerateConfig
from inspect_ai.tool import ToolInfo, ToolParams

from sldbench import agents
from sldbench.agents.install import CLIS, bin_dir
from sldbench.laws import load_constants, prefitted_program
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
}
FINAL = {"content": "law.py and explain.md are written.", "when_tools": True}
SIDE_CALLS = [{"content": "Scaling law discovery", "when_tools": False}] * 3


def agent_script(path, name, final=True):
    lines, _ = SCRIPTS[name]
    extra = [FINAL] if final and name != "aider" else []
    return _script(path, lines + extra + SIDE_CALLS)


def require_cli(name):
    cli = CLIS[name]
    if shutil.which(cli.command) is None and not (bin_dir() / cli.command).exists():
        pytest.skip(f"{cli.command} ({cli.requirement}) is not installed: run `{cli.install_hint}`")


def run_agent(tmp_path, name, script, data_dir, task=None, **agent_args):
    """Run one agent on the parallel task (or ``task``) with the scripted model; samples with attachments resolved."""
    (log,) = inspect_eval(
        task or sldbench_task("parallel", data_dir=str(data_dir)),
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
@pytest.mark.parametrize("name", list(SCRIPTS))
def test_agent_writes_the_scripted_law_and_is_scored_on_it(name, tmp_path, data_dir, law_score):
    require_cli(name)
    log = run_agent(tmp_path, name, agent_script(tmp_path / "script.jsonl", name), data_dir)
    assert log.status == "success", log.error
    sample = log.samples[0]
    score = sample.scores["heldout_r2"]
    assert score.value == pytest.approx(law_score), score.explanation
    assert law_score["r2"] == pytest.approx(0.9998925970125949)  # the paper's Human value on parallel
    assert "law.py in the sandbox" in score.explanation

    # the agent's model calls went through the bridge into the transcript, tool calls included
    model_events = [e for e in sample.events if e.event == "model"]
    _, tool = SCRIPTS[name]
    if tool:
        called = [c.function for e in model_events for c in (e.output.message.tool_calls or [])]
        assert called.count(tool) >= 1 and any("law.py" in json.dumps(e.output.message.tool_calls[0].arguments) for e in model_events if e.output.message.tool_calls)
    else:
        assert any("```python" in e.output.message.text for e in model_events)
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
