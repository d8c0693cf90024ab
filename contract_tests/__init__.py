"""The portable contract suite: `server/` verifies any server against the spec,
`client/` the generated client, `webhooks/` webhook receivers."""
