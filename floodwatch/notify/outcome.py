"""What a destination says about one attempt, and how HTTP answers are classified.

Destinations classify; one place (`deliver.Deliverer`) retries: an Outcome
says whether the attempt worked, whether trying again may help and after how
long the destination asked us to wait.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import httpx

from floodwatch.notify.records import Delivery


@dataclass(frozen=True)
class Outcome:
    ok: bool
    retry: bool = False
    after: float | None = None  # seconds the destination asked us to wait
    error: str = ""
    held: float | None = None  # not attempted: wait until this time (rate limit)


@dataclass(frozen=True)
class Sent:
    """What happened to one message and the outbox rows it carried."""

    rows: list[Delivery]
    outcome: Outcome


def classify_http(response: httpx.Response) -> Outcome:
    """2xx → ok; 5xx and 429 → retry (after Retry-After if given); other → refused."""
    status = response.status_code
    if 200 <= status < 300:
        return Outcome(True)
    error = f"HTTP {status}: {response.text[:200]}"
    if status >= 500 or status == 429:
        return Outcome(False, retry=True, after=retry_after(response), error=error)
    return Outcome(False, retry=False, error=error)


def http_failure(exc: httpx.HTTPError, timeout: float) -> Outcome:
    """A request that got no answer: always worth another try."""
    if isinstance(exc, httpx.TimeoutException):
        return Outcome(False, retry=True, error=f"no answer within {timeout:g}s")
    return Outcome(False, retry=True, error=f"connection: {exc!r}")


def retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None
