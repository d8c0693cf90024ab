"""The compiled fast path (fastjsonschema) must judge request bodies exactly as jsonschema does."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plaid_refresh.schema_check import compile_validator, fast_check
from plaid_refresh.server.validation import Operation, compile_operations

OPERATIONS = compile_operations()

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=300),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=8,
)


def _bodies(operation: Operation) -> st.SearchStrategy[Any]:
    """Bodies near the schema's edges: its own field names (present or not) with any JSON value,
    strings around maxLength, plus unknown fields."""
    schema: Any = operation.body_validator.schema
    names = sorted(schema.get("properties", {}))
    value = _json | st.text(min_size=250, max_size=260)
    known = st.fixed_dictionaries({}, optional={name: value for name in names})
    extra = st.dictionaries(st.text(max_size=12), _json, max_size=2)
    return st.one_of(known, st.builds(lambda a, b: {**b, **a}, known, extra), _json)


@pytest.mark.parametrize("path", sorted(OPERATIONS))
def test_every_request_schema_of_the_spec_gets_a_fast_path(path: str) -> None:
    assert OPERATIONS[path].fast_check is not None


@pytest.mark.parametrize("path", sorted(OPERATIONS))
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_fast_path_agrees_with_jsonschema(path: str, data: st.DataObject) -> None:
    operation = OPERATIONS[path]
    body = data.draw(_bodies(operation))
    assert operation.fast_check is not None
    assert operation.fast_check(body) == operation.body_validator.is_valid(body)
    # check_body's verdict is jsonschema's, whatever the fast path said.
    assert (operation.check_body(body) is None) == operation.body_validator.is_valid(body)


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "array", "items": [{"type": "string"}]},  # items changed meaning in 2020-12
        {"type": "array", "items": {"type": "string", "$anchor": "x"}},  # not portable inside items
        {"type": "object", "dependentRequired": {"a": ["b"]}},  # not in Draft 7
        {"type": "object", "unevaluatedProperties": False},  # not in Draft 7
    ],
)
def test_no_fast_path_for_keywords_that_differ_between_drafts(schema: dict[str, Any]) -> None:
    assert fast_check(schema) is None


def test_format_is_an_annotation_on_the_fast_path_as_in_jsonschema() -> None:
    # Neither validator is given format checks, so both accept a string that is not a date-time.
    schema = {"type": "string", "format": "date-time"}
    check = fast_check(schema)
    assert check is not None
    assert check("not a date")
    assert compile_validator(schema).is_valid("not a date")
    assert not check(1)


def test_unknown_plaid_versions_cannot_keep_a_valid_one_off_the_fast_path() -> None:
    """The version cache held 64 answers of either kind: 64 made-up Plaid-Version values sent first (cheap
    for any peer) kept every later valid value out of `accepted_versions`, so each valid request took the
    slow path and ran jsonschema on its header."""
    operation = compile_operations()["/transactions/refresh"]
    for n in range(200):
        assert not operation.check_version(f"1999-01-{n:03d}")
    assert operation.check_version("2020-09-14")
    assert b"2020-09-14" in operation.accepted_versions
    assert len(operation._version_cache) <= 128  # still bounded
