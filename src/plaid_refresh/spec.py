"""Where the spec lives, and the spec loaded once: every schema in this toolkit is read from it."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

# In a source checkout the spec is openapi/ at the repository root; an installed wheel carries a copy.
_CANDIDATES = (
    Path(__file__).resolve().parents[2] / "openapi" / "transactions-refresh.yaml",
    Path(__file__).resolve().parent / "transactions-refresh.yaml",
)


def spec_path() -> Path:
    for candidate in _CANDIDATES:
        if candidate.is_file():
            return candidate
    looked = ", ".join(map(str, _CANDIDATES))
    raise FileNotFoundError(f"transactions-refresh.yaml not found; looked in: {looked}")


@cache
def load_spec() -> dict[str, Any]:
    """The parsed spec. Cached: treat the result as read-only."""
    with spec_path().open(encoding="utf-8") as handle:
        # libyaml's loader when present: the pure-Python one takes ~0.35 s on this spec.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        spec: dict[str, Any] = yaml.load(handle, Loader=loader)  # noqa: S506 - a safe loader
    return spec


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    """Follow local `$ref`s (responses, parameters, schemas) until a concrete node is reached."""
    while "$ref" in node:
        target: Any = load_spec()
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def standalone_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A JSON Schema (2020-12) that can be compiled on its own: it carries the spec's components so
    local "#/components/..." references resolve."""
    return {**schema, "components": load_spec()["components"]}
