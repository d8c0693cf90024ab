"""Secrets out of what a call shows: the forms a secret takes inside an answer, scrubbed JSON values,
and the short body snippet an exception carries."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from plaid_refresh.redaction import REDACTED, scrub

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
    if isinstance(value, str):
        return scrub(value, forms)
    if isinstance(value, dict):
        return {k: scrub_json(v, forms) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_json(v, forms) for v in value]
    return value


def snippet(raw: bytes, forms: list[str]) -> str:
    """A short, single-line, scrubbed view of a body for error messages. A body cut short (by the
    server, or here at SNIPPET_CHARS) may end in the first characters of a secret: those go too."""
    text = " ".join(scrub(raw.decode("utf-8", "replace"), forms).split())
    cut = len(text) > SNIPPET_CHARS
    text = _redact_cut_secret(text[:SNIPPET_CHARS], forms)
    return text + "..." if cut else text


def _redact_cut_secret(text: str, forms: list[str]) -> str:
    for form in forms:
        form = " ".join(form.split())
        for n in range(min(len(form) - 1, len(text)), 0, -1):
            if text.endswith(form[:n]):
                return text[:-n] + REDACTED
    return text
