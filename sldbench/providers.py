"""Offline model provider ``scripted``: replies come from a JSON-lines script.

    inspect eval sldbench/parallel --solver sldagent --model scripted/demo -M script=replies.jsonl

Each line of the script is a JSON object ``{"content": "..."}``, returned in
order, one per model call. A line may also carry ``"when": "TEXT"``: it is then
used only for a call whose last user message contains TEXT (the first unused
such line wins), which keeps a script valid when calls arrive in another order
or a run resumes part-way. ``-M latency=SECONDS`` makes every call wait that
long, to measure how a solver overlaps model latency.

Inspect keeps one model instance per name and arguments in a process, so two
evals in one process with the same ``scripted/NAME`` and script share one
position in the script: give each its own NAME to start afresh.

Token usage is counted here (words of the prompt and the reply), because
Inspect's fallback counts with a tokenizer it downloads.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from inspect_ai.model import (
    ChatMessage,
    ChatMessageUser,
    GenerateConfig,
    ModelAPI,
    ModelOutput,
    ModelUsage,
    modelapi,
)
from inspect_ai.tool import ToolChoice, ToolInfo


class ScriptError(RuntimeError):
    """The script is missing, malformed or used up."""


def load_script(path: str | Path) -> list[dict[str, Any]]:
    """Read and check a script file.

    Returns
    -------
    list of dict
        One ``{"content": str, "when": str | None}`` per line.
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
        if not isinstance(line, dict) or not isinstance(line.get("content"), str):
            raise ScriptError(f"{source}:{number}: expected an object with a string field 'content'")
        lines.append({"content": line["content"], "when": line.get("when")})
    return lines


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

    def _take(self, prompt: str) -> str:
        for index, line in enumerate(self.lines):
            if self.used[index]:
                continue
            if line["when"] is None or line["when"] in prompt:
                self.used[index] = True
                return line["content"]
        raise ScriptError(
            f"scripted model: the script {self.script_path} is used up "
            f"({sum(self.used)} of {len(self.lines)} replies given, none left for this prompt)"
        )

    async def generate(
        self,
        input: list[ChatMessage],
        tools: list[ToolInfo],
        tool_choice: ToolChoice,
        config: GenerateConfig,
    ) -> ModelOutput:
        prompt = next((m.text for m in reversed(input) if isinstance(m, ChatMessageUser)), "")
        content = self._take(prompt)  # before any await, so calls take lines in call order
        if self.latency:
            await asyncio.sleep(self.latency)
        output = ModelOutput.from_content(model=self.model_name, content=content)
        prompt_words = sum(_words(m.text) for m in input)
        output.usage = ModelUsage(
            input_tokens=prompt_words, output_tokens=_words(content), total_tokens=prompt_words + _words(content)
        )
        return output


@modelapi(name="scripted")
def scripted() -> type[ModelAPI]:
    return ScriptedModel
