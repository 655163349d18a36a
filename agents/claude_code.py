"""`sldbench/claude_code`: Anthropic Claude Code, headless (``claude -p --output-format stream-json``)."""

from __future__ import annotations

import json

from inspect_ai.agent import Agent, AgentState, agent

from ._runner import Context, Launch, run_agent_cli
from .install import CLIS

CLI = CLIS["claude_code"]
API_KEY = "bridge"


def launch(context: Context) -> Launch:
    """``claude -p`` with every model alias on the bridge's model and the API key from settings.json."""
    models = {
        name: context.model
        for name in (
            "ANTHROPIC_MODEL", "ANTHROPIC_DEFAULT_OPUS_MODEL", "ANTHROPIC_DEFAULT_SONNET_MODEL",
            "ANTHROPIC_DEFAULT_HAIKU_MODEL", "ANTHROPIC_SMALL_FAST_MODEL", "CLAUDE_CODE_SUBAGENT_MODEL",
        )
    }  # fmt: skip
    return Launch(
        argv=[
            context.executable, "-p", context.prompt, "--dangerously-skip-permissions",
            "--output-format", "stream-json", "--verbose", "--model", context.model,
        ],  # fmt: skip
        env={
            "ANTHROPIC_BASE_URL": context.base_url,
            "ANTHROPIC_AUTH_TOKEN": API_KEY,
            "IS_SANDBOX": "1",  # allows --dangerously-skip-permissions as root
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS": "1",
            "DISABLE_AUTOUPDATER": "1",
            **models,
        },
        # The CLI does not send ANTHROPIC_AUTH_TOKEN by itself in -p mode; an apiKeyHelper does.
        files={
            ".claude/settings.json": json.dumps({"apiKeyHelper": f"echo {API_KEY}"}),
            ".claude.json": json.dumps({"hasCompletedOnboarding": True, "bypassPermissionsModeAccepted": True}),
        },
    )


@agent(name="claude_code")
def claude_code(timeout: int = 3600, max_turns: int | None = 200) -> Agent:
    """Claude Code (pinned version in `sldbench.agents.install.CLIS`) on the eval's model.

    Parameters
    ----------
    timeout : int
        Wall seconds for the CLI run; the sample is then scored on the ``law.py`` it left.
    max_turns : int, optional
        Model calls allowed (None: no limit).
    """

    async def execute(state: AgentState) -> AgentState:
        return await run_agent_cli(state, CLI, launch, timeout, max_turns)

    return execute
