"""`sldbench/gemini_cli`: Google Gemini CLI, headless (``gemini -p -o json``)."""

from __future__ import annotations

import json


from ._runner import Context, Launch, cli_agent
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


gemini_cli = cli_agent(CLI, launch)
