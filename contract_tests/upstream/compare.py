"""Which constraints one OpenAPI schema adds over another: the core of `make upstream-check`.

`added_constraints(ours, theirs)` walks a schema of this spec (`ours`) beside the schema Plaid publishes
for the same message (`theirs`) and lists every way ours rejects something theirs allows: a bound
(maxLength, maximum, maxItems, pattern, ...), an enum, a narrower type, a field made required, null
refused where Plaid allows it, or extra properties refused. Both OpenAPI 3.0 (`nullable`) and 3.1
(type lists) are read; `$ref`, `allOf`, `anyOf` and `oneOf` are followed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs

# Keywords that can only reject; for each, whether a larger value is the more liberal one.
BOUNDS: dict[str, bool | None] = {
    "maxLength": True,
    "maxItems": True,
    "maxProperties": True,
    "maximum": True,
    "exclusiveMaximum": True,
    "minLength": False,
    "minItems": False,
    "minProperties": False,
    "minimum": False,
    "exclusiveMinimum": False,
    "pattern": None,
    "multipleOf": None,
    "uniqueItems": None,
    "const": None,
}
JSON_TYPES = frozenset({"string", "number", "integer", "boolean", "object", "array", "null"})


@attrs.frozen
class Constraint:
    """One way this spec rejects what Plaid's description allows. `key` names it in the allow-list."""

    where: str  # e.g. "PlaidError.error_message", "TransactionsRemovedWebhook.removed_transactions[]"
    kind: str  # e.g. "maxLength", "enum", "required", "type", "nullable", "additionalProperties"
    ours: str
    theirs: str

    @property
    def key(self) -> str:
        return f"{self.where} {self.kind}"

    def __str__(self) -> str:
        return f"{self.key}: this spec has {self.ours}; Plaid's has {self.theirs}"


@attrs.frozen
class Document:
    """A parsed OpenAPI document, for resolving its local `$ref`s."""

    content: dict[str, Any]

    def resolve(self, node: Any) -> tuple[Any, str | None]:
        """(the node with its $refs followed, the name of the last schema reached, if any)."""
        name = None
        seen: set[str] = set()
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            if not ref.startswith("#/") or ref in seen:
                raise ValueError(f"cannot follow $ref {ref!r}")
            seen.add(ref)
            target: Any = self.content
            for part in ref[2:].split("/"):
                if not isinstance(target, dict) or part not in target:
                    raise ValueError(f"$ref {ref!r} points nowhere")
                target = target[part]
            name = ref.rsplit("/", 1)[-1]
            node = target
        return node, name

    def schema(self, name: str) -> dict[str, Any] | None:
        found = self.content.get("components", {}).get("schemas", {}).get(name)
        return found if isinstance(found, dict) else None


@attrs.define
class _Shape:
    """A schema flattened for comparison (allOf merged)."""

    types: set[str] | None = None  # None: any type
    nullable: bool = False
    enum: list[Any] | None = None
    bounds: dict[str, Any] = attrs.Factory(dict)
    properties: dict[str, Any] = attrs.Factory(dict)
    required: set[str] = attrs.Factory(set)
    additional: Any = True
    items: Any = None
    branches: list[Any] | None = None


def _shape(doc: Document, node: Any) -> _Shape:
    node, _ = doc.resolve(node)
    shape = _Shape()
    if node is True or not isinstance(node, dict):
        return shape
    raw_type = node.get("type")
    if isinstance(raw_type, str):
        shape.types = {raw_type}
    elif isinstance(raw_type, list):
        shape.types = {t for t in raw_type if t in JSON_TYPES}
    if shape.types is not None and "null" in shape.types:
        shape.types.discard("null")
        shape.nullable = True
    if node.get("nullable") is True:
        shape.nullable = True
    if isinstance(node.get("enum"), list):
        shape.enum = [v for v in node["enum"] if v is not None]
        shape.nullable = shape.nullable or None in node["enum"]
    shape.bounds = {k: node[k] for k in BOUNDS if k in node and node[k] is not False}
    shape.properties = dict(node.get("properties") or {})
    shape.required = set(node.get("required") or [])
    shape.additional = node.get("additionalProperties", True)
    shape.items = node.get("items")
    for key in ("anyOf", "oneOf"):
        if isinstance(node.get(key), list):
            shape.branches = (shape.branches or []) + list(node[key])
    for part in node.get("allOf") or []:
        other = _shape(doc, part)
        if other.types is not None:
            shape.types = other.types if shape.types is None else shape.types & other.types
        shape.nullable = shape.nullable and other.nullable if shape.types is not None else other.nullable
        shape.enum = other.enum if shape.enum is None else shape.enum
        shape.bounds = {**other.bounds, **shape.bounds}
        shape.properties = {**other.properties, **shape.properties}
        shape.required |= other.required
        if other.additional is False:
            shape.additional = False
        shape.items = shape.items if shape.items is not None else other.items
        if other.branches is not None:
            shape.branches = (shape.branches or []) + other.branches
    return shape


def _is_null(doc: Document, node: Any) -> bool:
    node, _ = doc.resolve(node)
    return isinstance(node, dict) and node.get("type") in ("null", ["null"]) and len(node) <= 2


def _looser(kind: str, ours: Any, theirs: Any) -> bool:
    """Whether our bound is at least as liberal as theirs."""
    larger_is_looser = BOUNDS[kind]
    if larger_is_looser is None:
        return bool(ours == theirs)
    try:
        return bool(ours >= theirs) if larger_is_looser else bool(ours <= theirs)
    except TypeError:
        return False


@attrs.define
class _Walk:
    ours: Document
    theirs: Document
    seen: set[tuple[str, str]] = attrs.Factory(set)

    def compare(self, ours: Any, theirs: Any, where: str, null_checked: bool = False) -> Iterator[Constraint]:
        _, our_name = self.ours.resolve(ours)
        _, their_name = self.theirs.resolve(theirs)
        if our_name and their_name:
            # A named schema is reported under its own name, once, wherever it is used.
            if (our_name, their_name) in self.seen:
                return
            self.seen.add((our_name, their_name))
            where = our_name
        o, t = _shape(self.ours, ours), _shape(self.theirs, theirs)
        if t.branches:
            # Plaid's union: ours must accept every branch.
            for branch in t.branches:
                if _is_null(self.theirs, branch):
                    if not null_checked and not self._accepts_null(ours):
                        yield Constraint(where, "nullable", "no null", "null allowed")
                    continue
                yield from self.compare(ours, branch, where, null_checked=True)
            if t.types is None and not t.properties and t.enum is None:
                return
        if o.branches:
            yield from self._compare_union(o, theirs, t, where, null_checked)
            return
        yield from self._compare_shapes(o, t, where, null_checked)

    def _accepts_null(self, ours: Any) -> bool:
        o = _shape(self.ours, ours)
        if o.types is None and not o.branches and o.enum is None:
            return True
        return o.nullable or any(_is_null(self.ours, b) for b in o.branches or [])

    def _compare_union(
        self, o: _Shape, theirs: Any, t: _Shape, where: str, null_checked: bool
    ) -> Iterator[Constraint]:
        branches = [b for b in o.branches or [] if not _is_null(self.ours, b)]
        nullable = o.nullable or len(branches) < len(o.branches or [])
        if t.nullable and not nullable and not null_checked:
            yield Constraint(where, "nullable", "no null", "null allowed")
        # Our union accepts a value when one branch does: keep the branch adding the fewest constraints.
        best: list[Constraint] | None = None
        for branch in branches:
            trial = _Walk(self.ours, self.theirs, set(self.seen))
            found = list(trial.compare(branch, theirs, where, null_checked=True))
            if best is None or len(found) < len(best):
                best = found
        yield from best or []

    def _compare_shapes(self, o: _Shape, t: _Shape, where: str, null_checked: bool) -> Iterator[Constraint]:
        if o.types is not None:
            theirs_types = t.types if t.types is not None else set(JSON_TYPES) - {"null"}
            missing = theirs_types - o.types - ({"integer"} if "number" in o.types else set())
            if missing:
                yield Constraint(where, "type", f"type {sorted(o.types)}", f"type {sorted(theirs_types)}")
        restricted = o.types is not None or o.enum is not None
        if t.nullable and not o.nullable and restricted and not null_checked:
            yield Constraint(where, "nullable", "no null", "null allowed")
        if o.enum is not None and (t.enum is None or not set(map(repr, t.enum)) <= set(map(repr, o.enum))):
            theirs = f"enum {t.enum}" if t.enum is not None else "no enum"
            yield Constraint(where, "enum", f"enum {o.enum}", theirs)
        for kind, value in sorted(o.bounds.items()):
            if kind not in t.bounds or not _looser(kind, value, t.bounds[kind]):
                yield Constraint(where, kind, f"{kind} {value!r}", f"{kind} {t.bounds.get(kind, 'none')!r}")
        for name in sorted(o.required - t.required):
            yield Constraint(f"{where}.{name}", "required", "required", "optional")
        if o.additional is False and t.additional is not False:
            yield Constraint(where, "additionalProperties", "no extra fields", "extra fields allowed")
        for name, schema in o.properties.items():
            if name in t.properties:
                yield from self.compare(schema, t.properties[name], f"{where}.{name}")
            elif t.additional is not False:
                yield from self.compare(schema, {}, f"{where}.{name}")
        if o.items is not None:
            yield from self.compare(o.items, t.items if t.items is not None else {}, f"{where}[]")


def added_constraints(ours: Document, our_name: str, theirs: Document, their_name: str) -> list[Constraint]:
    """Every constraint the schema `our_name` of `ours` adds over `their_name` of `theirs`."""
    walk = _Walk(ours, theirs)
    ref = {"$ref": f"#/components/schemas/{our_name}"}
    their_ref = {"$ref": f"#/components/schemas/{their_name}"}
    found = list(walk.compare(ref, their_ref, our_name))
    unique: dict[str, Constraint] = {}
    for constraint in found:
        unique.setdefault(constraint.key, constraint)
    return sorted(unique.values(), key=lambda c: c.key)
