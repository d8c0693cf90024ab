"""Example webhook receiver: verifies Plaid webhooks with plaid_refresh.webhooks.verification.

Run it with `python -m examples.webhook_receiver --help` from the repository root.
"""

from __future__ import annotations

from examples.webhook_receiver.app import SeenBodies, WebhookReceiver, build_receiver

__all__ = ["SeenBodies", "WebhookReceiver", "build_receiver"]
