"""Defects an attack round found in the client, each on real sockets on 127.0.0.1 and bounded in
time: deeply nested error bodies, lone surrogates in arguments, NaN/inf settings, stacked content
codings, raw deflate split across segments, and JSON-escaped secrets in the reason phrase and headers."""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import math
import socket
import threading
import zlib
from typing import Any

import pytest

from plaid_refresh import (
    AsyncPlaidRefreshClient,
    PlaidArgumentError,
    PlaidConfigurationError,
    PlaidConnectionError,
    PlaidError,
    PlaidErrorResponse,
    PlaidRefreshClient,
    RetryPolicy,
)

from .helpers import CLIENT_ID, SECRET, TOKEN
from .hostile_server import answer, head, hostile_server

OK = json.dumps({"request_id": "attackOk0000001"}).encode()


def _sync(base_url: str, **options: Any) -> PlaidRefreshClient:
    options.setdefault("retries", 0)
    options.setdefault("deadline", 10)
    return PlaidRefreshClient.custom(base_url, client_id=CLIENT_ID, secret=SECRET, **options)


def _refresh(base_url: str, use_async: bool, **options: Any) -> Any:
    options.setdefault("retries", 0)
    options.setdefault("deadline", 10)
    if not use_async:
        with _sync(base_url, **options) as client:
            return client.refresh(TOKEN)

    async def run() -> Any:
        async with AsyncPlaidRefreshClient.custom(
            base_url, client_id=CLIENT_ID, secret=SECRET, **options
        ) as client:
            return await client.refresh(TOKEN)

    return asyncio.run(run())


# ---- a Plaid error body nested deep ------------------------------------------------------------------


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("depth", [500, 900])
def test_a_deeply_nested_error_body_is_a_plaid_error_not_a_recursion_error(
    use_async: bool, depth: int
) -> None:
    body = (
        b'{"error_type":"ITEM_ERROR","error_code":"ITEM_LOGIN_REQUIRED","error_message":"m",'
        b'"display_message":null,"request_id":"r","x":' + b"[" * depth + b"]" * depth + b"}"
    )
    with hostile_server(answer(body, "400 Bad Request")) as (url, _), pytest.raises(PlaidError) as caught:
        _refresh(url, use_async)
    assert isinstance(caught.value, PlaidErrorResponse)
    assert caught.value.error_code == "ITEM_LOGIN_REQUIRED"


def test_scrub_json_masks_at_any_depth() -> None:
    from plaid_refresh.client.scrubbing import scrub_json

    value: Any = [SECRET]
    for _ in range(5000):
        value = {SECRET: value}
    clean = scrub_json(value, [SECRET])
    for _ in range(5000):
        assert list(clean) == ["[REDACTED]"]
        clean = clean["[REDACTED]"]
    assert clean == ["[REDACTED]"]
    assert scrub_json({"a": [1, None, {"b": SECRET}]}, [SECRET]) == {"a": [1, None, {"b": "[REDACTED]"}]}


# ---- a lone surrogate in an argument ----------------------------------------------------------------


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("call", ["refresh", "get_webhook_verification_key"])
def test_a_lone_surrogate_is_an_argument_error_that_does_not_show_the_value(
    use_async: bool, call: str
) -> None:
    value = TOKEN + "\ud800"
    with hostile_server(answer(OK)) as (url, requests):
        if use_async:

            async def run() -> Any:
                async with AsyncPlaidRefreshClient.custom(url, client_id=CLIENT_ID, secret=SECRET) as client:
                    return await getattr(client, call)(value)

            with pytest.raises(PlaidArgumentError, match="must be valid Unicode") as caught:
                asyncio.run(run())
        else:
            with (
                _sync(url) as client,
                pytest.raises(PlaidArgumentError, match="must be valid Unicode") as caught,
            ):
                getattr(client, call)(value)
    assert TOKEN not in str(caught.value)
    assert caught.value.__context__ is None or TOKEN not in str(caught.value.__context__)
    assert requests == []


# ---- NaN and inf settings -------------------------------------------------------------------------


@pytest.mark.parametrize("deadline", [math.nan, math.inf, -math.inf])
def test_a_nan_or_infinite_deadline_is_refused(deadline: float) -> None:
    with pytest.raises(PlaidConfigurationError, match="deadline"):
        _sync("http://127.0.0.1:9", deadline=deadline)
    with pytest.raises(PlaidConfigurationError, match="deadline"):
        AsyncPlaidRefreshClient.custom(
            "http://127.0.0.1:9", client_id=CLIENT_ID, secret=SECRET, deadline=deadline
        )


@pytest.mark.parametrize("timeout", [math.nan, math.inf])
def test_a_nan_or_infinite_timeout_is_refused(timeout: float) -> None:
    import httpx

    for value in (timeout, httpx.Timeout(5.0, read=timeout)):
        with pytest.raises(PlaidConfigurationError, match="timeout"):
            _sync("http://127.0.0.1:9", timeout=value)


@pytest.mark.parametrize(
    "name",
    [
        "backoff_initial",
        "backoff_max",
        "backoff_jitter",
        "rate_limit_backoff_initial",
        "rate_limit_backoff_max",
        "rate_limit_backoff_jitter",
    ],
)
@pytest.mark.parametrize("value", [math.nan, math.inf, "1"])
def test_nan_infinite_or_non_numeric_backoff_fields_are_refused(name: str, value: Any) -> None:
    with pytest.raises(PlaidConfigurationError, match=name):
        RetryPolicy(**{name: value})
    zero: dict[str, Any] = {name: 0}
    assert RetryPolicy(**zero).max_attempts == 4  # zero stays allowed


# ---- stacked content codings ----------------------------------------------------------------------


def _gzip_layers(data: bytes, layers: int) -> bytes:
    for _ in range(layers):
        data = gzip.compress(data, 1)
    return data


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_thousands_of_content_codings_are_refused_as_a_decode_error(use_async: bool) -> None:
    layers = 3000
    body = _gzip_layers(OK, layers)
    headers = {"Content-Encoding": ", ".join(["gzip"] * layers)}
    with (
        hostile_server(answer(body, headers=headers)) as (url, _),
        pytest.raises(PlaidConnectionError) as caught,
    ):
        _refresh(url, use_async)
    assert caught.value.phase == "decode"
    assert "at most 4" in str(caught.value)


@pytest.mark.parametrize("layers", [1, 2, 4])
def test_up_to_four_stacked_codings_still_decode(layers: int) -> None:
    body = _gzip_layers(OK, layers)
    headers = {"Content-Encoding": ", ".join(["gzip"] * layers)}
    with hostile_server(answer(body, headers=headers)) as (url, _), _sync(url) as client:
        assert client.refresh(TOKEN).request_id == "attackOk0000001"


# ---- raw deflate across segments --------------------------------------------------------------------


def _raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


@pytest.mark.parametrize("wrapped", [False, True], ids=["raw", "zlib"])
@pytest.mark.parametrize("first", [1, 2, 3])
@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_deflate_decodes_whatever_the_segments(wrapped: bool, first: int, use_async: bool) -> None:
    body = zlib.compress(OK) if wrapped else _raw_deflate(OK)
    payload = head(headers={"Content-Encoding": "deflate", "Content-Length": str(len(body))})

    def behave(conn: socket.socket, request: bytes, stop: threading.Event) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.sendall(payload + body[:first])
        if stop.wait(0.1):
            return
        conn.sendall(body[first:])

    with hostile_server(behave) as (url, _):
        assert _refresh(url, use_async).request_id == "attackOk0000001"


# ---- JSON-escaped secrets in the reason phrase and headers ------------------------------------------

ESCAPED_SECRET = "".join(f"\\u{ord(ch):04x}" for ch in SECRET)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("where", ["reason", "content-type"])
def test_a_u_escaped_secret_in_the_reason_or_a_header_is_scrubbed(use_async: bool, where: str) -> None:
    if where == "reason":
        behaviour = answer(b"<html>x</html>", f"503 Down {ESCAPED_SECRET}", {"Content-Type": "text/html"})
    else:
        behaviour = answer(
            b"<html>x</html>", "502 Bad Gateway", {"Content-Type": f"text/html; x={ESCAPED_SECRET}"}
        )
    handler = _Collect()
    loggers = [logging.getLogger(name) for name in ("httpx", "httpcore")]
    old = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    try:
        with hostile_server(behaviour) as (url, _), pytest.raises(PlaidError) as caught:
            _refresh(url, use_async)
    finally:
        for logger, level in zip(loggers, old, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)
    error = caught.value
    shown = "\n".join([*handler.lines, str(error), repr(vars(error))])
    assert "receive_response_headers.complete" in shown
    for leak in (SECRET, ESCAPED_SECRET, ESCAPED_SECRET[:60], "\\u0030\\u0066\\u0035"):
        assert leak not in shown
    assert "[REDACTED]" in shown
