"""uvicorn's httptools protocol, except that bytes which are not valid HTTP get a Plaid error.

uvicorn answers a request its parser rejects (not HTTP at all, a bad request line or header line, a bad
Content-Length or chunk) itself, before any application runs, with a text/plain 400 "Invalid HTTP
request received.". `PlaidHttpToolsProtocol` answers the same 400 as a complete Plaid error instead:
INVALID_REQUEST / INVALID_BODY, built by `errors.error_body` from the spec's example like every other
error, with a fresh request_id, `Content-Type: application/json` and `Connection: close`.

Only that error path is overridden: parsing and every request the app sees are uvicorn's own code.
Serve with `uvicorn.run(app, http=PlaidHttpToolsProtocol, loop="uvloop", ...)`.
"""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from plaid_refresh.server.errors import error_body
from plaid_refresh.server.request_ids import RequestIds

INVALID_HTTP_CODE = "INVALID_BODY"
INVALID_HTTP_MESSAGE = "the request could not be parsed as HTTP/1.1"

_REQUEST_IDS = RequestIds()


def invalid_http_response(default_headers: list[tuple[bytes, bytes]]) -> bytes:
    """The whole HTTP/1.1 response (status line, headers, body) for a request that is not valid HTTP."""
    request_id = _REQUEST_IDS.next_id()
    status, body = error_body(INVALID_HTTP_CODE, request_id, INVALID_HTTP_MESSAGE)
    head = [STATUS_LINE[status]]
    for name, value in default_headers:
        head += [name, b": ", value, b"\r\n"]
    head += [
        b"content-type: application/json\r\n",
        b"content-length: ",
        str(len(body)).encode("ascii"),
        b"\r\n",
        b"connection: close\r\n",
        b"\r\n",
    ]
    return b"".join(head) + body


class PlaidHttpToolsProtocol(HttpToolsProtocol):
    """HttpToolsProtocol whose answer to unparseable HTTP is a Plaid error object (see the module doc)."""

    def send_400_response(self, msg: str) -> None:
        # uvicorn 0.54.0 calls this (only) from data_received on httptools.HttpParserError, after logging
        # `msg`. It relies on uvicorn's per-connection attributes `server_state` (default headers: date,
        # server) and `transport`, as uvicorn's own implementation does.
        self.transport.write(invalid_http_response(self.server_state.default_headers))
        self.transport.close()
