"""Offline model provider ``scripted``: replies come from a JSON-lines script.

    inspect eval sldbench/parallel --solver sldagent --model scripted/demo -M script=replies.jsonl

Each line of the script is a JSON object ``{"content": "..."}``, returned in
order, one per model call. A line may also carry ``"when": "TEXT"``: it is then
used only for a call whose last user message contains TEXT (the first unused
such line wins), which keeps a script valid when calls arrive in another order
or a run resumes part-way. ``-M latency=SECONDS`` makes every call wait that
long, to measure how a solver overlaps model latency.

A line may ask for tool calls, which is how a script drives a coding agent
(through Inspect's agent bridge the calls reach the agent in its own wire
format)::

    {"tool_calls": [{"function": "Write", "arguments": {"file_path": "law.py", "content": "..."}}]}

``content`` is then optional. Such a line is used only for a call that offers
every tool it names, so an agent's side calls without tools (titles, summaries)
do not consume it. ``"when_tools": false`` keeps a line for calls that offer no
tools at all, ``"when_tools": true`` for calls that offer some (an agent's
final answer, say).

Inspect keeps one model instance per name and arguments in a process, so two
evals in one process with the same ``scripted/NAME`` and script share one
position in the script: give each its own NAME to start afresh.

Token usage is counted here (words of the prompt and the reply), because
Inspect's fallback counts with a tokenizer it downloads.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

from inspect_ai.model import (
    ChatMessage,
    ChatMessageAssistant,
    ChatMessageUser,
    GenerateConfig,
    ModelAPI,
    ModelOutput,
    ModelUsage,
    modelapi,
)
from inspect_ai.tool import ToolCall, ToolChoice, ToolInfo


class ScriptError(RuntimeError):
    """The script is missing, malformed or used up."""


def load_script(path: str | Path) -> list[dict[str, Any]]:
    """Read and check a script file.

    Parameters
    ----------
    path : str or Path
        A JSON-lines file (format in the module docstring).

    Returns
    -------
    list of dict
        One ``{"content": str, "tool_calls": list, "when": str | None, "when_tools": bool | None}`` per line.
    """
    source = Path(path).expanduser()
    if not source.is_file():
        raise ScriptError(f"scripted model: no script file at {source} (model argument -M script=FILE)")
    lines = []
    for number, text in enumerate(source.read_text().splitlines(), start=1):
        if not text.strip():
            continue
        try:
            line = json.loads(text)
        except ValueError as err:
            raise ScriptError(f"{source}:{number}: not a JSON object ({err}); expected {{\"content\": \"...\"}}") from err
        if not isinstance(line, dict) or not isinstance(line.get("content", "" if "tool_calls" in line else None), str):
            raise ScriptError(f"{source}:{number}: expected an object with a string field 'content' (or a list 'tool_calls')")
        calls = line.get("tool_calls", [])
        if not isinstance(calls, list) or not all(_is_tool_call(call) for call in calls):
            raise ScriptError(
                f"{source}:{number}: 'tool_calls' must be a list of objects "
                f'{{"function": "NAME", "arguments": {{...}}}} (optional "id")'
            )
        if line.get("when_tools") not in (None, False, True):
            raise ScriptError(f"{source}:{number}: 'when_tools' must be true or false (calls offering tools or none)")
        lines.append(
            {"content": line.get("content", ""), "tool_calls": calls, "when": line.get("when"), "when_tools": line.get("when_tools")}
        )
    return lines


def _is_tool_call(call: Any) -> bool:
    return (
        isinstance(call, dict)
        and isinstance(call.get("function"), str)
        and isinstance(call.get("arguments", {}), dict)
        and isinstance(call.get("id", ""), str)
    )


def _words(text: str) -> int:
    return len(text.split())


class ScriptedModel(ModelAPI):
    """A model that answers from a script (see the module docstring)."""

    def __init__(
        self,
        model_name: str,
        base_url: str | None = None,
        api_key: str | None = None,
        config: GenerateConfig = GenerateConfig(),
        script: str | None = None,
        latency: float = 0.0,
        **model_args: Any,
    ) -> None:
        super().__init__(model_name, base_url, api_key, [], config)
        if script is None:
            raise ScriptError("scripted model needs a script: -M script=FILE (JSON lines, each {\"content\": \"...\"})")
        self.script_path = str(script)
        self.lines = load_script(script)
        self.used = [False] * len(self.lines)
        self.latency = float(latency)

    def max_connections(self) -> int:
        return 64

    def _take(self, prompt: str, offered: set[str]) -> dict[str, Any]:
        for index, line in enumerate(self.lines):
            if self.used[index] or not _fits(line, prompt, offered):
                continue
            self.used[index] = True
            return line
        raise ScriptError(
            f"scripted model: the script {self.script_path} is used up "
            f"({sum(self.used)} of {len(self.lines)} replies given, none left for this prompt"
            f"{' offering tools ' + ', '.join(sorted(offered)) if offered else ' (no tools offered)'})"
        )

    async def generate(
        self,
        input: list[ChatMessage],
        tools: list[ToolInfo],
        tool_choice: ToolChoice,
        config: GenerateConfig,
    ) -> ModelOutput:
        prompt = next((m.text for m in reversed(input) if isinstance(m, ChatMessageUser)), "")
        line = self._take(prompt, {tool.name for tool in tools})  # before any await: lines go in call order
        if self.latency:
            await asyncio.sleep(self.latency)
        calls = [
            ToolCall(id=call.get("id") or f"call_{uuid.uuid4().hex[:12]}", function=call["function"], arguments=call.get("arguments", {}))
            for call in line["tool_calls"]
        ]
        message = ChatMessageAssistant(content=line["content"], tool_calls=calls or None, model=self.model_name, source="generate")
        output = ModelOutput.from_message(message, stop_reason="tool_calls" if calls else "stop")
        output.model = self.model_name
        prompt_words = sum(_words(m.text) for m in input)
        reply_words = _words(line["content"]) + sum(_words(json.dumps(call.arguments)) for call in calls)
        output.usage = ModelUsage(input_tokens=prompt_words, output_tokens=reply_words, total_tokens=prompt_words + reply_words)
        return output


def _fits(line: dict[str, Any], prompt: str, offered: set[str]) -> bool:
    """Whether a script line may answer a call with this last user message and these tools."""
    if line["when"] is not None and line["when"] not in prompt:
        return False
    if line["when_tools"] is not None and line["when_tools"] != bool(offered):
        return False
    return all(call["function"] in offered for call in line["tool_calls"])


@modelapi(name="scripted")
def scripted() -> type[ModelAPI]:
    return ScriptedModel
