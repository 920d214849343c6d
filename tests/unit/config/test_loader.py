"""`config.loader`: a config directory's YAML files read, joined and validated
against the destination types it is given — every problem of every file at
once, each at its file, line, column and key path with words a hydrologist
can act on; where each joined part came from is kept, so the compile step's
problems are placed in their files too."""

from __future__ import annotations

from pathlib import Path

import pytest

from floodwatch.config import values
from floodwatch.config.config_types import ConfigTypes
from floodwatch.config.errors import ConfigError
from floodwatch.config.loader import (
    MAX_FILE_BYTES,
    LoadedConfig,
    load_config_dir,
    load_config_files,
)
from floodwatch.config.values import PATTERN_WORDS
from floodwatch.notify.console import ConsoleDestination
from floodwatch.notify.sinks import CONFIG_TYPES, config_schema

POND = "  - {id: p1, name: 山塘, type: pond}\n"
RAIN = "  - {id: r1, name: 雨量站, type: rain_gauge}\n"


def write(directory: Path, **files: str) -> Path:
    directory.mkdir(exist_ok=True)
    for name, text in files.items():
        (directory / name.replace("_yaml", ".yaml").replace("_yml", ".yml")).write_text(
            text, "utf-8"
        )
    return directory


def load(directory: Path) -> LoadedConfig:
    return load_config_dir(directory, CONFIG_TYPES)


def problems(directory: Path, types: ConfigTypes = CONFIG_TYPES) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config_dir(directory, types)
    return [str(i).replace(f"{directory}/", "") for i in caught.value.issues]


# -- which files ------------------------------------------------------------------


def test_every_yaml_and_yml_file_is_read_and_their_lists_joined_in_name_order(
    tmp_path: Path,
) -> None:
    write(
        tmp_path,
        b_yml="stations:\n" + RAIN,
        a_yaml="stations:\n" + POND + "people:\n  - {id: li, name: 李, phone: '13800000000'}\n",
        notes_txt="stations: [not, read]\n",
    )
    (tmp_path / "old.yaml").mkdir()  # a directory, not a file
    loaded = load(tmp_path)
    assert [s.id for s in loaded.config.stations] == ["p1", "r1"]
    assert [p.id for p in loaded.config.people] == ["li"]
    assert [(loc.file.name, i) for loc, i in loaded.origins["stations"]] == [
        ("a.yaml", 0),
        ("b.yml", 0),
    ]
    assert loaded.engine_origin is None and loaded.service_origin is None
    assert loaded.notes == [] and loaded.template_problems == []


def test_an_empty_file_is_an_empty_config(tmp_path: Path) -> None:
    loaded = load(write(tmp_path, empty_yaml="# nothing yet\n"))
    assert loaded.config.stations == [] and loaded.config.engine.timezone == "Asia/Shanghai"


def test_a_section_left_empty_is_an_empty_list_as_an_empty_engine_is_the_default(
    tmp_path: Path,
) -> None:
    """`stations:` with every station commented out was an error ("input should
    be a valid list, got None") while an empty `engine:` was the defaults."""
    write(tmp_path, s_yaml="stations:\n  # - {id: p1}\nrules:\npeople:\nrosters:\nengine:\n")
    loaded = load(tmp_path)
    assert (loaded.config.stations, loaded.config.rules) == ([], [])
    assert (loaded.config.people, loaded.config.rosters) == ([], [])
    # and the schema editors check with says so (what check accepts, it accepts)
    for section in ("stations", "rules", "people", "rosters"):
        assert {"type": "null"} in config_schema()["properties"][section]["anyOf"]


def test_a_path_that_is_not_a_directory_is_one_problem(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    assert problems(missing) == [f"{missing}: not a directory"]
    file = write(tmp_path / "c", s_yaml="stations: []\n") / "s.yaml"
    assert problems(file) == [f"{file}: not a directory"]


def test_a_directory_without_yaml_files_is_one_problem(tmp_path: Path) -> None:
    (tmp_path / "stations.txt").write_text("stations: []\n", "utf-8")
    assert problems(tmp_path) == [f"{tmp_path}: no *.yaml files in this directory"]


def test_a_file_that_cannot_be_read_or_is_too_large_is_named(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * (MAX_FILE_BYTES + 1))
    gone = tmp_path / "gone.yaml"
    with pytest.raises(ConfigError) as caught:
        load_config_files([big, gone], CONFIG_TYPES)
    assert [str(i) for i in caught.value.issues] == [
        f"{big}: larger than {MAX_FILE_BYTES} bytes",
        f"{gone}: cannot read: No such file or directory",
    ]


def test_the_top_level_of_a_file_is_a_mapping(tmp_path: Path) -> None:
    write(tmp_path, s_yaml="- id: p1\n  type: pond\n")
    assert problems(tmp_path) == [
        "s.yaml:1:1: the top level must be a mapping (engine, stations, rules)"
    ]


# -- engine and service: one file each --------------------------------------------


def test_engine_and_service_are_each_given_in_one_file(tmp_path: Path) -> None:
    write(
        tmp_path,
        a_yaml="engine: {timezone: Asia/Shanghai}\nservice: {store: a.db}\n",
        b_yaml="stations: []\nengine: {exercise: true}\n",
        c_yaml="service:\n  store: c.db\n",
    )
    assert problems(tmp_path) == [
        "b.yaml:2:1: engine: engine settings are already given in a.yaml",
        "c.yaml:1:1: service: service settings are already given in a.yaml",
    ]


def test_where_each_part_came_from_places_a_later_problem_in_its_file(tmp_path: Path) -> None:
    write(
        tmp_path,
        a_yaml="stations:\n" + POND,
        b_yaml="engine:\n  exercise: true\nstations:\n"
        + RAIN
        + "  - {id: r2, name: 二, type: rain_gauge}\n",
        c_yaml="service:\n  store: x.db\n",
    )
    loaded = load(tmp_path)
    assert loaded.engine_origin is not None and loaded.engine_origin.file.name == "b.yaml"
    assert [s.id for s in loaded.config.stations] == ["p1", "r1", "r2"]
    relative = [
        str(loaded.issue(loc, "m")).replace(f"{tmp_path}/", "")
        for loc in (
            ("stations", 2, "name"),  # the joined index 2 is the second station of b.yaml
            ("stations", 0),
            ("engine", "exercise"),
            ("service", "store"),
            ("rules", 0),  # no such part: no file to name
            (),
        )
    ]
    assert relative == [
        "b.yaml:5:14: stations[1].name: m",
        "a.yaml:2:5: stations[0]: m",
        "b.yaml:2:3: engine.exercise: m",
        "c.yaml:2:3: service.store: m",
        "<config>: rules[0]: m",
        "<config>: m",
    ]


# -- every problem of every file at once -------------------------------------------


def test_every_file_s_problems_are_reported_together_in_file_order(tmp_path: Path) -> None:
    write(
        tmp_path,
        a_yaml="stations:\n  - {id: p1, name: 山塘, type: lake}\n",
        b_yaml="stations:\n  - id: r1\n    name: 雨\n    name: 雨量\n",
        c_yaml="stations: [\n",
        d_yaml="stations:\n  - id: p2\n    name：山塘\n",
    )
    assert problems(tmp_path) == [
        "a.yaml:2:24: stations[0].type: must be 'pond', 'reservoir', 'rain_gauge', 'culvert' "
        "or 'river'; got 'lake'",
        "b.yaml:4:5: stations[0].name: duplicate key (first given on line 3)",
        "c.yaml:2:1: not valid YAML: expected the node content, but found '<stream end>'",
        "d.yaml:3:9: stations[0].name: full-width colon '：' after 'name': type an ASCII colon "
        "and a space ('name: ')",
    ]


def test_a_model_s_own_problems_name_the_station_person_or_rule(tmp_path: Path) -> None:
    write(
        tmp_path,
        s_yaml="stations:\n"
        "  - {id: p1, name: 山塘, type: pond, interval: 0s}\n"
        "rules:\n"
        "  - {id: lvl, kind: level, levels: {}}\n"
        "engine:\n"
        "  incidents: {groups: [[p1]]}\n",
    )
    assert problems(tmp_path) == [
        "s.yaml:2:36: stations[0].interval: must be longer than 0s (station 'p1')",
        "s.yaml:4:5: rules[0]: name the stations it watches: 'stations: [...]' or "
        "'station_types: [...]' (rule 'lvl')",
        "s.yaml:6:24: engine.incidents.groups[0]: a group names at least two stations",
    ]


def test_the_service_s_problems_are_at_their_keys(tmp_path: Path) -> None:
    write(
        tmp_path,
        s_yaml="service:\n  notify:\n    routes:\n      - to: [duty]\n",
    )
    assert problems(tmp_path) == [
        "s.yaml:4:14: service.notify.routes[0].to[0]: no destination 'duty' (known: none)"
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "stations:\n  - {id: p1, name: 山塘, type: pond, intervall: 5m}\n",
            "s.yaml:2:36: stations[0].intervall: unknown key 'intervall' — did you mean "
            "'interval'?; valid keys here: id, name, name_en, type, village, town, location, "
            "interval, reports, levels, limits, links, covers, structure, timezone, sl651, "
            "backfill",
        ),
        (
            "stations:\n  - {id: p1, type: pond}\n",
            "s.yaml:2:5: stations[0].name: required key 'name' is missing",
        ),
        (
            "stations:\n  - {id: p1, name: NO, type: pond}\n",
            "s.yaml:2:14: stations[0].name: must be text; YAML reads NO as False, so put it in "
            'quotes: "NO"',
        ),
        (
            "stations:\n  - {id: p1, name: 山塘, type: pond, covers: x}\n",
            "s.yaml:2:36: stations[0].covers: input should be a valid list, got 'x'",
        ),
        (
            "stations:\n  - {id: p1, name: 山塘, type: pond, levels: {crest: high}}\n",
            "s.yaml:2:45: stations[0].levels.crest: Input should be a valid number, unable to "
            "parse string as a number, got 'high'",
        ),
        (
            "stations:\n  - {id: p1, name: 山塘, type: pond, limits: {depth: {min: 0}}}\n",
            # said of the key, not of pydantic's `[key]` below it
            "s.yaml:2:45: stations[0].limits.depth: must be 'level', 'rain' or 'flow'; got 'depth'",
        ),
        (
            "stations:\n  - {id: p1, name: 山塘, type: pond, levels: [312.0]}\n",
            # not "a valid dictionary or instance of StationLevels"
            "s.yaml:2:36: stations[0].levels: must be a mapping (key: value), got a list",
        ),
        (
            "stations:\n  - {id: 'p 1', name: 山塘, type: pond}\n",
            "s.yaml:2:6: stations[0].id: 'p 1' is not a valid id: use letters, digits, '_', '-', "
            "'.', starting with a letter or digit, at most 64 characters",
        ),
        (
            "rules:\n  - {id: r, stations: [p1], levels: {}}\n",
            "s.yaml:2:5: rules[0]: a rule needs 'kind': one of level, freeboard, rate_of_rise, "
            "time_to_crest, rainfall, compound, sensor_health",
        ),
        (
            "rules:\n  - {id: r, kind: flood, stations: [p1]}\n",
            "s.yaml:2:5: rules[0]: unknown rule kind 'flood'; valid: level, freeboard, "
            "rate_of_rise, time_to_crest, rainfall, compound, sensor_health",
        ),
        (
            "rules:\n  - {id: r, kind: level, stations: [p1],\n"
            "     levels: {red: {enter: 1, four: 5m}}}\n",
            "s.yaml:3:31: rules[0].levels.red.four: unknown key 'four' — did you mean 'for'?; "
            "valid keys here: enter, exit, for, clear_for, advice",
        ),
        (
            "service:\n  notify:\n    destinations:\n      log: {type: console, colour: red}\n",
            "s.yaml:4:28: service.notify.destinations.log.colour: unknown key 'colour'; valid "
            "keys here: type, status, record, timeout, failing_after",
        ),
    ],
)
def test_each_kind_of_mistake_is_said_in_its_own_words(
    tmp_path: Path, text: str, problem: str
) -> None:
    assert problems(write(tmp_path, s_yaml=text)) == [problem]


def test_a_section_or_an_item_that_is_not_a_mapping_says_what_it_got(tmp_path: Path) -> None:
    write(tmp_path, s_yaml="engine: 5\npeople:\n  -\n  - [li]\n")
    assert problems(tmp_path) == [
        "s.yaml:1:1: engine: must be a mapping (key: value), got 5",
        "s.yaml:3:4: people[0]: must be a mapping (key: value), got nothing",
        "s.yaml:4:5: people[1]: must be a mapping (key: value), got a list",
    ]


@pytest.mark.parametrize(
    ("station", "problem"),
    [
        (
            "village: {name: 村, code: '33'}",
            "stations[0].village.code: '33' is not an administrative division code: 6 to 15 "
            'digits, e.g. "330182104"',
        ),
        (
            "sl651: {address: '12', password: '1234'}",
            "stations[0].sl651.address: '12' is not a station address: 10 hex digits, e.g. "
            '"0033018201"',
        ),
        (
            "sl651: {address: '0033018201', password: '12345'}",
            "stations[0].sl651.password: '12345' is not a password: 4 hex digits, e.g. \"1234\"",
        ),
    ],
)
def test_a_text_of_the_wrong_form_is_told_the_form_in_words(
    tmp_path: Path, station: str, problem: str
) -> None:
    """Each was told it "is not a valid id: use letters, digits, ..." — the rule
    of ids, whatever the pattern was."""
    write(tmp_path, s_yaml=f"stations:\n  - id: p1\n    name: x\n    type: pond\n    {station}\n")
    [found] = problems(tmp_path)
    assert found.split(": ", 1)[1] == problem


def test_every_text_pattern_of_a_config_file_has_words_for_its_error() -> None:
    def patterns(node: object) -> set[str]:
        if isinstance(node, dict):
            found = {node["pattern"]} if isinstance(node.get("pattern"), str) else set()
            return found.union(*(patterns(v) for v in node.values()))
        if isinstance(node, list):
            return set().union(*(patterns(v) for v in node))
        return set()

    # durations and threshold expressions are parsed (their errors say the form);
    # their patterns are for editors only
    parsed = {values._DURATION_RE.pattern, values.EXPR_SCHEMA_PATTERN}
    used = patterns(config_schema()) - parsed
    assert len(used) >= 8
    assert used <= set(PATTERN_WORDS)


def test_a_destination_type_is_checked_against_the_types_given(tmp_path: Path) -> None:
    write(tmp_path, s_yaml="service:\n  notify:\n    destinations:\n      x: {type: sms}\n")
    types = ConfigTypes(destinations=[ConsoleDestination], rules=CONFIG_TYPES.rules.values())
    assert problems(tmp_path, types) == [
        "s.yaml:4:11: service.notify.destinations.x.type: must be 'console'; got 'sms'"
    ]


# -- YAML 1.1 numbers --------------------------------------------------------------

LEVEL_RULE = "rules:\n  - {{id: r, kind: level, stations: [p1], levels: {{red: {{enter: {} }}}}}}\n"


@pytest.mark.parametrize(
    ("written", "problem"),
    [
        (
            "040",
            "YAML reads 040 as the octal number 32: write 40 without the leading 0, or "
            'quote it: "040"',
        ),
        (
            "-0_17",
            "YAML reads -0_17 as the octal number -15: write -17 without the leading 0, "
            'or quote it: "-0_17"',
        ),
        (
            "1:30",
            "YAML reads 1:30 as 90 (base 60, as a clock): write the number itself (a "
            "duration with units: '1h30m'), or quote it: \"1:30\"",
        ),
    ],
)
def test_a_number_yaml_1_1_reads_as_octal_or_base_60_is_refused_as_written(
    tmp_path: Path, written: str, problem: str
) -> None:
    write(tmp_path, s_yaml=LEVEL_RULE.format(written))
    assert problems(tmp_path) == [f"s.yaml:2:57: rules[0].levels.red.enter: {problem}"]


@pytest.mark.parametrize("written", ["0", "0.5", "310", "1e3", "0x1F"])
def test_other_numbers_are_taken(tmp_path: Path, written: str) -> None:
    loaded = load(write(tmp_path, s_yaml=LEVEL_RULE.format(written)))
    assert len(loaded.config.rules) == 1


def test_a_yes_or_no_is_not_mistaken_for_a_number(tmp_path: Path) -> None:
    loaded = load(write(tmp_path, s_yaml="engine: {exercise: yes}\n"))
    assert loaded.config.engine.exercise is True


# -- the rest ----------------------------------------------------------------------


def test_a_station_copied_with_a_yaml_merge_loads_with_its_changes(tmp_path: Path) -> None:
    write(
        tmp_path,
        s_yaml="stations:\n"
        "  - &pond\n"
        "    id: p1\n"
        "    name: 山塘\n"
        "    type: pond\n"
        "    levels: {crest: 312.0}\n"
        "  - <<: *pond\n"
        "    id: p2\n"
        "    levels: {crest: 040}\n",
    )
    # the merged station is read; its own octal level is still refused at its line
    assert problems(tmp_path) == [
        "s.yaml:9:14: stations[1].levels.crest: YAML reads 040 as the octal number 32: write "
        '40 without the leading 0, or quote it: "040"'
    ]
    (tmp_path / "s.yaml").write_text(
        (tmp_path / "s.yaml").read_text("utf-8").replace("040", "313.0"), "utf-8"
    )
    stations = load(tmp_path).config.stations
    assert [(s.id, s.name, s.levels and s.levels.crest) for s in stations] == [
        ("p1", "山塘", 312.0),
        ("p2", "山塘", 313.0),
    ]


def test_yaml_that_cannot_be_built_is_a_config_error_in_its_file(tmp_path: Path) -> None:
    """A tag or a loop of aliases raised out of the loader (not a `ConfigError`:
    `floodwatch check` printed a traceback and a hot reload was not refused
    as a config problem)."""
    write(
        tmp_path,
        a_yaml="stations:\n  - {id: p1, name: !zh 山塘, type: pond}\n",
        b_yaml="stations:\n  - &p {id: p2, name: x, type: pond, links: {outlet: *p}}\n",
    )
    assert problems(tmp_path) == [
        "a.yaml:2:20: not valid YAML: the tag '!zh' is not read here: remove it (a text that "
        "starts with '!' goes in quotes)",
        "b.yaml:2:46: stations[0].links.outlet: an alias to the mapping or list it is in (a "
        "loop): give the values",
    ]


def test_a_byte_order_mark_is_a_note_not_a_problem(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_bytes(b"\xef\xbb\xbfstations:\n" + POND.encode())
    loaded = load(tmp_path)
    assert len(loaded.config.stations) == 1
    assert [n.file for n in loaded.notes] == [tmp_path / "s.yaml"]


def test_an_sms_template_is_read_beside_the_service_file_and_its_problem_kept(
    tmp_path: Path,
) -> None:
    write(
        tmp_path,
        service_yaml="service:\n  notify:\n    destinations:\n"
        "      sms: {type: sms, record: true, template: sms.j2}\n",
    )
    loaded = load(tmp_path)
    [(loc, message)] = loaded.template_problems
    assert loc == ("service", "notify", "destinations", "sms", "template")
    assert "sms.j2" in message
    (tmp_path / "sms.j2").write_text("{{ message }}", "utf-8")
    assert load(tmp_path).template_problems == []


def test_the_example_config_loads(tmp_path: Path) -> None:
    loaded = load(Path(__file__).resolve().parents[3] / "config")
    assert len(loaded.config.stations) == 4
    assert loaded.engine_origin is not None
    assert loaded.engine_origin.file.name == "floodwatch.yaml" and loaded.notes == []
