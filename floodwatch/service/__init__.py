"""The long-running service: sources, durable store, snapshots (`floodwatch run`)."""
