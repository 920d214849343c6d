"""`ingest.sl651.packets.Reassembly`: an M3 multi-packet report joined per
connection, in sequence order whatever order the packets came in; a report
still missing packets NAKed for the first missing one after `timeout`
(`naks` times at most, the wait starting again after each NAK), then given
up; what is unfinished when the connection ends handed back. Pure: the time
is passed in."""

from __future__ import annotations

from floodwatch.ingest.sl651.frame import End, Frame
from floodwatch.ingest.sl651.packets import Partial, Reassembly

POND, RAIN = "0033018201", "0033018203"
PICTURE, HOURLY = 0x36, 0x34


def packet(n: int, total: int = 3, station: str = POND, function: int = PICTURE) -> Frame:
    return Frame(
        1,
        station,
        "1234",
        function,
        f"<{station[-1]}{n}>".encode(),
        End.ETX if n == total else End.ETB,
        total=total,
        sequence=n,
        raw=f"[{station[-1]}{n}/{total}]".encode(),
    )


def test_packets_in_order_make_one_frame_with_the_bodies_joined() -> None:
    joined = Reassembly(timeout=60)
    assert joined.add(packet(1), 0.0) is None
    assert joined.add(packet(2), 1.0) is None
    whole = joined.add(packet(3), 2.0)
    assert whole is not None
    assert whole.body == b"<11><12><13>"
    assert whole.raw == b"[11/3][12/3][13/3]"
    assert (whole.total, whole.sequence, whole.multi) == (0, 0, False)  # a single frame now
    assert whole.end == End.ETX
    assert (whole.station, whole.password, whole.function) == (POND, "1234", PICTURE)
    assert joined.partial == {} and joined.next_deadline() is None


def test_packets_out_of_order_are_joined_in_sequence_order() -> None:
    joined = Reassembly(timeout=60)
    assert joined.add(packet(3), 0.0) is None
    assert joined.add(packet(1), 0.0) is None
    whole = joined.add(packet(2), 0.0)
    assert whole is not None and whole.body == b"<11><12><13>"
    assert whole.end == End.ETX  # the last packet's end, not the last one received


def test_a_packet_sent_twice_counts_once() -> None:
    joined = Reassembly(timeout=60)
    joined.add(packet(1), 0.0)
    assert joined.add(packet(1), 5.0) is None
    joined.add(packet(2), 6.0)
    whole = joined.add(packet(3), 7.0)
    assert whole is not None and whole.body == b"<11><12><13>"


def test_a_report_of_one_packet_is_whole_at_once() -> None:
    whole = Reassembly(timeout=60).add(packet(1, total=1), 0.0)
    assert whole is not None and whole.body == b"<11>"


def test_reports_of_two_stations_and_two_functions_are_kept_apart() -> None:
    joined = Reassembly(timeout=60)
    joined.add(packet(1, 2, POND), 0.0)
    joined.add(packet(1, 2, RAIN), 0.0)
    joined.add(packet(1, 2, POND, HOURLY), 0.0)
    rain = joined.add(packet(2, 2, RAIN), 1.0)
    assert rain is not None and rain.body == b"<31><32>" and rain.station == RAIN
    assert sorted(joined.partial) == [(POND, HOURLY), (POND, PICTURE)]


def test_a_new_report_with_another_packet_total_gives_the_old_one_up() -> None:
    joined = Reassembly(timeout=60)
    joined.add(packet(1, total=3), 0.0)
    joined.add(packet(2, total=3), 1.0)
    assert joined.add(packet(1, total=2), 2.0) is None  # the RTU began another report
    nak, [old] = joined.due(2.0)  # at once, not after its wait: it will not be finished
    assert nak == [] and (old.total, old.missing, old.naks) == (3, [3], 0)
    assert old.raw == b"[11/3][12/3]"
    whole = joined.add(packet(2, total=2), 3.0)
    assert whole is not None and whole.body == b"<11><12>"
    assert joined.partial == {} and joined.due(1000.0) == ([], [])


def test_a_report_given_up_for_another_is_drained_with_the_connection() -> None:
    joined = Reassembly(timeout=60)
    joined.add(packet(1, total=3), 0.0)
    joined.add(packet(1, total=2), 1.0)
    assert sorted(p.total for p in joined.drain()) == [2, 3]
    assert joined.due(1000.0) == ([], [])


def test_the_wait_is_counted_from_the_last_packet() -> None:
    joined = Reassembly(timeout=60)
    assert joined.next_deadline() is None
    joined.add(packet(1), 10.0)
    assert joined.next_deadline() == 70.0
    joined.add(packet(2), 40.0)
    assert joined.next_deadline() == 100.0
    joined.add(packet(1, 2, RAIN), 20.0)
    assert joined.next_deadline() == 80.0  # the earliest of all reports waiting
    assert joined.due(79.9) == ([], [])


def test_a_missing_packet_is_naked_twice_then_the_report_is_given_up() -> None:
    joined = Reassembly(timeout=60, naks=2)
    joined.add(packet(1), 0.0)
    joined.add(packet(3), 0.0)
    assert joined.due(59.0) == ([], [])
    nak, given_up = joined.due(60.0)
    assert [(f.sequence, missing) for f, missing in nak] == [(1, 2)] and given_up == []
    assert joined.next_deadline() == 120.0  # the wait starts again after a NAK
    assert joined.due(119.0) == ([], [])
    nak, given_up = joined.due(120.0)
    assert [missing for _, missing in nak] == [2] and given_up == []
    nak, given_up = joined.due(180.0)
    assert nak == []
    [part] = given_up
    assert (part.total, part.missing, part.naks) == (3, [2], 2)
    assert part.raw == b"[11/3][13/3]"
    assert joined.partial == {} and joined.next_deadline() is None


def test_a_packet_after_a_nak_completes_the_report() -> None:
    joined = Reassembly(timeout=60)
    joined.add(packet(1), 0.0)
    joined.add(packet(3), 0.0)
    [(_, missing)] = joined.due(60.0)[0]
    whole = joined.add(packet(missing), 61.0)
    assert whole is not None and whole.body == b"<11><12><13>"
    assert joined.due(1000.0) == ([], [])


def test_the_first_missing_packet_is_asked_for() -> None:
    joined = Reassembly(timeout=5)
    joined.add(packet(4, total=5), 0.0)
    [(frame, missing)] = joined.due(5.0)[0]
    assert (frame.sequence, missing) == (4, 1)


def test_with_no_naks_a_report_is_given_up_when_its_wait_runs_out() -> None:
    joined = Reassembly(timeout=5, naks=0)
    joined.add(packet(1), 0.0)
    nak, given_up = joined.due(5.0)
    assert nak == [] and [p.missing for p in given_up] == [[2, 3]]


def test_drain_hands_back_everything_unfinished() -> None:
    joined = Reassembly(timeout=60)
    joined.add(packet(2), 0.0)
    joined.add(packet(1, 2, RAIN), 0.0)
    drained = joined.drain()
    assert sorted((p.packets[next(iter(p.packets))].station, p.missing) for p in drained) == [
        (POND, [1, 3]),
        (RAIN, [2]),
    ]
    assert joined.partial == {} and joined.drain() == []


def test_a_partial_s_missing_and_raw() -> None:
    part = Partial(0.0, 0.0, 4, {3: packet(3, 4), 1: packet(1, 4)})
    assert part.missing == [2, 4]
    assert part.raw == b"[11/4][13/4]"
    assert Partial(0.0, 0.0, 2).missing == [1, 2]
