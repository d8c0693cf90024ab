"""Webhooks: signing (as Plaid does), verification for receivers, and delivery."""

# Without the [webhooks] extra, one clear error naming it (plaid_refresh/extras.py).
from plaid_refresh.webhooks import _requirements  # noqa: F401
