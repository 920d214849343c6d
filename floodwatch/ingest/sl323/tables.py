"""Read the SL 323 tables the import needs, from PostgreSQL or from CSV exports.

Rows come back as dicts keyed by upper-case column name; text is stripped, empty
text is None; numeric columns are floats from PostgreSQL and text from CSV (the
import converts them: `convert.number`). Only the table of stations is required:
a missing table of levels, seasons or curves is reported, not fatal.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

STATIONS = "ST_STBPRP_B"  # 测站基本属性表
RESERVOIRS = "ST_RSVRFCCH_B"  # 库(湖)站防洪指标表
SEASONS = "ST_RSVRFSR_B"  # 库(湖)站汛限水位表
CURVES = "ST_ZVARL_B"  # 库(湖)容积曲线表
RIVERS = "ST_RVFCCH_B"  # 河道站防洪指标表
TABLES = (STATIONS, RESERVOIRS, SEASONS, CURVES, RIVERS)

Row = dict[str, Any]


class SourceError(Exception):
    """The tables cannot be read at all (no connection, no station table)."""


@dataclass
class Tables:
    rows: dict[str, list[Row]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # e.g. "ST_ZVARL_B: not found"
    source: str = ""


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, Decimal):
        return float(value)
    return value


def _row(names: list[str], values: Any) -> Row:
    return {name.upper(): _clean(value) for name, value in zip(names, values, strict=True)}


def _found(tables: Tables, present: dict[str, list[Row]]) -> Tables:
    if STATIONS not in present:
        raise SourceError(f"no table {STATIONS} (station master data) in {tables.source}")
    for table in TABLES:
        if table not in present:
            tables.notes.append(f"{table}: not found in {tables.source}; nothing taken from it")
    tables.rows = present
    return tables


def read_postgres(dsn: str) -> Tables:
    """Every row of the five tables, in whichever schema holds them (the
    connection's own schema first), table names in any case."""
    try:
        import psycopg
        from psycopg import sql
    except ImportError:
        raise SourceError(
            "reading SL 323 tables from PostgreSQL needs psycopg: "
            "pip install 'floodwatch[sl323]' (or read CSV exports with --csv-dir)"
        ) from None
    tables = Tables(source=_redacted(dsn))
    present: dict[str, list[Row]] = {}
    try:
        with psycopg.connect(dsn, connect_timeout=10) as conn:
            located = conn.execute(
                "SELECT table_schema, table_name FROM information_schema.tables "
                "WHERE upper(table_name) = ANY(%s) "
                "ORDER BY (table_schema = current_schema()) DESC, table_schema",
                [list(TABLES)],
            ).fetchall()
            for schema, name in located:
                if name.upper() in present:
                    continue
                cur = conn.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier(schema, name)))
                names = [d.name for d in cur.description or ()]
                present[name.upper()] = [_row(names, values) for values in cur.fetchall()]
    except psycopg.Error as exc:
        raise SourceError(f"{tables.source}: {exc}".strip()) from None
    return _found(tables, present)


def _redacted(dsn: str) -> str:
    """The DSN without its password, for messages."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(dsn)
    if parts.password is None or parts.hostname is None:
        return dsn if "password" not in dsn else "the database"
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def read_csv_dir(directory: Path, encoding: str | None = None) -> Tables:
    """`ST_STBPRP_B.csv` etc. (any case) with a header row; `NULL` (as SQL
    Server and Oracle tools write it) is empty. Without an
    `encoding`, UTF-8 (with or without BOM) is tried, then GB 18030, which reads
    GBK and GB 2312 — what Chinese database tools usually export."""
    tables = Tables(source=str(directory))
    if not directory.is_dir():
        raise SourceError(f"{directory}: not a directory")
    files = {p.stem.upper(): p for p in directory.iterdir() if p.suffix.lower() == ".csv"}
    present: dict[str, list[Row]] = {}
    for table in TABLES:
        if table in files:
            present[table] = _read_csv(files[table], encoding, tables.notes)
    return _found(tables, present)


def _read_csv(path: Path, encoding: str | None, notes: list[str]) -> list[Row]:
    data = path.read_bytes()
    if encoding is None:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                text = data.decode("gb18030")
            except UnicodeDecodeError as exc:
                raise SourceError(
                    f"{path}: neither UTF-8 nor GBK/GB 18030 (byte {exc.start}); give --encoding"
                ) from None
            notes.append(f"{path.name}: read as GBK (GB 18030)")
    else:
        try:
            text = data.decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise SourceError(f"{path}: not {encoding}: {exc}") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        return []
    rows = []
    for values in reader:
        number = reader.line_num
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            notes.append(
                f"{path.name}:{number}: {len(values)} fields where the header has "
                f"{len(header)}; row skipped"
            )
            continue
        rows.append(_row(header, [None if v.strip().upper() == "NULL" else v for v in values]))
    return rows
