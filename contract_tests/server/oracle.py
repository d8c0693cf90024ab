"""The differential oracle: every request the suite sends to a target is also sent to the embedded reference
server, set up to mirror the target, and the two answers' HTTP status, error_type and error_code must agree
(ids and message text are not compared).

The mirror has the target's credentials, knows the target's tokens as the matching built-in Items (the
request is rewritten on its way to the mirror: the target's token becomes the built-in Item's token, the
target's webhook key id the mirror's), and has rate limiting and webhooks off. Answers Plaid may give at any
time stay allowed: a target's 429 (rate limited) and 500/503 (transient faults) are counted as transient, not
as disagreements.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import urlsplit

import httpx

from contract_tests.server.target import SyncASGITransport, Target

TRANSIENT_STATUSES: Final = frozenset({429, 500, 503})
_HOP_HEADERS: Final = frozenset({"host", "content-length", "transfer-encoding", "connection"})
ENV_SWITCH: Final = "PLAID_CONTRACT_ORACLE"


def oracle_wanted(target: Target, env: Mapping[str, str]) -> bool:
    """On for every target but the embedded reference server itself, unless PLAID_CONTRACT_ORACLE=off."""
    value = env.get(ENV_SWITCH, "").strip().lower()
    if value not in ("", "on", "off"):
        raise ValueError(f"{ENV_SWITCH} must be 'on' or 'off', got {value!r}")
    return not target.embedded and value != "off"


def _verdict(status: int, content: bytes) -> tuple[int, str | None, str | None]:
    try:
        body = json.loads(content)
    except (ValueError, UnicodeDecodeError, RecursionError):
        body = None
    if not isinstance(body, dict):
        return status, None, None
    error_type, error_code = body.get("error_type"), body.get("error_code")
    return (
        status,
        error_type if isinstance(error_type, str) else None,
        error_code if isinstance(error_code, str) else None,
    )


def describe(verdict: tuple[int, str | None, str | None]) -> str:
    status, error_type, error_code = verdict
    if error_type is None and error_code is None:
        return f"HTTP {status}"
    return f"HTTP {status} {error_type}/{error_code}"


@dataclass
class Oracle:
    """The mirror and the run's tally. `compare` is called once per answer the target gave."""

    target: Target
    compared: int = 0
    transient: int = 0
    disagreements: int = 0
    unreplayable: int = 0
    _stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    _client: httpx.Client | None = None
    _rewrites: list[tuple[bytes, bytes]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        from contract_tests.server import reference

        app, rewrites = reference.mirror_of(self.target)
        # Whole JSON strings only, longest first, so one token that contains another is not half-rewritten.
        self._rewrites = sorted(
            ((json.dumps(a).encode(), json.dumps(b).encode()) for a, b in rewrites.items() if a != b),
            key=lambda pair: -len(pair[0]),
        )
        transport = SyncASGITransport(app)
        self._client = self._stack.enter_context(
            httpx.Client(base_url="http://mirror", transport=transport, timeout=httpx.Timeout(10.0))
        )

    def stop(self) -> None:
        self._stack.close()
        self._client = None

    @property
    def about_plaid(self) -> bool:
        host = urlsplit(self.target.base_url or "").hostname or ""
        return host == "plaid.com" or host.endswith(".plaid.com")

    def mirror_answer(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, bytes] | None:
        """The mirror's answer to the same request, or None when it cannot be replayed in-process."""
        if self._client is None:
            return None
        for old, new in self._rewrites:
            body = body.replace(old, new)
        forward = {k: v for k, v in headers.items() if k.lower() not in _HOP_HEADERS}
        try:
            with self._lock:
                response = self._client.request(method, path, headers=forward, content=body)
        except (httpx.HTTPError, ValueError, UnicodeError):
            return None
        return response.status_code, response.content

    def compare(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes, status: int, content: bytes
    ) -> str | None:
        """None when the answers agree (or the target's is transient); otherwise the disagreement."""
        mirrored = self.mirror_answer(method, path, headers, body)
        if mirrored is None:
            self.unreplayable += 1
            return None
        self.compared += 1
        ours = _verdict(status, content)
        theirs = _verdict(*mirrored)
        if status in TRANSIENT_STATUSES and ours != theirs:
            self.transient += 1
            return None
        if ours == theirs:
            return None
        self.disagreements += 1
        blame = (
            "either the target or the reference server's model of Plaid is wrong"
            if self.about_plaid
            else "the target does not behave as the reference server (Plaid's documented behaviour) does"
        )
        return (
            f"differential oracle: the target answered {describe(ours)}, the reference server "
            f"{describe(theirs)} to the same request: {blame}"
        )

    def summary_line(self) -> str:
        return (
            f"differential oracle: on; {self.compared} answers compared with the embedded reference server, "
            f"{self.disagreements} disagreements, {self.transient} transient answers (429/500/503) "
            f"not counted, {self.unreplayable} not replayable"
        )


@contextlib.contextmanager
def running(target: Target) -> Iterator[Oracle]:
    oracle = Oracle(target)
    oracle.start()
    try:
        yield oracle
    finally:
        oracle.stop()
