"""Adapters that run CLI coding agents headless in the task's sandbox (one module per agent)."""
