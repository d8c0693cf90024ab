"""The shared compiled validators: the fast path never accepts what jsonschema rejects."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plaid_refresh.schema_check import CompiledSchema, fast_check
from plaid_refresh.spec import load_spec

SCHEMAS = {name: {"$ref": f"#/components/schemas/{name}"} for name in load_spec()["components"]["schemas"]}
FAST = sorted(name for name, schema in SCHEMAS.items() if fast_check(schema) is not None)

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=300),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=10,
)


def _near(schema: CompiledSchema) -> st.SearchStrategy[Any]:
    """Objects built from the schema's own field names, so the interesting branches are reached."""
    root: Any = schema.validator.schema
    names = sorted(root.get("properties", {}))
    value = _json | st.text(min_size=250, max_size=260) | st.sampled_from(["2020-09-14", "TRANSACTIONS"])
    return st.fixed_dictionaries({}, optional={n: value for n in names}) | _json


def test_the_request_and_success_schemas_get_a_fast_path() -> None:
    assert {"TransactionsRefreshRequest", "TransactionsRefreshResponse"} <= set(FAST)


@pytest.mark.parametrize("name", FAST)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_fast_path_agrees_with_jsonschema(name: str, data: st.DataObject) -> None:
    compiled = CompiledSchema.of(SCHEMAS[name])
    instance = data.draw(_near(compiled))
    assert compiled.fast is not None
    assert compiled.fast(instance) == compiled.validator.is_valid(instance)
    assert compiled.is_valid(instance) == compiled.validator.is_valid(instance)


def test_is_valid_rejects_through_jsonschema() -> None:
    compiled = CompiledSchema.of(SCHEMAS["TransactionsRefreshRequest"])
    assert compiled.is_valid({"access_token": "a"})
    assert not compiled.is_valid({"access_token": 1})
    assert not compiled.is_valid({"access_token": "a", "unknown": 1})
    assert [e.validator for e in compiled.iter_errors({})] == ["required"]
