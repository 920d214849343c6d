"""`config.rosters`: who a route's recipients are for an alert at a station —
by role (the station's own roster, the villages it lies in or covers, its
town) or by person — each person once, in the order named; a reply's phone
number found whatever its format; and the cross-references `check` reports."""

from __future__ import annotations

from typing import Any

from floodwatch.config.models import Config
from floodwatch.config.rosters import Recipient, Rosters, check, villages_of
from floodwatch.notify.sinks import CONFIG_TYPES

MAOKENG = {"name": "毛坑村", "code": "330182104201"}
XIAWU = {"name": "下坞村", "code": "330182104202"}
TOWN = {"name": "凤川镇", "code": "330182104"}
STATIONS: list[dict[str, Any]] = [
    {"id": "maokeng-pond", "name": "毛坑山塘", "type": "pond", "village": MAOKENG, "town": TOWN},
    {
        "id": "maokeng-rain",
        "name": "毛坑雨量站",
        "type": "rain_gauge",
        "village": MAOKENG,
        "town": TOWN,
        "covers": [XIAWU["code"], MAOKENG["code"]],
    },
    {"id": "lone-pond", "name": "孤山塘", "type": "pond"},  # no village, no town
]
PEOPLE = [
    {"id": "zhang-wei", "name": "张伟", "phone": "13800000001"},
    {"id": "li-na", "name": "李娜", "phone": "+8613800000002"},
    {"id": "chen-jun", "name": "陈军", "phone": "13800000007"},
    {"id": "wu-hua", "name": "吴华", "phone": "13800000008"},
    {"id": "zheng-lei", "name": "郑磊", "phone": "13800000009"},
    {"id": "desk", "name": "值班室", "phone": "057164000000"},
]
ROSTERS: list[dict[str, Any]] = [
    {"station": "maokeng-pond", "administrative": "zhang-wei", "technical": ["li-na", "zhang-wei"]},
    {"village": MAOKENG["code"], "warning_officer": "chen-jun"},
    {"village": XIAWU["code"], "warning_officer": ["wu-hua", "ghost"]},  # ghost: no person
    {"town": TOWN["code"], "flood_lead": "zheng-lei"},
]


def config(
    rosters: list[dict[str, Any]] = ROSTERS,
    people: list[dict[str, Any]] = PEOPLE,
    notify: dict[str, Any] | None = None,
) -> Config:
    return CONFIG_TYPES.config_model.model_validate(
        {
            "stations": STATIONS,
            "people": people,
            "rosters": rosters,
            "service": {"notify": notify} if notify else {},
        }
    )


def resolved(specs: list[str], station: str) -> list[tuple[str, str]]:
    return [(r.person, r.role) for r in Rosters(config()).resolve(specs, station)]


def test_a_station_role_is_its_own_roster() -> None:
    assert resolved(["station.administrative"], "maokeng-pond") == [
        ("zhang-wei", "station.administrative")
    ]
    assert resolved(["station.technical"], "maokeng-pond") == [
        ("li-na", "station.technical"),
        ("zhang-wei", "station.technical"),
    ]


def test_each_person_once_by_the_first_role_that_named_them() -> None:
    assert resolved(["station.administrative", "station.technical"], "maokeng-pond") == [
        ("zhang-wei", "station.administrative"),
        ("li-na", "station.technical"),
    ]


def test_village_roles_follow_the_station_s_own_village_then_those_it_covers() -> None:
    assert resolved(["village.warning_officer"], "maokeng-rain") == [
        ("chen-jun", "village.warning_officer"),
        ("wu-hua", "village.warning_officer"),  # ghost is skipped: no such person
    ]
    assert resolved(["village.warning_officer"], "maokeng-pond") == [
        ("chen-jun", "village.warning_officer")
    ]


def test_the_town_role_is_the_station_s_town() -> None:
    assert resolved(["town.flood_lead"], "maokeng-pond") == [("zheng-lei", "town.flood_lead")]


def test_a_station_without_village_town_or_roster_has_no_role_holders() -> None:
    specs = ["station.patrol", "village.warning_officer", "town.flood_lead"]
    assert resolved(specs, "lone-pond") == []
    assert resolved(specs, "no-such-station") == []  # an alert of a station since removed


def test_a_person_by_id_and_what_names_nobody() -> None:
    assert resolved(["person:desk", "person:ghost", "nonsense", "person:", "station"], "x") == [
        ("desk", "person")
    ]


def test_a_recipient_carries_the_role_in_chinese() -> None:
    [r] = Rosters(config()).resolve(["station.administrative"], "maokeng-pond")
    assert r == Recipient("zhang-wei", "张伟", "13800000001", "station.administrative")
    assert r.role_zh == "行政责任人"
    assert Recipient("desk", "值班室", "0", "person").role_zh == ""


def test_a_reply_s_number_is_found_whatever_its_format() -> None:
    rosters = Rosters(config())
    for phone in ("13800000002", "+86 138 0000 0002", "86-138-0000-0002", "(138)00000002"):
        found = rosters.person_by_phone(phone)
        assert found is not None and found.id == "li-na", phone
    desk = rosters.person_by_phone("0571-64000000")
    assert desk is not None and desk.id == "desk"


def test_an_unknown_number_or_a_near_miss_is_nobody() -> None:
    rosters = Rosters(config())
    assert rosters.person_by_phone("13800000003") is None
    assert rosters.person_by_phone("3800000001") is None  # a digit short
    assert rosters.person_by_phone("8613800000001") is not None  # +86 written without '+'
    assert rosters.person_by_phone("") is None


def test_villages_of_a_station_its_own_first_each_once() -> None:
    stations = {s.id: s for s in config().stations}
    assert villages_of(stations["maokeng-rain"]) == [MAOKENG["code"], XIAWU["code"]]
    assert villages_of(stations["lone-pond"]) == []
    assert villages_of(None) == []


def test_check_a_consistent_config() -> None:
    people = [*PEOPLE, {"id": "ghost", "name": "鬼", "phone": "13800000010"}]
    assert list(check(config(people=people))) == []


def test_check_names_every_broken_reference() -> None:
    people = [*PEOPLE, {"id": "desk", "name": "值班室二", "phone": "057164000001"}]
    rosters = [
        *ROSTERS,
        {"station": "maokeng-pond", "patrol": "zhang-wei"},  # a second roster
        {"station": "no-pond", "patrol": "zhang-wei"},
        {"village": "330182999999", "warning_officer": "chen-jun"},
        {"town": "330182999", "flood_lead": "zheng-lei"},
    ]
    notify = {
        "destinations": {"sms": {"type": "sms", "record": True}},
        "routes": [
            {"to": ["sms"], "recipients": ["person:desk", "person:nobody", "station.patrol"]}
        ],
        "answer": {"via": ["sms"], "escalate": [["town.flood_lead"], ["person:boss"]]},
    }
    assert list(check(config(rosters=rosters, people=people, notify=notify))) == [
        (("people", 6, "id"), "duplicate person id 'desk'"),
        (("rosters", 2, "warning_officer", 1), "no person 'ghost' in people"),
        (("rosters", 4, "station"), "a second roster for station 'maokeng-pond'"),
        (("rosters", 5, "station"), "no station 'no-pond' among the stations"),
        (("rosters", 6, "village"), "no village '330182999999' among the stations"),
        (("rosters", 7, "town"), "no town '330182999' among the stations"),
        (("service", "notify", "routes", 0, "recipients", 1), "no person 'nobody' in people"),
        (("service", "notify", "answer", "escalate", 1, 0), "no person 'boss' in people"),
    ]


def test_a_village_a_station_covers_is_a_known_village() -> None:
    rosters = [{"village": XIAWU["code"], "warning_officer": "wu-hua"}]  # only covered
    assert list(check(config(rosters=rosters))) == []
