"""The mutation catalogue: realistic broken servers, each the reference server behind a wrapper that makes one
mistake real stubs, proxies and reimplementations make. `make mutation` serves each on 127.0.0.1 and runs the
unchanged suite against it BY URL (tests/contract_suite/mutation.py).

Every mutant wraps `served_reference()`: the reference server as a team would run it for this suite, with
rate limiting on for the rate-limit Item only (PLAID_TOKEN_RATE_LIMIT) so that generated cases are not a wall
of 429s. Written from the families of mistakes and Plaid's documented behaviour, not from the suite's checks.
"""

from __future__ import annotations

import base64
import collections
import contextvars
import json
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import plaid_refresh.server as builtin
from plaid_refresh.server import DEFAULT_CLIENT_ID, DEFAULT_SECRET, ServerConfig, create_app
from plaid_refresh.server.errors import error_body
from plaid_refresh.server.items import Account, Item
from plaid_refresh.webhooks.delivery import RetryPolicy, WebhookOutbox
from plaid_refresh.webhooks.signing import WebhookSigner
from tests.contract_suite.broken import Exchange, Message, Receive, Scope, Send, Wrapped

RATE_TOKEN = builtin.TOKEN_USER_GOOD
_BUILTIN_TOKENS = frozenset(
    {
        builtin.TOKEN_HEALTHY,
        builtin.TOKEN_USER_GOOD,
        builtin.TOKEN_TRANSACTIONS_DYNAMIC,
        builtin.TOKEN_CAPITAL_ONE_CREDIT,
        builtin.TOKEN_NO_TRANSACTIONS,
        builtin.TOKEN_ITEM_LOGIN_REQUIRED,
        builtin.TOKEN_INSTITUTION_DOWN,
    }
)


WEBHOOK_TOKEN = "access-sandbox-mutation-webhooks"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# Where the served reference delivers the webhook Item's webhooks: the suite listens there (one port per
# mutant run, set by mutation.py before it builds the mutant).
WEBHOOK_PORT: contextvars.ContextVar[int] = contextvars.ContextVar("WEBHOOK_PORT", default=0)


class TokenRouter:
    """Refreshes of the rate-limit Item go to a rate-limited reference server, everything else to one
    without limits; both serve the same webhook key. The open one also has an Item (WEBHOOK_TOKEN) whose
    webhooks it delivers to 127.0.0.1:WEBHOOK_PORT, signed with `webhook_signer` (default: the served key)."""

    def __init__(self, *, item_limit: int = 2, webhook_signer: WebhookSigner | None = None) -> None:
        self.signer = WebhookSigner.generate()
        item = Item(
            access_token=WEBHOOK_TOKEN,
            item_id="item-mutation-webhooks",
            institution_id="ins_109508",
            accounts=(Account("acc-checking", "depository", "checking", "Checking"),),
            webhook=f"http://127.0.0.1:{WEBHOOK_PORT.get()}/webhook",
            changes="dynamic",
        )
        self.open = create_app(
            ServerConfig(rate_limit=False, access_log=False, seed=0),
            signer=self.signer,
            items=[item],
            webhook_delivery=RetryPolicy(base_delay=0.2, factor=1.0, max_attempts=3),
        )
        if webhook_signer is not None:  # webhooks signed with another key than the one served
            self.open.outbox = WebhookOutbox(webhook_signer, policy=RetryPolicy(base_delay=0.2, factor=1.0))
            self.open._sink = self.open.outbox.enqueue
        self.limited = create_app(
            ServerConfig(
                rate_limit=True,
                item_limit_per_minute=item_limit,
                client_limit_per_minute=1_000_000,
                access_log=False,
                seed=0,
            ),
            signer=self.signer,
        )
        self._needle = json.dumps(RATE_TOKEN).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "lifespan"
        ):  # the open server's outbox delivers webhooks; the limited one has none
            await self.open(scope, receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        done = False

        async def replay() -> Message:
            nonlocal done
            if done:
                return {"type": "http.disconnect"}
            done = True
            return {"type": "http.request", "body": body, "more_body": False}

        app = self.limited if self._needle in body else self.open
        await app(scope, replay, send)


def served_reference(**options: Any) -> TokenRouter:
    return TokenRouter(**options)


@dataclass(frozen=True)
class Mutant:
    name: str
    family: str
    mistake: str
    build: Callable[[], Any]
    equivalent: str | None = None  # why no contract can tell it from correct behaviour


CATALOGUE: dict[str, Mutant] = {}


def mutant(family: str, mistake: str, *, equivalent: str | None = None) -> Callable[[Callable[[], Any]], Any]:
    def register(build: Callable[[], Any]) -> Callable[[], Any]:
        CATALOGUE[build.__name__] = Mutant(build.__name__, family, mistake, build, equivalent)
        return build

    return register


def edit(
    on_request: Callable[[Exchange], None] | None = None,
    on_response: Callable[[Exchange], None] | None = None,
) -> Wrapped:
    return Wrapped(served_reference(), on_request=on_request, on_response=on_response)


# ---- helpers ----------------------------------------------------------------------------------------------


def _body(exchange: Exchange) -> dict[str, Any] | None:
    data = exchange.response_json()
    return data if isinstance(data, dict) else None


def _set(exchange: Exchange, value: Any) -> None:
    exchange.response_body = json.dumps(value).encode()


def _code(exchange: Exchange) -> str | None:
    data = _body(exchange)
    return data.get("error_code") if data and exchange.status >= 400 else None


def _replace_error(exchange: Exchange, code: str) -> None:
    data = _body(exchange) or {}
    status, body = error_body(code, str(data.get("request_id", "req")))
    exchange.status = status
    exchange.response_body = body


def _request(exchange: Exchange) -> dict[str, Any]:
    data = exchange.request_json()
    return data if isinstance(data, dict) else {}


def _keys_wrong(exchange: Exchange) -> bool:
    sent = _request(exchange)
    client_id = sent.get("client_id", exchange.headers.get("plaid-client-id"))
    secret = sent.get("secret", exchange.headers.get("plaid-secret"))
    return (client_id, secret) != (DEFAULT_CLIENT_ID, DEFAULT_SECRET)


def _rewrite_request(exchange: Exchange, data: dict[str, Any]) -> None:
    exchange.body = json.dumps(data).encode()


# ---- status codes ---------------------------------------------------------------------------------------


@mutant("status code", "INVALID_REQUEST errors answered 422 (a framework habit)")
def invalid_request_as_422() -> Any:
    def change(x: Exchange) -> None:
        if (_body(x) or {}).get("error_type") == "INVALID_REQUEST" and x.status == 400:
            x.status = 422

    return edit(on_response=change)


@mutant("status code", "bad API keys answered 401")
def api_keys_as_401() -> Any:
    return edit(on_response=lambda x: setattr(x, "status", 401) if _code(x) == "INVALID_API_KEYS" else None)


@mutant("status code", "TRANSACTIONS_REFRESH_LIMIT answered 400 instead of 429")
def rate_limit_as_400() -> Any:
    return edit(on_response=lambda x: setattr(x, "status", 400) if x.status == 429 else None)


@mutant("status code", "unknown routes answered 400 instead of 404")
def not_found_as_400() -> Any:
    return edit(on_response=lambda x: setattr(x, "status", 400) if _code(x) == "NOT_FOUND" else None)


@mutant("status code", "INSTITUTION_DOWN answered 503 (the institution is 'unavailable')")
def institution_down_as_503() -> Any:
    return edit(on_response=lambda x: setattr(x, "status", 503) if _code(x) == "INSTITUTION_DOWN" else None)


@mutant("status code", "INVALID_ACCESS_TOKEN labelled error_type INVALID_REQUEST")
def token_error_wrong_type() -> Any:
    def change(x: Exchange) -> None:
        data = _body(x)
        if data and data.get("error_code") == "INVALID_ACCESS_TOKEN":
            data["error_type"] = "INVALID_REQUEST"
            _set(x, data)

    return edit(on_response=change)


# ---- check order ----------------------------------------------------------------------------------------


@mutant("check order", "the body is parsed before the Content-Type is checked")
def body_before_content_type() -> Any:
    def change(x: Exchange) -> None:
        if _code(x) == "INVALID_HEADERS" and x.request_json() is None and x.body:
            _replace_error(x, "INVALID_BODY")

    return edit(on_response=change)


@mutant("check order", "the access token is looked up before the API keys")
def token_before_keys() -> Any:
    def change(x: Exchange) -> None:
        token = _request(x).get("access_token")
        if _code(x) == "INVALID_API_KEYS" and isinstance(token, str) and token not in _BUILTIN_TOKENS:
            _replace_error(x, "INVALID_ACCESS_TOKEN")

    return edit(on_response=change)


@mutant("check order", "API keys are checked before the body's schema")
def keys_before_schema() -> Any:
    def change(x: Exchange) -> None:
        if _code(x) in ("MISSING_FIELDS", "UNKNOWN_FIELDS", "INVALID_FIELD") and _keys_wrong(x):
            _replace_error(x, "INVALID_API_KEYS")

    return edit(on_response=change)


@mutant("check order", "the body is parsed before Plaid-Version is checked")
def body_before_version() -> Any:
    def change(x: Exchange) -> None:
        if _code(x) == "INCOMPATIBLE_API_VERSION" and x.request_json() is None:
            _replace_error(x, "INVALID_BODY")

    return edit(on_response=change)


# ---- request_id -----------------------------------------------------------------------------------------


@mutant("request_id", "successes carry no request_id (only errors do)")
def no_request_id_on_success() -> Any:
    def change(x: Exchange) -> None:
        data = _body(x)
        if data is not None and x.status == 200:
            data.pop("request_id", None)
            _set(x, data)

    return edit(on_response=change)


@mutant("request_id", "one constant request_id for every answer")
def constant_request_id() -> Any:
    def change(x: Exchange) -> None:
        data = _body(x)
        if data is not None and "request_id" in data:
            data["request_id"] = "AAAAAAAAAAAAAAA"
            _set(x, data)

    return edit(on_response=change)


@mutant("request_id", "a caching proxy answers a repeated refresh with the cached answer (same request_id)")
def cached_refresh_answers() -> Any:
    cache: dict[bytes, tuple[int, bytes]] = {}

    def change(x: Exchange) -> None:
        if x.path != "/transactions/refresh" or x.status != 200:
            return
        key = x.body + x.headers.get("plaid-secret", "").encode()
        if key in cache:
            x.status, x.response_body = cache[key]
        else:
            cache[key] = (x.status, x.response_body)

    return edit(on_response=change)


@mutant("request_id", "error answers carry an empty request_id")
def empty_request_id_on_errors() -> Any:
    def change(x: Exchange) -> None:
        data = _body(x)
        if data is not None and x.status >= 400:
            data["request_id"] = ""
            _set(x, data)

    return edit(on_response=change)


@mutant("request_id", "request ids counted per process from 1, restarting at every worker (two workers)")
def request_ids_repeat_across_workers() -> Any:
    counters = [0, 0]

    def change(x: Exchange) -> None:
        data = _body(x)
        if data is not None and "request_id" in data:
            worker = len(x.body) % 2
            counters[worker] += 1
            data["request_id"] = f"req{counters[worker]:012d}"
            _set(x, data)

    return edit(on_response=change)


# ---- echoes of sensitive values -------------------------------------------------------------------------


@mutant("echoes", "error messages repeat the PLAID-SECRET header")
def echoes_secret() -> Any:
    def change(x: Exchange) -> None:
        data = _body(x)
        if data is not None and x.status >= 400:
            data["error_message"] = f"{data.get('error_message')} (secret: {x.headers.get('plaid-secret')})"
            _set(x, data)

    return edit(on_response=change)


@mutant("echoes", "error messages repeat the PLAID-SECRET header, every character \\u-escaped")
def echoes_secret_escaped() -> Any:
    def change(x: Exchange) -> None:
        data = _body(x)
        if data is not None and x.status >= 400:
            escaped = "".join(f"\\u{ord(char):04x}" for char in x.headers.get("plaid-secret", ""))
            data["error_message"] = f"{data.get('error_message')} (secret: ESCAPED)"
            x.response_body = json.dumps(data).replace("ESCAPED", escaped).encode()

    return edit(on_response=change)


@mutant("echoes", "INVALID_ACCESS_TOKEN messages quote the token")
def echoes_access_token() -> Any:
    def change(x: Exchange) -> None:
        data = _body(x)
        if data is not None and data.get("error_code") == "INVALID_ACCESS_TOKEN":
            data["error_message"] = f"no Item for {_request(x).get('access_token')}"
            _set(x, data)

    return edit(on_response=change)


@mutant("echoes", "a debug header carries base64(client_id:secret)")
def debug_header_with_credentials() -> Any:
    def change(x: Exchange) -> None:
        raw = f"{x.headers.get('plaid-client-id', '')}:{x.headers.get('plaid-secret', '')}"
        x.response_headers["x-debug-auth"] = base64.b64encode(raw.encode()).decode()

    return edit(on_response=change)


@mutant("echoes", "documentation_url carries the request's token, percent-encoded")
def token_in_documentation_url() -> Any:
    def change(x: Exchange) -> None:
        from urllib.parse import quote

        data = _body(x)
        token = _request(x).get("access_token")
        if data is not None and x.status >= 400 and isinstance(token, str):
            data["documentation_url"] = f"https://plaid.com/docs/errors/?t={quote(token, safe='')}"
            _set(x, data)

    return edit(on_response=change)


@mutant("echoes", "error messages mention the previous request's access token (state shared between calls)")
def previous_token_in_messages() -> Any:
    last: list[str] = [""]

    def change(x: Exchange) -> None:
        data = _body(x)
        if data is not None and x.status >= 400 and last[0]:
            data["error_message"] = f"{data.get('error_message')} (last item: {last[0]})"
            _set(x, data)
        token = _request(x).get("access_token")
        if isinstance(token, str):
            last[0] = token

    return edit(on_response=change)


# ---- media type and encoding ----------------------------------------------------------------------------


@mutant("media type", "JSON answers labelled text/plain")
def text_plain_answers() -> Any:
    return edit(on_response=lambda x: x.response_headers.__setitem__("content-type", "text/plain"))


@mutant("media type", "JSON answers declare charset=iso-8859-1")
def latin1_charset() -> Any:
    return edit(
        on_response=lambda x: x.response_headers.__setitem__(
            "content-type", "application/json; charset=iso-8859-1"
        )
    )


@mutant("media type", "errors answered as application/problem+json")
def problem_json_errors() -> Any:
    def change(x: Exchange) -> None:
        if x.status >= 400:
            x.response_headers["content-type"] = "application/problem+json"

    return edit(on_response=change)


@mutant("media type", "bodies start with a UTF-8 byte-order mark")
def bom_bodies() -> Any:
    return edit(on_response=lambda x: setattr(x, "response_body", b"\xef\xbb\xbf" + x.response_body))


@mutant("media type", "success bodies repeat the request_id key (a hand-built JSON writer)")
def duplicate_keys_in_success() -> Any:
    def change(x: Exchange) -> None:
        data = _body(x)
        if x.status == 200 and data and "request_id" in data:
            rid = json.dumps(data["request_id"])
            x.response_body = f'{{"request_id": {rid}, "request_id": {rid}}}'.encode()

    return edit(on_response=change)


# ---- rate limits ----------------------------------------------------------------------------------------


@mutant("rate limit", "3 refreshes per Item per minute instead of 2 (off by one)")
def rate_limit_three() -> Any:
    return Wrapped(served_reference(item_limit=3))


@mutant("rate limit", "1 refresh per Item per minute instead of 2 (off by one)")
def rate_limit_one() -> Any:
    return Wrapped(served_reference(item_limit=1))


@mutant("rate limit", "refused calls (wrong keys) count towards the Item's limit")
def refused_calls_counted() -> Any:
    inner = served_reference()
    calls: dict[str, collections.deque[float]] = {}

    def change(x: Exchange) -> None:
        token = _request(x).get("access_token")
        if token != RATE_TOKEN or x.path != "/transactions/refresh":
            return
        window = calls.setdefault(token, collections.deque())
        now = time.monotonic()
        while window and window[0] <= now - 60:
            window.popleft()
        window.append(now)
        if len(window) > 2 and x.status == 200:
            _replace_error(x, "TRANSACTIONS_REFRESH_LIMIT")

    return Wrapped(inner, on_response=change)


@mutant("rate limit", "the limit is per client: once one Item is limited, every Item is")
def limit_per_client() -> Any:
    limited_until = [0.0]

    def change(x: Exchange) -> None:
        if x.path != "/transactions/refresh":
            return
        if _code(x) == "TRANSACTIONS_REFRESH_LIMIT":
            limited_until[0] = time.monotonic() + 60
        elif x.status == 200 and time.monotonic() < limited_until[0]:
            _replace_error(x, "TRANSACTIONS_REFRESH_LIMIT")

    return edit(on_response=change)


@mutant("rate limit", "429 with a generic RATE_LIMIT code instead of TRANSACTIONS_REFRESH_LIMIT")
def generic_rate_limit_code() -> Any:
    def change(x: Exchange) -> None:
        data = _body(x)
        if data and data.get("error_code") == "TRANSACTIONS_REFRESH_LIMIT":
            data["error_code"] = "RATE_LIMIT"
            _set(x, data)

    return edit(on_response=change)


# ---- state between calls --------------------------------------------------------------------------------


@mutant("state", "an Item error sticks: after ITEM_LOGIN_REQUIRED every refresh of the client gets it")
def sticky_item_error() -> Any:
    seen = [False]

    def change(x: Exchange) -> None:
        if _code(x) == "ITEM_LOGIN_REQUIRED":
            seen[0] = True
        elif seen[0] and x.path == "/transactions/refresh" and x.status == 200:
            _replace_error(x, "ITEM_LOGIN_REQUIRED")

    return edit(on_response=change)


@mutant("state", "a client id that authenticated once is trusted with any secret afterwards")
def authenticated_once_trusted() -> Any:
    trusted: set[str] = set()

    def change(x: Exchange) -> None:
        client_id = x.headers.get("plaid-client-id", "")
        if client_id in trusted and "plaid-secret" in x.headers:
            x.headers["plaid-secret"] = DEFAULT_SECRET
        elif not _keys_wrong(x):
            trusted.add(client_id)

    return edit(on_request=change)


# ---- accepting what must be rejected --------------------------------------------------------------------


@mutant("acceptance", "unknown body fields are ignored")
def unknown_fields_ignored() -> Any:
    def change(x: Exchange) -> None:
        data = x.request_json()
        if isinstance(data, dict):
            keep = {"client_id", "secret", "access_token", "key_id"}
            _rewrite_request(x, {k: v for k, v in data.items() if k in keep})

    return edit(on_request=change)


@mutant("acceptance", "the webhook-key endpoint ignores unknown fields (the refresh endpoint does not)")
def key_get_unknown_fields_ignored() -> Any:
    def change(x: Exchange) -> None:
        data = x.request_json()
        if isinstance(data, dict) and x.path == "/webhook_verification_key/get":
            _rewrite_request(x, {k: v for k, v in data.items() if k in {"client_id", "secret", "key_id"}})

    return edit(on_request=change)


@mutant("acceptance", "null fields are treated as absent")
def nulls_as_absent() -> Any:
    def change(x: Exchange) -> None:
        data = x.request_json()
        if isinstance(data, dict) and any(v is None for v in data.values()):
            _rewrite_request(x, {k: v for k, v in data.items() if v is not None})

    return edit(on_request=change)


@mutant("acceptance", "access tokens are trimmed and lower-cased before the lookup")
def token_normalised() -> Any:
    def change(x: Exchange) -> None:
        data = x.request_json()
        if isinstance(data, dict) and isinstance(data.get("access_token"), str):
            data["access_token"] = data["access_token"].strip().lower()
            _rewrite_request(x, data)

    return edit(on_request=change)


@mutant("acceptance", "a secret is accepted when it starts with the right one")
def secret_prefix_match() -> Any:
    def change(x: Exchange) -> None:
        if x.headers.get("plaid-secret", "").startswith(DEFAULT_SECRET):
            x.headers["plaid-secret"] = DEFAULT_SECRET

    return edit(on_request=change)


@mutant("acceptance", "secrets are compared case-insensitively")
def secret_case_insensitive() -> Any:
    def change(x: Exchange) -> None:
        if x.headers.get("plaid-secret", "").lower() == DEFAULT_SECRET.lower():
            x.headers["plaid-secret"] = DEFAULT_SECRET

    return edit(on_request=change)


@mutant("acceptance", "a missing PLAID-SECRET header falls back to a configured default")
def missing_secret_defaulted() -> Any:
    def change(x: Exchange) -> None:
        if "plaid-secret" not in x.headers and "secret" not in _request(x):
            x.headers["plaid-secret"] = DEFAULT_SECRET

    return edit(on_request=change)


@mutant("acceptance", "Plaid-Version is matched by prefix")
def version_prefix_match() -> Any:
    def change(x: Exchange) -> None:
        version = x.headers.get("plaid-version")
        if version and version.startswith("2020-09-14"):
            x.headers["plaid-version"] = "2020-09-14"

    return edit(on_request=change)


@mutant("acceptance", "any Content-Type starting with application/json is accepted")
def content_type_prefix_match() -> Any:
    def change(x: Exchange) -> None:
        if x.headers.get("content-type", "").lower().startswith("application/json"):
            x.headers["content-type"] = "application/json"

    return edit(on_request=change)


@mutant("acceptance", "the Content-Type value is compared case-sensitively (Application/JSON refused)")
def content_type_case_sensitive() -> Any:
    def change(x: Exchange) -> None:
        value = x.headers.get("content-type")
        if value is not None and not value.startswith("application/json"):
            x.headers["content-type"] = "text/plain"

    return edit(on_request=change)


@mutant("acceptance", "GET is served like POST")
def get_served_as_post() -> Any:
    def change(x: Exchange) -> None:
        if x.method == "GET":
            x.method = "POST"

    return edit(on_request=change)


# ---- body credentials -----------------------------------------------------------------------------------


@mutant("body credentials", "body client_id/secret are ignored (only headers count)")
def body_credentials_ignored() -> Any:
    def change(x: Exchange) -> None:
        data = x.request_json()
        if isinstance(data, dict) and ("client_id" in data or "secret" in data):
            data.pop("client_id", None)
            data.pop("secret", None)
            _rewrite_request(x, data)

    return edit(on_request=change)


@mutant("body credentials", "headers win over body credentials")
def headers_win_over_body() -> Any:
    def change(x: Exchange) -> None:
        data = x.request_json()
        if isinstance(data, dict) and "plaid-secret" in x.headers and "secret" in data:
            data.pop("client_id", None)
            data.pop("secret", None)
            _rewrite_request(x, data)

    return edit(on_request=change)


@mutant("body credentials", "body credentials that are not strings are dropped instead of refused")
def non_string_credentials_dropped() -> Any:
    def change(x: Exchange) -> None:
        data = x.request_json()
        if isinstance(data, dict):
            bad = [k for k in ("client_id", "secret") if k in data and not isinstance(data[k], str)]
            if bad:
                _rewrite_request(x, {k: v for k, v in data.items() if k not in bad})

    return edit(on_request=change)


# ---- huge and hostile input -----------------------------------------------------------------------------


class _Crashes:
    """A server that parses the body with Python's json module first and lets exceptions become 500s."""

    def __init__(self, limit: int | None = None) -> None:
        self.limit = limit

    def __call__(self, x: Exchange) -> None:
        try:
            data = json.loads(x.body)
            if self.limit is not None and isinstance(data, dict):
                token = data.get("access_token") or data.get("key_id")
                if isinstance(token, str) and len(token) > self.limit:
                    raise MemoryError("token buffer")
        except (RecursionError, MemoryError):
            x.status = 500
            x.response_headers = {"content-type": "text/html"}
            x.response_body = b"<h1>Internal Server Error</h1>"
        except ValueError:
            pass


@mutant("hostile input", "deeply nested JSON crashes the parser into an HTML 500")
def crash_on_deep_json() -> Any:
    return edit(on_response=_Crashes())


@mutant("hostile input", "access tokens over 4 KiB overflow a buffer into a 500")
def crash_on_long_token() -> Any:
    return edit(on_response=_Crashes(limit=4096))


@mutant("hostile input", "bodies over 32 KiB are cut and answered 200 by a proxy")
def long_bodies_accepted() -> Any:
    def change(x: Exchange) -> None:
        if len(x.body) > 32 * 1024:
            x.status = 200
            _set(x, {"request_id": "proxy" + str(len(x.body))[:10]})

    return edit(on_response=change)


# ---- webhook key ----------------------------------------------------------------------------------------


def _key_edit(change: Callable[[dict[str, Any]], None]) -> Wrapped:
    def on_response(x: Exchange) -> None:
        data = _body(x)
        if data and x.status == 200 and isinstance(data.get("key"), dict):
            change(data["key"])
            _set(x, data)

    return edit(on_response=on_response)


@mutant("webhook key", "the served key has expired (expired_at in the past)")
def expired_key_served() -> Any:
    return _key_edit(lambda key: key.__setitem__("expired_at", int(time.time()) - 3600))


@mutant("webhook key", "the key endpoint serves its key for any key_id")
def key_for_any_id() -> Any:
    holder: dict[str, Any] = {}

    def change(x: Exchange) -> None:
        data = _body(x)
        if x.path != "/webhook_verification_key/get":
            return
        if x.status == 200 and data:
            holder["key"] = data["key"]
        elif _code(x) == "INVALID_WEBHOOK_VERIFICATION_KEY_ID" and "key" in holder:
            x.status = 200
            _set(x, {"key": holder["key"], "request_id": (data or {}).get("request_id", "r")})

    return edit(on_response=change)


@mutant("webhook key", "the served JWK includes the private scalar d")
def private_key_leaked() -> Any:
    return _key_edit(
        lambda key: key.__setitem__("d", base64.urlsafe_b64encode(b"\x01" * 32).decode().rstrip("="))
    )


@mutant("webhook key", "the key is re-generated on every call (a stub with no key store)")
def key_regenerated_per_call() -> Any:
    def change(key: dict[str, Any]) -> None:
        fresh = WebhookSigner.generate(key_id=key["kid"]).public_jwk()
        key.update({"x": fresh["x"], "y": fresh["y"]})

    return _key_edit(change)


@mutant("webhook key", "a stale key (the one before a rotation) is served under the current key id")
def stale_key_served() -> Any:
    old = WebhookSigner.generate().public_jwk()
    return _key_edit(lambda key: key.update({"x": old["x"], "y": old["y"]}))


@mutant("webhook key", "webhooks are signed with a rotated key the key endpoint does not serve")
def webhooks_signed_with_unserved_key() -> Any:
    return Wrapped(served_reference(webhook_signer=WebhookSigner.generate()))


@mutant("webhook key", "MISSING_FIELDS on the key endpoint answered INVALID_FIELD")
def key_get_wrong_missing_code() -> Any:
    def change(x: Exchange) -> None:
        if x.path == "/webhook_verification_key/get" and _code(x) == "MISSING_FIELDS":
            _replace_error(x, "INVALID_FIELD")

    return edit(on_response=change)


# ---- a 200 with the wrong body --------------------------------------------------------------------------


@mutant("wrong 200", "INVALID_ACCESS_TOKEN answered 200 with the error object as body")
def error_as_200() -> Any:
    return edit(
        on_response=lambda x: setattr(x, "status", 200) if _code(x) == "INVALID_ACCESS_TOKEN" else None
    )


@mutant("wrong 200", "item errors answered 200 {} (a stub that only knows success)")
def item_errors_as_empty_200() -> Any:
    def change(x: Exchange) -> None:
        if (_body(x) or {}).get("error_type") in ("ITEM_ERROR", "INSTITUTION_ERROR"):
            x.status = 200
            _set(x, {"request_id": (_body(x) or {}).get("request_id")})

    return edit(on_response=change)


@mutant("wrong 200", "successes wrapped in a list")
def success_in_a_list() -> Any:
    def change(x: Exchange) -> None:
        if x.status == 200:
            x.response_body = b"[" + x.response_body + b"]"

    return edit(on_response=change)


# ---- equivalent mutants (listed, never counted as caught) -----------------------------------------------


@mutant(
    "equivalent",
    "answers' JSON keys in reverse order",
    equivalent="JSON objects are unordered (RFC 8259): no client may depend on key order",
)
def keys_reordered() -> Any:
    def change(x: Exchange) -> None:
        data = _body(x)
        if data is not None:
            _set(x, dict(reversed(list(data.items()))))

    return edit(on_response=change)


@mutant(
    "equivalent",
    "surrounding whitespace stripped from request header values",
    equivalent="HTTP/1.1 strips whitespace around field values before any server sees them (RFC 9110 5.5)",
)
def header_values_stripped() -> Any:
    def change(x: Exchange) -> None:
        x.headers = {k: v.strip() for k, v in x.headers.items()}

    return edit(on_request=change)


def unbroken() -> Any:
    """The served reference through the same wrapper, unchanged: the suite must pass it by URL."""
    return edit()


async def answers_200_to_everything(scope: Scope, receive: Receive, send: Send) -> None:
    """The laziest stub: 200 `{"request_id": ...}` to every request (docs/contract.md shows the suite)."""
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body", False):
        pass
    body = json.dumps({"request_id": f"stub{time.monotonic_ns() % 10**11:011d}"}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
