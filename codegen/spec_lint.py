"""Validation of the spec against the OpenAPI 3.1 schema, each problem reported as `file:line: problem`.

openapi-spec-validator's own CLI prints the whole document on one line for a broken `$ref`, and gives
schema errors a path relative to the schema object it was checking; this places both in the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from openapi_spec_validator import OpenAPIV31SpecValidator
from referencing.exceptions import Unresolvable

from codegen.spec_source import Location, Spec, SpecProblem

MAX_REPORTED = 20


def _locations_of(spec: Spec, relative: Location, instance: Any) -> list[Location]:
    """Where a relative path holding `instance` occurs in the spec (errors found inside a schema object
    carry only their path within that schema)."""
    found: list[Location] = []
    stack: list[tuple[Any, Location]] = [(spec.data, ())]
    while stack and len(found) < 3:
        node, where = stack.pop()
        if spec.get((*where, *relative)) == instance and (relative or node == instance):
            found.append((*where, *relative))
        if isinstance(node, dict):
            stack.extend((value, (*where, key)) for key, value in node.items())
        elif isinstance(node, list):
            stack.extend((value, (*where, index)) for index, value in enumerate(node))
    return sorted(found, key=lambda loc: spec.line_of(loc) or 0)


def problems(spec: Spec) -> Iterator[SpecProblem]:
    validator = OpenAPIV31SpecValidator(spec.data)
    try:
        for count, error in enumerate(validator.iter_errors()):
            if count >= MAX_REPORTED:
                yield SpecProblem(spec.path, None, f"... and more (first {MAX_REPORTED} shown)")
                return
            path = tuple(error.absolute_path)
            message = error.message
            if spec.get(path) is not None and spec.get(path) == error.instance and len(path) > 1:
                yield SpecProblem(spec.path, spec.line_of(path), message)
                continue
            places = _locations_of(spec, path, error.instance)
            if not places:
                yield SpecProblem(spec.path, None, f"{message} (at {'.'.join(map(str, path)) or 'the top'})")
            for place in places:
                yield SpecProblem(spec.path, spec.line_of(place), f"{'.'.join(map(str, place))}: {message}")
    except Unresolvable as exc:  # check_refs() runs first, so only non-local references get here
        yield SpecProblem(spec.path, None, f"unresolvable reference: {exc}")
