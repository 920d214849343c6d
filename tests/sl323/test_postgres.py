"""`floodwatch import sl323 --dsn` against a real PostgreSQL server holding
the SL 323 tables (the same rows as the CSV tests, so the same result)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from tests.integration.services import running
from tests.sl323.data import COLUMNS, ROWS
from tests.sl323.postgres import Postgres
from tests.sl323.test_import import check_imported, run_import

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    with running(Postgres()) as server:
        yield server


@pytest.fixture(scope="module")
def rwdb(postgres: Postgres) -> str:
    """A database `rwdb` with the five tables in schema `sl323` (created the
    way DBA scripts usually do: unquoted names, so stored in lower case)."""
    with psycopg.connect(postgres.dsn(), autocommit=True) as conn:
        conn.execute("CREATE DATABASE rwdb ENCODING 'UTF8'")
    dsn = postgres.dsn("rwdb")
    with psycopg.connect(dsn) as conn:
        conn.execute("CREATE SCHEMA sl323")
        conn.execute("ALTER DATABASE rwdb SET search_path = sl323, public")
        for table, columns in COLUMNS.items():
            ddl = ", ".join(f"{name} {kind}" for name, kind in columns)
            conn.execute(sql.SQL(f"CREATE TABLE sl323.{table} ({ddl})"))
            marks = ", ".join(["%s"] * len(columns))
            with conn.cursor() as cur:
                cur.executemany(
                    sql.SQL(f"INSERT INTO sl323.{table} VALUES ({marks})"),
                    ROWS[table],
                )
    return dsn


def test_import_from_postgresql(rwdb: str, tmp_path: Path) -> None:
    result = run_import("--dsn", rwdb, "--output", str(tmp_path))
    check_imported(result, tmp_path)


def test_a_database_without_the_tables_is_an_error(postgres: Postgres, tmp_path: Path) -> None:
    result = run_import("--dsn", postgres.dsn("postgres"), "--output", str(tmp_path))
    assert result.exit_code == 2
    assert "no table ST_STBPRP_B (station master data) in postgresql://" in result.stderr


def test_an_unreachable_server_is_an_error_without_the_password(tmp_path: Path) -> None:
    from tests.integration.services import free_port

    dsn = f"postgresql://reader:s3cret@127.0.0.1:{free_port()}/rwdb"
    result = run_import("--dsn", dsn, "--output", str(tmp_path))
    assert result.exit_code == 2
    assert "postgresql://reader:***@127.0.0.1" in result.stderr
    assert "s3cret" not in result.stderr
