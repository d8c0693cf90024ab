"""The client against hostile servers on real sockets (issue 13): decompression bombs, endless and
oversized bodies, byte drips on headers and body, Retry-After, and servers that echo the
credentials back in odd places. Every test is bounded in time (deadlines of a few seconds, servers
stopped on exit) and the memory ones measure the call's peak allocation with tracemalloc."""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import socket
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from plaid_refresh import (
    AsyncPlaidRefreshClient,
    PlaidConfigurationError,
    PlaidError,
    PlaidProtocolError,
    PlaidRefreshClient,
    PlaidResponseTooLarge,
    PlaidTimeout,
    RetryPolicy,
    TransactionsRefreshLimit,
)
from plaid_refresh.client.config import DEFAULT_MAX_RESPONSE_BYTES
from plaid_refresh.client.hard_deadline import DeadlineBackend

from .helpers import CLIENT_ID, SECRET, TOKEN
from .hostile_server import (
    Behaviour,
    answer,
    answers,
    drip,
    elapsed,
    endless_chunks,
    gzip_bomb,
    head,
    hostile_server,
    plaid_error,
)

OK = json.dumps({"request_id": "hostileOk000001"}).encode()
DEADLINE_MARGIN = 0.5
"""The stated bound: a sync or async call ends within this long after its deadline (docs/client.md)."""
MEMORY_BOUND = 4 * DEFAULT_MAX_RESPONSE_BYTES + 2 * 1024 * 1024
"""Peak bytes one capped call may allocate: the cap for the body and a decoded layer, plus network
buffers and zlib's working memory."""


def _sync(base_url: str, **options: Any) -> PlaidRefreshClient:
    options.setdefault("retries", 0)
    return PlaidRefreshClient.custom(base_url, client_id=CLIENT_ID, secret=SECRET, **options)


def _refresh_async(base_url: str, **options: Any) -> Any:
    options.setdefault("retries", 0)

    async def run() -> Any:
        async with AsyncPlaidRefreshClient.custom(
            base_url, client_id=CLIENT_ID, secret=SECRET, **options
        ) as client:
            return await client.refresh(TOKEN)

    return asyncio.run(run())


def _refresh(base_url: str, use_async: bool, **options: Any) -> Any:
    if use_async:
        return _refresh_async(base_url, **options)
    with _sync(base_url, **options) as client:
        return client.refresh(TOKEN)


def _peak_during(call: Callable[[], Any]) -> tuple[BaseException | None, int]:
    tracemalloc.start()
    try:
        try:
            call()
        except Exception as exc:
            return exc, tracemalloc.get_traced_memory()[1]
        return None, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# ---- the size cap ---------------------------------------------------------------------------------

BOMB = gzip_bomb(200 * 1024 * 1024)  # 200 MB of zeros in ~2 KB after two gzip layers


@pytest.fixture(scope="module")
def bomb_server() -> Iterator[str]:
    with hostile_server(answer(BOMB, headers={"Content-Encoding": "gzip, gzip"})) as (url, _):
        yield url


def test_a_gzip_gzip_bomb_is_refused_with_memory_near_the_cap(bomb_server: str) -> None:
    assert len(BOMB) < 4096
    with _sync(bomb_server) as client:
        error, peak = _peak_during(lambda: client.refresh(TOKEN))
    assert isinstance(error, PlaidResponseTooLarge), error
    assert error.limit == DEFAULT_MAX_RESPONSE_BYTES
    assert "max_response_bytes" in str(error)
    assert peak < MEMORY_BOUND, f"peak {peak} bytes"


def test_a_gzip_gzip_bomb_is_refused_async(bomb_server: str) -> None:
    error, peak = _peak_during(lambda: _refresh_async(bomb_server))
    assert isinstance(error, PlaidResponseTooLarge), error
    assert peak < MEMORY_BOUND + 1024 * 1024, f"peak {peak} bytes"  # + the event loop's own


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_an_endless_chunked_body_is_cut_at_the_cap(use_async: bool) -> None:
    with hostile_server(endless_chunks()) as (url, _):
        started = time.monotonic()
        if use_async:
            error, peak = _peak_during(lambda: _refresh_async(url, deadline=20))
        else:
            with _sync(url, deadline=20) as client:
                error, peak = _peak_during(lambda: client.refresh(TOKEN))
    assert isinstance(error, PlaidResponseTooLarge), error
    assert elapsed(started) < 10  # cut at the cap, not at the deadline
    assert peak < MEMORY_BOUND + 1024 * 1024, f"peak {peak} bytes"


def test_a_50_mb_success_body_is_refused_without_reading_it() -> None:
    size = 50 * 1024 * 1024

    def big(conn: socket.socket, request: bytes, stop: threading.Event) -> None:
        conn.sendall(head(headers={"Content-Length": str(size)}) + b'{"request_id": "x", "pad": "')
        block = b"a" * 65536
        for _ in range(size // len(block)):
            if stop.is_set():
                return
            conn.sendall(block)

    with hostile_server(big) as (url, _), _sync(url) as client:
        error, peak = _peak_during(lambda: client.refresh(TOKEN))
    assert isinstance(error, PlaidResponseTooLarge), error
    assert "Content-Length 52428800" in str(error)
    assert peak < MEMORY_BOUND


def test_a_50_mb_chunked_body_is_cut_at_a_configured_cap() -> None:
    body = json.dumps({"request_id": "x", "pad": "a" * (50 * 1024 * 1024)}).encode()

    def chunked(conn: socket.socket, request: bytes, stop: threading.Event) -> None:
        conn.sendall(head(headers={"Transfer-Encoding": "chunked"}))
        for i in range(0, len(body), 65536):
            if stop.is_set():
                return
            part = body[i : i + 65536]
            conn.sendall(b"%x\r\n%s\r\n" % (len(part), part))
        conn.sendall(b"0\r\n\r\n")

    with hostile_server(chunked) as (url, _), _sync(url, max_response_bytes=64 * 1024) as client:
        error, peak = _peak_during(lambda: client.refresh(TOKEN))
    assert isinstance(error, PlaidResponseTooLarge), error
    assert error.limit == 64 * 1024
    assert peak < 4 * 64 * 1024 + 2 * 1024 * 1024


def test_answers_under_the_cap_still_succeed_gzipped_or_not() -> None:
    padded = json.dumps({"request_id": "hostileOk000001", "pad": "a" * 100_000}).encode()
    import gzip

    with (
        hostile_server(
            answers(
                answer(padded),
                answer(gzip.compress(padded), headers={"Content-Encoding": "gzip"}),
                answer(gzip.compress(gzip.compress(padded)), headers={"Content-Encoding": "gzip, gzip"}),
            )
        ) as (url, _),
        _sync(url) as client,
    ):
        for _ in range(3):
            assert client.refresh(TOKEN).request_id == "hostileOk000001"


def test_an_unsupported_content_encoding_is_a_typed_error() -> None:
    with (
        hostile_server(answer(b"\x00\x01", headers={"Content-Encoding": "br"})) as (url, _),
        _sync(url) as client,
        pytest.raises(PlaidError) as caught,
    ):
        client.refresh(TOKEN)
    assert "unsupported Content-Encoding 'br'" in str(caught.value)


def test_the_client_asks_only_for_codings_it_decodes_with_a_cap() -> None:
    with hostile_server(answer(OK)) as (url, requests), _sync(url) as client:
        client.refresh(TOKEN)
    assert b"\r\naccept-encoding: gzip, deflate\r\n" in requests[0].lower()


@pytest.mark.parametrize("cap", [0, 1023, 1.5, True, None])
def test_the_cap_is_validated(cap: Any) -> None:
    with pytest.raises(PlaidConfigurationError, match="max_response_bytes"):
        _sync("http://127.0.0.1:9", max_response_bytes=cap)


# ---- the deadline holds against byte drips ----------------------------------------------------------

HEADER_DRIP = drip(b"HTTP/1.1 200 OK\r\n", b"X-Slow: " + b"a" * 200 + b"\r\n", every=0.05)
BODY_DRIP = drip(head(headers={"Content-Length": "400"}), b'{"request_id": "' + b"a" * 400, every=0.05)


@pytest.mark.parametrize("behaviour", [HEADER_DRIP, BODY_DRIP], ids=["headers", "body"])
@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_the_deadline_is_a_hard_bound_on_a_dripping_server(behaviour: Behaviour, use_async: bool) -> None:
    deadline = 1.5
    with hostile_server(behaviour) as (url, _):
        started = time.monotonic()
        with pytest.raises(PlaidTimeout) as caught:
            _refresh(url, use_async, deadline=deadline, timeout=5)
        took = elapsed(started)
    assert caught.value.phase == "deadline"
    assert deadline - 0.1 <= took <= deadline + DEADLINE_MARGIN, took


def test_the_sync_client_really_talks_through_the_deadline_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Guards the one place that reaches into httpx (its transport's pool): if a new httpx ignored
    the backend, the drip tests above would fail too, but this says why."""
    used: list[str] = []
    original = DeadlineBackend.connect_tcp

    def spy(self: DeadlineBackend, *args: Any, **kwargs: Any) -> Any:
        used.append("connect")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(DeadlineBackend, "connect_tcp", spy)
    with hostile_server(answer(OK)) as (url, _), _sync(url) as client:
        client.refresh(TOKEN)
    assert used == ["connect"]


# ---- Retry-After and the retry budget ----------------------------------------------------------------

LIMITED = plaid_error("TRANSACTIONS_REFRESH_LIMIT", "RATE_LIMIT_EXCEEDED")


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [("2", 2.0), ("0", 0.0), (None, None)],
    ids=["seconds", "zero", "absent"],
)
def test_retry_after_is_honoured(retry_after: str | None, expected: float | None) -> None:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    slept: list[float] = []
    with (
        hostile_server(answers(answer(LIMITED, "429 Too Many Requests", headers), answer(OK))) as (url, _),
        _sync(url, retries=1, sleep=slept.append) as client,
    ):
        assert client.refresh(TOKEN).request_id == "hostileOk000001"
    if expected is None:
        assert len(slept) == 1
        assert 2.0 <= slept[0] <= 4.0  # the rate-limit backoff
    else:
        assert slept == [expected]


def test_retry_after_as_an_http_date() -> None:
    when = email.utils.formatdate(time.time() + 3, usegmt=True)
    slept: list[float] = []
    with (
        hostile_server(
            answers(answer(LIMITED, "429 Too Many Requests", {"Retry-After": when}), answer(OK))
        ) as (url, _),
        _sync(url, retries=1, sleep=slept.append) as client,
    ):
        client.refresh(TOKEN)
    assert len(slept) == 1
    assert 1.0 <= slept[0] <= 3.0


def test_a_retry_after_past_the_deadline_ends_the_call_at_once_and_says_so() -> None:
    slept: list[float] = []
    with (
        hostile_server(answer(LIMITED, "429 Too Many Requests", {"Retry-After": "3600"})) as (url, requests),
        _sync(url, retries=3, deadline=10, sleep=slept.append) as client,
        pytest.raises(TransactionsRefreshLimit) as caught,
    ):
        client.refresh(TOKEN)
    assert slept == []
    assert len(requests) == 1
    assert caught.value.retry_after == 3600.0
    assert caught.value.attempts == 1


def test_the_retry_budget_bounds_the_time_spent_waiting_and_attempts_are_reported() -> None:
    slept: list[float] = []
    policy = RetryPolicy(max_attempts=10, retry_budget=5.0)
    with (
        hostile_server(answer(LIMITED, "429 Too Many Requests")) as (url, requests),
        _sync(url, retries=policy, deadline=None, sleep=slept.append) as client,
        pytest.raises(TransactionsRefreshLimit) as caught,
    ):
        client.refresh(TOKEN)
    assert sum(slept) <= 5.0
    assert caught.value.attempts == len(requests) == len(slept) + 1 >= 2
    assert f"[attempts={caught.value.attempts}]" in str(caught.value)


@pytest.mark.parametrize("value", ["soon", "-1", "1e400", "NaN", "9" * 70, "Wed, 02 Dec 2026 99:00:00"])
def test_an_unreadable_retry_after_falls_back_to_the_backoff(value: str) -> None:
    slept: list[float] = []
    with (
        hostile_server(
            answers(answer(LIMITED, "429 Too Many Requests", {"Retry-After": value}), answer(OK))
        ) as (url, _),
        _sync(url, retries=1, sleep=slept.append) as client,
    ):
        client.refresh(TOKEN)
    assert len(slept) == 1
    assert 2.0 <= slept[0] <= 4.0


# ---- secrets echoed back ------------------------------------------------------------------------------


def _everything_printed(error: BaseException) -> str:
    import traceback

    parts = [str(error), repr(error), "".join(traceback.format_exception(error)), repr(vars(error))]
    model = getattr(error, "model", None)
    if model is not None:
        parts += [repr(model), json.dumps(model.to_dict())]
    return "\n".join(parts)


@pytest.mark.parametrize(
    "body",
    [
        plaid_error(SECRET, "INVALID_INPUT"),
        plaid_error("INVALID_API_KEYS", SECRET),
        plaid_error(f"X_{CLIENT_ID}", f"{TOKEN}_TYPE"),
        plaid_error("INVALID_API_KEYS", "INVALID_INPUT", extra={SECRET: 1, "nested": {CLIENT_ID: [TOKEN]}}),
    ],
    ids=["secret-as-code", "secret-as-type", "in-both", "as-keys"],
)
def test_a_secret_echoed_in_codes_or_keys_is_scrubbed_everywhere(body: bytes) -> None:
    with (
        hostile_server(answer(body, "400 Bad Request")) as (url, _),
        _sync(url) as client,
        pytest.raises(PlaidError) as caught,
    ):
        client.refresh(TOKEN)
    printed = _everything_printed(caught.value)
    for value in (CLIENT_ID, SECRET, TOKEN):
        assert value not in printed
    assert "[REDACTED]" in printed


def _u_escaped(value: str) -> str:
    return "".join(f"\\u{ord(ch):04x}" for ch in value)


@pytest.mark.parametrize(
    "body",
    [
        b'{"request_id": "' + _u_escaped(SECRET).encode() + b'", "x": ',  # truncated JSON
        b"<html>" + _u_escaped(SECRET).encode() + b"</html>",
        b'{"error": "\\u00' + _u_escaped(SECRET).encode()[4:] + b'"}',  # mixed spellings
        b'{"a": "' + SECRET[:5].encode() + _u_escaped(SECRET[5:]).encode() + b'"}',
    ],
    ids=["truncated-json", "html", "half-escaped", "partly-escaped"],
)
def test_a_u_escaped_secret_does_not_survive_in_the_snippet(body: bytes) -> None:
    with (
        hostile_server(answer(body, "520 Unknown")) as (url, _),
        _sync(url) as client,
        pytest.raises(PlaidProtocolError) as caught,
    ):
        client.refresh(TOKEN)
    printed = _everything_printed(caught.value)
    assert SECRET not in printed
    assert _u_escaped(SECRET) not in printed
    assert SECRET[5:] not in caught.value.snippet
    assert "[REDACTED]" in caught.value.snippet


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_httpx_and_httpcore_debug_lines_do_not_show_echoed_secrets(use_async: bool) -> None:
    echo = {"X-Echo": f"{CLIENT_ID} {SECRET} {TOKEN}"}
    handler = _Collect()
    loggers = [logging.getLogger(name) for name in ("httpx", "httpcore")]
    old = [(logger.level, logger.propagate) for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    try:
        with hostile_server(answer(OK, f"200 OK {SECRET}", echo)) as (url, _):
            if use_async:
                _refresh_async(url)
            else:
                with _sync(url) as client:
                    client.refresh(TOKEN)
    finally:
        for logger, (level, _propagate) in zip(loggers, old, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)
    text = "\n".join(handler.lines)
    assert "receive_response_headers.complete" in text  # the lines that carry headers were seen
    assert "HTTP Request: POST" in text
    for value in (CLIENT_ID, SECRET, TOKEN):
        assert value not in text
    assert "[REDACTED]" in text


def test_the_log_filter_leaves_lines_without_secrets_alone() -> None:
    from plaid_refresh.client.scrubbing import SecretScrubbingFilter

    record = logging.LogRecord("httpx", logging.INFO, __file__, 1, "HTTP Request: %s %s", ("POST", "x"), None)
    _sync("http://127.0.0.1:9").close()  # at least one live client's credentials are registered
    assert SecretScrubbingFilter().filter(record)
    assert (record.msg, record.args) == ("HTTP Request: %s %s", ("POST", "x"))


@pytest.mark.parametrize("name", ["client_id", "secret"])
def test_a_credential_too_short_to_mask_is_refused(name: str) -> None:
    values: dict[str, Any] = {"client_id": CLIENT_ID, "secret": SECRET, name: "id"}
    with pytest.raises(PlaidConfigurationError, match=f"{name} is shorter than 8 characters") as caught:
        PlaidRefreshClient.sandbox(**values)
    assert "'id'" not in str(caught.value)


def test_a_short_access_token_is_masked_and_other_text_is_kept() -> None:
    """Tokens cannot be refused (the spec allows any string): the masking rule still holds."""
    body = plaid_error("INVALID_ACCESS_TOKEN", "INVALID_INPUT", message="bad token: tok")
    with (
        hostile_server(answer(body, "400 Bad Request")) as (url, _),
        _sync(url) as client,
        pytest.raises(PlaidError) as caught,
    ):
        client.refresh("tok")
    assert caught.value.error_message == "bad [REDACTED]en: [REDACTED]"
    assert caught.value.request_id == "hostileReq00001"
