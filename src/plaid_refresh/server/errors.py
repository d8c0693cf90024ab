"""Plaid-shaped error bodies, derived from the spec's named error examples.

The spec names each example after its `error_code`, under the response of the status that carries it
(400, 404, 429, 500, 503). That is the only place error types, statuses, messages and documentation
links are written: this module reads them at start-up and turns them into ready-made templates, so
building an error on the hot path is one dict copy and one orjson call.
"""

from __future__ import annotations

from typing import Any

import attrs
import orjson

from plaid_refresh.spec import load_spec, resolve

# 405 has no example in the spec (Plaid documents none); it reuses the INVALID_REQUEST shape of the
# 404 example and only changes the code and message. Unknown codes are allowed by the spec's PlaidError.
METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"


@attrs.frozen
class ErrorTemplate:
    status: int
    body: dict[str, Any]

    @property
    def code(self) -> str:
        return str(self.body["error_code"])


def _complete(value: dict[str, Any]) -> dict[str, Any]:
    """The example with every PlaidError property present (arrays empty, others null), in spec order."""
    properties = resolve(load_spec()["components"]["schemas"]["PlaidError"])["properties"]
    defaults: dict[str, Any] = {
        name: ([] if schema.get("type") == "array" else None) for name, schema in properties.items()
    }
    return {**defaults, **value}


def _load_catalogue() -> dict[str, ErrorTemplate]:
    catalogue: dict[str, ErrorTemplate] = {}
    for path_item in load_spec()["paths"].values():
        for operation in path_item.values():
            for status, response in operation.get("responses", {}).items():
                if not status.isdigit() or int(status) < 400:
                    continue
                examples = resolve(response)["content"]["application/json"].get("examples", {})
                for name, example in examples.items():
                    value = _complete(resolve(example)["value"])
                    if value.get("error_code") != name:
                        raise ValueError(
                            f"spec example {name!r} under {status} is not named after its error_code"
                        )
                    catalogue[name] = ErrorTemplate(status=int(status), body=value)
    not_found = catalogue["NOT_FOUND"]
    catalogue[METHOD_NOT_ALLOWED] = ErrorTemplate(
        status=405,
        body={
            **not_found.body,
            "error_code": METHOD_NOT_ALLOWED,
            "error_message": "this route only accepts POST",
        },
    )
    return catalogue


CATALOGUE: dict[str, ErrorTemplate] = _load_catalogue()
KNOWN_CODES: frozenset[str] = frozenset(CATALOGUE)


def error_body(code: str, request_id: str, message: str | None = None, **extra: Any) -> tuple[int, bytes]:
    """Status and serialised body of the error `code`, with this request's id.

    `message` replaces the example's error_message when the server knows something more precise;
    `extra` sets further PlaidError fields (e.g. required_account_subtypes)."""
    template = CATALOGUE[code]
    body = dict(template.body)
    body["request_id"] = request_id
    if message is not None:
        body["error_message"] = message
    if extra:
        body.update(extra)
    return template.status, orjson.dumps(body)


def error_object(code: str, request_id: str | None = None) -> dict[str, Any]:
    """The error as a dict (for webhook payloads that embed an error)."""
    body = dict(CATALOGUE[code].body)
    body["request_id"] = request_id
    return body
