"""`sldbench/claude_code`: Anthropic Claude Code, headless (``claude -p --output-format stream-json``)."""

from __future__ import annotations

import json


from ._runner import Context, Launch, cli_agent
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


claude_code = cli_agent(CLI, launch)
