"""Adapters that run CLI coding agents headless in the task's sandbox (one module per agent)."""

from .aider import aider
from .claude_code import claude_code
from .codex import codex
from .gemini_cli import gemini_cli
from .goose import goose
from .openhands import openhands

__all__ = ["aider", "claude_code", "codex", "gemini_cli", "goose", "openhands"]
