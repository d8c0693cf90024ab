"""Webhooks: signing (as Plaid does), verification for receivers, and delivery."""
