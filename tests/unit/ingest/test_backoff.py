"""`ingest.backoff`: the one backoff — about `initial`, doubling with up to a
quarter of jitter while ramping up, the cap itself once reached; `Backoff`
counting the attempts and starting again after `reset`."""

from __future__ import annotations

import random

from floodwatch.ingest.backoff import Backoff, delay


def test_the_backoff_doubles_with_jitter_up_to_its_cap() -> None:
    rng = random.Random(1)
    waits = [delay(attempt, 1.0, 5.0, rng) for attempt in range(6)]
    assert 0.75 <= waits[0] <= 1.0 and 1.5 <= waits[1] <= 2.0 and 3.0 <= waits[2] <= 4.0
    assert waits[3:] == [5.0, 5.0, 5.0]  # at the cap: the cap itself (12 a minute)
    backoff = Backoff(2.0, 5.0, rng)
    first, second, third = (backoff.next_delay() for _ in range(3))
    assert 1.5 <= first <= 2.0 and 3.0 <= second <= 4.0 and third == 5.0
    backoff.reset()
    assert backoff.next_delay() <= 2.0


def test_the_jitter_shortens_by_at_most_a_quarter_and_varies() -> None:
    rng = random.Random(7)
    waits = [delay(2, 1.0, 100.0, rng) for _ in range(500)]
    assert all(3.0 <= w <= 4.0 for w in waits)
    assert min(waits) < 3.1 and max(waits) > 3.9  # spread over the whole quarter
    assert len(set(waits)) > 400  # clients do not retry in step


def test_a_ceiling_exactly_at_the_cap_is_the_cap_without_jitter() -> None:
    assert delay(2, 1.25, 5.0, random.Random(3)) == 5.0  # 1.25 × 4 = 5
    assert delay(0, 5.0, 5.0) == 5.0
    assert delay(0, 9.0, 5.0) == 5.0  # an initial above the cap: the cap


def test_a_very_long_outage_neither_overflows_nor_exceeds_the_cap() -> None:
    # 2 ** 10_000 would overflow a float: the exponent stops at 32.
    assert delay(10_000, 0.001, 30.0) == 30.0
    assert delay(10_000, 1e-12, 1e9) < 1e9  # 1e-12 × 2**32 stays below the cap
    backoff = Backoff(0.1, 2.0)
    waits = [backoff.next_delay() for _ in range(1000)]
    assert backoff.attempt == 1000 and waits[-1] == 2.0 and max(waits) == 2.0


def test_the_delay_is_a_float_even_for_integer_settings() -> None:
    assert isinstance(delay(5, 1, 3), float) and delay(5, 1, 3) == 3.0
    assert isinstance(delay(0, 1, 3, random.Random(0)), float)


def test_reset_starts_the_ramp_again_and_a_seeded_backoff_repeats_itself() -> None:
    a, b = Backoff(1.0, 60.0, random.Random(42)), Backoff(1.0, 60.0, random.Random(42))
    first = [a.next_delay() for _ in range(4)]
    assert first == [b.next_delay() for _ in range(4)]
    assert a.attempt == 4
    a.reset()
    assert a.attempt == 0 and 0.75 <= a.next_delay() <= 1.0 and a.attempt == 1
