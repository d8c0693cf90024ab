"""body_reading's header handling: Content-Length and Content-Encoding are found in one pass over
the raw headers (a call's hot path), and must read exactly as httpx's `Headers.get` reads them."""

from __future__ import annotations

import gzip

import httpx
import pytest

from plaid_refresh import PlaidResponseTooLarge
from plaid_refresh.client.body_reading import _framing, read_body

CAP = 64 * 1024

HEADER_LISTS = [
    [],
    [(b"content-type", b"application/json")],
    [(b"Content-Length", b"34"), (b"Content-Type", b"application/json")],
    [(b"CONTENT-ENCODING", b"gzip"), (b"content-length", b"10")],
    [(b"content-encoding", b"gzip"), (b"Content-Encoding", b"deflate")],  # repeated: joined by ", "
    [(b"content-length", b"10"), (b"content-length", b"12")],
    [(b"content-encoding", b"identity")],
    [(b"content-encoding", "gzïp".encode())],  # not ASCII: decoded as httpx decodes the headers
    [(b"content-encoding", b"\xff\xfe")],  # not UTF-8 either
]


@pytest.mark.parametrize("raw", HEADER_LISTS)
def test_framing_reads_the_headers_as_httpx_get_does(raw: list[tuple[bytes, bytes]]) -> None:
    headers = httpx.Headers(raw)
    assert _framing(headers) == (headers.get("content-length", ""), headers.get("content-encoding", ""))


def _streamed(headers: list[tuple[bytes, bytes]], body: bytes) -> httpx.Response:
    return httpx.Response(200, headers=headers, stream=httpx.ByteStream(body))


def test_codings_in_two_header_lines_are_both_undone() -> None:
    body = b'{"request_id": "r"}'
    twice = gzip.compress(gzip.compress(body))
    response = _streamed([(b"content-encoding", b"gzip"), (b"content-encoding", b"gzip")], twice)
    assert read_body("POST /x", response, CAP) == body


def test_a_plain_body_is_read_whole_and_a_plain_body_over_the_cap_is_refused() -> None:
    body = b"x" * 5000
    assert read_body("POST /x", _streamed([(b"content-length", b"5000")], body), CAP) == body
    with pytest.raises(PlaidResponseTooLarge) as caught:
        read_body("POST /x", _streamed([(b"content-type", b"text/html")], b"x" * (CAP + 1)), CAP)
    assert caught.value.content_type == "text/html"  # read from the response when the error is built
    assert caught.value.status_code == 200
    assert "decodes to more than" in str(caught.value)


def test_a_declared_length_over_the_cap_is_refused_before_reading() -> None:
    response = _streamed([(b"content-length", str(CAP + 1).encode())], b"")
    with pytest.raises(PlaidResponseTooLarge, match=f"declares Content-Length {CAP + 1}"):
        read_body("POST /x", response, CAP)
