"""Realistic SL 323 rows for one county, with the faults real tables have:
a duplicate STCD, a crest below the flood-limit level, a storage curve that
falls, a station without coordinates, a station type floodwatch does not watch,
and levels of a station missing from the station table."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

# (column, PostgreSQL type) per table, as in SL 323's table definitions.
COLUMNS: dict[str, list[tuple[str, str]]] = {
    "ST_STBPRP_B": [
        ("STCD", "char(8)"),
        ("STNM", "varchar(30)"),
        ("RVNM", "varchar(30)"),
        ("LGTD", "numeric(10,6)"),
        ("LTTD", "numeric(10,6)"),
        ("STLC", "varchar(50)"),
        ("ADDVCD", "varchar(15)"),
        ("STTP", "char(2)"),
        ("MODITIME", "timestamp"),
    ],
    "ST_RSVRFCCH_B": [
        ("STCD", "char(8)"),
        ("RSVRTP", "char(1)"),
        ("DAMEL", "numeric(7,3)"),
        ("CKFLZ", "numeric(7,3)"),
        ("DSFLZ", "numeric(7,3)"),
        ("NORMZ", "numeric(7,3)"),
        ("DDZ", "numeric(7,3)"),
        ("FSLTDZ", "numeric(7,3)"),
        ("TTCP", "numeric(9,3)"),
        ("MODITIME", "timestamp"),
    ],
    "ST_RSVRFSR_B": [
        ("STCD", "char(8)"),
        ("BGMD", "char(4)"),
        ("EDMD", "char(4)"),
        ("FSLTDZ", "numeric(7,3)"),
        ("FSTP", "char(1)"),
        ("MODITIME", "timestamp"),
    ],
    "ST_ZVARL_B": [
        ("STCD", "char(8)"),
        ("MSTM", "date"),
        ("PTNO", "numeric(4)"),
        ("RZ", "numeric(7,3)"),
        ("W", "numeric(9,3)"),
        ("WSFA", "numeric(9,3)"),
        ("MODITIME", "timestamp"),
    ],
    "ST_RVFCCH_B": [
        ("STCD", "char(8)"),
        ("LDKEL", "numeric(7,3)"),
        ("WRZ", "numeric(7,3)"),
        ("GRZ", "numeric(7,3)"),
        ("MODITIME", "timestamp"),
    ],
}

T = "2025-03-01 08:00:00"
ROWS: dict[str, list[tuple[Any, ...]]] = {
    "ST_STBPRP_B": [
        (
            "62903100",
            "毛坑水库",
            "分水江",
            119.623410,
            29.812770,
            "桐庐县凤川镇毛坑村",
            "330122104201",
            "RR",
            T,
        ),
        (
            "62903200",
            "下坞山塘",
            "分水江",
            119.631200,
            29.805100,
            "桐庐县凤川镇下坞村",
            "330122104202",
            "RR",
            T,
        ),
        (
            "62903300",
            "毛坑雨量站",
            None,
            119.620000,
            29.815000,
            "桐庐县凤川镇毛坑村",
            "330122104201",
            "PP",
            T,
        ),
        (
            "62903400",
            "分水江桐庐站",
            "分水江",
            119.688000,
            29.793000,
            "桐庐县桐君街道",
            "330122001",
            "ZQ",
            T,
        ),
        (
            "62903500",
            "坏坝山塘",
            "分水江",
            119.640000,
            29.801000,
            "桐庐县凤川镇翙岗村",
            "330122104203",
            "RR",
            T,
        ),
        (
            "62903600",
            "石门水库",
            "分水江",
            119.650000,
            29.830000,
            "桐庐县凤川镇石门村",
            "330122104204",
            "RR",
            T,
        ),
        ("62903700", "岭源雨量站", None, None, None, "桐庐县凤川镇岭源村", "330122104205", "PP", T),
        ("62903100", "毛坑水库(重复)", "分水江", 119.6, 29.8, "重复行", "330122104201", "RR", T),
        ("62903800", "凤川墒情站", None, 119.62, 29.81, "桐庐县凤川镇", "330122104", "SS", T),
    ],
    "ST_RSVRFCCH_B": [
        ("62903100", "5", 312.0, 311.6, 311.4, 310.9, 305.0, 310.8, 0.450, T),
        ("62903200", "5", 205.5, 205.1, 204.9, 204.6, 200.0, 204.2, 0.050, T),
        # crest 100.0 below the flood-limit level 101.2: a typo in DAMEL
        ("62903500", "5", 100.0, 103.1, 102.8, 101.5, 98.0, 101.2, 0.080, T),
        ("62903600", "4", 158.0, 157.2, 156.8, 156.0, 148.0, 155.5, 2.300, T),
        ("99999999", "5", 50.0, 49.0, 48.5, 48.0, 45.0, 47.5, 0.2, T),
    ],
    "ST_RSVRFSR_B": [
        ("62903100", "0501", "0630", 310.4, "1", T),  # 梅汛期
        ("62903100", "0701", "0915", 310.6, "2", T),  # 台汛期
    ],
    "ST_ZVARL_B": [
        # an old survey, replaced by the 2019 one
        ("62903100", "2009-06-01", 1, 308.0, 0.001, 0.002, T),
        ("62903100", "2009-06-01", 2, 312.0, 0.080, 0.026, T),
        ("62903100", "2019-05-20", 1, 308.0, 0.000, 0.0022, T),
        ("62903100", "2019-05-20", 2, 309.0, 0.005, 0.0082, T),
        ("62903100", "2019-05-20", 3, 310.0, 0.016, 0.0142, T),
        ("62903100", "2019-05-20", 4, 311.0, 0.033, 0.0202, T),
        ("62903100", "2019-05-20", 5, 312.0, 0.056, 0.0262, T),
        ("62903100", "2019-05-20", 6, 313.0, 0.085, 0.0322, T),
        # falls at 156 m: two points swapped when typed in
        ("62903600", "2018-04-01", 1, 150.0, 0.400, 0.10, T),
        ("62903600", "2018-04-01", 2, 154.0, 1.300, 0.18, T),
        ("62903600", "2018-04-01", 3, 156.0, 1.100, 0.22, T),
        ("62903600", "2018-04-01", 4, 158.0, 2.300, 0.26, T),
    ],
    "ST_RVFCCH_B": [
        ("62903400", 31.5, 28.5, 30.2, T),
    ],
}

RULES = """
rules:
  - id: reservoir-level
    name: 水库水位
    kind: level
    station_types: [pond, reservoir]
    levels:
      blue: {enter: flood_limit}
      red: {enter: crest - 0.2}
  - id: river-level
    name: 河道水位
    kind: level
    station_types: [river]
    levels:
      blue: {enter: warning}
      red: {enter: guarantee}
"""


def write_csv(directory: Path, encoding: str, null: str = "") -> Path:
    """The tables as a database tool exports them; `null` is how it writes an
    empty value ("" or, as SQL Server's tools do, "NULL")."""
    directory.mkdir(parents=True, exist_ok=True)
    for table, columns in COLUMNS.items():
        with (directory / f"{table}.csv").open("w", encoding=encoding, newline="") as f:
            writer = csv.writer(f)
            writer.writerow([name for name, _ in columns])
            for row in ROWS[table]:
                writer.writerow([null if v is None else v for v in row])
    return directory
