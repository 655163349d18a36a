"""`sldbench/gemini_cli`: Google Gemini CLI, headless (``gemini -p -o json``)."""

from __future__ import annotations

import json

from inspect_ai.agent import Agent, AgentState, agent

from ._runner import Context, Launch, run_agent_cli
from .install import CLIS

CLI = CLIS["gemini_cli"]


def launch(context: Context) -> Launch:
    """``gemini --yolo -p`` against the bridge's Google endpoint, API-key auth chosen in settings.json."""
    settings = {
        "security": {"auth": {"selectedType": "gemini-api-key"}},
        "privacy": {"usageStatisticsEnabled": False},
        "telemetry": {"enabled": False},
        "general": {"disableAutoUpdate": True, "disableUpdateNag": True},
    }
    return Launch(
        argv=[context.executable, "--yolo", "-m", context.model, "-o", "stream-json", "-p", context.prompt],
        env={
            "GOOGLE_GEMINI_BASE_URL": context.base_url,
            "GEMINI_API_KEY": "bridge",
            "GEMINI_CLI_TRUST_WORKSPACE": "true",
        },
        files={".gemini/settings.json": json.dumps(settings)},
    )


@agent(name="gemini_cli")
def gemini_cli(timeout: int = 3600, max_turns: int | None = 200) -> Agent:
    """Gemini CLI (pinned version in `sldbench.agents.install.CLIS`) on the eval's model.

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
