"""`sldbench/goose`: Goose, headless (``goose run --output-format stream-json``)."""

from __future__ import annotations

from inspect_ai.agent import Agent, AgentState, agent

from ._runner import Context, Launch, run_agent_cli
from .install import CLIS

CLI = CLIS["goose"]


def launch(context: Context) -> Launch:
    """``goose run`` with the developer extension, its OpenAI provider on the bridge (host without /v1)."""
    return Launch(
        argv=[
            context.executable, "run", "--no-session", "--no-profile", "--with-builtin", "developer",
            "--output-format", "stream-json", "--provider", "openai", "--model", context.model, "-t", context.prompt,
        ],  # fmt: skip
        env={
            "GOOSE_PROVIDER": "openai",
            "GOOSE_MODEL": context.model,
            "OPENAI_HOST": context.base_url,
            "OPENAI_API_KEY": "bridge",
            "GOOSE_DISABLE_KEYRING": "1",
            "GOOSE_MODE": "auto",
            "GOOSE_CLI_MIN_PRIORITY": "0.0",
        },
    )


@agent(name="goose")
def goose(timeout: int = 3600, max_turns: int | None = 200) -> Agent:
    """Goose (pinned version in `sldbench.agents.install.CLIS`) on the eval's model.

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
