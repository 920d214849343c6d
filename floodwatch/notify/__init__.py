"""Alert fan-out: routing, the durable outbox, delivery workers, destinations."""
