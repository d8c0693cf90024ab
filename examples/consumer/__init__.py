"""What a service writes against the installed wheels alone (see docs/publishing.md, "The consumer test")."""
