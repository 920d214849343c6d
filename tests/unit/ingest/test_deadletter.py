"""`ingest.deadletter`: the dead-letter file — one JSON line per record with
its time, reason, detail and what was refused, appended (across a close and a
restart), on disk when `write` returns, an unwritable path an error rather than
a silent loss; and each topic's `Backlog`, bounded, counting what only the file
keeps. (Publishing the backlogs: `tests/unit/notify/test_deadletter.py`.)"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from floodwatch.ingest import deadletter
from floodwatch.ingest.deadletter import Backlog, DeadLetter
from floodwatch.readings import Reading, Rejected, RejectReason

T = datetime(2026, 7, 7, 8, 0, tzinfo=UTC)


def bad(i: int) -> Rejected:
    return Rejected(RejectReason.DECODE, f"not JSON #{i}", raw=f"x{i}", source="mqtt:hydro/p1")


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_bytes().splitlines()]


def test_each_record_is_one_json_line_with_its_time_reason_and_what_was_refused(
    tmp_path: Path,
) -> None:
    path = tmp_path / "var" / "spool" / "dead-letter.jsonl"  # folders made as needed
    dead = DeadLetter(path)
    late = Rejected(RejectReason.TOO_LATE, "2 h late", reading=Reading("p1", "level", 310.4, T))
    before = datetime.now(UTC)
    dead.write([bad(1), late])
    # on disk when write returns, before close (the messages are acknowledged next)
    got = lines(path)
    dead.close()
    assert dead.count == 2
    assert [{k: v for k, v in r.items() if k != "at"} for r in got] == [
        {"reason": "decode_error", "detail": "not JSON #1", "raw": "x1", "source": "mqtt:hydro/p1"},
        {
            "reason": "too_late",
            "detail": "2 h late",
            "reading": {
                "station": "p1",
                "kind": "level",
                "value": 310.4,
                "ts": "2026-07-07T08:00:00Z",
            },
        },
    ]
    at = str(got[0]["at"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", at), at
    assert got[1]["at"] == at  # one write, one time
    written = datetime.fromisoformat(at)
    assert before.replace(microsecond=0) <= written <= datetime.now(UTC)


def test_records_are_appended_across_a_close_and_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "dead-letter.jsonl"
    dead = DeadLetter(path)
    dead.write([bad(1)])
    dead.close()
    dead.close()  # twice: harmless
    dead.write([bad(2)])  # reopened
    dead.close()
    again = DeadLetter(path)  # the service restarted
    again.write(iter([bad(3), bad(4)]))  # any iterable
    again.close()
    assert [r["detail"] for r in lines(path)] == [f"not JSON #{i}" for i in (1, 2, 3, 4)]
    assert again.count == 2  # counted since this start


def test_nothing_to_write_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "dead-letter.jsonl"
    dead = DeadLetter(path)
    backlog = Backlog()
    dead.backlogs = [backlog]
    dead.write([bad(1)])
    backlog.waiting.clear()
    dead.write([])
    dead.close()
    assert path.read_bytes().count(b"\n") == 1  # no blank line in the JSON Lines file
    assert dead.count == 1 and not backlog.waiting.is_set()


def test_a_path_that_cannot_be_written_raises_instead_of_losing_the_records(
    tmp_path: Path,
) -> None:
    (tmp_path / "var").write_text("a file where the folder belongs")
    dead = DeadLetter(tmp_path / "var" / "dead-letter.jsonl")
    with pytest.raises(OSError):
        dead.write([bad(1)])
    assert dead.count == 0


@pytest.mark.asyncio
async def test_every_topic_s_backlog_gets_each_record_in_order_and_is_woken(
    tmp_path: Path,
) -> None:
    dead = DeadLetter(tmp_path / "dead-letter.jsonl")
    mqtt, kafka = Backlog(), Backlog()
    dead.backlogs = [mqtt, kafka]
    waiter = asyncio.create_task(mqtt.waiting.wait())
    dead.write([bad(1), bad(2)])
    await asyncio.wait_for(waiter, 1)
    dead.close()
    file = (tmp_path / "dead-letter.jsonl").read_bytes().splitlines()
    assert list(mqtt.records) == list(kafka.records) == file  # the very bytes of the file
    assert dead.unpublished == 0


def test_beyond_the_bound_a_backlog_drops_its_oldest_and_counts_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(deadletter, "BACKLOG", 3)
    dead = DeadLetter(tmp_path / "dead-letter.jsonl")
    slow, quick = Backlog(), Backlog()
    dead.backlogs = [slow, quick]
    dead.write([bad(1), bad(2)])
    quick.records.clear()  # this topic published them
    dead.write([bad(3), bad(4)])
    assert [json.loads(r)["detail"][-1] for r in slow.records] == ["2", "3", "4"]
    assert slow.dropped == 1 and quick.dropped == 0
    dead.write([bad(i) for i in range(5, 10)])  # more than the bound in one write
    assert [json.loads(r)["detail"][-1] for r in slow.records] == ["7", "8", "9"]
    assert slow.dropped == 6 and quick.dropped == 4 and dead.unpublished == 10
    dead.close()
    assert len(lines(tmp_path / "dead-letter.jsonl")) == 9  # the file has them all
