"""YAML with positions: `yaml.safe_load` semantics plus where every key came from.

Mapping keys are always kept as the text written (so `yes:` or `24:` never turn
into a bool or an int); duplicate keys are reported instead of silently keeping
the last one. A key given beside a merge (`<<: *anchor`) overrides the merged
one, as in `yaml.safe_load`: that is the merge's purpose, not a duplicate.
For scalars that YAML 1.1 turns into something other than a string (`0123` →
83, `NO` → False, `2026-07-01` → a date), the text as written is kept so that
an error can show it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from floodwatch.config.errors import ConfigIssue, Loc


@dataclass
class Located:
    """A parsed document with the position of every path in it."""

    file: Path
    data: Any
    positions: dict[Loc, tuple[int, int]] = field(default_factory=dict)
    raw_text: dict[Loc, str] = field(default_factory=dict)

    def position(self, loc: Loc) -> tuple[int, int] | None:
        """The position of `loc`, or of its nearest ancestor that exists."""
        probe = loc
        while True:
            if probe in self.positions:
                return self.positions[probe]
            if not probe:
                return None
            probe = probe[:-1]


def parse_yaml(file: Path, text: str) -> tuple[Located | None, list[ConfigIssue]]:
    """The document of `text` with its positions, or None and the one reason
    it cannot be read (never an exception: a config being reloaded must not
    take the service down)."""
    loader = yaml.SafeLoader(text)
    located = Located(file=file, data=None)
    issues: list[ConfigIssue] = []
    try:
        node = loader.get_single_node()
        if node is not None:
            located.positions[()] = _mark(node)
            located.data = _build(loader, node, (), located, issues, frozenset())
    except yaml.MarkedYAMLError as exc:  # also a tag or a merge it cannot construct
        return None, [_not_yaml(file, exc)]
    except yaml.YAMLError as exc:
        return None, [ConfigIssue(file, None, None, (), f"not valid YAML: {exc}")]
    except RecursionError:
        return None, [ConfigIssue(file, None, None, (), "not valid YAML: nested too deeply")]
    finally:
        loader.dispose()
    return located, issues


def _not_yaml(file: Path, exc: yaml.MarkedYAMLError) -> ConfigIssue:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else None
    col = mark.column + 1 if mark else None
    problem = exc.problem or exc.context or "not valid YAML"
    if exc.context and problem.startswith("but "):  # "but found another document"
        problem = f"{exc.context} {problem}"
    if "'\\t'" in problem:  # PyYAML's words for a tab where YAML wants a space
        problem = "a tab here: YAML separates keys, values and list items with spaces only"
    tag = re.search(r"could not determine a constructor for the tag '([^']*)'", problem)
    if tag:
        problem = (
            f"the tag {tag.group(1)!r} is not read here: remove it (a text that starts "
            "with '!' goes in quotes)"
        )
    return ConfigIssue(file, line, col, (), f"not valid YAML: {problem}")


_MERGE = "tag:yaml.org,2002:merge"


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _build(
    loader: yaml.SafeLoader,
    node: yaml.Node,
    loc: Loc,
    out: Located,
    issues: list[ConfigIssue],
    inside: frozenset[int],  # the mappings and lists `node` is part of
) -> Any:
    if isinstance(node, yaml.CollectionNode):
        if id(node) in inside:  # an alias to a mapping or list around it
            line, col = out.position(loc) or (None, None)
            issues.append(
                ConfigIssue(
                    out.file,
                    line,
                    col,
                    loc,
                    "an alias to the mapping or list it is in (a loop): give the values",
                )
            )
            return None
        inside = inside | {id(node)}
    if isinstance(node, yaml.MappingNode):
        given = sum(1 for key_node, _ in node.value if key_node.tag != _MERGE)
        loader.flatten_mapping(node)  # the merged keys first, then the keys given
        merged = len(node.value) - given
        keys = [k.value if isinstance(k, yaml.ScalarNode) else None for k, _ in node.value]
        # A merged key is overridden by a key given here or by a later merged one
        # (safe_load keeps the last); it is left out, so it is no duplicate.
        given_keys = set(keys[merged:])
        last = {key: i for i, key in enumerate(keys[:merged])}
        result: dict[str, Any] = {}
        for index, (key_node, value_node) in enumerate(node.value):
            if index < merged and (keys[index] in given_keys or last[keys[index]] != index):
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                line, col = _mark(key_node)
                issues.append(ConfigIssue(out.file, line, col, loc, "a key must be plain text"))
                continue
            key = str(key_node.value)
            child = (*loc, key)
            if key in result:
                line, col = _mark(key_node)
                first = out.positions.get(child, (0, 0))[0]
                issues.append(
                    ConfigIssue(
                        out.file, line, col, child, f"duplicate key (first given on line {first})"
                    )
                )
                continue
            out.positions[child] = _mark(key_node)
            result[key] = _build(loader, value_node, child, out, issues, inside)
        return result
    if isinstance(node, yaml.SequenceNode):
        items = []
        for index, item in enumerate(node.value):
            child = (*loc, index)
            out.positions[child] = _mark(item)
            items.append(_build(loader, item, child, out, issues, inside))
        return items
    value = loader.construct_object(node, deep=True)
    if not isinstance(value, str) and value is not None:
        out.raw_text[loc] = str(node.value)
    return value
