"""The Plaid side's key server: POST /webhook_verification_key/get for the contract tests' signer.

The reference server (plaid_refresh.server) serves it when it is installed; otherwise a minimal ASGI
app answers in the spec's shapes (the 200 JWKPublicKey, and the spec's own 400 examples for a bad
credential or an unknown key id).
"""

from __future__ import annotations

import json
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
        if scope["method"] != "POST" or scope["path"] != "/webhook_verification_key/get":
            not_found = resolve({"$ref": "#/components/responses/NotFound"})
            return 404, dict(not_found["content"]["application/json"]["examples"]["NOT_FOUND"]["value"])
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if (headers.get("plaid-client-id"), headers.get("plaid-secret")) != self._credentials:
            return 400, _spec_error("INVALID_API_KEYS")
        try:
            request = json.loads(body)
            key_id = request["key_id"]
        except (ValueError, KeyError, TypeError):
            return 400, _spec_error("INVALID_BODY")
        if key_id != self._signer.key_id:
            return 400, _spec_error("INVALID_WEBHOOK_VERIFICATION_KEY_ID")
        return 200, {"key": self._signer.public_jwk(), "request_id": "ContractKeySrv1"}


def key_server_app(signer: WebhookSigner, client_id: str, secret: str) -> tuple[str, Any]:
    """(kind, ASGI app) serving `signer`'s key: the reference server if available, else MiniKeyServer."""
    try:
        from plaid_refresh.server import ServerConfig, create_app
    except ImportError:
        return "mini key server", MiniKeyServer(signer, client_id, secret)
    config = ServerConfig(client_id=client_id, secret=secret, access_log=False, rate_limit=False)
    return "reference server", create_app(config, signer=signer)
