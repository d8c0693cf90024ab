"""ServerConfig: every setting of the reference server, with the documented defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Final

import attrs

# The documented default credentials of the reference server (fake: they only open this local server).
DEFAULT_CLIENT_ID: Final = "5f0bd2b1c0c0b2001234abcd"
DEFAULT_SECRET: Final = "reference-server-sandbox-secret"  # noqa: S105 - documented fake
ENVIRONMENTS: Final = ("sandbox", "production")
DEFAULT_MAX_BODY_BYTES: Final = 64 * 1024


def _rate(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{attribute.name} must be between 0 and 1, got {value}")


def _non_negative(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must be >= 0, got {value}")


def _positive(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value < 1:
        raise ValueError(f"{attribute.name} must be >= 1, got {value}")


@attrs.frozen
class ServerConfig:
    """Settings of the reference server. repr() never shows `client_id` or `secret`."""

    client_id: str = attrs.field(default=DEFAULT_CLIENT_ID, repr=False)
    secret: str = attrs.field(default=DEFAULT_SECRET, repr=False)
    environment: str = attrs.field(default="sandbox", validator=attrs.validators.in_(ENVIRONMENTS))
    items_path: Path | None = None  # YAML or JSON Items file, loaded on top of the built-in Items
    db_path: Path | None = None  # SQLite file: Items, refresh history and the signing key survive restarts
    rate_limit: bool = True
    item_limit_per_minute: int = attrs.field(default=2, validator=_positive)
    client_limit_per_minute: int = attrs.field(default=100, validator=_positive)
    latency: float = attrs.field(default=0.0, validator=_non_negative)  # seconds added to each refresh
    latency_random: bool = False  # True: a uniform random delay in [0, latency] instead of exactly latency
    error_rate: float = attrs.field(default=0.0, validator=_rate)  # share answered 500 INTERNAL_SERVER_ERROR
    maintenance_rate: float = attrs.field(
        default=0.0, validator=_rate
    )  # share answered 503 PLANNED_MAINTENANCE
    seed: int | None = None  # seeds the knobs' random generator (None: unpredictable)
    max_body_bytes: int = attrs.field(default=DEFAULT_MAX_BODY_BYTES, validator=_positive)
    access_log: bool = True
    include_builtin_items: bool = True
