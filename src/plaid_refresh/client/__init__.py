"""A client services can trust for Plaid's /transactions/refresh: safe timeouts, bounded retries,
one typed exception family, secrets never printed. See docs/client.md.

The public API is declared once, in `plaid_refresh`: import from there. This package holds its parts.
"""

from typing import Any


def __getattr__(name: str) -> Any:
    # `from plaid_refresh.client import X` worked before the API was declared in one place; it still does.
    import plaid_refresh

    if name in getattr(plaid_refresh, "__all__", ()):
        return getattr(plaid_refresh, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
