"""The HTTP server of `floodwatch run`."""
