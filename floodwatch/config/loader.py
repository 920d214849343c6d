"""Load a config directory: every `*.yaml` / `*.yml` file in it, joined.

Each file may hold `engine:` and `service:` (each in at most one file),
`stations:`, `rules:`, `people:` and `rosters:` (lists, joined; a section
left empty, its items commented out, is an empty list).
Problems are collected from all files and reported together, each with file,
line, column and key path. The loader is given the sinks' destination models
and the rule kinds' models (`ConfigTypes`): the config layer knows neither
the sinks nor the kinds (`floodwatch.notify.sinks.load_config_dir` passes the
registries').
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from floodwatch.config import templates
from floodwatch.config.base import Model
from floodwatch.config.config_types import ConfigTypes
from floodwatch.config.destinations import DestinationBase
from floodwatch.config.errors import ConfigError, ConfigIssue, Loc
from floodwatch.config.models import (
    Config,
    ConfigFile,
    EngineSettings,
    RuleBase,
    ServiceSettings,
    Station,
)
from floodwatch.config.notify import NotifySettings, Person
from floodwatch.config.textcheck import decode, slips
from floodwatch.config.values import PATTERN_WORDS
from floodwatch.config.yamlpos import Located, parse_yaml

MAX_FILE_BYTES = 4 * 1024 * 1024
LISTS = ("stations", "rules", "people", "rosters")  # sections joined across files


@dataclass
class LoadedConfig:
    """A validated config and where each of its parts came from."""

    config: Config
    origins: dict[str, list[tuple[Located, int]]] = field(default_factory=dict)
    engine_origin: Located | None = None
    service_origin: Located | None = None
    notes: list[ConfigIssue] = field(default_factory=list)  # not wrong, worth a warning
    # SMS templates that cannot be read or parsed (`config/templates.py`), read
    # here so that the compile step, which reports them, reads no files
    template_problems: list[tuple[Loc, str]] = field(default_factory=list)

    def issue(self, loc: Loc, message: str) -> ConfigIssue:
        """A problem at a path of the joined config, placed in its file (a path
        to no part of it is placed nowhere)."""
        origins = self.origins.get(str(loc[0])) if loc else None
        if origins is not None and len(loc) > 1 and isinstance(loc[1], int):
            if not 0 <= loc[1] < len(origins):
                return ConfigIssue(None, None, None, loc, message)
            located, index = origins[loc[1]]
            local: Loc = (loc[0], index, *loc[2:])
            return _issue_at(located, local, message)
        if loc and loc[0] == "engine" and self.engine_origin is not None:
            return _issue_at(self.engine_origin, loc, message)
        if loc and loc[0] == "service" and self.service_origin is not None:
            return _issue_at(self.service_origin, loc, message)
        return ConfigIssue(None, None, None, loc, message)


def load_config_dir(directory: Path | str, types: ConfigTypes) -> LoadedConfig:
    """Parse and validate every YAML file in `directory`, its destinations
    against `types`; raise ConfigError with all problems."""
    root = Path(directory)
    if not root.is_dir():
        raise ConfigError([ConfigIssue(root, None, None, (), "not a directory")])
    files = sorted(p for p in root.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    if not files:
        raise ConfigError([ConfigIssue(root, None, None, (), "no *.yaml files in this directory")])
    return load_config_files(files, types)


def load_config_files(files: Iterable[Path], types: ConfigTypes) -> LoadedConfig:
    issues: list[ConfigIssue] = []
    lists: dict[str, list[Any]] = {name: [] for name in LISTS}
    loaded = LoadedConfig(config=Config(), origins={name: [] for name in LISTS})
    engine: EngineSettings | None = None
    service: ServiceSettings | None = None
    for file in files:
        parsed = _load_file(file, issues, loaded.notes, types)
        if parsed is None:
            continue
        located, model = parsed
        if model.engine is not None:
            if engine is not None and loaded.engine_origin is not None:
                issues.append(
                    _issue_at(
                        located,
                        ("engine",),
                        f"engine settings are already given in {loaded.engine_origin.file}",
                    )
                )
            else:
                engine, loaded.engine_origin = model.engine, located
        if model.service is not None:
            if service is not None and loaded.service_origin is not None:
                issues.append(
                    _issue_at(
                        located,
                        ("service",),
                        f"service settings are already given in {loaded.service_origin.file}",
                    )
                )
            else:
                service, loaded.service_origin = model.service, located
        for name in LISTS:
            for index, item in enumerate(getattr(model, name)):
                lists[name].append(item)
                loaded.origins[name].append((located, index))
    if issues:
        raise ConfigError(issues)
    loaded.config = Config(
        engine=engine or EngineSettings(),
        service=service or ServiceSettings(),
        **lists,
    )
    if loaded.service_origin is not None:
        base = loaded.service_origin.file.parent
        loaded.template_problems = list(templates.problems(loaded.config, base))
    return loaded


def _load_file(
    file: Path, issues: list[ConfigIssue], notes: list[ConfigIssue], types: ConfigTypes
) -> tuple[Located, ConfigFile] | None:
    try:
        raw = file.read_bytes()
    except OSError as exc:
        issues.append(ConfigIssue(file, None, None, (), f"cannot read: {exc.strerror}"))
        return None
    if len(raw) > MAX_FILE_BYTES:
        issues.append(ConfigIssue(file, None, None, (), f"larger than {MAX_FILE_BYTES} bytes"))
        return None
    decoded = decode(file, raw)
    notes.extend(decoded.notes)
    if decoded.text is None:
        issues.extend(decoded.issues)
        return None
    found = slips(file, decoded.text)
    if found:  # YAML's own errors for these point elsewhere
        issues.extend(found)
        return None
    located, parse_issues = parse_yaml(file, decoded.text)
    issues.extend(parse_issues)
    if located is None or parse_issues:
        return None
    if located.data is None:
        located.data = {}
    if not isinstance(located.data, dict):
        issues.append(
            _issue_at(located, (), "the top level must be a mapping (engine, stations, rules)")
        )
        return None
    try:
        model = types.file_model.model_validate(located.data)
    except ValidationError as exc:
        issues.extend(_from_validation_error(located, exc, types))
        return None
    found = _model_problems(located, model) + _yaml11_numbers(located)
    issues.extend(found)
    return None if found else (located, model)


# YAML 1.1 (PyYAML) reads `040` as octal (32) and `1:30` as base 60 (90): a
# threshold or a limit written so would be taken, silently, as another number.
_OCTAL = re.compile(r"^[-+]?0[0-7_]+$")
_SEXAGESIMAL = re.compile(r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$")


def _yaml11_numbers(located: Located) -> list[ConfigIssue]:
    """A number the model took that YAML 1.1 read as octal or base 60."""
    issues = []
    for loc, raw in located.raw_text.items():
        value: Any = located.data
        for part in loc:
            value = value[part]
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if _OCTAL.match(raw):
            read = f"the octal number {value}"
            meant = f"write {int(raw.replace('_', ''), 10)} without the leading 0"
        elif _SEXAGESIMAL.match(raw):
            read = f"{value} (base 60, as a clock)"
            meant = "write the number itself (a duration with units: '1h30m')"
        else:
            continue
        issues.append(
            _issue_at(located, loc, f'YAML reads {raw} as {read}: {meant}, or quote it: "{raw}"')
        )
    return issues


def _model_problems(located: Located, model: ConfigFile) -> list[ConfigIssue]:
    """Each model's own `problems()`, in file order: engine, service, then the lists."""
    issues = []
    if model.engine is not None:
        for loc, message in model.engine.problems():
            issues.append(_issue_at(located, ("engine", *loc), message))
    if model.service is not None:
        for loc, message in model.service.problems():
            issues.append(_issue_at(located, ("service", *loc), message))
    for section in LISTS:
        for index, item in enumerate(getattr(model, section)):
            for loc, message in item.problems():
                issues.append(_issue_at(located, (section, index, *loc), _named(item, message)))
    return issues


def _named(item: Model, message: str) -> str:
    kind = {Station: "station", Person: "person"}.get(type(item), "rule")
    ident = getattr(item, "id", None)
    return f"{message} ({kind} {ident!r})" if ident else message


def _issue_at(located: Located, loc: Loc, message: str) -> ConfigIssue:
    position = located.position(loc)
    line, col = position if position else (None, None)
    return ConfigIssue(located.file, line, col, loc, message)


def _from_validation_error(
    located: Located, exc: ValidationError, types: ConfigTypes | None = None
) -> list[ConfigIssue]:
    """pydantic's errors at their file positions (`types`: a config file's
    destination and rule types; None for the other YAML files read this way)."""
    issues = []
    for error in exc.errors(include_url=False):
        loc = _data_loc(located.data, tuple(error["loc"]), types)
        if error["type"].startswith("union_tag_") and _is_destination(error):
            loc = (*loc, "type")  # said of the destination's `type`, as for any key
        issues.append(_issue_at(located, loc, _message(located, loc, error, types)))
    return issues


def _data_loc(data: Any, loc: tuple[Any, ...], types: ConfigTypes | None) -> Loc:
    """Drop the parts of a pydantic loc that are not keys in the data (union tags)."""
    out: list[str | int] = []
    node = data
    for part in loc:
        if part == "[key]":  # pydantic's mark of an error in a key: said of the key itself
            continue
        if (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        ):
            out.append(part)
            node = node[part]
        elif isinstance(node, dict) and not isinstance(part, int):
            # A missing key, or a union tag: keep a missing key, skip a tag.
            if (types is None or part not in (*types.rules, *types.destinations)) and not str(
                part
            ).startswith(("function-", "float")):
                out.append(part)
                node = None
    return tuple(out)


def _message(located: Located, loc: Loc, error: Any, types: ConfigTypes | None) -> str:  # noqa: PLR0911 — one wording per pydantic error type
    kind = error["type"]
    given = error.get("input")
    if kind == "extra_forbidden":
        valid = _valid_keys(located.data, loc[:-1], types)
        key = loc[-1]
        hint = ""
        close = difflib.get_close_matches(str(key), valid, n=1)
        if close:
            hint = f" — did you mean {close[0]!r}?"
        return f"unknown key {key!r}{hint}; valid keys here: {', '.join(valid)}"
    if kind == "missing":
        return f"required key {loc[-1]!r} is missing"
    msg = str(error["msg"])
    msg = msg.removeprefix("Value error, ")
    if kind in ("model_type", "model_attributes_type"):  # not "instance of StationLevels"
        return f"must be a mapping (key: value), got {_shown(given)}"
    if kind in ("string_type", "dict_type", "list_type", "float_type", "int_type", "bool_type"):
        raw = located.raw_text.get(loc)
        if raw is not None and kind == "string_type":
            return f'must be text; YAML reads {raw} as {given!r}, so put it in quotes: "{raw}"'
        return f"{msg.lower()}, got {given!r}"
    if kind in ("literal_error", "enum", "union_tag_invalid"):
        if kind == "union_tag_invalid" and _is_destination(error) and types is not None:
            return f"must be {_one_of(types.destination_names())}; got {error['ctx']['tag']!r}"
        if kind == "union_tag_invalid":
            return f"unknown rule kind {error['ctx']['tag']!r}; valid: {_kinds(types)}"
        return f"must be {msg.removeprefix('Input should be ')}; got {given!r}"
    if kind == "string_pattern_mismatch":  # what the pattern asks for, in words
        pattern = str((error.get("ctx") or {}).get("pattern", ""))
        words = PATTERN_WORDS.get(pattern)
        return f"{given!r} is not {words}" if words else f"{given!r} does not match {pattern}"
    if kind == "union_tag_not_found" and _is_destination(error):
        return "required key 'type' is missing"
    if kind == "union_tag_not_found":
        return f"a rule needs 'kind': one of {_kinds(types)}"
    if isinstance(given, dict | list):
        return msg
    return f"{msg}, got {given!r}" if given is not None and "got" not in msg else msg


def _shown(given: Any) -> str:
    if given is None:
        return "nothing"
    return "a list" if isinstance(given, list) else repr(given)


def _kinds(types: ConfigTypes | None) -> str:
    return ", ".join(types.kind_names() if types is not None else [])


def _is_destination(error: Any) -> bool:
    """Whether a union error is about a destination's `type` (not a rule's `kind`)."""
    return "'type'" in str((error.get("ctx") or {}).get("discriminator", ""))


def _one_of(names: Iterable[str]) -> str:
    """'a', 'b' or 'c' — as pydantic words a literal's choices."""
    quoted = [repr(n) for n in names]
    if len(quoted) == 1:
        return quoted[0]
    return ", ".join(quoted[:-1]) + " or " + quoted[-1]


def _valid_keys(data: Any, loc: Loc, types: ConfigTypes | None) -> list[str]:
    model: Any = ConfigFile if types is None else types.file_model
    node = data
    for part in loc:
        node = node[part] if isinstance(node, dict | list) else None  # type: ignore[index]
        model = _child_model(model, part, node, types)
        if model is None:
            return []
    if isinstance(model, type) and issubclass(model, BaseModel):
        return [f.alias or name for name, f in model.model_fields.items()]
    return []


def _child_model(model: Any, part: str | int, node: Any, types: ConfigTypes | None) -> Any:
    """The model class found at `part` below `model` (following lists, dicts, unions)."""
    if isinstance(model, type) and issubclass(model, BaseModel):
        if issubclass(model, ConfigFile) and part == "rules":
            return "rules"
        if issubclass(model, NotifySettings) and part == "destinations":
            return "destinations"
        for name, info in model.model_fields.items():
            if part in (name, info.alias):
                return _unwrap(info.annotation)
        return None
    if model == "rules":
        kind = node.get("kind") if isinstance(node, dict) else None
        return RuleBase if types is None else types.rule(kind)
    if model == "destinations":
        kind = node.get("type") if isinstance(node, dict) else None
        return DestinationBase if types is None else types.destination(kind)
    if isinstance(model, tuple):  # list[...] or dict[..., X]
        return model[-1]
    return None


def _unwrap(annotation: Any) -> Any:
    origin = get_origin(annotation)
    args = [a for a in get_args(annotation) if a is not type(None)]
    if origin in (list, dict):
        return ("container", _unwrap(args[-1]))
    if args and origin is not None:
        models = [_unwrap(a) for a in args]
        for candidate in models:
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                return candidate
            if isinstance(candidate, tuple):
                return candidate
        return None
    return annotation
