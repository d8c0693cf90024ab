"""The upstream check: this spec against a copy of Plaid's own OpenAPI description (docs/upstream.md)."""
