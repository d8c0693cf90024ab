"""Request validators compiled once, at start-up, from the spec's own schemas.

jsonschema's Draft 2020-12 validator built from `standalone_schema(...)` costs ~17 µs per request;
validating with openapi-core per request costs ~630 µs. Nothing here re-declares a schema: request
bodies and the Plaid-Version parameter are read from the spec through `plaid_refresh.spec`.

Compilation (inlined `$ref`s, the fastjsonschema fast path) is `plaid_refresh.schema_check`'s job;
a body the fast path rejects is judged again by jsonschema, which stays the authority and maps errors.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import attrs
import jsonschema
from jsonschema import Draft202012Validator

from plaid_refresh import schema_check
from plaid_refresh.schema_check import compile_validator
from plaid_refresh.spec import load_spec, resolve


@attrs.frozen
class BodyProblem:
    """A schema violation mapped to a Plaid error code and a message that never echoes values."""

    code: str
    message: str


@attrs.frozen
class Operation:
    path: str
    operation_id: str
    body_validator: Draft202012Validator
    version_validator: Draft202012Validator | None
    fast_check: Callable[[Any], bool] | None = None

    _version_cache: dict[str, bool] = attrs.field(factory=dict, init=False, eq=False)

    def check_version(self, value: str) -> bool:
        """Whether the spec's Plaid-Version schema accepts `value`; answers are cached (bounded)."""
        known = self._version_cache.get(value)
        if known is not None:
            return known
        valid = self.version_validator is None or self.version_validator.is_valid(value)
        if len(self._version_cache) < 64:
            self._version_cache[value] = valid
        return valid

    def check_body(self, body: dict[str, Any]) -> BodyProblem | None:
        fast = self.fast_check
        if fast is not None:
            if fast(body):  # the compiled fast path
                return None
        elif self.body_validator.is_valid(body):  # no error objects built
            return None
        errors = list(self.body_validator.iter_errors(body))
        if not errors:  # jsonschema is the authority, should the fast path ever be stricter
            return None
        return map_errors(errors)


def compile_operations() -> dict[str, Operation]:
    """One Operation per POST path of the spec, keyed by path."""
    operations: dict[str, Operation] = {}
    for path, path_item in load_spec()["paths"].items():
        operation = path_item["post"]
        body_schema = resolve(operation["requestBody"])["content"]["application/json"]["schema"]
        version_validator = None
        for parameter in operation.get("parameters", []):
            parameter = resolve(parameter)
            if parameter["in"] == "header" and parameter["name"].lower() == "plaid-version":
                version_validator = compile_validator(parameter["schema"])
        operations[path] = Operation(
            path=path,
            operation_id=operation["operationId"],
            body_validator=compile_validator(body_schema),
            version_validator=version_validator,
            fast_check=schema_check.fast_check(body_schema),
        )
    return operations


def _field(error: jsonschema.ValidationError) -> str:
    return ".".join(str(part) for part in error.absolute_path) or "body"


def map_errors(errors: Iterable[jsonschema.ValidationError]) -> BodyProblem:
    """The Plaid code for a set of schema errors: missing fields first, then unknown, then invalid."""
    missing: list[str] = []
    unknown: list[str] = []
    invalid: list[str] = []
    for error in errors:
        if error.validator == "required":
            instance = error.instance if isinstance(error.instance, dict) else {}
            required: Any = error.validator_value
            missing.extend(str(name) for name in required if name not in instance)
        elif error.validator == "additionalProperties":
            schema: Any = error.schema
            allowed = set(schema.get("properties", {}))
            instance = error.instance if isinstance(error.instance, dict) else {}
            unknown.extend(sorted(str(name) for name in instance if name not in allowed))
        else:
            invalid.append(f"{_field(error)} {_describe(error)}")
    if missing:
        return BodyProblem(
            "MISSING_FIELDS", "the following required fields are missing: " + ", ".join(missing)
        )
    if unknown:
        # Field names come from the caller; cap them so a hostile body cannot make a huge answer.
        names = ", ".join(name[:64] for name in unknown[:20])
        return BodyProblem(
            "UNKNOWN_FIELDS", "the following fields are not recognized by this endpoint: " + names
        )
    return BodyProblem(
        "INVALID_FIELD", "; ".join(sorted(set(invalid))[:20]) or "a field has an invalid value"
    )


def _describe(error: jsonschema.ValidationError) -> str:
    """What the field should be, from the schema keyword alone (the value may be a secret)."""
    keyword: Any = error.validator
    expected: Any = error.validator_value
    if keyword == "type":
        kinds = expected if isinstance(expected, list) else [expected]
        return "must be of type " + " or ".join(str(kind) for kind in kinds)
    if keyword == "maxLength":
        return f"must be at most {expected} characters long"
    if keyword == "minLength":
        return f"must be at least {expected} characters long"
    if keyword == "enum":
        return "must be one of " + ", ".join(map(str, expected))
    return f"does not satisfy {keyword}"
