"""A run over recorded input that refuses much of it must fail loudly.

`replay` and `backtest` count every line or row read and every one refused
(undecodable, unknown station, naive time stamp, too late, …). When the refused
share is above `--max-rejected` (default 5 %), the command exits non-zero with
the counts by reason, a sample of the refused rows and what usually causes it:
a run that silently raises nothing because its input never reached the rules
is worse than no run.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from floodwatch.readings import Rejected

MAX_REJECTED = 0.05  # default share of the input that may be refused
SAMPLE_PER_REASON = 3

HINTS = {
    "naive_timestamp": "time stamps carry no zone: give --timezone (e.g. Asia/Shanghai), "
    "or a station's timezone in stations.yaml",
    "too_late": "time stamps run backwards: rows out of time order, or day and month "
    "swapped (YYYY-DD-MM)? Sort the input by time or fix its date format",
    "too_far_in_future": "readings far ahead of every other station: a gauge with a wrong "
    "clock, or a wrong zone for some rows",
    "unknown_station": "stations that are not in the config: check the ids (or the config)",
    "unexpected_kind": "kinds a station does not report: check `reports:` in stations.yaml",
    "schema_error": "rows that are not readings: check the columns (station, kind, ts, value)",
    "decode_error": "lines that are not JSON readings: check the file format",
}


@dataclass
class RejectTally:
    """How much of an input was refused, with a few examples of each reason."""

    total: int = 0
    by_reason: Counter[str] = field(default_factory=Counter)
    sample: list[Rejected] = field(default_factory=list)

    def add(self, rejected: Rejected) -> None:
        reason = str(rejected.reason)
        self.by_reason[reason] += 1
        if self.by_reason[reason] <= SAMPLE_PER_REASON:
            self.sample.append(rejected)

    @property
    def refused(self) -> int:
        return sum(self.by_reason.values())

    def share(self) -> float:
        return self.refused / self.total if self.total else 0.0

    def failure(self, limit: float = MAX_REJECTED) -> str | None:
        """The report to print when more than `limit` of the input was refused."""
        if self.share() <= limit:
            return None
        lines = [
            f"refused {self.refused:,} of {self.total:,} input rows ({self.share():.1%}; "
            f"more than the {limit:.0%} allowed by --max-rejected):"
        ]
        for reason, count in self.by_reason.most_common():
            lines.append(
                f"  {reason}: {count:,}" + (f" — {HINTS[reason]}" if reason in HINTS else "")
            )
        lines.append("sample of refused rows:")
        for r in self.sample:
            what = r.reading.to_json() if r.reading is not None else r.raw
            where = f"{r.source}: " if r.source else ""
            lines.append(f"  {where}{r.reason}: {r.detail} — {what}")
        return "\n".join(lines)
