"""Request validators compiled once, at start-up, from the spec's own schemas.

jsonschema's Draft 2020-12 validator built from `standalone_schema(...)` costs ~17 µs per request;
validating with openapi-core per request costs ~630 µs. Nothing here re-declares a schema: request
bodies and the Plaid-Version parameter are read from the spec through `plaid_refresh.spec`.

Fast path: the same inlined schema is also compiled to plain Python by fastjsonschema (~0.5 µs per
valid body instead of ~7.5 µs, measured by bench/). It only answers "valid": any body it rejects is
judged again by jsonschema, which stays the authority and maps the errors. It is used only for
schemas made of keywords that mean the same in Draft 7 (fastjsonschema's newest draft) and Draft
2020-12; any other keyword leaves jsonschema alone on the path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import attrs
import fastjsonschema
import jsonschema
from jsonschema import Draft202012Validator

from plaid_refresh.spec import load_spec, resolve, standalone_schema


@attrs.frozen
class BodyProblem:
    """A schema violation mapped to a Plaid error code and a message that never echoes values."""

    code: str
    message: str


def _inline(node: Any, active: tuple[str, ...] = ()) -> Any:
    """`node` with local `$ref`s replaced by what they point to (the spec's own text, resolved once).

    Following `$ref`s is most of jsonschema's cost per request (~2/3 measured); request schemas are
    small and not recursive, so they are inlined at start-up. A recursive `$ref` is left as is (the
    standalone schema still carries the components it needs)."""
    if isinstance(node, list):
        return [_inline(value, active) for value in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/") and ref not in active:
        target = _inline(resolve({"$ref": ref}), (*active, ref))
        siblings = {key: _inline(value, active) for key, value in node.items() if key != "$ref"}
        return {**siblings, "allOf": [target]} if siblings else target
    return {key: _inline(value, active) for key, value in node.items()}


def _compile(schema: dict[str, Any]) -> Draft202012Validator:
    full = standalone_schema(_inline(schema))
    Draft202012Validator.check_schema(full)
    return Draft202012Validator(full, format_checker=None)


# Keywords whose validation is identical in Draft 7 and Draft 2020-12 (annotations included).
_SAME_IN_BOTH_DRAFTS = frozenset(
    {
        "type",
        "properties",
        "required",
        "additionalProperties",
        "maxLength",
        "minLength",
        "pattern",
        "enum",
        "const",
        "allOf",
        "anyOf",
        "oneOf",
        "not",
        "minimum",
        "maximum",
        "description",
        "title",
        "examples",
        "default",
        "deprecated",
        "readOnly",
        "writeOnly",
    }
)
_LITERAL_KEYWORDS = frozenset({"enum", "const", "examples", "default", "description", "title"})


def _portable(node: Any) -> bool:
    """Whether a schema uses only keywords that fastjsonschema (Draft 7) judges like Draft 2020-12."""
    if isinstance(node, bool):
        return True
    if not isinstance(node, dict):
        return False
    for keyword, value in node.items():
        if keyword not in _SAME_IN_BOTH_DRAFTS:
            return False
        if keyword in _LITERAL_KEYWORDS:
            continue
        if keyword == "properties":
            if not all(_portable(sub) for sub in value.values()):
                return False
        elif keyword in ("allOf", "anyOf", "oneOf"):
            if not all(_portable(sub) for sub in value):
                return False
        elif keyword in ("additionalProperties", "not") and not _portable(value):
            return False
    return True


def _fast_check(schema: dict[str, Any]) -> Callable[[Any], bool] | None:
    """A compiled "is it valid?" check for a portable schema, else None (jsonschema alone decides)."""
    inlined = _inline(schema)
    if not _portable(inlined):
        return None
    validate = fastjsonschema.compile({"$schema": "http://json-schema.org/draft-07/schema#", **inlined})

    def check(instance: Any) -> bool:
        try:
            validate(instance)
        except fastjsonschema.JsonSchemaException:
            return False
        return True

    return check


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
                version_validator = _compile(parameter["schema"])
        operations[path] = Operation(
            path=path,
            operation_id=operation["operationId"],
            body_validator=_compile(body_schema),
            version_validator=version_validator,
            fast_check=_fast_check(body_schema),
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
