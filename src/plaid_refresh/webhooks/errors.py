"""Why a webhook was not verified: one WebhookVerificationError subclass per failed check."""

from __future__ import annotations


class WebhookVerificationError(Exception):
    """A webhook failed verification. Answer it with a non-2xx status and do not act on it."""


class MissingSignature(WebhookVerificationError):
    """No Plaid-Verification header."""


class MalformedSignature(WebhookVerificationError):
    """The Plaid-Verification header is not a well-formed JWT, or its header lacks a kid."""


class UnsupportedAlgorithm(WebhookVerificationError):
    """The JWT (or the fetched key) names an algorithm other than ES256."""


class UnknownKey(WebhookVerificationError):
    """No usable key for the kid: unknown to the key server, expired, not a P-256 key, or a key
    whose fields (alg, expired_at, ...) cannot be understood."""


class KeyFetchError(WebhookVerificationError):
    """The key server could not be asked (network error, 5xx, unexpected answer). Transient:
    answer with a 5xx so Plaid retries later."""


class KeyFetchRateLimited(KeyFetchError):
    """More new kids than the verifier's fetch-rate bound allows: answered like any failed fetch
    (5xx, Plaid retries later), so a flood of forged kids cannot flood the key server."""


class BadSignature(WebhookVerificationError):
    """The signature does not verify with the key for the kid, or required claims are missing."""


class MalformedClaims(BadSignature):
    """A signed claim has an impossible value: an `iat` that is not a finite number of seconds, a
    `request_body_sha256` that is not 64 hex digits, claims nested too deeply to read."""


class StaleWebhook(WebhookVerificationError):
    """`iat` is older than max_age, or too far in the future."""


class BodyMismatch(WebhookVerificationError):
    """`request_body_sha256` does not match the body received."""


class InvalidPayload(WebhookVerificationError):
    """The (authentic) body is not JSON or does not validate against the spec's webhook schema."""
