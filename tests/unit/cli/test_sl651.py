"""`floodwatch.cli.sl651`: `sl651 decode` on frames pasted from RTU logs (hex
with spaces, stdin, ASCII mode, a bad CRC, not hex at all), `sl651-gateway`'s
start-up failures in-process, and a storm sent by `send_storm` (`floodwatch
simulate --sl651`) through a real `floodwatch sl651-gateway` process into a
real mosquitto — started only after the RTUs began calling (a dead peer that
comes up), and stopped by SIGTERM."""

from __future__ import annotations

import contextlib
import json
import logging
import signal
import socket
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from floodwatch.cli.app import main
from floodwatch.cli.options import load
from floodwatch.cli.sl651 import decode_cmd, gateway_cmd, send_storm
from floodwatch.ingest.sl651.body import TIMED, Element
from floodwatch.ingest.sl651.rtu import Rtu, RtuIdentity
from floodwatch.sim import SCENARIOS, simulate
from floodwatch.testing import compile_yaml
from tests.conftest import POND
from tests.integration.services import (
    Floodwatch,
    Mosquitto,
    Subscriber,
    free_port,
    service_config,
)

FRAMES = {
    f["name"]: f
    for f in json.loads(
        (Path(__file__).parents[2] / "reference" / "sl651_frames.json").read_text("utf-8")
    )
}
GOOD = FRAMES["njnrs_32H_reservoir_ZU"]["hex"]
BAD_CRC = FRAMES["bad_crc_flip_last_byte"]["hex"]


def decode(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(decode_cmd, list(args), input=stdin)


@pytest.fixture
def root_logging() -> Iterator[None]:
    """`sl651-gateway` sets up the root logger for its process; put pytest's back."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


# -- decode ------------------------------------------------------------------------------


def test_a_frame_decodes_to_one_json_line_spaces_or_not() -> None:
    plain = decode(GOOD)
    assert plain.exit_code == 0, plain.output
    out = json.loads(plain.stdout)
    assert out["station"] == "00418D2337" and out["station_class"] == "K"
    spaced = " ".join(GOOD[i : i + 2] for i in range(0, len(GOOD), 2)).lower()
    assert decode(spaced).stdout == plain.stdout
    assert decode(f"  {GOOD[:20]}\t{GOOD[20:]}  ").stdout == plain.stdout


def test_frames_are_read_one_per_line_from_stdin_blank_lines_skipped() -> None:
    other = FRAMES["fujian_32H_timed_river"]["hex"]
    for args in ((), ("-",)):
        result = decode(*args, stdin=f"{GOOD}\n\n   \n{other}\n")
        assert result.exit_code == 0, result.output
        lines = [json.loads(line) for line in result.stdout.splitlines()]
        assert [line["station"] for line in lines] == ["00418D2337", lines[1]["station"]]
        assert len(lines) == 2


def test_an_ascii_mode_frame_is_taken_as_received() -> None:
    rtu = Rtu(RtuIdentity("0033018201", "1234", "K", ascii=True), "127.0.0.1", 1)
    sent = datetime(2026, 7, 7, 11, 15)  # noqa: DTZ001 — station time, as the RTU sends it
    (frame,) = rtu.build(TIMED, [Element("Z", sent, 310.42)], sent, serial=7)
    assert frame[:1] == b"\x01"
    result = decode(stdin=frame.decode("latin-1") + "\n")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["station"] == "0033018201" and out["serial"] == 7
    assert {"element": "Z", "time": "2026-07-07T11:15:00", "value": 310.42} in out["elements"]


def test_a_bad_frame_is_printed_with_its_error_and_fails_the_command() -> None:
    result = decode(GOOD, BAD_CRC)
    assert result.exit_code == 1
    good, bad = (json.loads(line) for line in result.stdout.splitlines())
    assert "error" not in good and bad["error"] == "crc_mismatch"
    assert result.stderr.startswith("bad frame: crc_mismatch: ")
    cut = decode(FRAMES["truncated"]["hex"])
    assert cut.exit_code == 1 and "truncated" in cut.stderr


def test_text_that_is_not_hex_is_refused_naming_it() -> None:
    result = decode("7E7E01 hello RTU log line")
    assert result.exit_code == 1
    assert result.output == "Error: not hex: '7E7E01helloRTUlogline'\n"
    long = decode("zz" * 40)
    assert "'" + "z" * 40 + "'" in long.output  # cut at 40 characters


# -- send_storm's arguments ---------------------------------------------------------------------


STORM = simulate(
    replace(SCENARIOS["blocked"], hours=2.0), quiet_ponds={"xiawu-pond": 203.8}
).readings
EXAMPLE = load(Path(__file__).resolve().parents[3] / "config")


@pytest.mark.parametrize("to", ["localhost", "127.0.0.1:", ":5005", "127.0.0.1:port"])
def test_send_storm_wants_host_and_port(to: str) -> None:
    result = CliRunner().invoke(main, ["simulate", "--hours", "0.1", "--sl651", to])
    assert result.exit_code == 2
    assert f"Invalid value for --sl651: HOST:PORT, got {to!r}" in result.output


def test_send_storm_needs_stations_with_an_sl651_block() -> None:
    import click

    compiled = compile_yaml(stations=POND, rules="rules: []\n")
    with pytest.raises(click.ClickException, match="no station of the config has an sl651"):
        send_storm(STORM, compiled, "127.0.0.1:1", None, 0.0, False)
    with pytest.raises(click.ClickException, match="--stations 5: the config has 4 SL 651"):
        send_storm(STORM, EXAMPLE, "127.0.0.1:1", 5, 0.0, False)


# -- sl651-gateway in-process: what stops it before it serves -------------------------------------


def test_the_gateway_with_a_broken_config_lists_the_problem(tmp_path: Path) -> None:
    cfg = service_config(tmp_path, sl651={"listen": "127.0.0.1:bad"})
    result = CliRunner().invoke(gateway_cmd, ["--config", str(cfg)])
    assert result.exit_code == 2
    assert "service.yaml:" in result.stderr and "HOST:PORT, got '127.0.0.1:bad'" in result.stderr


def test_the_gateway_without_sl651_or_a_broker_says_what_it_needs(
    tmp_path: Path, root_logging: None
) -> None:
    cfg = service_config(tmp_path, sl651={"listen": f"127.0.0.1:{free_port()}"})
    result = CliRunner().invoke(gateway_cmd, ["--config", str(cfg), "--log-format", "json"])
    assert result.exit_code == 2
    (line,) = [json.loads(x) for x in result.stderr.splitlines()]
    assert line["level"] == "error" and line["logger"] == "floodwatch.sl651.gateway"
    assert line["message"] == "the gateway needs service.sl651 and service.kafka (or service.mqtt)"


def test_the_gateway_on_a_port_in_use_fails_with_exit_1(
    tmp_path: Path, mosquitto: Mosquitto, root_logging: None
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        cfg = _gateway_config(tmp_path, mosquitto, port)
        result = CliRunner().invoke(gateway_cmd, ["--config", str(cfg)])
    assert result.exit_code == 1, result.stderr
    assert "sl651 receiver failed:" in result.stderr and "address already in use" in (
        result.stderr.lower()
    )
    assert "floodwatch sl651-gateway running" not in result.stderr


# -- a storm through a real gateway ---------------------------------------------------------------


def _gateway_config(tmp_path: Path, broker: Mosquitto, port: int) -> Path:
    """The example config with the gateway forwarding to MQTT as the county
    gateway account (the ACL lets it write gateway/county-gw only)."""
    cfg = service_config(tmp_path, broker.port, sl651={"listen": f"127.0.0.1:{port}"})
    data: dict[str, Any] = yaml.safe_load((cfg / "service.yaml").read_text())
    data["service"]["mqtt"]["username"] = "county-gw"
    data["service"]["sl651"]["mqtt_topic"] = "gateway/county-gw"
    (cfg / "service.yaml").write_text(yaml.safe_dump(data))
    return cfg


def test_a_storm_reaches_the_broker_through_a_gateway_that_came_up_late(
    tmp_path: Path, mosquitto: Mosquitto, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    cfg = _gateway_config(tmp_path, mosquitto, port)
    out = Subscriber(mosquitto, "gateway/county-gw", user="floodwatch").start()
    errors: list[BaseException] = []

    def storm() -> None:
        try:
            send_storm(STORM, load(cfg), f"127.0.0.1:{port}", 3, 0.0, False)
        except BaseException as exc:
            errors.append(exc)

    player = threading.Thread(target=storm, daemon=True)
    player.start()  # the RTUs call a gateway that is not there yet
    gateway = Floodwatch(cfg, tmp_path, command="sl651-gateway")
    try:
        player.join(timeout=1.0)
        assert player.is_alive()
        gateway.start()
        gateway.wait_log("floodwatch sl651-gateway running", timeout=30)
        player.join(timeout=60)
        assert not player.is_alive() and not errors, errors
        assert gateway.proc is not None
        gateway.proc.send_signal(signal.SIGTERM)
        assert gateway.proc.wait(timeout=15) == 0
        gateway.proc = None
    finally:
        gateway.kill()
        out.stop()
    said = capsys.readouterr().err.strip().splitlines()[-1]
    reports = sum(
        1 for r in STORM if r.station in {"maokeng-pond", "maokeng-culvert", "maokeng-rain"}
    )
    assert said == f"3 RTUs: {reports} reports confirmed, {said.split(', ')[1]}, 0 sent again"
    batches = [json.loads(payload) for _, _, payload in out.messages()]
    readings = [r for batch in batches for r in batch]
    assert len(batches) == reports and len(readings) == reports
    assert {r["station"] for r in readings} == {"maokeng-pond", "maokeng-culvert", "maokeng-rain"}
    log = gateway.log.read_text()
    assert "SIGTERM received: stopping" in log
    assert f"{reports} confirmed" in log


def test_a_gateway_the_broker_refuses_confirms_nothing_and_stops(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    """The gateway's account may not write its topic (the ACL): the broker
    answers the PUBACK "Not authorized" and drops the readings. Confirming
    the report would lose it for good; the gateway confirms nothing and
    exits 1 saying why."""
    port = free_port()
    cfg = _gateway_config(tmp_path, mosquitto, port)
    data: dict[str, Any] = yaml.safe_load((cfg / "service.yaml").read_text())
    data["service"]["mqtt"]["username"] = "floodwatch"  # reads gateway/#, may not write it
    (cfg / "service.yaml").write_text(yaml.safe_dump(data))
    gateway = Floodwatch(cfg, tmp_path, command="sl651-gateway")
    gateway.start()
    try:
        gateway.wait_log("floodwatch sl651-gateway running", timeout=30)
        rtu = Rtu(RtuIdentity("0033018201", "1234", "K"), "127.0.0.1", port)
        sent = datetime(2026, 7, 7, 11, 15)  # noqa: DTZ001 — station time, as the RTU sends it
        (frame,) = rtu.build(TIMED, [Element("ZU", sent, 310.42)], sent, serial=1)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as rtu_socket:
            rtu_socket.sendall(frame)
            assert gateway.proc is not None
            assert gateway.proc.wait(timeout=15) == 1
            rtu_socket.settimeout(2)
            answer = b""
            with contextlib.suppress(OSError):
                while chunk := rtu_socket.recv(4096):
                    answer += chunk
        gateway.proc = None
    finally:
        gateway.kill()
    assert answer == b"", "the report was confirmed though the broker dropped it"
    log = gateway.log.read_text()
    assert "the broker refused the readings on gateway/county-gw: Not authorized" in log
    assert "0 confirmed" in log
