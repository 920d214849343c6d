"""Bad input never stops the stream: 10,000 fuzzed payloads among a valid storm
(100 examples of 100 payloads, each mixed into 400 readings of the storm).

The payloads go through the service's own processing step (decode, engine,
store, dead-letter) exactly as MQTT messages do, without a broker in between,
so every one can be accounted for.
"""

from __future__ import annotations

import json
import random
import tempfile
from pathlib import Path

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from floodwatch.ingest.source import Incoming
from floodwatch.notify.sinks import load_config_dir
from floodwatch.service.run import Service
from floodwatch.sim import simulate
from tests.integration.services import expected_transitions, service_config, stored_transitions

STORM = simulate("blocked", quiet_ponds={"xiawu-pond": 203.8}).readings
GOOD = {"station": "maokeng-pond", "kind": "level", "value": 310.2, "ts": "2026-07-07T03:00:00Z"}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)


def _with(**changes: object) -> bytes:
    return json.dumps({**GOOD, **changes}).encode()


bad_payloads = st.one_of(
    # not UTF-8
    st.binary(min_size=1, max_size=50).map(lambda b: b"\xff\xfe" + b),
    # nested far too deep
    st.integers(50, 3_000).map(lambda n: b"[" * n + b"]" * n),
    st.integers(50, 1_500).map(lambda n: b'{"a":' * n + b"1" + b"}" * n),
    # NaN, infinities and numbers too large for a float
    st.sampled_from([b"NaN", b"Infinity", b"-Infinity", b"1e400", b"-1e999"]).map(
        lambda v: json.dumps(GOOD).replace("310.2", v.decode()).encode()
    ),
    st.integers(309, 1200).map(lambda n: _with(value=10**n)),
    # a required field missing, or of the wrong type
    st.sampled_from(["station", "kind", "value", "ts"]).map(
        lambda k: json.dumps({f: v for f, v in GOOD.items() if f != k}).encode()
    ),
    st.one_of(
        st.none(), st.booleans(), st.integers(), st.text(max_size=20), st.lists(json_values)
    ).map(msgspec.json.encode),
    # station ids carrying topic separators, wildcards or control characters
    st.sampled_from(["maokeng/pond", "+", "#", "a/#", "pond+1", " ", "x\u0000y", "", "塘" * 3]).map(
        lambda s: _with(station=s)
    ),
    st.text(min_size=65, max_size=80, alphabet="abc").map(lambda s: _with(station=s)),
    # unknown stations and kinds, naive and unparseable times
    st.sampled_from([_with(station="nowhere"), _with(kind="snow"), _with(ts="2026-07-07 03:00")]),
    st.sampled_from([_with(ts="yesterday"), _with(ts=12), _with(extra=1), b"", b"{}", b"[]"]),
    # a key twice: which value would count depends on the parser
    st.sampled_from(["station", "kind", "value", "ts"]).map(
        lambda k: json.dumps(GOOD).encode()[:-1] + f', "{k}": {json.dumps(GOOD[k])}}}'.encode()
    ),
)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(payloads=st.lists(bad_payloads, min_size=100, max_size=100), seed=st.integers(0, 10**6))
def test_fuzzed_payloads_are_dead_lettered_and_change_no_alert(
    payloads: list[bytes], seed: int
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        cfg = service_config(work)
        service = Service(load_config_dir(cfg))
        service.open()
        start = seed % (len(STORM) - 400)
        valid = STORM[start : start + 400]
        good = [
            Incoming(json.dumps(r.to_json()).encode(), "hydro/x/y", "canonical", "mqtt")
            for r in valid
        ]
        bad = [Incoming(p, "hydro/x/y", "canonical", "mqtt") for p in payloads]
        rng = random.Random(seed)
        stream = good + bad
        # Bad payloads anywhere; the good ones keep their order.
        slots = sorted(rng.sample(range(len(stream)), len(bad)))
        mixed: list[Incoming] = []
        g = iter(good)
        b = iter(bad)
        for i in range(len(stream)):
            mixed.append(next(b) if slots and i == slots[0] else next(g))
            if slots and i == slots[0]:
                slots.pop(0)
        for i in range(0, len(mixed), 100):
            service.step(mixed[i : i + 100])
        service.close()
        lines = (work / "var" / "dead-letter.jsonl").read_bytes().rstrip(b"\n").split(b"\n")
        reasons = [json.loads(line)["reason"] for line in lines]
        assert len(lines) == len(bad), sorted(set(reasons))
        assert all(json.loads(line)["reason"] for line in lines)
        assert stored_transitions(work / "var" / "floodwatch.db") == expected_transitions(
            cfg, valid
        )
