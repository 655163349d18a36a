"""The agent adapters: each real CLI run headless in the local sandbox, its model calls bridged to a scripted model."""

import asyncio
import json

import pytest
from inspect_ai.model import ChatMessageUser, GenerateConfig
from inspect_ai.tool import ToolInfo, ToolParams

from sldbench.providers import ScriptError, ScriptedModel


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
