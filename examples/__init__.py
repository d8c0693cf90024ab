"""Runnable examples (run them from the repository root: python -m examples.<name>)."""
