"""Each bad config file gives its exact error, with file:line:column and key."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from floodwatch.config import ConfigError, load_config_dir
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
    "structure_table": "structure_table.yaml:10:12: stations[0].structure.area[2][0]: levels "
    "must increase row by row: 310.5 after 311 (station 'p1')",
    "wrong_kind": "wrong_kind.yaml:6:5: rules[0]: station 'r1' does not report 'level' (it "
    "reports rain) (rule 'lvl', station 'r1')",
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


def test_every_bad_file_is_tested() -> None:
    assert {p.stem for p in BAD.glob("*.yaml")} == set(EXPECTED)


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    found = problems(tmp_path, "unknown_key", "wrong_type", "bad_duration")
    assert len(found) == 3


def test_example_config_is_valid() -> None:
    compiled = compile_config(load_config_dir("config"))
    assert len(compiled.stations) == 4


def test_schema_is_valid_json_schema() -> None:
    from click.testing import CliRunner

    from floodwatch.cli import main

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
