"""The one backoff of floodwatch: how long to wait after failed attempts.

Both ways of counting attempts use it: a reconnect loop counts in memory
(`Backoff`: MQTT ingest, every supervised connection of `notify.connection`,
the InfluxDB sink's writes of readings), and the delivery worker passes the
durable attempt count of an outbox row (`notify.deliver.Deliverer.delay`), so
a restart does not reset the wait.

No retry library (tenacity, stamina): they retry one call until it succeeds
or gives up, whereas each wait here is driven by an outbox row's attempt count
kept in the store, or sits in a supervisor that never gives up, reports each
failure to `Health` and resets after a success, so a library would add a
dependency and still leave this helper (the SL 651 RTU simulator's fixed
resend delay, `ingest/sl651/rtu.py`, is what a field RTU does, not a retry
policy of floodwatch).
"""

from __future__ import annotations

import random


def delay(attempt: int, initial: float, cap: float, rng: random.Random | None = None) -> float:
    """Seconds to wait after `attempt + 1` failed attempts in a row: about
    `initial`, 2×, 4× … up to `cap`, each shortened by up to a quarter at random
    while ramping up (so many clients do not retry in step); at the cap the wait
    is the cap itself, so with a 5 s cap there are at most 12 attempts a minute
    and a server that returns is found again within 5 s."""
    ceiling = initial * 2.0 ** min(attempt, 32)
    if ceiling >= cap:
        return float(cap)
    return float(ceiling * (rng or random).uniform(0.75, 1.0))


class Backoff:
    """`delay` with the attempts counted here: `next_delay()` after each failed
    attempt, `reset()` after a success."""

    def __init__(self, initial: float, cap: float, rng: random.Random | None = None) -> None:
        self.initial = initial
        self.cap = cap
        self.attempt = 0
        self.rng = rng or random.Random()

    def reset(self) -> None:
        self.attempt = 0

    def next_delay(self) -> float:
        """Seconds to wait before the next attempt (one attempt just failed)."""
        wait = delay(self.attempt, self.initial, self.cap, self.rng)
        self.attempt += 1
        return wait
