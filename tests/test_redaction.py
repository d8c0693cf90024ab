"""The masking rule of plaid_refresh.redaction.scrub, property-tested: no secret survives, text
without a secret is returned unchanged, and nothing but the secrets' own characters is altered."""

from __future__ import annotations

import re

from hypothesis import example, given, settings
from hypothesis import strategies as st

from plaid_refresh.redaction import REDACTED, scrub

# Small alphabets make secrets occur in texts, overlap each other and straddle the marker's letters.
_alphabet = st.sampled_from("abAB[]REDACT_-\\u0 ")
_secret = st.text(_alphabet, min_size=1, max_size=6)
_text = st.text(_alphabet, max_size=60)
_settings = settings(max_examples=1000, deadline=None, derandomize=True, database=None)


def _reference_spans(text: str, secrets: list[str]) -> list[tuple[int, int]]:
    """Leftmost, then longest, non-overlapping occurrences: the rule, written the slow way."""
    spans, i = [], 0
    ordered = sorted(set(secrets), key=len, reverse=True)
    while i < len(text):
        match = next((s for s in ordered if text.startswith(s, i)), None)
        if match is None:
            i += 1
        else:
            spans.append((i, i + len(match)))
            i += len(match)
    return spans


@_settings
@given(text=_text, secrets=st.lists(_secret, min_size=1, max_size=3))
@example(text="request_id: idSecret12345ab", secrets=["id", "Secret12345ab"])
@example(text="[REDACTED]", secrets=["RED", "ACTED"])
@example(text="D]x", secrets=["D]"])
def test_no_secret_survives(text: str, secrets: list[str]) -> None:
    out = scrub(text, secrets)
    # The marker is where a secret was: read it as a character no secret contains.
    shown = out.replace(REDACTED, "\x00")
    for secret in secrets:
        assert secret not in shown


@_settings
@given(text=_text, secrets=st.lists(_secret, min_size=1, max_size=3))
def test_text_without_a_secret_is_unchanged(text: str, secrets: list[str]) -> None:
    if any(secret in text for secret in secrets):
        return
    assert scrub(text, secrets) is text


@_settings
@given(
    text=st.text(st.sampled_from("abcab-_ "), max_size=60), secrets=st.lists(_secret, min_size=1, max_size=3)
)
@example(text="ab-ab", secrets=["ab", "b-a"])
def test_only_the_secrets_characters_change(text: str, secrets: list[str]) -> None:
    """Put every masked secret back where its marker is: the original text returns (texts are drawn
    without '[' so a marker cannot be part of the input)."""
    out = scrub(text, secrets)
    spans = _reference_spans(text, secrets)
    pieces = out.split(REDACTED)
    assert len(pieces) == len(spans) + 1
    rebuilt = pieces[0]
    for (start, end), piece in zip(spans, pieces[1:], strict=True):
        rebuilt += text[start:end] + piece
    assert rebuilt == text


def test_the_marker_is_never_rescanned() -> None:
    assert scrub("S", ["S", "RED"]) == REDACTED
    assert scrub("xREDx S", ["S", "RED"]) == f"x{REDACTED}x {REDACTED}"


def test_longest_secret_wins_where_several_start() -> None:
    assert scrub("abcd", ["ab", "abcd"]) == REDACTED
    assert re.fullmatch(re.escape(REDACTED) + "cd", scrub("abcd", ["ab", "bcd"]))
