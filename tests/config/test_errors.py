"""Each bad config file gives its exact error, with file:line:column and key."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from floodwatch.config import ConfigError
from floodwatch.notify.sinks import load_config_dir
from floodwatch.rules.compile import compile_config

BAD = Path(__file__).parent / "testdata" / "bad"

EXPECTED = {
    "roster_person": "roster_person.yaml:6:46: rosters[0].patrol[0]: no person 'wang-qaing' in "
    "people",
    "roster_role": "roster_role.yaml:6:31: rosters[0].patrol: not a role of a village (roles: "
    "warning_officer)",
    "sms_recipients": "sms_recipients.yaml:6:50: service.notify.routes[0].recipients[1]: unknown "
    "recipient 'pond.technical'; expected one of station.administrative, station.technical, "
    "station.patrol, village.warning_officer, town.flood_lead, or person:<id>",
    "notify_route": "notify_route.yaml:6:15: service.notify.routes[0].to[0]: no destination "
    "'dutty' (known: duty)",
    "gateway_list": "gateway_list.yaml:6:23: service.mqtt.gateways.county-gw[1]: no station 'p2' "
    "for gateway 'county-gw'",
    "gateway_unlisted": "gateway_unlisted.yaml:4:10: service.mqtt.topics[0].pattern: a "
    "`{gateway}` topic needs service.mqtt.gateways: the stations each gateway may report "
    "(readings from an unlisted gateway are refused)",
    "password_hash": "password_hash.yaml:4:33: service.http.users[0].password_hash: must be a "
    "scrypt hash (scrypt$N$r$p$SALT$HASH) made by `floodwatch hash-password`; got something "
    "else (not shown: it may be a password)",
    "service_topic": "service_topic.yaml:4:9: service.mqtt.topics[0].pattern: '#' must be the "
    "last level of 'hydro/#/x'",
    "order_levels": "order_levels.yaml:12:13: rules[0].levels.red.enter: must be above orange "
    "(311.5), got 311.2 (rule 'maokeng-overtop', station 'p1')",
    "station_levels": "station_levels.yaml:5:49: stations[0].levels.check_flood: must be at or "
    "above design_flood (311.8), got 311.6 (flood_limit ≤ design_flood ≤ check_flood ≤ crest) "
    "(station 'p1')",
    "rain_windows": "rain_windows.yaml:10:31: rules[0].levels.blue.within.3h: must be at or "
    "above the 1h value (30 mm), got 25 mm (a longer window cannot need less rain) (rule 'rain')",
    "unknown_station": "unknown_station.yaml:9:16: rules[0].stations[0]: unknown station 'p2' "
    "(rule 'lvl')",
    "missing_attribute": "missing_attribute.yaml:11:14: rules[0].levels.blue.enter: station "
    "'p1' has no levels.flood_limit to compute 'flood_limit' (rule 'lvl', station 'p1')",
    "unknown_key": "unknown_key.yaml:5:14: stations[0].levels.crst: unknown key 'crst' — did you "
    "mean 'crest'?; valid keys here: crest, spillway_crest, check_flood, design_flood, "
    "flood_limit, warning, guarantee",
    "bad_duration": "bad_duration.yaml:5:5: stations[0].interval: expected a duration with "
    "units, e.g. '90s', '10m', '1h30m', '2d'; got 5 (give a unit)",
    "numeric_id": "numeric_id.yaml:2:5: stations[0].id: must be text; YAML reads 0123 as 83, "
    'so put it in quotes: "0123"',
    "octal_number": "octal_number.yaml:11:16: rules[0].levels.orange.enter: YAML reads 040 as "
    'the octal number 32: write 40 without the leading 0, or quote it: "040"',
    "sexagesimal_number": "sexagesimal_number.yaml:12:16: rules[0].levels.orange.enter: YAML "
    "reads 1:30 as 90 (base 60, as a clock): write the number itself (a duration with units: "
    "'1h30m'), or quote it: \"1:30\"",
    "wrong_type": "wrong_type.yaml:4:5: stations[0].type: must be 'pond', 'reservoir', "
    "'rain_gauge', 'culvert' or 'river'; got 'lake'",
    "location_range": "location_range.yaml:5:28: stations[0].location.lat: Input should be "
    "less than or equal to 90, got 129.8",
    "season_overlap": "season_overlap.yaml:9:9: stations[0].levels.flood_limit.07-01..09-15: "
    "overlaps season '05-01..07-15' on 07-01; seasons must not overlap (station 'p1')",
    "duplicate_key": "duplicate_key.yaml:4:5: stations[0].name: duplicate key (first given on "
    "line 3)",
    "hysteresis_exit": "hysteresis_exit.yaml:11:33: rules[0].levels.red.exit: must be at or "
    "below enter (311.8) for hysteresis, got 311.9 (rule 'lvl', station 'p1')",
    "hold_while_link": "hold_while_link.yaml:15:12: rules[0].hold_while.all[0].station: "
    "station 'p1' has no link 'outlet' (links: none) (rule 'blocked')",
    "condition_attribute": "condition_attribute.yaml:16:27: rules[0].hold_while.all[1].above: "
    "station 'p1' has no levels.design_flood (rule 'blocked', station 'p1')",
    "clear_when_both": "clear_when_both.yaml:14:11: rules[0].clear_when.any[0]: give exactly "
    "one of 'above' or 'below' (rule 'blocked')",
    "water_balance_structure": "water_balance_structure.yaml:10:5: rules[0].method: "
    "water_balance needs the station's structure (storage curve, spillway, outlets) "
    "(rule 'overtop', station 'p1')",
    "water_balance_lines": "water_balance_lines.yaml:14:15: rules[0].water_balance.levels.red."
    "enter: must be shorter than orange (60 min), got 90 min (rule 'overtop', station 'p1')",
    "structure_table": "structure_table.yaml:10:12: stations[0].structure.area[2][0]: levels "
    "must increase row by row: 310.5 after 311 (station 'p1')",
    "wrong_kind": "wrong_kind.yaml:6:5: rules[0]: station 'r1' does not report 'level' (it "
    "reports rain) (rule 'lvl', station 'r1')",
    "fullwidth_colon": "fullwidth_colon.yaml:3:9: stations[0].name: full-width colon '：' after "
    "'name': type an ASCII colon and a space ('name: ')",
    "fullwidth_colon_value": "fullwidth_colon_value.yaml:5:12: stations[0].reports: full-width "
    "colon '：' after 'reports': type an ASCII colon and a space ('reports: ')",
    "tab_indent": "tab_indent.yaml:4:1: a tab in the indentation: YAML indents with ASCII "
    "spaces only; replace it with spaces",
    "tab_after_colon": "tab_after_colon.yaml:3:10: stations[0].name: a tab after ':': type an "
    "ASCII space",
    "fullwidth_space_key": "fullwidth_space_key.yaml:4:9: stations[0].type: full-width space "
    "'　' in the key 'type': delete it",
    "fullwidth_comma": "fullwidth_comma.yaml:5:20: stations[0].reports: full-width comma '，' "
    "in a list or mapping: type ',' instead",
    "fullwidth_bracket": "fullwidth_bracket.yaml:5:14: stations[0].reports: full-width bracket "
    "'［' starts a list or mapping: type '[' (and ASCII commas and colons inside)",
    "bom_inside": "bom_inside.yaml:5:1: a byte-order mark (U+FEFF) inside the file (pasted from "
    "another file?): delete it",
    "gbk": "gbk.yaml:3:11: the file is GBK (this line reads as 'name: 茅坑山塘'), not UTF-8: save "
    "it as UTF-8 (in the editor: Save with Encoding → UTF-8; or `iconv -f GB18030 -t UTF-8`)",
    "mixed_encoding": "mixed_encoding.yaml:7:11: this line is GBK (reads as 'name: 下坞山塘') in "
    "a UTF-8 file (mixed encodings): type the line again in UTF-8",
    "utf16": "utf16.yaml:1:1: saved as UTF-16; save the file as UTF-8",
}


def problems(tmp_path: Path, *names: str) -> list[str]:
    for name in names:
        shutil.copy(BAD / f"{name}.yaml", tmp_path)
    with pytest.raises(ConfigError) as caught:
        compile_config(load_config_dir(tmp_path))
    return [str(issue).replace(f"{tmp_path}/", "") for issue in caught.value.issues]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_config_reports_file_line_key(tmp_path: Path, name: str) -> None:
    assert problems(tmp_path, name) == [EXPECTED[name]]


def test_a_full_width_key_bracket_is_reported_at_each_bracket(tmp_path: Path) -> None:
    assert problems(tmp_path, "fullwidth_key_bracket") == [
        "fullwidth_key_bracket.yaml:7:12: stations[0].levels.crest（m）: full-width bracket '（' "
        "in the key 'crest（m）': type '(' instead",
        "fullwidth_key_bracket.yaml:7:14: stations[0].levels.crest（m）: full-width bracket '）' "
        "in the key 'crest（m）': type ')' instead",
    ]


def test_a_leading_byte_order_mark_is_read_and_noted(tmp_path: Path) -> None:
    text = (Path("config") / "stations.yaml").read_text("utf-8")
    shutil.copytree("config", tmp_path / "config")
    (tmp_path / "config" / "stations.yaml").write_bytes(b"\xef\xbb\xbf" + text.encode())
    loaded = load_config_dir(tmp_path / "config")
    assert len(loaded.config.stations) == 4
    assert [str(n).replace(f"{tmp_path}/", "") for n in loaded.notes] == [
        "config/stations.yaml:1:1: starts with a byte-order mark (BOM); read fine, but other "
        "tools show it as a stray character: save as UTF-8 without BOM"
    ]


def test_full_width_text_in_values_comments_and_block_scalars_is_fine(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(
        "stations:  # 站点：山塘\n"
        "  - id: p1\n"
        "    name: 茅坑山塘（上），主坝：土坝\n"
        "    type: pond\n"
        "    reports: [level]  # 水位，m\n"
        "    name_en: {zh: 毛坑山塘，上游}\n"
        "    note: |\n"
        "      说明：\t坝顶 312 m（实测）\n",
        "utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_config_dir(tmp_path)
    assert [str(i.loc) for i in caught.value.issues] == [
        "('stations', 0, 'name_en')",  # a mapping where text belongs: a schema error
        "('stations', 0, 'note')",  # unknown
    ]


def test_every_bad_file_is_tested() -> None:
    assert {p.stem for p in BAD.glob("*.yaml")} == {*EXPECTED, "fullwidth_key_bracket"}


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    found = problems(tmp_path, "unknown_key", "wrong_type", "bad_duration")
    assert len(found) == 3


def test_example_config_is_valid() -> None:
    compiled = compile_config(load_config_dir("config"))
    assert len(compiled.stations) == 4


def test_schema_is_valid_json_schema() -> None:
    from click.testing import CliRunner

    from floodwatch.cli.app import main

    result = CliRunner().invoke(main, ["schema"])
    assert result.exit_code == 0
    assert '"stations"' in result.output and '"for"' in result.output


def test_an_sms_template_that_does_not_parse_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "sms.j2").write_text(
        "{{ message }}\n{% if reply_code %}回复", "utf-8"
    )
    (tmp_path / "service.yaml").write_text(
        "service:\n"
        "  notify:\n"
        "    destinations:\n"
        "      sms: {type: sms, provider: {url: 'http://127.0.0.1:9/'},\n"
        "            template: templates/sms.j2}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        compile_config(load_config_dir(tmp_path))
    [issue] = [str(i).replace(f"{tmp_path}/", "") for i in caught.value.issues]
    assert issue.startswith(
        "service.yaml:5:13: service.notify.destinations.sms.template: template "
        "templates/sms.j2:2: Unexpected end of template."
    )


def test_only_sms_and_broadcast_can_be_recorded_and_they_need_no_gateway(tmp_path: Path) -> None:
    (tmp_path / "service.yaml").write_text(
        "service:\n"
        "  notify:\n"
        "    destinations:\n"
        "      sms: {type: sms, record: true}\n"  # no provider
        "      village: {type: broadcast, record: true}\n"  # no service.mqtt
        "      hook: {type: webhook, url: 'http://127.0.0.1:9/', record: true}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        compile_config(load_config_dir(tmp_path))
    issues = [str(i).replace(f"{tmp_path}/", "") for i in caught.value.issues]
    assert issues == [
        "service.yaml:6:57: service.notify.destinations.hook.record: only sms and "
        "broadcast destinations can be recorded"
    ]


def test_the_demo_notify_config_is_valid_and_recorded() -> None:
    from floodwatch.web.demo import demo_notify

    notify = demo_notify()
    assert {n: d.record for n, d in notify.destinations.items() if d.type != "console"} == {
        "sms": True,
        "village": True,
    }


def test_each_destination_takes_only_its_own_keys_and_a_known_type(tmp_path: Path) -> None:
    """One model per sink (in its module, `notify/<type>.py`): a key of another sink's
    model is an unknown key, named with the keys valid for this type; an
    unknown type names the types there are."""
    (tmp_path / "service.yaml").write_text(
        "service:\n"
        "  notify:\n"
        "    destinations:\n"
        "      hook: {type: webhook, url: 'http://127.0.0.1:9/', template: sms.j2}\n"
        "      pager: {type: pager}\n"
        "      bare: {url: 'http://127.0.0.1:9/'}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        compile_config(load_config_dir(tmp_path))
    issues = [str(i).replace(f"{tmp_path}/", "") for i in caught.value.issues]
    assert issues == [
        "service.yaml:4:57: service.notify.destinations.hook.template: unknown key "
        "'template'; valid keys here: type, status, record, timeout, failing_after, url, "
        "headers",
        "service.yaml:5:15: service.notify.destinations.pager.type: must be 'webhook', "
        "'console', 'kafka', 'influx', 'sms' or 'broadcast'; got 'pager'",
        "service.yaml:6:7: service.notify.destinations.bare.type: required key 'type' is missing",
    ]
