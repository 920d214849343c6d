"""One module per rule kind."""
