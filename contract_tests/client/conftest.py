"""Client contract suite settings: bounded, deterministic hypothesis runs (no example database)."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile(
    "client-contract",
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
