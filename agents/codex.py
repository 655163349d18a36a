"""`sldbench/codex`: OpenAI Codex CLI, headless (``codex exec --json``)."""

from __future__ import annotations

from ._runner import Context, Launch, cli_agent
from .install import CLIS

CLI = CLIS["codex"]


def launch(context: Context) -> Launch:
    """``codex exec`` with a config.toml provider on the bridge (Codex ignores a base-URL variable alone)."""
    config = f"""\
model = "{context.model}"
model_provider = "bridge"

[analytics]
enabled = false

[model_providers.bridge]
name = "Inspect bridge"
base_url = "{context.base_url}/v1"
env_key = "OPENAI_API_KEY"
wire_api = "responses"
stream_idle_timeout_ms = 3600000
"""
    return Launch(
        argv=[
            context.executable, "exec", "--json", "--color", "never", "--skip-git-repo-check",
            "--dangerously-bypass-approvals-and-sandbox", "-C", context.workdir, context.prompt,
        ],  # fmt: skip
        env={"CODEX_HOME": f"{context.home}/.codex", "OPENAI_API_KEY": "bridge", "RUST_LOG": "warn"},
        files={".codex/config.toml": config},
    )


codex = cli_agent(CLI, launch)
