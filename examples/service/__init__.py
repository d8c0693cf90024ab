"""An example service that refreshes Items' transactions through the client (see docs/client.md)."""
