"""`sldbench/aider`: Aider, headless (``aider --message``, whole-file edits)."""

from __future__ import annotations

from inspect_ai.util import SandboxEnvironment

from sldbench.submission import LAW_FILE
from sldbench.tasks import TRAIN_FILE

from ._runner import Context, Launch, cli_agent, read_if_present
from .install import CLIS

CLI = CLIS["aider"]
CHAT_HISTORY = ".aider.chat.history.md"

# Aider cannot run commands headless: it sees the training data as a read-only file in its chat.
NO_SHELL = f"""
(You cannot run commands here: {TRAIN_FILE} is attached to the chat read-only. Estimate the constants
per group from it and write {LAW_FILE} with them.)
"""


def launch(context: Context) -> Launch:
    """One ``aider --message`` exchange editing ``law.py`` (whole-file format), the train split attached read-only."""
    home = context.home
    return Launch(
        argv=[
            context.executable, "--model", f"openai/{context.model}", "--edit-format", "whole",
            "--yes-always", "--no-git", "--no-auto-commits", "--no-stream", "--no-pretty", "--no-fancy-input",
            "--no-check-update", "--no-show-release-notes", "--no-analytics", "--no-show-model-warnings",
            "--no-suggest-shell-commands", "--no-detect-urls", "--map-tokens", "0",
            "--chat-history-file", f"{home}/{CHAT_HISTORY}", "--input-history-file", f"{home}/.aider.input.history",
            "--read", TRAIN_FILE, "--message", context.prompt + NO_SHELL, LAW_FILE, "explain.md",
        ],  # fmt: skip
        env={
            "OPENAI_API_BASE": f"{context.base_url}/v1",
            "OPENAI_API_KEY": "bridge",
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # no download of litellm's model list
            "AIDER_ANALYTICS_DISABLE": "1",
        },
    )


async def chat_history(sandbox: SandboxEnvironment, context: Context) -> str:
    """Aider's own record of the exchange (Markdown)."""
    return await read_if_present(sandbox, f"{context.home}/{CHAT_HISTORY}")


aider = cli_agent(CLI, launch, history=chat_history, note="Aider cannot run commands headless: one exchange, the train split attached read-only.")
