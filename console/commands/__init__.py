"""One module per CLI command group; each exposes `command` (a click command or group)."""
