"""Receiver contract tests: act as Plaid (sign webhooks, serve the key) against any receiver URL.
See docs/webhooks.md for the configuration contract."""
