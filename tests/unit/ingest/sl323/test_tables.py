"""`ingest.sl323.tables`: the SL 323 tables read from CSV exports (UTF-8 with
or without BOM, else GB 18030; `NULL` empty; file and column names in any
case; a ragged row skipped with its line) and from a real PostgreSQL server
(whichever schema holds them, the connection's own first; names in any case;
NUMERIC as floats, CHAR padding stripped); only the station table required;
errors that name the source without its password."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from floodwatch.ingest.sl323.tables import (
    CURVES,
    RESERVOIRS,
    RIVERS,
    SEASONS,
    STATIONS,
    SourceError,
    _redacted,
    read_csv_dir,
    read_postgres,
)
from tests.integration.services import free_port, running
from tests.sl323.postgres import Postgres

HEADER = "stcd,STNM,Lgtd,sttp\n"


def write(directory: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_bytes(text.encode(encoding))
    return path


# -- CSV exports ------------------------------------------------------------------


def test_csv_rows_are_keyed_by_upper_case_column_with_text_stripped_and_null_empty(
    tmp_path: Path,
) -> None:
    write(
        tmp_path, "st_stbprp_b.CSV", HEADER + "60100100 , 毛坑山塘 ,119.73,RR\n60100200,,NULL,  \n"
    )
    write(tmp_path, "notes.txt", "not a table")
    tables = read_csv_dir(tmp_path)
    assert tables.rows[STATIONS] == [
        {"STCD": "60100100", "STNM": "毛坑山塘", "LGTD": "119.73", "STTP": "RR"},
        {"STCD": "60100200", "STNM": None, "LGTD": None, "STTP": None},
    ]
    assert tables.source == str(tmp_path)
    assert tables.notes == [
        f"{t}: not found in {tmp_path}; nothing taken from it"
        for t in (RESERVOIRS, SEASONS, CURVES, RIVERS)
    ]


def test_a_utf8_bom_is_dropped_and_gbk_is_read_with_a_note(tmp_path: Path) -> None:
    write(tmp_path / "bom", f"{STATIONS}.csv", "\ufeff" + HEADER + "60100100,毛坑山塘,119.73,RR\n")
    assert read_csv_dir(tmp_path / "bom").rows[STATIONS][0]["STCD"] == "60100100"
    write(tmp_path / "gbk", f"{STATIONS}.csv", HEADER + "60100100,毛坑山塘,119.73,RR\n", "gbk")
    tables = read_csv_dir(tmp_path / "gbk")
    assert tables.rows[STATIONS][0]["STNM"] == "毛坑山塘"
    assert tables.notes[0] == f"{STATIONS}.csv: read as GBK (GB 18030)"


def test_a_given_encoding_is_used_and_a_wrong_or_unknown_one_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, f"{STATIONS}.csv", HEADER + "60100100,毛坑山塘,119.73,RR\n", "gbk")
    assert read_csv_dir(tmp_path, "gb2312").rows[STATIONS][0]["STNM"] == "毛坑山塘"
    with pytest.raises(SourceError, match=f"{path}: not utf-8: "):
        read_csv_dir(tmp_path, "utf-8")
    with pytest.raises(SourceError, match="not klingon"):
        read_csv_dir(tmp_path, "klingon")


def test_bytes_that_are_neither_utf8_nor_gb18030_name_the_byte(tmp_path: Path) -> None:
    path = tmp_path / f"{STATIONS}.csv"
    path.write_bytes(HEADER.encode() + b"60100100,\xff\xff,1,RR\n")
    with pytest.raises(SourceError) as info:
        read_csv_dir(tmp_path)
    assert (
        str(info.value)
        == f"{path}: neither UTF-8 nor GBK/GB 18030 (byte {len(HEADER) + 9}); give --encoding"
    )


def test_a_ragged_row_is_skipped_with_its_line_and_blank_lines_ignored(tmp_path: Path) -> None:
    text = HEADER + "60100100,a,1,RR\n\n , , , \n60100200,b,2\n60100300,c,3,RR\n"
    write(tmp_path, f"{STATIONS}.csv", text)
    tables = read_csv_dir(tmp_path)
    assert [r["STCD"] for r in tables.rows[STATIONS]] == ["60100100", "60100300"]
    assert f"{STATIONS}.csv:5: 3 fields where the header has 4; row skipped" in tables.notes


def test_quoted_fields_keep_their_commas_and_newlines(tmp_path: Path) -> None:
    write(tmp_path, f"{STATIONS}.csv", HEADER + '60100100,"毛坑,山塘\n(老)",119.73,RR\n')
    assert read_csv_dir(tmp_path).rows[STATIONS][0]["STNM"] == "毛坑,山塘\n(老)"


def test_an_empty_file_is_a_table_without_rows(tmp_path: Path) -> None:
    write(tmp_path, f"{STATIONS}.csv", "")
    write(tmp_path, f"{CURVES}.csv", "")
    tables = read_csv_dir(tmp_path)
    assert tables.rows == {STATIONS: [], CURVES: []}


def test_without_the_station_table_or_the_directory_nothing_is_read(tmp_path: Path) -> None:
    write(tmp_path, f"{CURVES}.csv", "STCD,RZ\n1,2\n")
    with pytest.raises(SourceError, match=f"no table {STATIONS} \\(station master data\\) in "):
        read_csv_dir(tmp_path)
    with pytest.raises(SourceError, match="not a directory"):
        read_csv_dir(tmp_path / "missing")
    with pytest.raises(SourceError, match="not a directory"):
        read_csv_dir(tmp_path / f"{CURVES}.csv")


# -- PostgreSQL ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    with running(Postgres()) as server:
        yield server


@pytest.fixture(scope="module")
def hydro(postgres: Postgres) -> str:
    """Database `hydro`: the station table in schema `sl323` (unquoted, so
    lower case) and an older copy in `archive` (upper case, quoted); levels
    only in `archive`; the connection's search path `sl323`."""
    with psycopg.connect(postgres.dsn(), autocommit=True) as conn:
        conn.execute("CREATE DATABASE hydro ENCODING 'UTF8'")
    dsn = postgres.dsn("hydro")
    with psycopg.connect(dsn) as conn:
        conn.execute("CREATE SCHEMA sl323")
        conn.execute("CREATE SCHEMA archive")
        conn.execute("ALTER DATABASE hydro SET search_path = sl323")
        conn.execute(
            "CREATE TABLE sl323.st_stbprp_b (stcd char(8), stnm varchar(30), lgtd numeric(10,6))"
        )
        conn.execute(
            "INSERT INTO sl323.st_stbprp_b VALUES "
            "('601001', ' 毛坑山塘 ', 119.735211), ('601002', '', NULL)"
        )
        conn.execute('CREATE TABLE archive."ST_STBPRP_B" (stcd char(8))')
        conn.execute("INSERT INTO archive.\"ST_STBPRP_B\" VALUES ('old')")
        conn.execute('CREATE TABLE archive."ST_RSVRFCCH_B" (stcd char(8), damel numeric(7,3))')
        conn.execute("INSERT INTO archive.\"ST_RSVRFCCH_B\" VALUES ('601001', 312.000)")
    return dsn


def test_tables_are_read_from_the_connection_s_schema_first_in_any_case(hydro: str) -> None:
    tables = read_postgres(hydro)
    assert tables.rows[STATIONS] == [
        {"STCD": "601001", "STNM": "毛坑山塘", "LGTD": 119.735211},  # char(8) padding stripped
        {"STCD": "601002", "STNM": None, "LGTD": None},
    ]
    assert isinstance(tables.rows[STATIONS][0]["LGTD"], float)  # not Decimal
    assert tables.rows[RESERVOIRS] == [{"STCD": "601001", "DAMEL": 312.0}]  # from archive
    assert sorted(tables.notes) == sorted(
        f"{t}: not found in {hydro}; nothing taken from it" for t in (SEASONS, CURVES, RIVERS)
    )
    assert tables.source == hydro


def test_a_database_without_the_station_table_is_an_error(postgres: Postgres) -> None:
    with pytest.raises(SourceError, match=f"no table {STATIONS} .* in postgresql://postgres@"):
        read_postgres(postgres.dsn("postgres"))


def test_an_unreachable_server_is_an_error_without_the_password() -> None:
    dsn = f"postgresql://reader:s3cret@127.0.0.1:{free_port()}/hydro"
    with pytest.raises(SourceError) as info:
        read_postgres(dsn)
    message = str(info.value)
    assert message.startswith(f"postgresql://reader:***@127.0.0.1:{dsn.split(':')[3]}")
    assert "s3cret" not in message


def test_the_password_is_taken_out_of_every_dsn_form() -> None:
    assert _redacted("postgresql://u:pw@db.example:5433/x?sslmode=require") == (
        "postgresql://u:***@db.example:5433/x?sslmode=require"
    )
    assert _redacted("postgresql://u:pw@db/x") == "postgresql://u:***@db/x"
    assert _redacted("postgresql://u@db/x") == "postgresql://u@db/x"
    assert _redacted("host=db user=u password=pw dbname=x") == "the database"
    assert _redacted("host=db user=u dbname=x") == "host=db user=u dbname=x"


def test_without_psycopg_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(SourceError, match=r"needs psycopg: pip install 'floodwatch\[sl323\]'"):
        read_postgres("postgresql://u@db/x")
