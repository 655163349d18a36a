"""`sldbench/goose`: Goose, headless (``goose run --output-format stream-json``)."""

from __future__ import annotations

from ._runner import Context, Launch, cli_agent
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


goose = cli_agent(CLI, launch)
