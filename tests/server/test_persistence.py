"""With a database, Items, refresh history and the webhook key survive a restart."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import httpx
import pytest

from plaid_refresh.server import TOKEN_TRANSACTIONS_DYNAMIC, ServerConfig, StoreError, create_app
from plaid_refresh.server.store import MemoryStore, RefreshRecord, SqliteStore
from tests.server.conftest import HEADERS, Serve

REFRESH = "/transactions/refresh"
KEY_GET = "/webhook_verification_key/get"


def test_state_survives_a_restart(serve: Serve, tmp_path: Path) -> None:
    db = tmp_path / "state.sqlite3"
    items = tmp_path / "items.yaml"
    items.write_text("items:\n  - {access_token: access-sandbox-mine, item_id: mine, changes: dynamic}\n")
    config = ServerConfig(db_path=db, items_path=items, rate_limit=False)
    with serve(config) as (url, app), httpx.Client(base_url=url) as http:
        for token in ("access-sandbox-mine", "access-sandbox-mine", TOKEN_TRANSACTIONS_DYNAMIC):
            assert http.post(REFRESH, headers=HEADERS, json={"access_token": token}).status_code == 200
        before = app.store.history()
        key_id = app.signer.key_id
        jwk = app.signer.public_jwk()
    assert len(before) == 3

    # Restart without the Items file: the Item loaded earlier is still known, history continues.
    with serve(ServerConfig(db_path=db, rate_limit=False)) as (url, app), httpx.Client(base_url=url) as http:
        assert app.store.history() == before
        response = http.post(REFRESH, headers=HEADERS, json={"access_token": "access-sandbox-mine"})
        assert response.status_code == 200
        [*_, third] = app.store.history("mine")
        assert third.seq == 3
        assert third.request_id == response.json()["request_id"]
        # The same key is served, so receivers' cached keys stay valid.
        assert app.signer.key_id == key_id
        assert http.post(KEY_GET, headers=HEADERS, json={"key_id": key_id}).json()["key"] == jwk

    with serve(ServerConfig(db_path=db)) as (_, app):
        assert len(app.store.history("mine")) == 3


def test_memory_state_is_not_kept(serve: Serve) -> None:
    with serve() as (url, app), httpx.Client(base_url=url) as http:
        http.post(REFRESH, headers=HEADERS, json={"access_token": TOKEN_TRANSACTIONS_DYNAMIC})
        assert len(app.store.history()) == 1
    with serve() as (_, app):
        assert app.store.history() == []


def test_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    db = tmp_path / "state.sqlite3"
    db.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="cannot use as the server database"):
        create_app(ServerConfig(db_path=db))


def test_lifespan_shutdown_closes_the_database(serve: Serve, tmp_path: Path) -> None:
    db = tmp_path / "state.sqlite3"
    with serve(ServerConfig(db_path=db)) as (_, app):
        pass
    assert app._closed


def _record(seq: int) -> RefreshRecord:
    return RefreshRecord(f"req{seq}", "it", float(seq), seq, (f"t{seq}",), (), ())


def test_memory_keeps_only_the_newest_records_but_keeps_counting() -> None:
    store = MemoryStore(history_per_item=3)
    for seq in range(1, 6):
        assert store.next_seq("it") == seq
        store.record(_record(seq))
    assert [r.seq for r in store.history("it")] == [3, 4, 5]
    assert store.next_seq("it") == 6


def test_database_keeps_everything_and_reloads_the_newest(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.sqlite3")
    for seq in range(1, 6):
        store.record(_record(seq))
    store.close()
    reopened = SqliteStore(tmp_path / "s.sqlite3")
    assert [r.seq for r in reopened.history("it")] == [1, 2, 3, 4, 5]
    assert reopened.next_seq("it") == 6
    reopened.close()


def test_shutdown_finishes_in_flight_requests(serve: Serve, tmp_path: Path) -> None:
    """Leaving running_server while a refresh is in flight: it still gets its 200 and is recorded."""
    in_flight = threading.Event()

    async def slow_sleep(seconds: float) -> None:
        in_flight.set()
        await asyncio.sleep(seconds)

    results: list[int] = []
    config = ServerConfig(db_path=tmp_path / "s.sqlite3", latency=0.5)
    with serve(config, sleep=slow_sleep) as (url, app):

        def call() -> None:
            with httpx.Client(base_url=url, timeout=10) as http:
                body = {"access_token": TOKEN_TRANSACTIONS_DYNAMIC}
                results.append(http.post(REFRESH, headers=HEADERS, json=body).status_code)

        worker = threading.Thread(target=call)
        worker.start()
        assert in_flight.wait(5)
    worker.join(10)
    assert results == [200]
    assert len(app.store.history()) == 1
    assert app._closed
