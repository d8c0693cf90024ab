"""The plaid-python subsumption gate and the upstream check (issue 11, docs/upstream.md)."""
