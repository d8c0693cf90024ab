"""Imported first by plaid_refresh.webhooks: names the [webhooks] extra when its dependencies are missing."""

from plaid_refresh.extras import require

require("webhooks", "plaid_refresh.webhooks (signing and verifying webhooks)")
