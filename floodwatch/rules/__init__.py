"""The rule engine: pure and synchronous. No I/O, no asyncio, no wall clock."""
