"""Contains all the data models used in inputs/outputs"""

from .default_update_webhook import DefaultUpdateWebhook
from .default_update_webhook_webhook_code import DefaultUpdateWebhookWebhookCode
from .jwk_public_key import JWKPublicKey
from .known_error_code import KnownErrorCode
from .known_error_type import KnownErrorType
from .plaid_error import PlaidError
from .plaid_version import PlaidVersion
from .sync_updates_available_webhook import SyncUpdatesAvailableWebhook
from .sync_updates_available_webhook_webhook_code import (
    SyncUpdatesAvailableWebhookWebhookCode,
)
from .transactions_refresh_request import TransactionsRefreshRequest
from .transactions_refresh_response import TransactionsRefreshResponse
from .transactions_removed_webhook import TransactionsRemovedWebhook
from .transactions_removed_webhook_webhook_code import (
    TransactionsRemovedWebhookWebhookCode,
)
from .webhook_environment import WebhookEnvironment
from .webhook_type import WebhookType
from .webhook_verification_key_get_request import WebhookVerificationKeyGetRequest
from .webhook_verification_key_get_response import WebhookVerificationKeyGetResponse

__all__ = (
    "DefaultUpdateWebhook",
    "DefaultUpdateWebhookWebhookCode",
    "JWKPublicKey",
    "KnownErrorCode",
    "KnownErrorType",
    "PlaidError",
    "PlaidVersion",
    "SyncUpdatesAvailableWebhook",
    "SyncUpdatesAvailableWebhookWebhookCode",
    "TransactionsRefreshRequest",
    "TransactionsRefreshResponse",
    "TransactionsRemovedWebhook",
    "TransactionsRemovedWebhookWebhookCode",
    "WebhookEnvironment",
    "WebhookType",
    "WebhookVerificationKeyGetRequest",
    "WebhookVerificationKeyGetResponse",
)
