"""Engine throughput: a synthetic day for N stations at 1-minute readings.

Prints readings/s and peak memory for (a) decoding the JSONL with msgspec and
doing nothing else — the baseline — and (b) decoding and running the engine,
both in this same run, and the ratio. `--water-balance` also runs the same
readings through the same rules with the time-to-crest rule's `method:
water_balance` (every pond with a storage curve, spillway, measured culvert
and a catchment on its rain gauge) and prints the two engine rates and their
ratio from this one run; `--flooded SHARE` makes that share of the ponds rise
above their flood limit all day, so their forecasts run on every reading.
`--incidents` runs the engine alone and with each batch's alerts grouped into
incidents (`rules/incidents/tracker.py`, as the service and replay do), alternating;
with `--water-balance` it adds a third run, the water balance with incidents,
against the straight line without them (the issue-13 budget: ≤ 15 % slower);
`--cpu-time` times by the process's CPU time (a machine shared with other work).
Usage:

    python bench/engine.py [--stations 10000] [--hours 24] [--water-balance] [--flooded 0.05]
        [--incidents] [--cpu-time]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime
from operator import attrgetter
from pathlib import Path

import msgspec

from floodwatch.notify.sinks import load_config_files
from floodwatch.readings import Reading
from floodwatch.rules.compile import CompiledConfig, compile_config
from floodwatch.rules.engine import Engine
from floodwatch.rules.incidents.tracker import IncidentTracker
from floodwatch.rules.kinds.health import CHECKS

RULES = """
rules:
  - id: level
    kind: level
    station_types: [pond]
    hysteresis: 0.05
    levels: {blue: {enter: flood_limit}, yellow: {enter: design_flood}, red: {enter: crest - 0.2}}
  - id: freeboard
    kind: freeboard
    station_types: [pond]
    levels: {orange: {enter: 0.4}, red: {enter: 0.2}}
  - id: rise
    kind: rate_of_rise
    station_types: [pond]
    window: 30m
    levels: {yellow: {enter: 0.3}, red: {enter: 1.0}}
  - id: crest
    kind: time_to_crest
    station_types: [pond]
    evaluate_above: flood_limit
    levels: {orange: {enter: 1h}, red: {enter: 30m}}
  - id: blocked
    kind: compound
    station_types: [pond]
    severity: orange
    all:
      - {station: self, metric: rate_of_rise, window: 30m, above: 0.15}
      - {station: $outlet, kind: flow, below: 0.3}
  - id: rain
    kind: rainfall
    station_types: [rain_gauge]
    levels:
      blue: {within: {1h: 30, 3h: 50, 6h: 80, 24h: 120}}
      red: {within: {1h: 70, 3h: 120, 6h: 160, 24h: 250}}
  - id: health
    kind: sensor_health
    station_types: [pond, culvert, rain_gauge]
"""


STRUCTURE = (
    "     structure: {area: [[308, 2200], [310, 14200], [312, 26200], [313, 32200]],"
    " spillway: {width: 3.0}, outlets: [{invert: 310.2, area: 0.9, measured_by: $outlet}],"
    " catchment: {area_km2: 0.6, runoff_coefficient: 0.75, response: 40m}},"
)


def stations_yaml(n: int, structure: bool = False) -> str:
    lines = ["stations:"]
    for i in range(n // 3):
        lines += [
            f"  - {{id: p{i}, name: p{i}, type: pond, interval: 1m,",
            f"     links: {{outlet: c{i}, rain_gauge: r{i}}},",
            "     levels: {crest: 312.0, spillway_crest: 311.0, design_flood: 311.4,",
            "              flood_limit: 310.6},",
            *([STRUCTURE] if structure else []),
            "     limits: {level: {min: 300, max: 315, max_step: 0.3}}}",
            f"  - {{id: c{i}, name: c{i}, type: culvert, interval: 1m}}",
            f"  - {{id: r{i}, name: r{i}, type: rain_gauge, interval: 1m}}",
        ]
    return "\n".join(lines) + "\n"


def write_day(path: Path, n: int, hours: float, flooded: float = 0.0) -> int:
    """Quiet ponds at 310.3 m; a `flooded` share rises from 310.8 m at 0.05 m/h."""
    rng = random.Random(1)
    high = set(random.Random(2).sample(range(n // 3), int(flooded * (n // 3))))
    start = int(datetime(2026, 7, 7, tzinfo=UTC).timestamp())
    count = 0
    with path.open("wb") as out:
        for minute in range(int(hours * 60)):
            ts = datetime.fromtimestamp(start + minute * 60, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            rows = []
            for i in range(n // 3):
                level = 310.3 + 0.01 * rng.random()
                if i in high:
                    level += 0.5 + 0.05 * minute / 60
                rain = 0.0 if rng.random() < 0.9 else round(rng.random(), 1)
                rows.append(f'{{"station":"p{i}","kind":"level","value":{level:.3f},"ts":"{ts}"}}')
                rows.append(f'{{"station":"c{i}","kind":"flow","value":1.2,"ts":"{ts}"}}')
                rows.append(f'{{"station":"r{i}","kind":"rain","value":{rain},"ts":"{ts}"}}')
            out.write(("\n".join(rows) + "\n").encode())
            count += len(rows)
    return count


def chunks(path: Path, size: int = 1 << 22):
    with path.open("rb") as f:
        rest = b""
        while block := f.read(size):
            block = rest + block
            cut = block.rfind(b"\n") + 1
            yield block[:cut]
            rest = block[cut:]
        if rest:
            yield rest


def decode_only(path: Path) -> int:
    decoder = msgspec.json.Decoder(Reading)
    total = 0
    for block in chunks(path):
        total += len(decoder.decode_lines(block))
    return total


def decode_and_touch(path: Path) -> int:
    """Decode, then read each field of each reading once: the floor for any engine
    that takes decoded `Reading` objects in Python."""
    decoder = msgspec.json.Decoder(Reading)
    total = 0
    for block in chunks(path, 1 << 23):
        readings = decoder.decode_lines(block)
        for field in ("station", "kind", "value", "ts", "quality"):
            list(map(attrgetter(field), readings))
        total += len(readings)
    return total


def with_engine(path: Path, engine: Engine, incidents: IncidentTracker | None = None) -> int:
    """Decode and run the engine; with `incidents`, each batch's alerts also go
    through the incident tracker, as the service and replay do."""
    decoder = msgspec.json.Decoder(Reading)
    total = 0
    for block in chunks(path, 1 << 23):
        readings = decoder.decode_lines(block)
        out = engine.process(readings)
        if incidents is not None:
            incidents.apply(out.alerts)
        total += len(readings)
    out = engine.flush()
    if incidents is not None:
        incidents.apply(out.alerts)
    return total


def compare_incidents(compiled: CompiledConfig, data: Path, count: int, repeat: int) -> None:
    """The engine alone and the engine with incident grouping, alternating."""
    config = compiled.config
    rates = {"engine": 0.0, "engine + incidents": 0.0}
    changes = 0
    for _ in range(repeat):
        for name in list(rates):
            tracker = None
            if name != "engine":
                tracker = IncidentTracker(config.stations, config.engine.incidents)
            t = time.perf_counter()
            with_engine(data, Engine(compiled), tracker)
            rates[name] = max(rates[name], count / (time.perf_counter() - t))
            changes = len(tracker.open) if tracker is not None else changes
    for name, rate in rates.items():
        print(f"{name:<20} {rate:>12,.0f} readings/s")
    ratio = rates["engine + incidents"] / rates["engine"]
    print(f"with incidents / without: {ratio:.3f} ({changes} incidents open at the end)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stations", type=int, default=10_000)
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--water-balance", action="store_true")
    parser.add_argument("--flooded", type=float, default=0.0)
    parser.add_argument("--incidents", action="store_true", help="engine with incident grouping")
    parser.add_argument(
        "--cpu-time",
        action="store_true",
        help="with --water-balance: rates by the process's CPU time, not the wall clock "
        "(a machine shared with other work)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp, "cfg")
        cfg.mkdir()
        Path(cfg, "stations.yaml").write_text(stations_yaml(args.stations))
        Path(cfg, "rules.yaml").write_text(RULES)
        compiled = compile_config(load_config_files(sorted(cfg.glob("*.yaml"))))
        data = Path(tmp, "day.jsonl")
        count = write_day(data, args.stations, args.hours, args.flooded)
        if args.water_balance:  # with --incidents too: both against the plain engine
            compare_water_balance(Path(tmp), compiled, data, count, args)
            return
        if args.incidents:
            compare_incidents(compiled, data, count, args.repeat)
            return
        print(
            f"{args.stations} stations, {args.hours:g} h at 1-minute readings: "
            f"{count:,} readings, {data.stat().st_size / 1e6:.0f} MB of JSONL"
        )

        # Shared machines are noisy: alternate the two runs and keep each one's best.
        base = touch = rate = 0.0
        engine = Engine(compiled)
        for _ in range(args.repeat):
            t = time.perf_counter()
            decode_only(data)
            base = max(base, count / (time.perf_counter() - t))
            t = time.perf_counter()
            decode_and_touch(data)
            touch = max(touch, count / (time.perf_counter() - t))
            engine = Engine(compiled)
            t = time.perf_counter()
            with_engine(data, engine)
            rate = max(rate, count / (time.perf_counter() - t))
        print(f"baseline  msgspec decode only: {base:>12,.0f} readings/s (best of {args.repeat})")
        print(
            f"floor     decode + read fields:{touch:>12,.0f} readings/s "
            f"({touch / base:.2f} of baseline: any engine taking Reading objects)"
        )
        print(
            f"engine    decode + engine:     {rate:>12,.0f} readings/s "
            f"({rate / base:.2f} of baseline; target ≥ 0.50 and ≥ 500,000/s)"
        )
        print(
            f"          {engine.readings_fast / max(1, engine.readings_evaluated):.1%} of readings "
            "took the vectorised fast path"
        )
        tracemalloc.start()
        fresh = Engine(compiled)
        built, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rings = fresh.store.rts.nbytes + fresh.store.rval.nbytes
        del fresh
        bindings = len(compiled.bindings)
        print(
            f"engine state after build: {built / 1e6:.1f} MB for {bindings} station-rules, "
            f"of which window buffers {rings / 1e6:.1f} MB; beyond them "
            f"{(built - rings) / bindings:,.0f} B per station-rule (target < 2,048)"
        )
        # Health checks make their alert trackers when they first fail: the
        # worst case is every gauge failing every check.
        tracemalloc.start()
        fresh = Engine(compiled)
        for gate in fresh.health_gates():
            for check in CHECKS:
                gate.tracker(check)
        worst, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        del fresh
        print(
            f"          with every sensor check's tracker made (every gauge failing every "
            f"check): {(worst - rings) / bindings:,.0f} B per station-rule"
        )
        print(f"alerts active at the end: {len(engine.active_alerts())}")


def compare_water_balance(
    tmp: Path, compiled: CompiledConfig, data: Path, count: int, args: argparse.Namespace
) -> None:
    """The same readings through the straight-line and the water-balance forecast,
    alternating, each one's best of `--repeat`; the ratio from this run."""
    cfg = Path(tmp, "cfg-wb")
    cfg.mkdir()
    Path(cfg, "stations.yaml").write_text(stations_yaml(args.stations, structure=True))
    Path(cfg, "rules.yaml").write_text(
        RULES.replace(
            "    kind: time_to_crest\n", "    kind: time_to_crest\n    method: water_balance\n"
        )
    )
    balance = compile_config(load_config_files(sorted(cfg.glob("*.yaml"))))
    assert any(b.extra.get("method") == "water_balance" for b in balance.bindings)
    # On a shared machine (load above the cores) the wall clock counts the time
    # other processes held the CPU: `--cpu-time` times the process's own CPU.
    clock = time.process_time if args.cpu_time else time.perf_counter
    runs = [("trend", compiled, False), ("water_balance", balance, False)]
    if args.incidents:
        runs.append(("water_balance + incidents", balance, True))
    rates = dict.fromkeys((name for name, _, _ in runs), 0.0)
    for _ in range(args.repeat):
        for name, config, grouped in runs:
            engine = Engine(config)
            tracker = None
            if grouped:
                tracker = IncidentTracker(config.config.stations, config.config.engine.incidents)
            t = clock()
            with_engine(data, engine, tracker)
            rates[name] = max(rates[name], count / (clock() - t))
    for name, rate in rates.items():
        print(f"engine with time to crest by {name:<26} {rate:>12,.0f} readings/s")
    ratio = rates["water_balance"] / rates["trend"]
    print(f"water balance / straight line: {ratio:.3f} (rate {ratio - 1:+.1%}; budget: -15 %)")
    if args.incidents:
        both = rates["water_balance + incidents"] / rates["trend"]
        print(
            f"water balance and incidents / straight line alone: {both:.3f} "
            f"(rate {both - 1:+.1%}; budget: -15 %)"
        )


if __name__ == "__main__":
    main()
