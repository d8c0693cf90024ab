"""Server contract suite: verifies any Plaid-compatible server against the spec (docs/contract.md)."""
