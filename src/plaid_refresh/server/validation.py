"""Request validators compiled once, at start-up, from the spec's own schemas.

jsonschema's Draft 2020-12 validator built from `standalone_schema(...)` costs ~17 µs per request;
validating with openapi-core per request costs ~630 µs. Nothing here re-declares a schema: request
bodies and the Plaid-Version parameter are read from the spec through `plaid_refresh.spec`.

Compilation (inlined `$ref`s, the fastjsonschema fast path) is `plaid_refresh.schema_check`'s job;
a body the fast path rejects is judged again by jsonschema, which stays the authority and maps errors.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

import attrs
import jsonschema
from jsonschema import Draft202012Validator

from plaid_refresh import schema_check
from plaid_refresh.schema_check import compile_validator
from plaid_refresh.spec import load_spec, resolve

# Request bodies are flat objects of strings; anything nested deeper is refused before jsonschema sees it.
MAX_DEPTH = 32
# UNKNOWN_FIELDS names at most this many fields, and only names shaped like a field name (see _shown_name).
MAX_NAMES_SHOWN = 10
_FIELD_NAME = re.compile(r"[a-z][a-z0-9]{0,15}(?:_[a-z0-9]{1,16}){0,4}")


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
    # Plaid-Version header values (as received) known to be accepted: the server's hot path checks this set.
    accepted_versions: set[bytes] = attrs.field(factory=set, init=False, eq=False)

    def check_version(self, value: str) -> bool:
        """Whether the spec's Plaid-Version schema accepts `value`; answers are cached (bounded)."""
        known = self._version_cache.get(value)
        if known is not None:
            return known
        valid = self.version_validator is None or self.version_validator.is_valid(value)
        # Accepted and refused values are bounded apart: made-up values (any peer's to send) filling the
        # cache must not keep a valid one off the server's fast path.
        if valid:
            if len(self.accepted_versions) < 64:
                self._version_cache[value] = True
                self.accepted_versions.add(value.encode("latin-1"))
        elif len(self._version_cache) - len(self.accepted_versions) < 64:
            self._version_cache[value] = False
        return valid

    def check_body(self, body: dict[str, Any], hidden: tuple[str, ...] = ()) -> BodyProblem | None:
        """None for a valid body, else the problem; names containing a `hidden` string are never echoed."""
        fast = self.fast_check
        if fast is not None and fast(body):  # the compiled fast path
            return None
        if _deeper_than(body, MAX_DEPTH):
            # jsonschema puts repr(value) in its messages: ~1,000 levels raise RecursionError there.
            return BodyProblem("INVALID_BODY", f"the body is nested more than {MAX_DEPTH} levels deep")
        if fast is None and self.body_validator.is_valid(body):  # no error objects built
            return None
        errors = list(self.body_validator.iter_errors(body))
        if not errors:  # jsonschema is the authority, should the fast path ever be stricter
            return None
        return map_errors(errors, hidden)


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether arrays/objects in `value` nest more than `limit` levels (iterative: no recursion)."""
    if not isinstance(value, (dict, list)):
        return False
    stack = [(value, 1)]
    while stack:
        current, depth = stack.pop()
        children = current.values() if isinstance(current, dict) else current
        for child in children:
            if isinstance(child, (dict, list)):
                if depth >= limit:
                    return True
                stack.append((child, depth + 1))
    return False


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


def map_errors(errors: Iterable[jsonschema.ValidationError], hidden: tuple[str, ...] = ()) -> BodyProblem:
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
        return BodyProblem(
            "UNKNOWN_FIELDS",
            "the following fields are not recognized by this endpoint: " + _names(unknown, hidden),
        )
    return BodyProblem(
        "INVALID_FIELD", "; ".join(sorted(set(invalid))[:20]) or "a field has an invalid value"
    )


def _names(unknown: list[str], hidden: tuple[str, ...]) -> str:
    """The unknown names to echo. They come from the caller, who may have sent a secret or a token as a key:
    only short snake_case names (each part <= 16 characters: never a 24+ character hex id or secret, never
    a token, which has dashes) with at most 2 digits (not a hex key) are shown, at most MAX_NAMES_SHOWN; the
    others are only counted, as are names containing a `hidden` string (the server's own credentials)."""
    shown = [name for name in unknown if _shown_name(name, hidden)][:MAX_NAMES_SHOWN]
    untold = len(unknown) - len(shown)
    if untold:
        shown.append(f"{untold} field{'s' if untold > 1 else ''} whose name is not shown")
    return ", ".join(shown)


def _shown_name(name: str, hidden: tuple[str, ...]) -> bool:
    return (
        _FIELD_NAME.fullmatch(name) is not None
        and sum(c.isdigit() for c in name) <= 2
        and not any(secret and secret in name for secret in hidden)
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
