"""`config.topics`: a topic pattern with `{name}` fields becomes the MQTT
filter to subscribe to and a matcher that reads the fields out of a topic;
`+` and `#` keep their MQTT meaning; a pattern MQTT could not subscribe to is
refused with the level at fault; a topic no pattern matches is marked."""

from __future__ import annotations

import pytest

from floodwatch.config.topics import UNMATCHED, compile_topic, route


def test_named_fields_subscribe_as_plus_and_are_read_from_the_topic() -> None:
    topic = compile_topic("hydro/{town}/{station}/{kind}")
    assert topic.pattern == "hydro/{town}/{station}/{kind}"
    assert topic.filter == "hydro/+/+/+"
    assert topic.match("hydro/330110/maokeng/level") == {
        "town": "330110",
        "station": "maokeng",
        "kind": "level",
    }


@pytest.mark.parametrize(
    "topic",
    [
        "hydro/330110/maokeng",  # a level short
        "hydro/330110/maokeng/level/x",  # a level more
        "hydro/330110//level",  # an empty level is no field value
        "other/330110/maokeng/level",
        "Hydro/330110/maokeng/level",  # topics are case-sensitive
    ],
)
def test_a_topic_of_another_shape_does_not_match(topic: str) -> None:
    assert compile_topic("hydro/{town}/{station}/{kind}").match(topic) is None


def test_plus_matches_one_level_and_reads_nothing() -> None:
    topic = compile_topic("+/{station}/level")
    assert topic.filter == "+/+/level"
    assert topic.match("a/p1/level") == {"station": "p1"}
    assert topic.match("a/b/p1/level") is None


def test_hash_matches_the_rest_and_the_level_above_it() -> None:
    topic = compile_topic("gateway/{gateway}/#")
    assert topic.filter == "gateway/+/#"
    assert topic.match("gateway/gw1/a/b/c") == {"gateway": "gw1"}
    assert topic.match("gateway/gw1") == {"gateway": "gw1"}  # as MQTT: `a/#` takes `a`
    assert topic.match("gateway/gw1x") == {"gateway": "gw1x"}
    assert compile_topic("#").match("any/thing") == {}


def test_text_is_matched_literally_not_as_a_regular_expression() -> None:
    topic = compile_topic("hydro.v1/{station}")
    assert topic.filter == "hydro.v1/+"
    assert topic.match("hydro.v1/p1") == {"station": "p1"}
    assert topic.match("hydroXv1/p1") is None


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("hydro/#/x", "'#' must be the last level of 'hydro/#/x'"),
        ("hydro/st{station}", "level 'st{station}' of 'hydro/st{station}' mixes a field with text"),
        ("hydro/{Station}", "level '{Station}' of 'hydro/{Station}' mixes a field with text"),
        ("hydro/a+", "level 'a+' of 'hydro/a+' mixes a field with text"),
        ("hydro/{station", "level '{station' of 'hydro/{station' mixes a field with text"),
        ("hydro/x#", "level 'x#' of 'hydro/x#' mixes a field with text"),
    ],
)
def test_a_pattern_mqtt_cannot_subscribe_to_is_refused_naming_the_level(
    pattern: str, message: str
) -> None:
    with pytest.raises(ValueError) as caught:
        compile_topic(pattern)
    assert str(caught.value) == message


def test_an_empty_pattern_is_refused() -> None:
    """`floodwatch check` passed it; paho refused to subscribe at start
    (ValueError 'Invalid topic.')."""
    with pytest.raises(ValueError) as caught:
        compile_topic("")
    assert str(caught.value) == "a topic pattern cannot be empty"
    assert compile_topic("a//b").filter == "a//b"  # empty levels are MQTT's own


def test_a_field_named_twice_is_refused_as_any_bad_pattern() -> None:
    """It was the regular expression's own error (`re.error`, not a
    ValueError): `floodwatch check` died with a traceback."""
    with pytest.raises(ValueError) as caught:
        compile_topic("hydro/{station}/{kind}/{station}")
    assert str(caught.value) == (
        "field {station} is named twice in 'hydro/{station}/{kind}/{station}'"
    )


def test_a_topic_goes_to_the_format_of_the_first_pattern_it_matches() -> None:
    patterns = [
        (compile_topic("hydro/{station}/{kind}"), "canonical"),
        (compile_topic("hydro/#"), "batch"),
    ]
    assert route(patterns, "hydro/p1/level") == ("canonical", {"station": "p1", "kind": "level"})
    assert route(patterns, "hydro/batch") == ("batch", {})


def test_a_topic_no_pattern_matches_gets_the_first_format_and_the_unmatched_mark() -> None:
    patterns = [
        (compile_topic("hydro/{station}/{kind}"), "canonical"),
        (compile_topic("gw/{gateway}"), "batch"),
    ]
    fmt, fields = route(patterns, "elsewhere/p1")
    assert (fmt, fields) == ("canonical", {UNMATCHED: "1"})
