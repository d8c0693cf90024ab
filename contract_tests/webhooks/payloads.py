"""Webhook payloads drawn from the spec: its examples, and hypothesis strategies built by
schemathesis from the webhook schemas (the spec's `webhooks` section, wrapped as operations)."""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

import schemathesis
from hypothesis import strategies as st

from plaid_refresh.spec import load_spec, resolve


def _webhooks() -> dict[str, dict[str, Any]]:
    """webhook_code -> the webhook's requestBody, from the spec."""
    found = {}
    for webhook in load_spec()["webhooks"].values():
        body = webhook["post"]["requestBody"]
        schema = resolve(body["content"]["application/json"]["schema"])
        (code,) = schema["properties"]["webhook_code"]["enum"]
        found[code] = body
    return found


def codes() -> list[str]:
    return sorted(_webhooks())


def examples() -> dict[str, dict[str, Any]]:
    """webhook_code -> the spec's first example payload (a fresh copy)."""
    return {
        code: copy.deepcopy(next(iter(body["content"]["application/json"]["examples"].values()))["value"])
        for code, body in _webhooks().items()
    }


@cache
def _schema() -> Any:
    spec = load_spec()
    paths = {
        f"/{code}": {
            "post": {
                "operationId": code,
                "requestBody": body,
                "responses": {"200": {"description": "accepted"}},
            }
        }
        for code, body in _webhooks().items()
    }
    document = {
        "openapi": "3.1.0",
        "info": {"title": "webhooks as operations", "version": spec["info"]["version"]},
        "paths": paths,
        "components": spec["components"],
    }
    return schemathesis.openapi.from_dict(document, config=schemathesis.Config.from_dict({}))


def strategy(code: str) -> st.SearchStrategy[dict[str, Any]]:
    """Payloads valid against the spec's schema for `code`."""
    operation = _schema()[f"/{code}"]["POST"]
    return operation.as_strategy().map(lambda case: case.body)  # type: ignore[no-any-return]
