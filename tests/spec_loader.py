"""Paths and the loaded spec for the tests, read through the toolkit's own loader."""

from __future__ import annotations

from pathlib import Path

from plaid_refresh.spec import load_spec, resolve, spec_path

ROOT = Path(__file__).resolve().parent.parent
SPEC_PATH = spec_path()

__all__ = ["ROOT", "SPEC_PATH", "load_spec", "resolve"]
