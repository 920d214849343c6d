"""`config.yamlpos`: YAML read as `yaml.safe_load` reads it, plus the line and
column of every key and list item; keys stay the text written; a duplicate
key, a key that is not text and YAML that does not parse are problems at
their place, and a scalar YAML 1.1 turns into something else keeps its text."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from floodwatch.config.yamlpos import Located, parse_yaml

FILE = Path("stations.yaml")


def parsed(text: str) -> Located:
    located, issues = parse_yaml(FILE, text)
    assert issues == []
    assert located is not None
    return located


def problems(text: str) -> list[str]:
    _, issues = parse_yaml(FILE, text)
    return [str(i) for i in issues]


def test_every_key_and_list_item_has_its_line_and_column() -> None:
    located = parsed("stations:\n  - id: p1\n    levels: {crest: 312.5}\n")
    assert located.data == {"stations": [{"id": "p1", "levels": {"crest": 312.5}}]}
    assert located.positions == {
        (): (1, 1),
        ("stations",): (1, 1),
        ("stations", 0): (2, 5),
        ("stations", 0, "id"): (2, 5),
        ("stations", 0, "levels"): (3, 5),
        ("stations", 0, "levels", "crest"): (3, 14),
    }


def test_a_path_without_a_position_is_placed_at_its_nearest_ancestor() -> None:
    located = parsed("stations:\n  - id: p1\n")
    assert located.position(("stations", 0, "levels", "crest")) == (2, 5)
    assert located.position(("rules", 0)) == (1, 1)  # the document
    assert Located(FILE, None).position(("a",)) is None


def test_keys_stay_the_text_written() -> None:
    located = parsed("yes: 1\n24: 2\nnull: 3\n2026-07-01: 4\n0123: 5\n")
    assert list(located.data) == ["yes", "24", "null", "2026-07-01", "0123"]


def test_a_value_yaml_1_1_reads_as_another_type_keeps_its_text() -> None:
    located = parsed("id: 0123\nok: NO\nday: 2026-07-01\nname: p1\nnone: ~\nlevel: 1:30\n")
    assert located.data == {
        "id": 83,
        "ok": False,
        "day": dt.date(2026, 7, 1),
        "name": "p1",
        "none": None,
        "level": 90,
    }
    # text and null read as written: nothing to show
    assert located.raw_text == {
        ("id",): "0123",
        ("ok",): "NO",
        ("day",): "2026-07-01",
        ("level",): "1:30",
    }


def test_values_are_those_of_safe_load() -> None:
    text = "a: [1, 2.5, .inf, 'x', {b: [null, true]}]\nc: |\n  two\n  lines\n"
    assert parsed(text).data == yaml.safe_load(text)


def test_a_duplicate_key_is_reported_where_it_is_repeated_and_the_first_kept() -> None:
    text = "stations:\n  - id: p1\n    name: a\n    name: b\n"
    located, issues = parse_yaml(FILE, text)
    assert [str(i) for i in issues] == [
        "stations.yaml:4:5: stations[0].name: duplicate key (first given on line 3)"
    ]
    assert located is not None and located.data["stations"][0]["name"] == "a"


def test_a_key_that_is_not_text_is_reported_at_the_key() -> None:
    assert problems("a: 1\n? [x, y]\n: 2\nb:\n  {c: 1}: 3\n") == [
        "stations.yaml:2:3: a key must be plain text",
        "stations.yaml:5:3: b: a key must be plain text",
    ]


def test_a_key_given_beside_a_merge_overrides_the_merged_one_as_safe_load_does() -> None:
    """The way to share a station's settings: `<<: *anchor` and change a few
    keys. The merge's value is no duplicate (it was reported as one)."""
    text = (
        "stations:\n"
        "  - &pond {id: p1, type: pond, levels: {crest: 040}}\n"
        "  - <<: *pond\n"
        "    id: p2\n"
        "    levels: {spillway_crest: 311}\n"
    )
    located = parsed(text)
    assert located.data == yaml.safe_load(text)
    assert located.data["stations"][1] == {
        "id": "p2",
        "type": "pond",
        "levels": {"spillway_crest": 311},
    }
    # the key given is where its value is; a merged one is where the anchor says it
    assert located.positions[("stations", 1, "id")] == (4, 5)
    assert located.positions[("stations", 1, "type")] == (2, 20)
    assert located.positions[("stations", 1, "levels", "spillway_crest")] == (5, 14)
    # what was recorded of the merged value (an octal 040) is gone with it
    assert ("stations", 1, "levels", "crest") not in located.positions
    assert ("stations", 1, "levels", "crest") not in located.raw_text
    assert located.raw_text[("stations", 0, "levels", "crest")] == "040"


def test_of_several_merges_the_first_wins_and_a_key_given_twice_is_still_a_duplicate() -> None:
    text = "a: &a {k: 1}\nb: &b {k: 2, z: 0}\nc:\n  <<: [*a, *b]\n  z: 5\n  z: 6\n"
    located, issues = parse_yaml(FILE, text)
    assert located is not None and located.data["c"] == {"k": 1, "z": 5}
    assert [str(i) for i in issues] == [
        "stations.yaml:6:3: c.z: duplicate key (first given on line 5)"
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "a:\n\tb: 1\n",
            "stations.yaml:2:1: not valid YAML: a tab here: YAML separates keys, values and "
            "list items with spaces only",
        ),
        (
            "a: [1\n",
            "stations.yaml:2:1: not valid YAML: expected ',' or ']', but got '<stream end>'",
        ),
        ("a: *nope\n", "stations.yaml:1:4: not valid YAML: found undefined alias 'nope'"),
        (
            "a: 1\n---\nb: 2\n",
            "stations.yaml:2:1: not valid YAML: expected a single document in the stream but "
            "found another document",
        ),
    ],
)
def test_yaml_that_does_not_parse_is_one_problem_at_its_place(text: str, problem: str) -> None:
    located, issues = parse_yaml(FILE, text)
    assert located is None
    assert [str(i) for i in issues] == [problem]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "name: !zh 山塘\n",
            "stations.yaml:1:7: not valid YAML: the tag '!zh' is not read here: remove it (a "
            "text that starts with '!' goes in quotes)",
        ),
        (
            "run: !!python/name:os.system\n",
            "stations.yaml:1:6: not valid YAML: the tag 'tag:yaml.org,2002:python/name:os.system' "
            "is not read here: remove it (a text that starts with '!' goes in quotes)",
        ),
        (
            "a: {<<: 5}\n",
            "stations.yaml:1:9: not valid YAML: expected a mapping or list of mappings for "
            "merging, but found scalar",
        ),
        (
            "a: &x {k: 1}\nb: {<<: [*x, 5]}\n",
            "stations.yaml:2:14: not valid YAML: expected a mapping for merging, but found scalar",
        ),
        (
            "a: " + "[" * 5000 + "]" * 5000 + "\n",
            "stations.yaml: not valid YAML: nested too deeply",
        ),
    ],
)
def test_what_yaml_cannot_build_is_a_problem_not_an_exception(text: str, problem: str) -> None:
    """A tag, a merge of a non-mapping, nesting deeper than Python's stack: each
    raised out of `parse_yaml` (`floodwatch check` printed a traceback; a hot
    reload raised past the service's `ConfigError` handling)."""
    located, issues = parse_yaml(FILE, text)
    assert located is None
    assert [str(i) for i in issues] == [problem]


@pytest.mark.parametrize(
    ("text", "loc", "data"),
    [
        ("a: &a [1, *a]\n", ("a", 1), {"a": [1, None]}),
        ("s:\n  - &p {id: p1, links: {outlet: *p}}\n", ("s", 0, "links", "outlet"), None),
    ],
)
def test_an_alias_to_what_it_is_in_is_a_loop_at_the_alias(
    text: str, loc: tuple[str | int, ...], data: object
) -> None:
    """It recursed until Python gave up (RecursionError)."""
    located, issues = parse_yaml(FILE, text)
    assert [(i.loc, i.message) for i in issues] == [
        (loc, "an alias to the mapping or list it is in (a loop): give the values")
    ]
    assert located is not None and (data is None or located.data == data)


def test_an_alias_used_twice_side_by_side_is_no_loop() -> None:
    located = parsed("a: &x {k: 1}\nb: [*x, *x]\nc: {d: *x}\n")
    assert located.data["b"] == [{"k": 1}, {"k": 1}] and located.data["c"] == {"d": {"k": 1}}


@pytest.mark.parametrize("text", ["", "# nothing yet\n", "---\n"])
def test_an_empty_document_is_no_data_and_no_problem(text: str) -> None:
    located = parsed(text)
    assert located.data is None and set(located.positions) <= {()}
