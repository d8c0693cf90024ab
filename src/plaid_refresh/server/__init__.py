"""The reference server: an offline Plaid for POST /transactions/refresh (see docs/server.md).

Public API: `create_app`, `ServerConfig`, the default credentials and the built-in sandbox tokens;
`plaid_refresh.server.testing.running_server` runs an app on loopback for tests.
"""

from __future__ import annotations

# First: without the [server] extra, one clear error naming it (plaid_refresh/extras.py).
from plaid_refresh.server import _requirements  # noqa: F401
from plaid_refresh.server.app import ReferenceServer, WebhookSink, create_app
from plaid_refresh.server.config import (
    DEFAULT_CLIENT_ID,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_SECRET,
    ServerConfig,
)
from plaid_refresh.server.items import (
    TOKEN_CAPITAL_ONE_CREDIT,
    TOKEN_HEALTHY,
    TOKEN_INSTITUTION_DOWN,
    TOKEN_ITEM_LOGIN_REQUIRED,
    TOKEN_NO_TRANSACTIONS,
    TOKEN_TRANSACTIONS_DYNAMIC,
    TOKEN_USER_GOOD,
    Account,
    Item,
    ItemsFileError,
    Knobs,
)
from plaid_refresh.server.store import RefreshRecord, StoreError

# Each built-in token and the error_code a refresh answers with (None: 200).
BUILTIN_TOKENS: dict[str, str | None] = {
    TOKEN_HEALTHY: None,
    TOKEN_USER_GOOD: None,
    TOKEN_TRANSACTIONS_DYNAMIC: None,
    TOKEN_CAPITAL_ONE_CREDIT: "PRODUCTS_NOT_SUPPORTED",
    TOKEN_NO_TRANSACTIONS: "PRODUCT_NOT_ENABLED",
    TOKEN_ITEM_LOGIN_REQUIRED: "ITEM_LOGIN_REQUIRED",
    TOKEN_INSTITUTION_DOWN: "INSTITUTION_DOWN",
}

__all__ = [
    "BUILTIN_TOKENS",
    "DEFAULT_CLIENT_ID",
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_SECRET",
    "TOKEN_CAPITAL_ONE_CREDIT",
    "TOKEN_HEALTHY",
    "TOKEN_INSTITUTION_DOWN",
    "TOKEN_ITEM_LOGIN_REQUIRED",
    "TOKEN_NO_TRANSACTIONS",
    "TOKEN_TRANSACTIONS_DYNAMIC",
    "TOKEN_USER_GOOD",
    "Account",
    "Item",
    "ItemsFileError",
    "Knobs",
    "ReferenceServer",
    "RefreshRecord",
    "ServerConfig",
    "StoreError",
    "WebhookSink",
    "create_app",
]
