"""Who would be told (notify/coverage.py): gaps in the rosters and routes of a
valid config, on copies of the example config with people or routes taken away.

The example: maokeng-pond (pond, village …201), maokeng-culvert (sensor rules
only), maokeng-rain (rain gauge in and covering village …201), xiawu-pond
(pond, village …202), all in town 330182104."""

from __future__ import annotations

import shutil
from pathlib import Path

from floodwatch.config.errors import ConfigIssue
from floodwatch.notify.coverage import gaps
from floodwatch.notify.sinks import load_config_dir
from floodwatch.rules.compile import compile_config

PEOPLE = """people:
  - {id: zhang-wei, name: 张伟, phone: "13800000001"}
  - {id: zhao-gang, name: 赵刚, phone: "13800000004"}
  - {id: chen-jun, name: 陈军, phone: "13800000007"}
  - {id: zheng-lei, name: 郑磊, phone: "13800000009"}
"""
OWN = """  - {station: maokeng-pond, patrol: zhang-wei}
  - {station: xiawu-pond, patrol: zhao-gang}
"""
VILLAGE = '  - {village: "330182104201", warning_officer: chen-jun}\n'
TOWN = '  - {town: "330182104", flood_lead: zheng-lei}\n'
FLOOD_RULES = [
    "pond-level",
    "pond-freeboard",
    "pond-rise",
    "pond-overtop",
    "culvert-blocked",
    "rain-accumulation",
]  # fmt: skip  (in rules.yaml order)
ROUTES_TO_NOBODY = (
    "routes to nobody: no route in service.notify.routes takes its alerts to a destination "
    "with someone to tell"
)


def config(
    tmp_path: Path, rosters: str | None = None, notify: str | None = None, mqtt: bool = False
) -> Path:
    """The example config with `rosters` (None: the example's people) and
    `notify` (service.notify as YAML, indented under it), with a broker if `mqtt`."""
    out = tmp_path / "config"
    shutil.copytree("config", out)
    if rosters is not None:
        (out / "people.yaml").write_text(
            PEOPLE + (f"rosters:\n{rosters}" if rosters else ""), "utf-8"
        )
    if notify is not None:
        broker = "  mqtt: {topics: [{pattern: 'hydro/{station}/{kind}'}]}\n" if mqtt else ""
        (out / "notify.yaml").write_text(f"service:\n{broker}  notify:\n{notify}", "utf-8")
    return out


def found(directory: Path) -> list[str]:
    """Each gap as `floodwatch check` prints it, the file relative to the config."""
    loaded = load_config_dir(directory)
    return [_relative(issue, directory) for issue in gaps(loaded, compile_config(loaded))]


def _relative(issue: ConfigIssue, directory: Path) -> str:
    return str(issue).replace(f"{directory}/", "")


def test_the_example_config_has_no_gaps(tmp_path: Path) -> None:
    assert found(config(tmp_path)) == []


def test_no_rosters_at_all_is_one_warning_counting_the_stations_with_flood_rules(
    tmp_path: Path,
) -> None:
    # the culvert has sensor rules only (info): not counted
    assert found(config(tmp_path, rosters="")) == [
        "stations.yaml:4:5: stations[0].id: no rosters: nobody is responsible for the 3 stations "
        "with flood rules; add people: and rosters: (docs/notify.md)"
    ]


def test_a_pond_needs_a_roster_of_its_own_a_village_or_town_roster_is_not_enough(
    tmp_path: Path,
) -> None:
    dam = "no roster of its own: nobody answers for the dam as 行政/技术/巡查责任人"
    assert found(config(tmp_path, rosters=VILLAGE + TOWN)) == [
        "stations.yaml:4:5: stations[0].id: station 'maokeng-pond' has flood rules "
        f"(culvert-blocked, pond-freeboard, pond-level, pond-overtop, pond-rise) and {dam}",
        "stations.yaml:70:5: stations[3].id: station 'xiawu-pond' has flood rules "
        f"(pond-freeboard, pond-level, pond-overtop, pond-rise) and {dam}",
    ]


def test_a_gauge_is_answered_for_by_its_own_its_villages_or_its_towns_roster(
    tmp_path: Path,
) -> None:
    assert found(config(tmp_path / "a", rosters=OWN)) == [
        "stations.yaml:58:5: stations[2].id: station 'maokeng-rain' has flood rules "
        "(rain-accumulation) and no roster: nobody is responsible for it (none of its own, "
        "its villages' or its town's)"
    ]
    assert found(config(tmp_path / "b", rosters=OWN + VILLAGE)) == []
    assert found(config(tmp_path / "c", rosters=OWN + TOWN)) == []
    rain = "  - {station: maokeng-rain, technical: zhang-wei}\n"
    assert found(config(tmp_path / "d", rosters=OWN + rain)) == []


def test_a_dams_own_roster_with_nobody_in_it_is_no_roster(tmp_path: Path) -> None:
    empty = "  - {station: maokeng-pond, patrol: zhang-wei}\n  - {station: xiawu-pond}\n"
    assert found(config(tmp_path, rosters=empty + VILLAGE)) == [
        "stations.yaml:70:5: stations[3].id: station 'xiawu-pond' has flood rules "
        "(pond-freeboard, pond-level, pond-overtop, pond-rise) and no roster of its own: "
        "nobody answers for the dam as 行政/技术/巡查责任人"
    ]


def test_a_roster_whose_roles_are_all_empty_answers_for_nobody(tmp_path: Path) -> None:
    """A village listed without anyone in it does not cover the rain gauge."""
    empty = '  - {village: "330182104201"}\n'
    assert [line.split(": ")[1] for line in found(config(tmp_path, rosters=OWN + empty))] == [
        "stations[2].id"
    ]


SMS = "      sms: {type: sms, provider: {url: 'http://127.0.0.1:9/'}}\n"


def notify(destinations: str, *routes: str) -> str:
    return (
        "    destinations:\n"
        + destinations
        + "    routes:\n"
        + "".join(f"      - {route}\n" for route in routes)
    )


def nobody(directory: Path) -> list[str]:
    """The rules found to route to nobody, by id."""
    return [
        line.split("rule '")[1].split("'")[0]
        for line in found(directory)
        if line.endswith(ROUTES_TO_NOBODY)
    ]


def test_without_service_notify_no_rule_is_said_to_reach_nobody(tmp_path: Path) -> None:
    """Alerts then go to the store and the board only: a choice, not a gap."""
    assert nobody(config(tmp_path)) == []


def test_a_rule_matched_by_no_route_reaches_nobody_where_it_is_in_the_file(
    tmp_path: Path,
) -> None:
    directory = config(
        tmp_path,
        notify=notify(SMS, "{to: [sms], rules: [pond-level], recipients: [station.patrol]}"),
    )
    lines = found(directory)
    assert lines[0] == f"rules.yaml:18:5: rules[1].id: rule 'pond-freeboard' {ROUTES_TO_NOBODY}"
    assert nobody(directory) == [r for r in FLOOD_RULES if r != "pond-level"]


def test_an_sms_route_whose_recipients_resolve_to_nobody_reaches_nobody(tmp_path: Path) -> None:
    """The example has no 'village.nobody' role holder: the town's lead is none
    of the example village's officers either."""
    directory = config(
        tmp_path / "a",
        rosters=OWN,
        notify=notify(SMS, "{to: [sms], recipients: [village.warning_officer]}"),
    )
    assert nobody(directory)[-1:] == ["rain-accumulation"]  # (and the gauge has no roster)
    assert set(FLOOD_RULES) <= set(nobody(directory))
    patrol = config(tmp_path / "b", notify=notify(SMS, "{to: [sms], recipients: [station.patrol]}"))
    # the ponds have a patrol; the rain gauge's village and town rosters have no patrol
    assert nobody(patrol) == ["rain-accumulation"]


def test_a_rule_reached_at_one_of_its_stations_reaches_someone(tmp_path: Path) -> None:
    one_pond = notify(
        SMS, "{to: [sms], stations: [xiawu-pond, maokeng-rain], recipients: [station.patrol, "
        "village.warning_officer]}"
    )  # fmt: skip
    # pond-level binds both ponds: told at xiawu; culvert-blocked is maokeng-pond's only
    assert nobody(config(tmp_path, notify=one_pond)) == ["culvert-blocked"]


def test_each_level_of_a_rule_is_probed_and_a_single_severity_rule_too(tmp_path: Path) -> None:
    board = "      board: {type: console}\n"
    assert nobody(config(tmp_path / "a", notify=notify(board, "{to: [board]}"))) == []
    red = config(tmp_path / "b", notify=notify(board, "{to: [board], min_severity: red}"))
    assert nobody(red) == ["culvert-blocked"]  # severity: orange, no levels


def test_a_drill_destination_does_not_deliver_an_actual_alert(tmp_path: Path) -> None:
    drill = "      drill: {type: console, status: exercise}\n"
    assert nobody(config(tmp_path, notify=notify(drill, "{to: [drill]}"))) == FLOOD_RULES


def test_village_boxes_count_as_someone_to_tell(tmp_path: Path) -> None:
    boxes = "      village: {type: broadcast}\n"
    assert nobody(config(tmp_path, notify=notify(boxes, "{to: [village]}"), mqtt=True)) == []
