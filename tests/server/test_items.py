"""Built-in sandbox tokens and Items loaded from YAML/JSON files."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from plaid_refresh.server import (
    BUILTIN_TOKENS,
    TOKEN_CAPITAL_ONE_CREDIT,
    TOKEN_INSTITUTION_DOWN,
    TOKEN_ITEM_LOGIN_REQUIRED,
    TOKEN_NO_TRANSACTIONS,
    TOKEN_TRANSACTIONS_DYNAMIC,
    TOKEN_USER_GOOD,
    ItemsFileError,
    ServerConfig,
    create_app,
)
from plaid_refresh.server.items import load_items_file
from tests.server.conftest import HEADERS, Serve, assert_plaid_error

REFRESH = "/transactions/refresh"


@pytest.mark.parametrize(("token", "code"), sorted(BUILTIN_TOKENS.items()))
def test_each_builtin_token(client: httpx.Client, token: str, code: str | None) -> None:
    response = client.post(REFRESH, headers=HEADERS, json={"access_token": token})
    if code is None:
        assert response.status_code == 200, response.text
        assert set(response.json()) == {"request_id"}
    else:
        assert_plaid_error(response, 400, code)


@pytest.mark.parametrize(
    ("token", "error_type"),
    [
        (TOKEN_CAPITAL_ONE_CREDIT, "ITEM_ERROR"),
        (TOKEN_NO_TRANSACTIONS, "ITEM_ERROR"),
        (TOKEN_ITEM_LOGIN_REQUIRED, "ITEM_ERROR"),
        (TOKEN_INSTITUTION_DOWN, "INSTITUTION_ERROR"),
    ],
)
def test_builtin_error_types(client: httpx.Client, token: str, error_type: str) -> None:
    assert (
        client.post(REFRESH, headers=HEADERS, json={"access_token": token}).json()["error_type"] == error_type
    )


def test_capital_one_names_the_account_subtypes(client: httpx.Client) -> None:
    response = client.post(REFRESH, headers=HEADERS, json={"access_token": TOKEN_CAPITAL_ONE_CREDIT})
    body = assert_plaid_error(response, 400, "PRODUCTS_NOT_SUPPORTED")
    assert body["required_account_subtypes"] == ["checking", "savings"]
    assert body["provided_account_subtypes"] == ["auto", "credit card"]


def test_dynamic_item_records_changes_and_user_good_never_does(serve: Serve) -> None:
    with serve(ServerConfig(rate_limit=False)) as (url, app), httpx.Client(base_url=url) as http:
        for _ in range(3):
            for token in (TOKEN_TRANSACTIONS_DYNAMIC, TOKEN_USER_GOOD):
                assert http.post(REFRESH, headers=HEADERS, json={"access_token": token}).status_code == 200
        dynamic = app.store.history("item-user-transactions-dynamic")
        good = app.store.history("item-user-good")
    assert [r.seq for r in dynamic] == [1, 2, 3]
    assert all(r.added for r in dynamic)
    assert dynamic[1].modified == (dynamic[0].added[0],)
    assert dynamic[2].removed == (dynamic[1].added[-1],)
    assert all(len(tid) == 37 for r in dynamic for tid in r.added)
    assert len({tid for r in dynamic for tid in r.added}) == sum(len(r.added) for r in dynamic)
    assert [r.seq for r in good] == [1, 2, 3]
    assert not any(r.added or r.modified or r.removed for r in good)


def test_refresh_history_is_recorded_with_the_request_id(serve: Serve) -> None:
    with serve() as (url, app), httpx.Client(base_url=url) as http:
        response = http.post(REFRESH, headers=HEADERS, json={"access_token": TOKEN_TRANSACTIONS_DYNAMIC})
        [record] = app.store.history("item-user-transactions-dynamic")
    assert record.request_id == response.json()["request_id"]
    assert record.at > 0


def test_failed_refreshes_are_not_recorded(serve: Serve) -> None:
    with serve() as (url, app), httpx.Client(base_url=url) as http:
        http.post(REFRESH, headers=HEADERS, json={"access_token": TOKEN_ITEM_LOGIN_REQUIRED})
        assert app.store.history() == []


ITEMS_YAML = """
items:
  - access_token: access-sandbox-my-item
    item_id: my-item
    institution_id: ins_3
    accounts:
      - {type: depository, subtype: checking}
      - {type: loan, subtype: student}
    changes: dynamic
  - access_token: access-sandbox-locked
    error: ITEM_LOCKED
  - access_token: access-sandbox-c1-mixed
    institution_id: ins_128026
    accounts: [{type: credit, subtype: credit card}, {type: depository, subtype: savings}]
"""


def test_items_from_yaml(serve: Serve, tmp_path: Path) -> None:
    path = tmp_path / "items.yaml"
    path.write_text(ITEMS_YAML)
    with serve(ServerConfig(items_path=path)) as (url, app), httpx.Client(base_url=url) as http:
        assert (
            http.post(REFRESH, headers=HEADERS, json={"access_token": "access-sandbox-my-item"}).status_code
            == 200
        )
        assert app.store.history("my-item")[0].added
        assert_plaid_error(
            http.post(REFRESH, headers=HEADERS, json={"access_token": "access-sandbox-locked"}),
            400,
            "ITEM_LOCKED",
        )
        # Capital One with a depository account is fine.
        mixed = http.post(REFRESH, headers=HEADERS, json={"access_token": "access-sandbox-c1-mixed"})
        assert mixed.status_code == 200
        # The built-in Items are still there.
        assert http.post(REFRESH, headers=HEADERS, json={"access_token": TOKEN_USER_GOOD}).status_code == 200


def test_items_from_json(tmp_path: Path) -> None:
    path = tmp_path / "items.json"
    path.write_text(json.dumps({"items": [{"access_token": "access-sandbox-j1", "products": ["auth"]}]}))
    [item] = load_items_file(path)
    assert item.item_id == "item-j1"
    assert item.products == ("auth",)
    assert "access-sandbox-j1" not in repr(item)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("bad.yaml", "items: [\n  - access_token: x\n   oops", "not valid YAML"),
        ("bad.json", '{"items": [', "not valid JSON"),
        ("list.yaml", "- a\n- b\n", "top level"),
        ("empty.yaml", "", "top level"),
        ("token.yaml", "items: [{access_token: secret-token}]", "items[0].access_token"),
        (
            "type.yaml",
            "items: [{access_token: access-sandbox-a, accounts: [{type: brokerage, subtype: x}]}]",
            "items[0].accounts[0].type",
        ),
        (
            "subtype.yaml",
            "items: [{access_token: access-sandbox-a, accounts: [{type: credit, subtype: checking}]}]",
            "not a credit subtype",
        ),
        ("code.yaml", "items: [{access_token: access-sandbox-a, error: NOPE}]", "unknown error code"),
        ("rate.yaml", "items: [{access_token: access-sandbox-a, error_rate: 2}]", "items[0].error_rate"),
        ("extra.yaml", "items: [{access_token: access-sandbox-a, colour: red}]", "colour"),
        ("dup.yaml", "items: [{access_token: access-sandbox-a}, {access_token: access-sandbox-a}]", "twice"),
    ],
)
def test_malformed_items_file_is_a_clear_error(tmp_path: Path, name: str, text: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ItemsFileError) as info:
        create_app(ServerConfig(items_path=path))
    assert str(path) in str(info.value)
    assert message in str(info.value)
    assert "secret-token" not in str(info.value)  # a token is never echoed


def test_missing_items_file(tmp_path: Path) -> None:
    with pytest.raises(ItemsFileError, match="cannot read"):
        load_items_file(tmp_path / "nope.yaml")
