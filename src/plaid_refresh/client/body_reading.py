"""Reading an answer's body within a cap on its decoded size.

httpx's own decoders inflate a whole network chunk at once: one 64 KB read of a `gzip, gzip` bomb
becomes gigabytes before any check could run. Here the raw bytes are inflated layer by layer with
zlib's `max_length`, so neither the raw nor any decoded layer ever grows past the cap (plus one
network read), whatever the server sends: a bomb, an endless chunked body, a 50 MB answer.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator, Iterator

import httpx

from plaid_refresh.client.config import DEFAULT_MAX_RESPONSE_BYTES
from plaid_refresh.client.errors import PlaidResponseTooLarge

__all__ = ["ACCEPT_ENCODING", "DEFAULT_MAX_RESPONSE_BYTES", "BodyReader", "aread_body", "read_body"]

ACCEPT_ENCODING = "gzip, deflate"
"""What the client asks for: exactly the codings it decodes here."""

MAX_CODINGS = 4
"""Most content codings one answer may stack (`gzip, gzip` is already unusual); more is refused."""

# A layer under another may be a little larger than the decoded body (incompressible data grows by a
# few bytes per 16 KB under gzip): intermediate layers get this much slack over the cap.
_LAYER_SLACK = 1 / 16


class _Layer:
    """One content coding, inflated with a bound on its total output."""

    def __init__(self, coding: str, limit: int) -> None:
        self.coding = coding
        self.limit = limit
        self.produced = 0
        self._first = True
        self._head = b""
        self._zlib = zlib.decompressobj(zlib.MAX_WBITS | 16 if coding == "gzip" else zlib.MAX_WBITS)

    def feed(self, data: bytes) -> bytes:
        if self._zlib.eof or not data:
            return b""  # bytes after the end of the stream are ignored, as httpx does
        if self.coding == "deflate" and self._first:
            # zlib-wrapped or raw is told by the 2-byte zlib header: wait for both bytes, whatever
            # the TCP segments (a lone first byte may pass zlib's check and fail on the second).
            data = self._head + data
            if len(data) < 2:
                self._head = data
                return b""
            self._head = b""
        try:
            out = self._zlib.decompress(data, self.limit - self.produced + 1)
        except zlib.error as exc:
            if self.coding == "deflate" and self._first:
                # "deflate" is sent both zlib-wrapped (RFC 9110) and raw by some servers.
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                self._first = False
                return self.feed(data)
            raise httpx.DecodingError(f"{self.coding} body does not decode: {exc}") from None
        self._first = False
        self.produced += len(out)
        if self.produced > self.limit:
            raise _OverCap(self.produced)
        return out

    def flush(self) -> bytes:
        if self._head:  # one byte in all: no deflate stream, wrapped or raw, is that short
            raise httpx.DecodingError("deflate body does not decode: it is 1 byte long")
        out = self._zlib.flush() if not self._zlib.eof else b""
        self.produced += len(out)
        if self.produced > self.limit:
            raise _OverCap(self.produced)
        return out


class _OverCap(Exception):
    def __init__(self, seen: int) -> None:
        self.seen = seen


def _framing(headers: httpx.Headers) -> tuple[str, str]:
    """Content-Length and Content-Encoding as `headers.get` gives them (repeated headers joined by
    ", "; "" when absent), found in one pass over the headers: cheaper, on every call, than a `get`
    per header (each scans them all; one for an absent header raises and catches KeyError)."""
    length: list[bytes] = []
    coding: list[bytes] = []
    for name, value in headers.raw:
        name = name.lower()
        if name == b"content-length":
            length.append(value)
        elif name == b"content-encoding":
            coding.append(value)
    if not length and not coding:
        return "", ""
    encoding = headers.encoding
    return b", ".join(length).decode(encoding), b", ".join(coding).decode(encoding)


def _layers(content_encoding: str, cap: int) -> list[_Layer]:
    """The codings to undo, outermost (last applied) first."""
    codings = [c.strip().lower() for c in content_encoding.split(",")]
    codings = ["gzip" if c == "x-gzip" else c for c in codings if c and c != "identity"]
    if len(codings) > MAX_CODINGS:
        # Each layer holds a zlib window (~40 KB): thousands of layers in a small body cost 100+ MB.
        raise httpx.DecodingError(
            f"Content-Encoding lists {len(codings)} codings; at most {MAX_CODINGS} are decoded"
        )
    unknown = [c for c in codings if c not in ("gzip", "deflate")]
    if unknown:
        raise httpx.DecodingError(
            f"unsupported Content-Encoding {unknown[0][:40]!r} (the client asked for {ACCEPT_ENCODING})"
        )
    slack = cap + int(cap * _LAYER_SLACK) + 1024
    layers = [_Layer(c, slack) for c in reversed(codings)]
    if layers:
        layers[-1].limit = cap
    return layers


class BodyReader:
    """Collects one answer's decoded body; raises PlaidResponseTooLarge past `cap` bytes."""

    def __init__(self, where: str, response: httpx.Response, cap: int) -> None:
        self._where = where
        self._response = response  # its content type is read only for an error
        self._cap = cap
        self._raw = 0
        self._parts: list[bytes] = []
        self._size = 0
        declared, content_encoding = _framing(response.headers)
        if declared.isdigit() and int(declared) > cap:
            raise self._too_large(f"declares Content-Length {int(declared)}")
        self._layers = _layers(content_encoding, cap) if content_encoding else []

    def feed(self, chunk: bytes) -> None:
        self._raw += len(chunk)
        if self._raw > self._cap + int(self._cap * _LAYER_SLACK) + 1024:
            raise self._too_large(f"sent more than {self._raw - len(chunk)} bytes on the wire")
        try:
            for layer in self._layers:
                chunk = layer.feed(chunk)
        except _OverCap as over:
            raise self._too_large(f"decodes to more than {over.seen - 1} bytes") from None
        self._add(chunk)

    def finish(self) -> bytes:
        try:
            for i, layer in enumerate(self._layers):
                tail = layer.flush()
                for inner in self._layers[i + 1 :]:
                    tail = inner.feed(tail)
                self._add(tail)
        except _OverCap as over:
            raise self._too_large(f"decodes to more than {over.seen - 1} bytes") from None
        return b"".join(self._parts)

    def whole(self, decoded: bytes) -> bytes:
        """A body that is already in memory, decoded: only the cap applies."""
        self._add(decoded)
        return decoded

    def _add(self, data: bytes) -> None:
        if data:
            self._size += len(data)
            if self._size > self._cap:
                raise self._too_large(f"decodes to more than {self._size - len(data)} bytes")
            self._parts.append(data)

    def _too_large(self, detail: str) -> PlaidResponseTooLarge:
        status = self._response.status_code
        return PlaidResponseTooLarge(
            f"{self._where} answered HTTP {status} with a body over the {self._cap}-byte cap "
            f"(max_response_bytes): it {detail}; the rest was not read",
            status_code=status,
            # Cut to 100 characters only once scrubbed (core._scrub_content_type): a cut secret shows.
            content_type=self._response.headers.get("content-type", "")[:4096],
            snippet="",
            limit=self._cap,
        )


def read_body(where: str, response: httpx.Response, cap: int) -> bytes:
    """The decoded body of a streamed response, read within `cap` (httpx.HTTPError on a bad stream)."""
    reader = BodyReader(where, response, cap)
    if response.is_stream_consumed:  # built in memory (httpx.MockTransport): already read and decoded
        return reader.whole(response.content)
    chunks: Iterator[bytes] = response.iter_raw()
    for chunk in chunks:
        reader.feed(chunk)
    return reader.finish()


async def aread_body(where: str, response: httpx.Response, cap: int) -> bytes:
    """The async twin of `read_body`."""
    reader = BodyReader(where, response, cap)
    if response.is_stream_consumed:
        return reader.whole(response.content)
    chunks: AsyncIterator[bytes] = response.aiter_raw()
    async for chunk in chunks:
        reader.feed(chunk)
    return reader.finish()
