"""A replay that refuses more than --max-rejected of its input fails with the
counts by reason, what usually causes each, and a few refused rows."""

from __future__ import annotations

from floodwatch.readings import Rejected, RejectReason
from floodwatch.replay.rejects import SAMPLE_PER_REASON, RejectTally


def _tally(total: int, refused: dict[RejectReason, int]) -> RejectTally:
    tally = RejectTally(total=total)
    for reason, count in refused.items():
        for i in range(count):
            tally.add(Rejected(reason, f"row {i}", raw=f"line {i}", source=f"in.jsonl:{i + 1}"))
    return tally


def test_up_to_the_limit_passes_above_it_fails() -> None:
    assert _tally(100, {RejectReason.DECODE: 5}).failure() is None  # 5 % is allowed
    assert _tally(100, {RejectReason.DECODE: 6}).failure() is not None
    assert _tally(100, {RejectReason.DECODE: 6}).failure(limit=0.10) is None
    assert RejectTally().failure() is None  # no input, nothing refused


def test_the_report_counts_by_reason_with_hints_and_samples() -> None:
    tally = _tally(1000, {RejectReason.NAIVE_TIME: 200, RejectReason.UNKNOWN_STATION: 1})
    assert tally.refused == 201
    report = tally.failure() or ""
    lines = report.splitlines()
    assert lines[0] == (
        "refused 201 of 1,000 input rows (20.1%; more than the 5% allowed by --max-rejected):"
    )
    assert lines[1].startswith(
        "  naive_timestamp: 200 — time stamps carry no zone: give --timezone"
    )
    assert lines[2].startswith("  unknown_station: 1 — stations that are not in the config")
    samples = lines[lines.index("sample of refused rows:") + 1 :]
    assert len(samples) == SAMPLE_PER_REASON + 1  # a few of each reason, not all 201
    assert samples[0] == "  in.jsonl:1: naive_timestamp: row 0 — line 0"
