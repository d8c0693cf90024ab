"""Checks across the run: what only shows over many answers, and how each answer's bytes look.

One `Ledger` per pytest session sees every answer the target gives (generated cases and scenarios alike) and
reports, per answer:

- `plain_json_problems`: the body is UTF-8 JSON holding exactly one object, without duplicate keys at any
  depth, NaN/Infinity or a byte-order mark, and a `charset` parameter, if any, says utf-8;
- a `request_id` that an earlier answer of the run already carried;
- a sensitive value of the run (the secret, the target's access tokens, every access token sent) in the body
  or a header, raw, JSON-escaped (`\\u` escapes included: JSON bodies are compared decoded), percent-encoded,
  base64/base64url or hex;
- Plaid's refresh limit (2 per Item per sliding minute) broken either way for the Items the suite may spend:
  an accepted refresh over the limit, or TRANSACTIONS_REFRESH_LIMIT before the limit was reached.

Messages never carry a sensitive value, only which kind of value and in which encoding it was found.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
import time
import urllib.parse
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

REFRESH_LIMIT_PER_ITEM: Final = 2  # PLAID_FACTS.md: /transactions/refresh, per Item per minute
WINDOW_SECONDS: Final = 60.0
_MIN_TOKEN_LENGTH: Final = 12  # shorter generated strings ("0", "aa") occur in any text by chance
_WORD: Final = re.compile(rb"[A-Za-z0-9_\-]{16,}")
_WORD_TEXT: Final = re.compile(r"[A-Za-z0-9_\-]{16,}")
_BASE64_RUN: Final = re.compile(rb"[A-Za-z0-9+/_\-]{12,}={0,2}")


def _decoded_runs(data: bytes) -> list[bytes]:
    """Every base64/base64url-looking run of `data`, decoded: a value encoded together with others (such
    as `client_id:secret`) is found inside the decoded bytes."""
    found = []
    for run in _BASE64_RUN.findall(data)[:64]:
        text = run.rstrip(b"=")
        padded = text + b"=" * (-len(text) % 4)
        for decode in (base64.b64decode, base64.urlsafe_b64decode):
            try:
                found.append(decode(padded))
            except (binascii.Error, ValueError):
                continue
    return found


class DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise DuplicateKey(key)
        seen[key] = value
    return seen


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def plain_json_problems(content_type: str, content: bytes, status: int) -> list[str]:
    """Why a JSON answer's bytes are not plain UTF-8 JSON with exactly one object (empty bodies of a
    non-JSON answer are the envelope rule's business)."""
    media_type, _, params = content_type.partition(";")
    problems: list[str] = []
    if media_type.strip().lower() != "application/json":
        return problems
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in ("utf-8", "utf8"):
            problems.append(f"HTTP {status}: Content-Type declares charset {value.strip()!r}; JSON is UTF-8")
    if content.startswith(b"\xef\xbb\xbf"):
        return [*problems, f"HTTP {status}: the JSON body starts with a byte-order mark"]
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return [*problems, f"HTTP {status}: the body is not valid UTF-8"]
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except DuplicateKey as dup:
        return [*problems, f"HTTP {status}: the JSON body repeats the key {str(dup)!r}"]
    except (ValueError, RecursionError) as exc:
        return [*problems, f"HTTP {status}: the body is not one JSON value ({type(exc).__name__})"]
    if not isinstance(value, dict):
        problems.append(f"HTTP {status}: the JSON body is a {type(value).__name__}, not an object")
    return problems


def json_strings(content: bytes | str) -> list[str]:
    """Every string of a JSON body (keys included), decoded: a value the body writes with `\\u` escapes, in
    full or in part, shows here as itself. Not JSON: no strings."""
    try:
        value = json.loads(content) if content else None
    except (ValueError, UnicodeDecodeError, RecursionError):
        return []
    found: list[str] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            found.append(item)
        elif isinstance(item, dict):
            found += [str(key) for key in item]
            stack += item.values()
        elif isinstance(item, list):
            stack += item
    return found


def encodings(value: str) -> dict[str, bytes]:
    """The forms a leaked value takes in the wild, by name."""
    raw = value.encode("utf-8", "surrogatepass")
    b64 = base64.b64encode(raw)
    b64url = base64.urlsafe_b64encode(raw)
    forms = {
        "as is": raw,
        "JSON-escaped": json.dumps(value)[1:-1].encode(),
        "percent-encoded": urllib.parse.quote(value, safe="").encode(),
        "base64": b64,
        "base64 (unpadded)": b64.rstrip(b"="),
        "base64url": b64url.rstrip(b"="),
        "hex": binascii.hexlify(raw),
        "HEX": binascii.hexlify(raw).upper(),
    }
    return {name: form for name, form in forms.items() if form}


@dataclass
class Ledger:
    """Everything the run has seen so far. Thread-safe: scenario clients and schemathesis may interleave."""

    secret: str
    known_tokens: Mapping[
        str, str
    ]  # token -> what it is ("the access token", "the capital_one Item's token")
    rate_tokens: frozenset[str] = frozenset()  # Items whose limit is checked exactly
    clock: Callable[[], float] = time.monotonic
    request_ids: dict[str, str] = field(default_factory=dict)  # id -> where it was first seen
    sent_tokens: set[str] = field(default_factory=set)
    successes: dict[tuple[str, str], deque[float]] = field(default_factory=dict)  # (server, token) -> times
    # Items a server was seen to refresh more often than the limit allows: it does not limit them, so a
    # later TRANSACTIONS_REFRESH_LIMIT for them cannot be the limit at work.
    unlimited: set[tuple[str, str]] = field(default_factory=set)
    _fixed: list[tuple[str, str, bytes]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        named = [(self.secret, "the PLAID-SECRET"), *((t, w) for t, w in self.known_tokens.items())]
        for value, what in named:
            if len(value) >= 8:
                self._fixed += [(what, name, form) for name, form in encodings(value).items()]

    # -- rate limits ------------------------------------------------------------------------------------

    def recent_successes(self, server: str, token: str) -> int:
        window = self.successes.get((server, token))
        if window is None:
            return 0
        horizon = self.clock() - WINDOW_SECONDS
        while window and window[0] <= horizon:
            window.popleft()
        return len(window)

    def limit_reached(self, server: str, token: str) -> bool:
        """Whether this run's own answers explain a TRANSACTIONS_REFRESH_LIMIT for the Item now: the limit's
        worth of accepted refreshes within the window, from a server seen to enforce it on that Item."""
        with self._lock:
            spent = self.recent_successes(server, token)
            return spent >= REFRESH_LIMIT_PER_ITEM and (server, token) not in self.unlimited

    def _rate_problems(self, server: str, token: str, status: int, body: Mapping[str, Any]) -> list[str]:
        count = self.recent_successes(server, token)
        problems = []
        strict = token in self.rate_tokens
        if status == 200:
            if count >= REFRESH_LIMIT_PER_ITEM:
                self.unlimited.add((server, token))
            if strict and count >= REFRESH_LIMIT_PER_ITEM:
                problems.append(
                    f"refresh {count + 1} of one Item within {WINDOW_SECONDS:.0f} s was accepted: "
                    f"Plaid allows {REFRESH_LIMIT_PER_ITEM} per Item per minute (TRANSACTIONS_REFRESH_LIMIT)"
                )
            self.successes.setdefault((server, token), deque()).append(self.clock())
        elif (
            strict
            and status == 429
            and body.get("error_code") == "TRANSACTIONS_REFRESH_LIMIT"
            and count < REFRESH_LIMIT_PER_ITEM
        ):
            problems.append(
                f"TRANSACTIONS_REFRESH_LIMIT after only {count} accepted refresh(es) of this Item within "
                f"{WINDOW_SECONDS:.0f} s; the limit is {REFRESH_LIMIT_PER_ITEM}"
            )
        return problems

    # -- echoes -----------------------------------------------------------------------------------------

    def _echo_problems(
        self, request_values: Iterable[tuple[str, str]], places: list[tuple[str, bytes]]
    ) -> list[str]:
        checks = list(self._fixed)
        for what, value in request_values:
            checks += [(what, name, form) for name, form in encodings(value).items()]
        raws = [(what, value.encode("utf-8", "surrogatepass")) for what, value in request_values]
        raws += [(what, form) for what, name, form in self._fixed if name == "as is"]
        texts = [(what, raw.decode("utf-8", "surrogatepass")) for what, raw in raws]
        problems: list[str] = []
        for place, data in places:
            if not data:
                continue
            strings = json_strings(data) if place == "body" else []
            for what, name, form in checks:
                if form in data:
                    problems.append(f"the answer's {place} contains {what} ({name})")
                    break
            else:
                hit = next((what for what, text in texts for string in strings if text in string), None)
                if hit is not None:
                    problems.append(
                        f"the answer's {place} contains {hit} (inside a JSON string, \\u-escaped)"
                    )
                    continue
                decoded = _decoded_runs(data)
                hit = next((what for what, raw in raws for blob in decoded if raw in blob), None)
                if hit is not None:
                    problems.append(f"the answer's {place} contains {hit} (inside a base64 run)")
                    continue
                words = {w.decode() for w in _WORD.findall(data)}
                words |= {w for string in strings for w in _WORD_TEXT.findall(string)}
                if words & self.sent_tokens:
                    problems.append(f"the answer's {place} contains an access token sent earlier in the run")
        return problems

    # -- one answer -------------------------------------------------------------------------------------

    def observe(
        self,
        *,
        server: str,
        where: str,
        path: str,
        request_headers: Mapping[str, str],
        request_body: bytes,
        status: int,
        response_headers: Iterable[tuple[str, str]],
        content: bytes,
    ) -> list[str]:
        """Record one answer and return what is wrong with it in the light of the whole run."""
        headers = list(response_headers)
        content_type = next((v for k, v in headers if k.lower() == "content-type"), "")
        problems = plain_json_problems(content_type, content, status)
        request_values: list[tuple[str, str]] = []
        for name, value in request_headers.items():
            if name.lower() == "plaid-secret" and len(value) >= 8:
                request_values.append(("the request's PLAID-SECRET", value))
        token: str | None = None
        try:
            sent = json.loads(request_body) if request_body else None
        except (ValueError, UnicodeDecodeError, RecursionError):
            sent = None
        if isinstance(sent, dict):
            if isinstance(sent.get("secret"), str) and len(sent["secret"]) >= 8:
                request_values.append(("the request's body secret", sent["secret"]))
            if isinstance(sent.get("access_token"), str):
                token = sent["access_token"]
                if len(token) >= _MIN_TOKEN_LENGTH:
                    request_values.append(("the request's access token", token))
        try:
            body = json.loads(content) if content else None
        except (ValueError, UnicodeDecodeError, RecursionError):
            body = None
        body = body if isinstance(body, dict) else {}
        places = [("body", content), *((f"{k} header", v.encode("latin-1", "replace")) for k, v in headers)]
        with self._lock:
            problems += self._echo_problems(request_values, places)
            request_id = body.get("request_id")
            if isinstance(request_id, str) and request_id:
                first = self.request_ids.get(request_id)
                if first is not None:
                    problems.append(
                        f"request_id {request_id} was already given to an earlier answer ({first})"
                    )
                else:
                    self.request_ids[request_id] = where
            if token is not None and path.endswith("/transactions/refresh"):
                problems += self._rate_problems(server, token, status, body)
            if token is not None and len(token) >= 16:
                self.sent_tokens.add(token)
        return problems
