"""`config.errors`: a problem reads `file:line:column: key.path[3]: message`,
with whatever of the place is known, and a `ConfigError` holds every problem,
in file order, with a count a person reads first."""

from __future__ import annotations

from pathlib import Path

import pytest

from floodwatch.config.errors import ConfigError, ConfigIssue, format_loc


@pytest.mark.parametrize(
    ("loc", "text"),
    [
        ((), ""),
        (("rules",), "rules"),
        (("rules", 3, "levels", "red"), "rules[3].levels.red"),
        (("structure", "area", 2, 0), "structure.area[2][0]"),
        ((0, "id"), "[0].id"),  # a list at the top of a file
        (("flood_limit", "07-01..09-15"), "flood_limit.07-01..09-15"),
    ],
)
def test_a_key_path_reads_as_written_in_python(loc: tuple[str | int, ...], text: str) -> None:
    assert format_loc(loc) == text


def test_an_issue_names_file_line_column_key_and_message() -> None:
    issue = ConfigIssue(Path("config/rules.yaml"), 42, 7, ("rules", 3, "enter"), "too low")
    assert str(issue) == "config/rules.yaml:42:7: rules[3].enter: too low"


def test_an_issue_says_only_what_is_known_of_its_place() -> None:
    file = Path("s.yaml")
    assert str(ConfigIssue(file, 3, None, ("a",), "m")) == "s.yaml:3: a: m"
    assert str(ConfigIssue(file, None, 9, ("a",), "m")) == "s.yaml: a: m"  # no line: no column
    assert str(ConfigIssue(file, 3, 1, (), "not valid YAML")) == "s.yaml:3:1: not valid YAML"
    assert str(ConfigIssue(None, None, None, ("service", "notify"), "m")) == (
        "<config>: service.notify: m"
    )


def test_a_config_error_sorts_its_problems_by_file_line_and_column() -> None:
    b = Path("b.yaml")
    a = Path("a.yaml")
    issues = [
        ConfigIssue(b, 2, 5, (), "second in b"),
        ConfigIssue(b, 2, 1, (), "first in b"),
        ConfigIssue(a, 10, 1, (), "in a"),
        ConfigIssue(None, None, None, ("x",), "nowhere"),
        ConfigIssue(b, None, None, (), "b as a whole"),
    ]
    error = ConfigError(issues)
    assert [i.message for i in error.issues] == [
        "nowhere",
        "in a",
        "b as a whole",
        "first in b",
        "second in b",
    ]
    assert str(error) == error.report()
    assert error.report().splitlines() == [
        "5 problems in the configuration:",
        "  <config>: x: nowhere",
        "  a.yaml:10:1: in a",
        "  b.yaml: b as a whole",
        "  b.yaml:2:1: first in b",
        "  b.yaml:2:5: second in b",
    ]


def test_one_problem_is_counted_in_the_singular_and_a_generator_is_taken() -> None:
    error = ConfigError(ConfigIssue(Path("s.yaml"), 1, 1, (), m) for m in ["bad"])
    assert error.report() == "1 problem in the configuration:\n  s.yaml:1:1: bad"
    assert len(error.issues) == 1


def test_problems_at_one_place_are_ordered_by_message_so_a_report_is_stable() -> None:
    file = Path("s.yaml")
    one = ConfigError([ConfigIssue(file, 1, 1, (), "b"), ConfigIssue(file, 1, 1, (), "a")])
    other = ConfigError([ConfigIssue(file, 1, 1, (), "a"), ConfigIssue(file, 1, 1, (), "b")])
    assert one.report() == other.report()
