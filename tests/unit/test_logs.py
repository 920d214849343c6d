"""`floodwatch.logs`: the text and JSON log formats the service writes to stderr
(`--log-format json` is what a log shipper parses, one object per line)."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator

import pytest

from floodwatch.logs import JsonFormatter, setup_logging


@pytest.fixture
def root() -> Iterator[logging.Logger]:
    """The root logger, put back as it was (setup_logging replaces its handlers)."""
    logger = logging.getLogger()
    handlers, level = logger.handlers[:], logger.level
    yield logger
    logger.handlers[:] = handlers
    logger.setLevel(level)


def _record(msg: str, *args: object, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError("bad payload from maokeng")
        except ValueError:
            exc_info = sys.exc_info()
    record = logging.LogRecord(
        "floodwatch.ingest.mqtt", logging.WARNING, __file__, 1, msg, args, exc_info
    )
    record.created = 1_783_382_400.1234  # 2026-07-07T00:00:00.123Z
    return record


def test_a_json_line_carries_time_level_logger_and_the_formatted_message() -> None:
    line = JsonFormatter().format(_record("station %s: %d readings refused", "maokeng", 3))
    assert "\n" not in line
    assert json.loads(line) == {
        "ts": "2026-07-07T00:00:00.123+00:00",
        "level": "warning",
        "logger": "floodwatch.ingest.mqtt",
        "message": "station maokeng: 3 readings refused",
    }


def test_chinese_and_quotes_survive_as_text_not_escapes() -> None:
    line = JsonFormatter().format(_record('毛坑山塘 "水位" \\ 311.5米\n第二行'))
    assert "毛坑山塘" in line  # UTF-8, readable with grep
    assert json.loads(line)["message"] == '毛坑山塘 "水位" \\ 311.5米\n第二行'
    assert line.count("\n") == 0  # a newline in a message never splits the record


def test_an_exception_goes_into_the_same_object_with_its_traceback() -> None:
    out = json.loads(JsonFormatter().format(_record("decode failed", exc=True)))
    assert out["message"] == "decode failed"
    assert out["exception"].startswith("Traceback (most recent call last):")
    assert out["exception"].rstrip().endswith("ValueError: bad payload from maokeng")


def test_no_exception_key_without_an_exception() -> None:
    assert "exception" not in json.loads(JsonFormatter().format(_record("ok")))


def test_setup_json_writes_one_object_per_line_to_stderr(
    root: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    setup_logging("json", logging.INFO)
    logging.getLogger("floodwatch.test").info("one %s", "毛坑")
    logging.getLogger("floodwatch.test").debug("below the level: not written")
    err = capsys.readouterr().err.splitlines()
    assert [json.loads(line)["message"] for line in err] == ["one 毛坑"]


def test_setup_text_is_human_readable(
    root: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    setup_logging("text", logging.DEBUG)
    logging.getLogger("floodwatch.test").debug("tick")
    err = capsys.readouterr().err
    assert err.rstrip().endswith("DEBUG floodwatch.test: tick")
    assert not err.startswith("{")


def test_calling_setup_again_replaces_the_handler_never_doubles_lines(
    root: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    setup_logging("text")
    setup_logging("json")  # e.g. the CLI, then a reload of the log settings
    logging.getLogger("floodwatch.test").warning("once")
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and json.loads(err[0])["message"] == "once"
    assert len(root.handlers) == 1
