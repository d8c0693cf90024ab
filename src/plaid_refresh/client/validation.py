"""JSON Schema validators for request and response bodies, compiled once from the spec.

The generated models do no type checking (`from_dict` accepts anything), so bodies are checked here
against the very schemas the spec declares, before any generated code touches them.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from plaid_refresh.schema_check import CompiledSchema

# jsonschema, fastjsonschema and the spec (YAML) are imported on first use, not at client import.


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    from plaid_refresh.spec import resolve as resolve_in_spec

    return resolve_in_spec(node)


def _compile(schema: dict[str, Any]) -> CompiledSchema:
    from plaid_refresh.schema_check import CompiledSchema

    return CompiledSchema.of(schema)


def _operation(path: str) -> dict[str, Any]:
    from plaid_refresh.spec import load_spec

    operation: dict[str, Any] = load_spec()["paths"][path]["post"]
    return operation


@cache
def documented_statuses(path: str) -> frozenset[int]:
    # "default" (any other status) is not a listed status.
    return frozenset(int(status) for status in _operation(path)["responses"] if status.isdigit())


@cache
def response_validator(path: str, status: int) -> CompiledSchema:
    response = resolve(_operation(path)["responses"][str(status)])
    schema = response["content"]["application/json"]["schema"]
    return _compile(schema)


@cache
def request_validator(path: str) -> CompiledSchema:
    body = resolve(_operation(path)["requestBody"])
    return _compile(body["content"]["application/json"]["schema"])


@cache
def error_object_validator() -> CompiledSchema:
    return _compile({"$ref": "#/components/schemas/PlaidError"})


def describe_errors(validator: CompiledSchema, instance: Any, limit: int = 3) -> list[str]:
    """Problems as "<json path>: <keyword> <expected>", never quoting the offending value (it may be
    a secret, or huge)."""
    if validator.is_valid(instance):
        return []
    problems: list[str] = []
    for error in sorted(validator.iter_errors(instance), key=lambda e: list(e.path)):
        where = error.json_path
        if error.validator == "required":
            expected: Any = error.validator_value
            required = [str(name) for name in expected]
            problems.append(f"{where}: missing required field(s) {_missing(error.instance, required)}")
        elif error.validator == "type":
            problems.append(
                f"{where}: expected type {error.validator_value}, got {_json_type(error.instance)}"
            )
        elif error.validator in ("anyOf", "oneOf"):
            problems.append(f"{where}: matches none of the allowed forms (got {_json_type(error.instance)})")
        else:
            problems.append(f"{where}: fails {error.validator} {error.validator_value!r}"[:200])
        if len(problems) >= limit:
            break
    return problems


def _missing(instance: Any, required: list[str]) -> str:
    if not isinstance(instance, dict):
        return ", ".join(required)
    return ", ".join(name for name in required if name not in instance)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def warm_up(paths: tuple[str, ...]) -> None:
    """Compile every validator of these operations now (at client construction), so the first call
    does not pay for reading the spec. (jsonschema itself loads only to describe an invalid body.)"""
    error_object_validator()
    for path in paths:
        request_validator(path)
        for status in documented_statuses(path):
            response_validator(path, status)
