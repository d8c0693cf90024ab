"""Client contract: what the client sends validates against the spec, what the spec allows back parses
to the right type or exception, and anything else raises a clear error. Runs over httpx.MockTransport."""
