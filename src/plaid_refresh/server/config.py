"""ServerConfig: every setting of the reference server, with the documented defaults."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Final

import attrs

# The documented default credentials of the reference server (fake: they only open this local server).
DEFAULT_CLIENT_ID: Final = "5f0bd2b1c0c0b2001234abcd"
DEFAULT_SECRET: Final = "reference-server-sandbox-secret"  # noqa: S105 - documented fake
ENVIRONMENTS: Final = ("sandbox", "production")
DEFAULT_MAX_BODY_BYTES: Final = 64 * 1024
MAX_LATENCY_SECONDS: Final = 600.0
DEFAULT_MAX_HEADER_BYTES: Final = 16 * 1024
DEFAULT_MAX_CONNECTIONS: Final = 512


def _rate(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{attribute.name} must be between 0 and 1, got {value}")


def _seconds(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0.0 <= value <= MAX_LATENCY_SECONDS:  # NaN fails too
        raise ValueError(
            f"{attribute.name} must be between 0 and {MAX_LATENCY_SECONDS:g} seconds, got {value}"
        )


def _timeout(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (math.isfinite(value) and 0.0 < value <= 3600.0):
        raise ValueError(f"{attribute.name} must be > 0 and <= 3600 seconds, got {value}")


def _credential(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not value or value != value.strip():
        # An empty secret would make every caller that sends none "authenticated" by mistake elsewhere.
        raise ValueError(f"{attribute.name} must be a non-empty string without surrounding whitespace")


def _positive(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value < 1:
        raise ValueError(f"{attribute.name} must be >= 1, got {value}")


@attrs.frozen
class ServerConfig:
    """Settings of the reference server. repr() never shows `client_id` or `secret`."""

    client_id: str = attrs.field(default=DEFAULT_CLIENT_ID, repr=False, validator=_credential)
    secret: str = attrs.field(default=DEFAULT_SECRET, repr=False, validator=_credential)
    environment: str = attrs.field(default="sandbox", validator=attrs.validators.in_(ENVIRONMENTS))
    items_path: Path | None = None  # YAML or JSON Items file, loaded on top of the built-in Items
    db_path: Path | None = None  # SQLite file: Items, refresh history and the signing key survive restarts
    rate_limit: bool = True
    item_limit_per_minute: int = attrs.field(default=2, validator=_positive)
    client_limit_per_minute: int = attrs.field(default=100, validator=_positive)
    latency: float = attrs.field(default=0.0, validator=_seconds)  # seconds added to each refresh
    latency_random: bool = False  # True: a uniform random delay in [0, latency] instead of exactly latency
    error_rate: float = attrs.field(default=0.0, validator=_rate)  # share answered 500 INTERNAL_SERVER_ERROR
    maintenance_rate: float = attrs.field(
        default=0.0, validator=_rate
    )  # share answered 503 PLANNED_MAINTENANCE
    seed: int | None = None  # seeds the knobs' random generator (None: unpredictable)
    max_body_bytes: int = attrs.field(default=DEFAULT_MAX_BODY_BYTES, validator=_positive)
    access_log: bool = True
    include_builtin_items: bool = True


@attrs.frozen
class ConnectionLimits:
    """What one connection may cost the server (enforced by `http_protocol.PlaidHttpToolsProtocol`).

    - `max_header_bytes`: request line plus headers; more gets 400 INVALID_HEADERS and the connection closes.
    - `header_timeout`: seconds from the connection opening (or a request's first byte) to its complete head.
    - `body_timeout`: seconds from the complete head to the complete body.
    - `idle_timeout`: seconds a kept-alive connection may wait for its next request.
    - `max_connections`: open connections at once; one more is answered 503 and closed at once.
    A connection that runs out of time is closed without an answer, and its request is never executed."""

    max_header_bytes: int = attrs.field(default=DEFAULT_MAX_HEADER_BYTES, validator=_positive)
    header_timeout: float = attrs.field(default=10.0, validator=_timeout)
    body_timeout: float = attrs.field(default=10.0, validator=_timeout)
    idle_timeout: float = attrs.field(default=5.0, validator=_timeout)
    max_connections: int = attrs.field(default=DEFAULT_MAX_CONNECTIONS, validator=_positive)
