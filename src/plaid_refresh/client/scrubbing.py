"""Secrets out of what a call shows: the forms a secret takes inside an answer, scrubbed JSON values,
the short body snippet an exception carries, and a filter on httpx's and httpcore's loggers."""

from __future__ import annotations

import json
import logging
import re
import threading
import weakref
from collections.abc import Iterable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from plaid_refresh.redaction import REDACTED, scrub

if TYPE_CHECKING:
    from plaid_refresh.client.credentials import Credentials

SNIPPET_CHARS = 200


def secret_forms(secrets: Iterable[str]) -> list[str]:
    """Each secret as written, and as it appears inside a JSON string (escaped)."""
    forms: set[str] = set()
    for value in secrets:
        if value:
            forms.add(value)
            forms.add(json.dumps(value)[1:-1])
            forms.add(json.dumps(value, ensure_ascii=False)[1:-1])
    return sorted(forms, key=len, reverse=True)


def scrub_json(value: Any, forms: list[str]) -> Any:
    """A parsed JSON value with secrets masked in every string, keys included. Iterative: a body
    nested thousands deep (json.loads accepts up to the recursion limit) cannot exhaust the stack."""
    if not isinstance(value, (dict, list)):
        return scrub(value, forms) if isinstance(value, str) else value
    root: Any = {} if isinstance(value, dict) else []
    stack: list[tuple[Any, Any]] = [(value, root)]
    while stack:
        source, target = stack.pop()
        items: Iterable[tuple[Any, Any]] = source.items() if isinstance(source, dict) else enumerate(source)
        for key, item in items:
            if isinstance(item, (dict, list)):
                copy: Any = {} if isinstance(item, dict) else []
                stack.append((item, copy))
                item = copy
            elif isinstance(item, str):
                item = scrub(item, forms)
            if isinstance(target, dict):
                target[scrub(key, forms)] = item
            else:
                target.append(item)
    return root


# A JSON string escape: \uXXXX (surrogate pairs included) or one of \" \\ \/ \b \f \n \r \t.
_ESCAPE = re.compile(
    r"\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|\\u[0-9a-fA-F]{4}|\\[\"\\/bfnrt]"
)


def _unescape(match: re.Match[str]) -> str:
    try:
        return str(json.loads(f'"{match.group(0)}"'))
    except ValueError:
        return match.group(0)


def snippet(raw: bytes, forms: list[str]) -> str:
    """A short, single-line, scrubbed view of a body for error messages. JSON escapes are undone
    first, so a secret spelt `\\u0073ecret...` is found too. A body cut short (by the server, or here
    at SNIPPET_CHARS) may end in the first characters of a secret: those go too."""
    text = raw.decode("utf-8", "replace")
    if "\\" in text:
        text = _ESCAPE.sub(_unescape, text)
    text = " ".join(scrub(text, forms).split())
    cut = len(text) > SNIPPET_CHARS
    text = _redact_cut_secret(text[:SNIPPET_CHARS], forms)
    return text + "..." if cut else text


def header_text(value: str, forms: list[str], limit: int = 100) -> str:
    """A header-derived value (a content type) safe to show: JSON escapes undone, as in `snippet`,
    so a secret spelt `\\u0073ecret...` is found, then scrubbed and cut at `limit`; a secret cut
    there loses its first characters too."""
    if "\\" in value:
        value = _ESCAPE.sub(_unescape, value)
    value = scrub(value, forms)
    if len(value) <= limit:
        return value
    return _redact_cut_secret(value[:limit], forms)


# In a logged bytes repr (httpcore's header lines), a backslash in the data is shown doubled.
_DOUBLED_BACKSLASH = re.compile(r"\\\\(?=u[0-9a-fA-F]{4}|[\"/bfnrt])")


def _scrub_log_message(message: str, forms: list[str]) -> str:
    clean = scrub(message, forms)
    if "\\" not in clean:
        return clean
    # A secret may hide behind JSON escapes (a hostile server's reason phrase or header): undo
    # them, and if a secret shows up, log the unescaped, scrubbed text instead.
    unescaped = _ESCAPE.sub(_unescape, _DOUBLED_BACKSLASH.sub(r"\\", clean))
    scrubbed = scrub(unescaped, forms)
    return scrubbed if scrubbed != unescaped else clean


def _redact_cut_secret(text: str, forms: list[str]) -> str:
    for form in forms:
        form = " ".join(form.split())
        for n in range(min(len(form) - 1, len(text)), 0, -1):
            if text.endswith(form[:n]):
                return text[:-n] + REDACTED
    return text


# ---- httpx / httpcore log lines ------------------------------------------------------------------

LIBRARY_LOGGERS = (
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.connection_pool",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
)
"""Logger filters are not inherited by child loggers, so each logger httpx and httpcore use gets it."""

_live_lock = threading.Lock()
_live: weakref.WeakSet[Credentials] = weakref.WeakSet()
CALL_SECRETS: ContextVar[tuple[str, ...]] = ContextVar("plaid_refresh_call_secrets", default=())
"""Per-call secrets (the access token) the filter also masks while the call runs: each client's
`_call` sets it and resets it when the call ends."""


class SecretScrubbingFilter(logging.Filter):
    """Masks every live client's credentials, and the running call's access token, in the records
    of httpx's and httpcore's loggers (their DEBUG lines carry response headers, where a hostile
    server can echo a secret). Runs only for records those loggers' levels let through."""

    def filter(self, record: logging.LogRecord) -> bool:
        with _live_lock:
            secrets = [value for credentials in _live for value in credentials.values()]
        secrets.extend(CALL_SECRETS.get())
        if not secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:
            return True
        clean = _scrub_log_message(message, secret_forms(secrets))
        if clean != message:
            record.msg, record.args = clean, None
        return True


_FILTER = SecretScrubbingFilter()


def protect_library_logs(credentials: Credentials) -> None:
    """Register a client's credentials and make sure the filter sits on every library logger."""
    with _live_lock:
        _live.add(credentials)
    for name in LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
