"""`sldbench/openhands`: OpenHands CLI, headless (``openhands --headless --json``)."""

from __future__ import annotations

from ._runner import Context, Launch, cli_agent
from .install import CLIS

CLI = CLIS["openhands"]


def launch(context: Context) -> Launch:
    """``openhands --headless --json`` with its LLM settings taken from the environment (the bridge)."""
    return Launch(
        argv=[context.executable, "--headless", "--json", "--override-with-envs", "-t", context.prompt],
        env={
            "LLM_MODEL": f"openai/{context.model}",
            "LLM_BASE_URL": f"{context.base_url}/v1",
            "LLM_API_KEY": "bridge",
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # no download of litellm's model list
            "OPENHANDS_SUPPRESS_BANNER": "1",
        },
    )


openhands = cli_agent(CLI, launch)
