"""`ingest.sl651.elements`: the identifier table of SL 651-2014 (names unique,
looked up both ways), the fixed-form series codes, and the status word (ZT)
read bit by bit."""

from __future__ import annotations

from floodwatch.ingest.sl651.elements import (
    BY_NAME,
    DRP,
    DRZ,
    ELEMENTS,
    SERIES_NAMES,
    STATION_CLASSES,
    STATUS_BITS,
    status_flags,
)


def test_each_identifier_has_one_code_and_the_table_reads_both_ways() -> None:
    assert len(BY_NAME) == len(ELEMENTS) == 0x45  # 01H … 45H, none missing
    assert all(ELEMENTS[code][0] == name for name, code in BY_NAME.items())
    assert (BY_NAME["Z"], BY_NAME["PJ"], BY_NAME["PT"], BY_NAME["ZU"]) == (0x39, 0x20, 0x26, 0x3B)
    assert ELEMENTS[0x39] == ("Z", "瞬时水位 level", "m")


def test_the_series_codes_are_drp_then_drz1_to_drz8() -> None:
    assert SERIES_NAMES[DRP] == "DRP" and DRP == 0xF4
    assert [SERIES_NAMES[c] for c in DRZ] == [f"DRZ{i}" for i in range(1, 9)]
    assert list(DRZ) == list(range(0xF5, 0xFD)) and len(SERIES_NAMES) == 9
    assert not set(SERIES_NAMES) & set(ELEMENTS)  # never taken for a BCD element


def test_station_classes_are_the_letters_of_their_codes() -> None:
    assert all(chr(code) == letter for code, letter in STATION_CLASSES.items())


def test_the_status_word_gives_its_set_bits_by_name_in_bit_order() -> None:
    assert status_flags(0) == []
    assert status_flags(0b1000000) == ["level_gauge_fault"]
    assert status_flags(0b1000101) == ["ac_power_lost", "level_over_limit", "level_gauge_fault"]
    assert status_flags(0xFFF) == list(STATUS_BITS.values())  # all twelve
    assert status_flags(0xFFFF_F000) == []  # bits floodwatch does not read
