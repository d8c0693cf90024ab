"""The Plaid side's key server: POST /webhook_verification_key/get for the contract tests' signer.

The reference server (plaid_refresh.server) serves it when it is installed; otherwise a minimal ASGI
app answers in the spec's shapes (the 200 JWKPublicKey, and the spec's own 400 examples for a bad
credential or an unknown key id).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from plaid_refresh.spec import load_spec, resolve
from plaid_refresh.webhooks.signing import WebhookSigner

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

# The reference server's documented fake credentials, used when nothing else is configured.
FALLBACK_CLIENT_ID = "5f0bd2b1c0c0b2001234abcd"
FALLBACK_SECRET = "reference-server-sandbox-secret"


def default_credentials() -> tuple[str, str]:
    try:
        from plaid_refresh.server import DEFAULT_CLIENT_ID, DEFAULT_SECRET
    except ImportError:
        return FALLBACK_CLIENT_ID, FALLBACK_SECRET
    return DEFAULT_CLIENT_ID, DEFAULT_SECRET


def _spec_error(name: str) -> dict[str, Any]:
    examples = resolve({"$ref": "#/components/responses/BadRequest"})["content"]["application/json"][
        "examples"
    ]
    error: dict[str, Any] = dict(examples[name]["value"])
    return error


class MiniKeyServer:
    """Serves one signer's public key; everything else is a Plaid-shaped error."""

    def __init__(self, signer: WebhookSigner, client_id: str, secret: str) -> None:
        self._signer = signer
        self._credentials = (client_id, secret)
        load_spec()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (message := await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http":
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        status, answer = self._answer(scope, body)
        payload = json.dumps(answer).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    def _answer(self, scope: Scope, body: bytes) -> tuple[int, dict[str, Any]]:
        return answer_key_request(scope, body, self._credentials, self._lookup)

    def _lookup(self, key_id: str) -> dict[str, Any] | None:
        return self._signer.public_jwk() if key_id == self._signer.key_id else None


def answer_key_request(
    scope: Scope,
    body: bytes,
    credentials: tuple[str, str],
    lookup: Callable[[str], dict[str, Any] | None],
) -> tuple[int, dict[str, Any]]:
    """(status, body) of /webhook_verification_key/get, the key found by `lookup` (None: unknown kid)."""
    if scope["method"] != "POST" or scope["path"] != "/webhook_verification_key/get":
        not_found = resolve({"$ref": "#/components/responses/NotFound"})
        return 404, dict(not_found["content"]["application/json"]["examples"]["NOT_FOUND"]["value"])
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    if (headers.get("plaid-client-id"), headers.get("plaid-secret")) != credentials:
        return 400, _spec_error("INVALID_API_KEYS")
    try:
        request = json.loads(body)
        key_id = request["key_id"]
    except (ValueError, KeyError, TypeError):
        return 400, _spec_error("INVALID_BODY")
    key = lookup(key_id) if isinstance(key_id, str) else None
    if key is None:
        return 400, _spec_error("INVALID_WEBHOOK_VERIFICATION_KEY_ID")
    return 200, {"key": key, "request_id": "ContractKeySrv1"}


def key_server_app(signer: WebhookSigner, client_id: str, secret: str) -> tuple[str, Any]:
    """(kind, ASGI app) serving `signer`'s key: the reference server if available, else MiniKeyServer."""
    try:
        from plaid_refresh.server import ServerConfig, create_app
    except ImportError:
        return "mini key server", MiniKeyServer(signer, client_id, secret)
    config = ServerConfig(client_id=client_id, secret=secret, access_log=False, rate_limit=False)
    return "reference server", create_app(config, signer=signer)


class KeyRing:
    """The contract suite's key server: Plaid's signing keys as the suite's tests arrange them.

    Several kids at once, a key rotated in, a key expired (`expired_at` in the past), and an outage
    (`down`: "500" a Plaid API_ERROR, "502" a proxy's HTML page). Thread-safe enough for its use: the
    tests change it between deliveries, never during one. `fetches` counts key requests by kid.
    """

    def __init__(self, client_id: str, secret: str) -> None:
        self._credentials = (client_id, secret)
        self._keys: dict[str, tuple[WebhookSigner, int | None]] = {}
        self.down: str | None = None
        self.fetches: dict[str, int] = {}
        self.current = self.add()
        load_spec()

    def add(self, *, expired_at: int | None = None) -> WebhookSigner:
        """A new signing key, published under a fresh kid."""
        signer = WebhookSigner.generate(key_id=f"contract-{uuid.uuid4()}")
        self._keys[signer.key_id] = (signer, expired_at)
        return signer

    def rotate(self) -> WebhookSigner:
        """Plaid's rotation: a new current key; the old one stays published (not yet expired)."""
        self.current = self.add()
        return self.current

    def expire(self, signer: WebhookSigner, when: int) -> None:
        self._keys[signer.key_id] = (signer, when)

    def withdraw(self, signer: WebhookSigner) -> None:
        self._keys.pop(signer.key_id, None)

    def publish(self, signer: WebhookSigner, *, expired_at: int | None = None) -> None:
        self._keys[signer.key_id] = (signer, expired_at)

    def public_jwk(self, key_id: str) -> dict[str, Any] | None:
        found = self._keys.get(key_id)
        if found is None:
            return None
        signer, expired_at = found
        return {**signer.public_jwk(), "expired_at": expired_at}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http":
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        status, content_type, payload = self._answer(scope, body)
        headers = [(b"content-type", content_type), (b"content-length", str(len(payload)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    def _answer(self, scope: Scope, body: bytes) -> tuple[int, bytes, bytes]:
        if self.down == "502":
            return 502, b"text/html", b"<html><body><h1>502 Bad Gateway</h1></body></html>"
        if self.down is not None:
            error = {
                "error_type": "API_ERROR",
                "error_code": "INTERNAL_SERVER_ERROR",
                "error_message": "an unexpected error occurred",
                "display_message": None,
                "request_id": "ContractKeySrv5",
            }
            return 500, b"application/json", json.dumps(error).encode()
        status, answer = answer_key_request(scope, body, self._credentials, self._lookup)
        return status, b"application/json", json.dumps(answer).encode()

    def _lookup(self, key_id: str) -> dict[str, Any] | None:
        self.fetches[key_id] = self.fetches.get(key_id, 0) + 1
        return self.public_jwk(key_id)
