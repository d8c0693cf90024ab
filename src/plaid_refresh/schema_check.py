"""Validators compiled once from the spec's schemas; shared by the server, the client and the webhook
helper, so a body is judged the same way everywhere.

jsonschema (Draft 2020-12) is the authority. Following `$ref`s is most of its cost per call (~2/3
measured), so the spec's schemas are inlined once. Fast path: the same inlined schema is also compiled
to plain Python by fastjsonschema (~0.5 µs per valid body instead of ~7.5 µs, measured by bench/). It
only answers "valid"; anything it rejects is judged again by jsonschema. It is used only for schemas
made of keywords that mean the same in Draft 7 (fastjsonschema's newest draft) and Draft 2020-12.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import attrs
import fastjsonschema

from plaid_refresh.spec import resolve, standalone_schema

if TYPE_CHECKING:  # jsonschema (~60 ms to import) loads when a validator is first needed
    import jsonschema
    from jsonschema import Draft202012Validator


def inline_refs(node: Any, active: tuple[str, ...] = ()) -> Any:
    """`node` with local `$ref`s replaced by what they point to. A recursive `$ref` is left as is
    (`standalone_schema` still carries the components it needs)."""
    if isinstance(node, list):
        return [inline_refs(value, active) for value in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/") and ref not in active:
        target = inline_refs(resolve({"$ref": ref}), (*active, ref))
        siblings = {key: inline_refs(value, active) for key, value in node.items() if key != "$ref"}
        return {**siblings, "allOf": [target]} if siblings else target
    return {key: inline_refs(value, active) for key, value in node.items()}


def compile_validator(schema: dict[str, Any]) -> Draft202012Validator:
    from jsonschema import Draft202012Validator

    full = standalone_schema(inline_refs(schema))
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
        "maxItems",
        "minItems",
        "items",  # a single schema only: see _portable
        "format",  # an annotation on both sides: neither validator is given format checks
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
        elif keyword in ("additionalProperties", "not", "items"):
            if keyword == "items" and not isinstance(value, dict):  # a list means tuples in Draft 7
                return False
            if not _portable(value):
                return False
    return True


_ANNOTATIONS = frozenset(
    {"description", "title", "examples", "default", "deprecated", "readOnly", "writeOnly", "format"}
)


def _string_record_check(schema: dict[str, Any]) -> Callable[[Any], bool] | None:
    """For an object whose properties are all plain strings and that allows no other property (the spec's
    request bodies), a check written out by hand: a third of the instructions of fastjsonschema's generated
    code for the same schema. None for any other schema. Like every fast path, it only answers "valid"."""
    if schema.get("type") != "object" or schema.get("additionalProperties") is not False:
        return None
    if not set(schema) <= _ANNOTATIONS | {"type", "properties", "required", "additionalProperties"}:
        return None
    properties = schema.get("properties", {})
    required = schema.get("required", [])
    if not isinstance(properties, dict) or not isinstance(required, list):
        return None
    lengths: dict[str, tuple[int, int]] = {}  # property -> (minLength, maxLength)
    for name, sub in properties.items():
        if not isinstance(sub, dict) or sub.get("type") != "string":
            return None
        if not set(sub) <= _ANNOTATIONS | {"type", "minLength", "maxLength"}:
            return None
        low, high = sub.get("minLength", 0), sub.get("maxLength", sys.maxsize)
        if type(low) is not int or type(high) is not int:
            return None
        lengths[name] = (low, high)
    if not all(isinstance(name, str) and name in properties for name in required):
        return None
    must = tuple(required)
    required_names = frozenset(required)

    if any(low > 0 for low, _ in lengths.values()):

        def check(instance: Any) -> bool:
            if type(instance) is not dict:
                return False
            for name, value in instance.items():
                bounds = lengths.get(name)
                if bounds is None or type(value) is not str or not bounds[0] <= len(value) <= bounds[1]:
                    return False
            return all(name in instance for name in must)

        return check

    longest = {name: high for name, (_, high) in lengths.items()}.get

    def check_max(instance: Any) -> bool:  # no minLength: one bound per property, -1 for unknown ones
        if type(instance) is not dict:
            return False
        for name, value in instance.items():
            if type(value) is not str or len(value) > longest(name, -1):
                return False
        return required_names <= instance.keys()

    return check_max


def fast_check(schema: dict[str, Any]) -> Callable[[Any], bool] | None:
    """A compiled "is it valid?" check for a portable schema, else None (jsonschema alone decides)."""
    inlined = inline_refs(schema)
    if not _portable(inlined):
        return None
    record = _string_record_check(inlined)
    if record is not None:
        return record
    validate = fastjsonschema.compile(
        {"$schema": "http://json-schema.org/draft-07/schema#", **inlined}, use_formats=False
    )

    def check(instance: Any) -> bool:
        try:
            validate(instance)
        except fastjsonschema.JsonSchemaException:
            return False
        return True

    return check


@attrs.define
class CompiledSchema:
    """One schema of the spec, compiled: the fast path when it applies, jsonschema always. The
    jsonschema validator is built on first use: with a fast path that is when a body is invalid
    (to say why), so a client that only ever sees valid answers never imports jsonschema."""

    schema: dict[str, Any]
    fast: Callable[[Any], bool] | None
    _validator: Draft202012Validator | None = attrs.field(default=None, init=False, repr=False)

    @classmethod
    def of(cls, schema: dict[str, Any]) -> CompiledSchema:
        return cls(schema=schema, fast=fast_check(schema))

    @property
    def validator(self) -> Draft202012Validator:
        if self._validator is None:  # a race only builds it twice; both are the same
            self._validator = compile_validator(self.schema)
        return self._validator

    def is_valid(self, instance: Any) -> bool:
        if self.fast is not None and self.fast(instance):
            return True
        return bool(self.validator.is_valid(instance))

    def iter_errors(self, instance: Any) -> Iterator[jsonschema.ValidationError]:
        return self.validator.iter_errors(instance)
