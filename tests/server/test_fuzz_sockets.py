"""A bounded, seeded fuzz run of the live server over real sockets: 10,000 malformed requests (broken JSON,
hostile values and keys, deep nesting, wrong headers, methods and paths, bytes that are not HTTP, oversized
heads, Upgrade requests), with the default connection limits on.

Every answer must be a complete Plaid body: JSON with a request_id, and for errors a spec-valid PlaidError
with every field. Zero 5xx. The run takes ~15-30 s and bounded memory (one request at a time)."""

from __future__ import annotations

import json
import random
import socket
from collections import Counter
from collections.abc import Callable, Iterator

import orjson
import pytest

from plaid_refresh.server import BUILTIN_TOKENS, DEFAULT_CLIENT_ID, DEFAULT_SECRET, ServerConfig, create_app
from plaid_refresh.server.testing import running_server
from tests.server.conftest import PLAID_ERROR, PLAID_ERROR_FIELDS
from tests.server.raw_http import Answer, connect, read_answer

REQUESTS = 10_000
SEED = 20261202
TOKENS = sorted(BUILTIN_TOKENS)
PATHS = ["/transactions/refresh", "/webhook_verification_key/get"]


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with running_server(create_app(ServerConfig(rate_limit=False, access_log=False))) as url:
        yield url


def _random_json(rng: random.Random, depth: int = 0) -> object:
    choice = rng.randrange(9 if depth < 4 else 6)
    if choice == 0:
        return None
    if choice == 1:
        return rng.choice([True, False])
    if choice == 2:
        return rng.choice([0, -1, 2**63, 2**64 + 1, 1.5, -0.0, 1e308])
    if choice == 3:
        return "".join(
            chr(rng.choice([rng.randrange(32, 127), rng.randrange(0x80, 0xD7FF)])) for _ in range(8)
        )
    if choice == 4:
        return rng.choice([*TOKENS, "", " ", "access-", "access-production-x", "a" * 5000, "\u0000"])
    if choice == 5:
        return rng.choice([DEFAULT_SECRET, DEFAULT_CLIENT_ID, "x" * 300])
    if choice == 6:
        return [_random_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    if choice == 7:
        return {_random_key(rng): _random_json(rng, depth + 1) for _ in range(rng.randrange(4))}
    return rng.choice([[[[[["x"]]]]], {"a": {"b": {"c": {"d": [1, 2, 3]}}}}])


def _random_key(rng: random.Random) -> str:
    return rng.choice(
        [
            "access_token",
            "key_id",
            "client_id",
            "secret",
            "options",
            DEFAULT_SECRET,
            "extra",
            "",
            "\u00e9",
            "x" * 100,
        ]
    )


DEEP = [
    b'{"access_token": ' + b"[" * 1000 + b'"x"' + b"]" * 1000 + b"}",
    b'{"key_id": ' + b'{"a":' * 1000 + b"1" + b"}" * 1000 + b"}",
    b'{"extra": ' + b"[" * 100 + b"]" * 100 + b', "access_token": "access-sandbox-healthy"}',
    b"[" * 5000 + b"]" * 5000,
]


def _body(rng: random.Random) -> bytes:
    """A JSON body: mostly objects with hostile values and keys, sometimes a non-object or deep nesting."""
    roll = rng.random()
    if roll < 0.03:
        return rng.choice(DEEP)
    if roll < 0.1:
        value: object = _random_json(rng)
    else:
        value = {_random_key(rng): _random_json(rng) for _ in range(rng.randrange(1, 5))}
    if isinstance(value, dict) and rng.random() < 0.5:
        value["access_token"] = rng.choice(TOKENS)
    # json, not orjson: it writes integers beyond 64 bits, as a hostile client may.
    return json.dumps(value, ensure_ascii=rng.random() < 0.5).encode("utf-8", "surrogatepass")


def _mutate_bytes(rng: random.Random, original: bytes) -> bytes:
    data = bytearray(original)
    for _ in range(rng.randrange(1, 6)):
        op = rng.randrange(4)
        at = rng.randrange(len(data) + 1)
        if op == 0 and data:
            data[min(at, len(data) - 1)] = rng.randrange(256)
        elif op == 1:
            data[at:at] = bytes([rng.randrange(256)]) * rng.randrange(1, 4)
        elif op == 2:
            del data[at : at + rng.randrange(1, 8)]
        else:
            del data[at:]
    return bytes(data)


def _headers(rng: random.Random, body: bytes) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"Host", b"127.0.0.1"),
        (b"Content-Type", b"application/json"),
        (b"Plaid-Version", b"2020-09-14"),
        (b"PLAID-CLIENT-ID", DEFAULT_CLIENT_ID.encode()),
        (b"PLAID-SECRET", DEFAULT_SECRET.encode()),
    ]
    if rng.random() < 0.3:  # break one header
        index = rng.randrange(1, len(headers))
        name, _ = headers[index]
        headers[index] = (
            name,
            rng.choice(
                [
                    b"",
                    b"text/plain",
                    b"application/json; charset=latin-1",
                    b"1999-01-01",
                    b"\xff\xfe",
                    b"x" * 300,
                ]
            ),
        )
    if rng.random() < 0.1:
        del headers[rng.randrange(1, len(headers))]
    if rng.random() < 0.05:
        headers.append(rng.choice([(b"Upgrade", b"h2c"), (b"Upgrade", b"websocket")]))
        headers.append((b"Connection", b"Upgrade"))
    headers.append((b"Content-Length", str(len(body)).encode()))
    return headers


def _framed(rng: random.Random) -> bytes:
    """A well-framed request (exact Content-Length) with malformed content: the connection is kept."""
    body = _body(rng)
    if rng.random() < 0.4:
        body = _mutate_bytes(rng, body)
    method = b"POST" if rng.random() < 0.9 else rng.choice([b"GET", b"PUT", b"DELETE", b"PATCH", b"OPTIONS"])
    path = (
        rng.choice(PATHS).encode()
        if rng.random() < 0.9
        else rng.choice([b"/", b"/nope", b"/%00", b"/a" * 300])
    )
    head = method + b" " + path + b" HTTP/1.1\r\n"
    head += b"".join(name + b": " + value + b"\r\n" for name, value in _headers(rng, body))
    return head + b"\r\n" + body


def _broken(rng: random.Random) -> bytes:
    """Bytes that break HTTP itself (each complete, so a server that waited for more would be a failure)."""
    kind = rng.randrange(4)
    if kind == 0:  # a mangled request line or header, then an explicit empty body
        head = _framed(rng).split(b"\r\n\r\n", 1)[0]
        head = b"\r\n".join(line for line in head.split(b"\r\n") if not line.startswith(b"Content-Length"))
        return _mutate_bytes(rng, head) + b"\r\nContent-Length: 0\r\n\r\n"
    if kind == 1:
        return rng.randbytes(rng.randrange(1, 200)) + b"\r\n\r\n"
    if kind == 2:
        return b"POST /transactions/refresh HTTP/1.1\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n"
    return (
        b"POST /transactions/refresh HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz"
        + rng.randbytes(8)
        + b"\r\n"
    )


def _check(answer: Answer, seen: Counter[tuple[int, str | None]]) -> None:
    assert answer.status < 500, answer.body[:300]
    assert answer.headers.get("content-type") == "application/json", answer.headers
    body = orjson.loads(answer.body)
    assert isinstance(body, dict), answer.body[:300]
    assert isinstance(body.get("request_id"), str), answer.body[:300]
    if answer.status >= 400:
        PLAID_ERROR.validate(body)
        assert set(body) >= PLAID_ERROR_FIELDS
    seen[answer.status, body.get("error_code")] += 1


def test_ten_thousand_malformed_requests_get_plaid_answers(base_url: str) -> None:
    rng = random.Random(SEED)
    seen: Counter[tuple[int, str | None]] = Counter()
    sock: socket.socket | None = None
    makers: list[Callable[[random.Random], bytes]] = [*([_framed] * 19), _broken]
    try:
        for _ in range(REQUESTS):
            make = rng.choice(makers)
            data = make(rng)
            if sock is None or make is _broken:
                if sock is not None:
                    sock.close()
                sock = connect(base_url)
            sock.sendall(data)
            answer = read_answer(sock)
            _check(answer, seen)
            if answer.headers.get("connection") == "close":
                sock.close()
                sock = None
    finally:
        if sock is not None:
            sock.close()
    assert sum(seen.values()) == REQUESTS
    codes = {code for _, code in seen}
    # The run reached every layer: HTTP, headers, JSON, schema, credentials, Items.
    assert {"INVALID_BODY", "INVALID_HEADERS", "INVALID_FIELD", "UNKNOWN_FIELDS", "NOT_FOUND"} <= codes, seen
    assert {"METHOD_NOT_ALLOWED", "INVALID_API_KEYS", "INCOMPATIBLE_API_VERSION"} <= codes, seen
    assert (200, None) in seen, seen
