"""Server state: Items, refresh history and the webhook signing key, in memory or in SQLite.

Items are always served from an in-memory dict (the hot path never reads the database); SQLite is
written through so that, with --db, Items and history survive a restart. WAL mode keeps a refresh
record to one short append.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from collections import deque
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import attrs
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from plaid_refresh.server.items import Item
from plaid_refresh.webhooks.signing import WebhookSigner


@attrs.frozen
class RefreshRecord:
    request_id: str
    item_id: str
    at: float
    seq: int
    added: tuple[str, ...]
    modified: tuple[str, ...]
    removed: tuple[str, ...]


# A refresh record as held in memory: a plain tuple of atomic values (request_id, item_id, at, seq, added,
# modified, removed). CPython stops tracking such tuples in the garbage collector, so a long history costs
# the collector nothing; as attrs instances (tracked), 10^6 records made each gen-2 collection tens of ms.
Row = tuple[str, str, float, int, tuple[str, ...], tuple[str, ...], tuple[str, ...]]


class StoreError(RuntimeError):
    """The database cannot be opened or is not one of this server's databases."""


# In memory, only the newest records of each Item are kept, so a long benchmark run cannot grow the
# process without bound; the sequence numbers (and, with --db, the database) keep counting.
HISTORY_PER_ITEM = 10_000


class MemoryStore:
    """State for one server process; lost on exit."""

    def __init__(self, history_per_item: int = HISTORY_PER_ITEM) -> None:
        self.items: dict[str, Item] = {}
        self._history: dict[str, deque[Row]] = {}
        self._seq: dict[str, int] = {}
        self._history_per_item = history_per_item

    def put_items(self, items: Iterable[Item]) -> None:
        for item in items:
            self.items[item.access_token] = item
            # Each Item's history is made with the Item, usually at start-up: `gc.freeze()` (serving.serve)
            # then takes it out of the collector's reach. A history made later is walked, record by record,
            # by every full collection.
            if item.item_id not in self._history:
                self._history[item.item_id] = deque(maxlen=self._history_per_item)

    def next_seq(self, item_id: str) -> int:
        return self._seq.get(item_id, 0) + 1

    def record(self, record: RefreshRecord) -> None:
        self.record_row(
            (
                record.request_id,
                record.item_id,
                record.at,
                record.seq,
                record.added,
                record.modified,
                record.removed,
            )
        )

    def record_row(self, row: Row) -> None:
        """Record a refresh given as a Row (the server's hot path: no object built)."""
        item_id = row[1]
        history = self._history.get(item_id)
        if history is None:
            history = self._history[item_id] = deque(maxlen=self._history_per_item)
        history.append(row)
        seq = row[3]
        if seq > self._seq.get(item_id, 0):
            self._seq[item_id] = seq

    def history(self, item_id: str | None = None) -> list[RefreshRecord]:
        if item_id is not None:
            return [RefreshRecord(*row) for row in self._history.get(item_id, ())]
        rows = sorted((r for rs in self._history.values() for r in rs), key=lambda r: (r[2], r[0]))
        return [RefreshRecord(*row) for row in rows]

    def signer(self) -> WebhookSigner | None:
        return None

    def save_signer(self, signer: WebhookSigner) -> None:
        return None

    def close(self) -> None:
        return None


_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    access_token TEXT PRIMARY KEY, item_id TEXT NOT NULL UNIQUE, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS refreshes (
    request_id TEXT PRIMARY KEY, item_id TEXT NOT NULL, at REAL NOT NULL, seq INTEGER NOT NULL,
    added BLOB NOT NULL, modified BLOB NOT NULL, removed BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS refreshes_item ON refreshes (item_id, seq);
CREATE TABLE IF NOT EXISTS signing_keys (key_id TEXT PRIMARY KEY, private_key_pem BLOB NOT NULL,
    created_at INTEGER NOT NULL);
"""


class SqliteStore(MemoryStore):
    """MemoryStore written through to a SQLite file (WAL). Loads everything it holds on open, and holds an
    exclusive lock on the file until closed: a second server on the same file is refused (StoreError)."""

    _db: sqlite3.Connection

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self._lock = threading.Lock()
        self._lock_fd: int | None = None
        self._signer: WebhookSigner | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"{path}: cannot create its folder {path.parent}: {exc.strerror or exc}"
            ) from None
        try:
            self._lock_fd = _lock_exclusively(path)
            # check_same_thread=False: uvicorn may run the app in a thread other than the one that built it;
            # the lock serialises writers.
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            rows = self._db.execute("SELECT data FROM items").fetchall()
            for (data,) in rows:
                item = Item.from_dict(orjson.loads(data))
                self.items[item.access_token] = item
            for row in self._db.execute(
                "SELECT request_id, item_id, at, seq, added, modified, removed FROM refreshes AS r "
                "WHERE seq > (SELECT MAX(seq) FROM refreshes WHERE item_id = r.item_id) - ? "
                "ORDER BY item_id, seq",
                (self._history_per_item,),
            ):  # only the newest records of each Item are held in memory; all stay in the file
                added, modified, removed = (tuple(map(str, orjson.loads(v))) for v in row[4:])
                super().record_row((row[0], row[1], row[2], row[3], added, modified, removed))
            self._signer = self._load_signer()
        except _LockedError:
            self._release()
            raise StoreError(
                f"{path}: another reference server is using this database (it holds the lock); "
                "stop it or choose another --db"
            ) from None
        except (
            sqlite3.Error,
            OSError,
            ValueError,
            TypeError,
            KeyError,
            AttributeError,
            RecursionError,
            MemoryError,
        ) as exc:
            # orjson.JSONDecodeError is a ValueError; OSError covers a directory, a missing permission, ...
            # RecursionError: a row nested ~1,000 deep (orjson accepts 1,024) is repr()'d building its Item.
            self._release()
            problem = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            if isinstance(exc, RecursionError):
                problem = "a stored value is nested too deeply"
            elif isinstance(exc, MemoryError):
                problem = "not enough memory to load it"
            raise StoreError(f"{path}: cannot use as the server database: {problem}") from None

    def _load_signer(self) -> WebhookSigner | None:
        row = self._db.execute(
            "SELECT key_id, private_key_pem, created_at FROM signing_keys ORDER BY created_at DESC LIMIT 1"
        ).fetchone()
        if row is None:
            return None
        key = serialization.load_pem_private_key(row[1], password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError("the stored signing key is not an EC key")
        return WebhookSigner(private_key=key, key_id=row[0], created_at=row[2])

    def _release(self) -> None:
        db: sqlite3.Connection | None = self.__dict__.pop("_db", None)
        if db is not None:
            db.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the descriptor releases the flock
            self._lock_fd = None

    def put_items(self, items: Iterable[Item]) -> None:
        items = list(items)
        super().put_items(items)
        with self._lock, self._db:
            self._db.execute("BEGIN")
            for item in items:
                # An Item re-loaded under the same item_id but a new token replaces the old row.
                self._db.execute(
                    "DELETE FROM items WHERE item_id = ? AND access_token != ?",
                    (item.item_id, item.access_token),
                )
                self._db.execute(
                    "INSERT INTO items (access_token, item_id, data) VALUES (?, ?, ?) "
                    "ON CONFLICT(access_token) DO UPDATE SET "
                    "item_id = excluded.item_id, data = excluded.data",
                    (item.access_token, item.item_id, orjson.dumps(item.to_dict())),
                )

    def record_row(self, row: Row) -> None:
        request_id, item_id, at, seq, added, modified, removed = row
        with self._lock:
            self._db.execute(
                "INSERT INTO refreshes (request_id, item_id, at, seq, added, modified, removed) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    request_id,
                    item_id,
                    at,
                    seq,
                    orjson.dumps(added),
                    orjson.dumps(modified),
                    orjson.dumps(removed),
                ),
            )
        super().record_row(row)

    def signer(self) -> WebhookSigner | None:
        return self._signer

    def save_signer(self, signer: WebhookSigner) -> None:
        pem = signer.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO signing_keys (key_id, private_key_pem, created_at) VALUES (?, ?, ?)",
                (signer.key_id, pem, signer.created_at),
            )

    def close(self) -> None:
        with self._lock:
            self._release()


class _LockedError(Exception):
    pass


def _lock_exclusively(path: Path) -> int:
    """An open descriptor of `path` holding an exclusive flock: one server per database file. (SQLite's own
    locks are per transaction; two servers on one file would both run, each delivering every webhook.)"""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise _LockedError from None
    except OSError:
        os.close(fd)
        raise
    return fd


def open_store(path: Path | None) -> MemoryStore:
    return MemoryStore() if path is None else SqliteStore(path)


def record_to_dict(record: RefreshRecord) -> dict[str, Any]:
    return attrs.asdict(record)
