"""Configuration is never lost or mangled silently, and an unusable database is one line and exit 2."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from plaid_refresh import cli
from plaid_refresh.server import TOKEN_HEALTHY, ItemsFileError, ServerConfig, StoreError, create_app
from plaid_refresh.server.items import MAX_ITEMS_FILE_BYTES, load_items_file, parse_items

HOOK = "https://receiver.example/plaid"


@pytest.fixture
def busy_port() -> Iterator[str]:
    """A port already taken: should a refused start not be refused, uvicorn fails to bind (bounded)."""
    with socket.create_server(("127.0.0.1", 0)) as taken:
        yield str(taken.getsockname()[1])


def test_a_restart_without_items_keeps_a_webhook_url_given_earlier(tmp_path: Path) -> None:
    db = tmp_path / "state.sqlite3"
    items = tmp_path / "items.yaml"
    items.write_text(
        f"items:\n  - {{access_token: {TOKEN_HEALTHY}, item_id: item-healthy, webhook: '{HOOK}'}}\n"
    )
    first = create_app(ServerConfig(db_path=db, items_path=items))
    assert first.store.items[TOKEN_HEALTHY].webhook == HOOK
    first.close()
    again = create_app(ServerConfig(db_path=db))  # no --items this time
    try:
        assert again.store.items[TOKEN_HEALTHY].webhook == HOOK
    finally:
        again.close()


def test_an_items_file_entry_cannot_take_a_built_in_items_id(tmp_path: Path) -> None:
    items = tmp_path / "items.yaml"
    items.write_text("items:\n  - {access_token: access-sandbox-mine, item_id: item-healthy}\n")
    with pytest.raises(ItemsFileError, match=r"item_id 'item-healthy' belongs to the built-in Item"):
        create_app(ServerConfig(items_path=items))
    # Redefining the built-in Item under its own token stays possible.
    items.write_text(
        f"items:\n  - {{access_token: {TOKEN_HEALTHY}, item_id: item-healthy, changes: dynamic}}\n"
    )
    assert create_app(ServerConfig(items_path=items)).store.items[TOKEN_HEALTHY].changes == "dynamic"


@pytest.mark.parametrize("field", ["secret", "client_id"])
@pytest.mark.parametrize("value", ["", " padded "])
def test_empty_credentials_are_refused(field: str, value: str) -> None:
    with pytest.raises(ValueError, match=field):
        ServerConfig(**{field: value})  # type: ignore[arg-type]


@pytest.mark.parametrize("flag", ["--secret", "--client-id"])
def test_cli_refuses_an_empty_credential(
    flag: str, capsys: pytest.CaptureFixture[str], busy_port: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["serve", "--port", busy_port, flag, ""])
    assert exited.value.code == 2
    assert "non-empty" in capsys.readouterr().err


@pytest.mark.parametrize(
    "settings",
    [
        {"latency": float("nan")},
        {"latency": float("inf")},
        {"error_rate": float("nan")},
        {"maintenance_rate": float("nan")},
    ],
)
def test_nan_knobs_are_refused(settings: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be between"):
        ServerConfig(**settings)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("nan.yaml", "items:\n  - {access_token: access-sandbox-a, latency: .nan}\n", "finite number"),
        (
            "nan-rate.yaml",
            "items:\n  - {access_token: access-sandbox-a, error_rate: .nan}\n",
            "finite number",
        ),
        (
            "nan.json",
            '{"items": [{"access_token": "access-sandbox-a", "latency": NaN}]}',
            "not a JSON number",
        ),
        (
            "dup.yaml",
            f"items:\n  - access_token: access-sandbox-a\n    webhook: {HOOK}\n    webhook: {HOOK}/2\n",
            "key 'webhook' appears twice",
        ),
        (
            "dup-top.yaml",
            "items: []\nitems:\n  - {access_token: access-sandbox-a}\n",
            "key 'items' appears twice",
        ),
        (
            "dup.json",
            '{"items": [{"access_token": "access-sandbox-a", "item_id": "x", "item_id": "y"}]}',
            "key 'item_id' appears twice",
        ),
    ],
)
def test_items_file_mistakes_are_refused(tmp_path: Path, name: str, text: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ItemsFileError, match=message):
        load_items_file(path)


def test_a_yaml_alias_bomb_is_a_short_error(tmp_path: Path) -> None:
    levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        levels.append(f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]")
    levels.append("items: [*i]")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(levels) + "\n")
    assert path.stat().st_size < 1000
    started = time.monotonic()
    with pytest.raises(ItemsFileError) as raised:
        load_items_file(path)
    assert time.monotonic() - started < 2
    assert len(str(raised.value)) < 400
    assert "aliases" in str(raised.value)


def test_a_long_schema_message_is_cut(tmp_path: Path) -> None:
    path = tmp_path / "long.yaml"
    path.write_text("items:\n  - access_token: access-sandbox-a\n    accounts: " + "[" + "1," * 5000 + "1]\n")
    with pytest.raises(ItemsFileError) as raised:
        load_items_file(path)
    assert len(str(raised.value)) < 500


DEEP_ITEMS_FILES = {
    # Each parser recurses once per level: thousands of levels raised RecursionError (a traceback, exit 1).
    "deep-2000.json": '{"items":' + "[" * 2000 + "]" * 2000 + "}",
    "deep-5000.yaml": "items: " + "[" * 5000 + "]" * 5000 + "\n",
    # Parses; refused by the depth bound before jsonschema repr()s it in a message (repr recurses too).
    "deep-900.json": '{"items":' + "[" * 900 + "]" * 900 + "}",
    "deep-block.yaml": "items:\n" + "".join("  " * i + "- \n" for i in range(1, 400)),
}


@pytest.mark.parametrize("name", list(DEEP_ITEMS_FILES))
def test_a_deeply_nested_items_file_is_one_line_and_exit_2(
    tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str], busy_port: str
) -> None:
    path = tmp_path / name
    path.write_text(DEEP_ITEMS_FILES[name])
    code = cli.main(["serve", "--port", busy_port, "--items", str(path), "--no-access-log"])
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0] == f"plaid-refresh serve: error: {path}: nested more than 32 levels deep", lines[0]


def test_parse_items_refuses_deeply_nested_data() -> None:
    deep: object = "leaf"
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(ItemsFileError, match="source: nested more than 32 levels deep"):
        parse_items({"items": [{"access_token": "access-sandbox-a", "products": deep}]}, "source")


def test_an_oversized_items_file_is_refused_before_it_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as handle:  # sparse: no disk used
        handle.truncate(MAX_ITEMS_FILE_BYTES + 1)
    with pytest.raises(ItemsFileError, match="the Items file is larger than 16 MiB"):
        load_items_file(path)


# -- the database -------------------------------------------------------------------------------------


def test_a_second_server_on_the_same_database_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "state.sqlite3"
    first = create_app(ServerConfig(db_path=db))
    try:
        with pytest.raises(StoreError, match="another reference server is using this database"):
            create_app(ServerConfig(db_path=db))
    finally:
        first.close()
    create_app(ServerConfig(db_path=db)).close()  # free again once the first closed


def test_a_second_serve_process_on_the_same_database_exits_2(tmp_path: Path, busy_port: str) -> None:
    db = tmp_path / "state.sqlite3"
    holder = create_app(ServerConfig(db_path=db))  # this process holds the lock
    try:
        done = subprocess.run(
            [sys.executable, "-m", "plaid_refresh.cli", "serve", "--port", busy_port, "--db", str(db)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        holder.close()
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "another reference server is using this database" in lines[0]


def _parent_is_a_file(tmp_path: Path) -> Path:
    (tmp_path / "afile").write_text("x")
    return tmp_path / "afile" / "state.sqlite3"


def _garbage_item_row(tmp_path: Path) -> Path:
    db = tmp_path / "state.sqlite3"
    create_app(ServerConfig(db_path=db)).close()
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE items SET data = ? WHERE access_token = ?", (b'"not an item"', TOKEN_HEALTHY))
    return db


def _deep_item_row(tmp_path: Path) -> Path:
    # orjson parses up to 1,024 levels; building the Item then repr()s the value and recursed too deep.
    db = tmp_path / "state.sqlite3"
    create_app(ServerConfig(db_path=db)).close()
    deep = b"[" * 1000 + b"]" * 1000
    row = b'{"access_token": "%s", "accounts": [{"type": %s, "subtype": "x"}]}' % (
        TOKEN_HEALTHY.encode(),
        deep,
    )
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE items SET data = ? WHERE access_token = ?", (row, TOKEN_HEALTHY))
    return db


def _other_schema_signing_keys(tmp_path: Path) -> Path:
    db = tmp_path / "state.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE signing_keys (k INTEGER)")
    return db


def _garbage_signing_key(tmp_path: Path) -> Path:
    db = tmp_path / "state.sqlite3"
    create_app(ServerConfig(db_path=db)).close()
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE signing_keys SET private_key_pem = ?", (b"not a PEM key",))
    return db


def _other_schema_outbox(tmp_path: Path) -> Path:
    db = tmp_path / "state.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE webhook_deliveries (something_else TEXT)")
    return db


def _a_directory(tmp_path: Path) -> Path:
    (tmp_path / "adir").mkdir()
    return tmp_path / "adir"


def _not_sqlite(tmp_path: Path) -> Path:
    db = tmp_path / "state.sqlite3"
    db.write_bytes(b"not sqlite at all " * 200)
    return db


UNUSABLE = {
    "parent-is-a-file": _parent_is_a_file,
    "garbage-item-row": _garbage_item_row,
    "deep-item-row": _deep_item_row,
    "other-schema-signing-keys": _other_schema_signing_keys,
    "garbage-signing-key": _garbage_signing_key,
    "other-schema-webhook-outbox": _other_schema_outbox,
    "a-directory": _a_directory,
    "not-sqlite": _not_sqlite,
}


@pytest.mark.parametrize("make", list(UNUSABLE.values()), ids=list(UNUSABLE))
def test_an_unusable_database_is_one_line_and_exit_2(
    tmp_path: Path, make: object, capsys: pytest.CaptureFixture[str], busy_port: str
) -> None:
    assert callable(make)
    db = make(tmp_path)
    code = cli.main(["serve", "--port", busy_port, "--db", str(db), "--no-access-log"])
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"plaid-refresh serve: error: {db}"), lines[0]
    assert "Traceback" not in err
    # The refused start released the database: fixing nothing, a second attempt gives the same line.
    assert cli.main(["serve", "--port", busy_port, "--db", str(db)]) == 2
    assert capsys.readouterr().err.strip() == lines[0]
