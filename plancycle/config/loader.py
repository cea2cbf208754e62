"""Loading a cycle configuration file with every problem reported at once.

Errors name the file, the YAML path and line, and what to change; the CLI prints them and
exits 2 — a planner's typo must never surface as a Python traceback.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path as FsPath
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from plancycle.calendar import WorkingCalendar
from plancycle.config.checks import check_config, config_warnings
from plancycle.config.model import CycleConfig
from plancycle.config.problems import ConfigError, ConfigProblem, Path

_UNION_TAGS = {"date", "int", "str", "bool", "float", "list", "dict", "none"}
_FORM_HINTS = {
    "due": "write a date (2026-05-15) or working days after the stage starts ({working_days: 10})",
    "starts": "write a date (2026-04-01) or {after: <stage id>, working_days: 5}",
    "ends": "write a date, {working_days: 20} after the stage starts, or leave it out",
    "quorum": "write 'all', 'any' or a number of approvals (e.g. 2)",
}


def load_config(path: str | FsPath, calendar: WorkingCalendar | None = None) -> CycleConfig:
    """Read, validate and cross-check one cycle file; raise ConfigError listing every problem."""
    file = str(path)
    try:
        text = FsPath(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(file, [ConfigProblem((), "file not found",
                                               "check the path; cycle files live in cycle_config/",
                                               file=file)]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(file, [ConfigProblem(
            (), f"not UTF-8 text (byte {exc.start})", "save the file as UTF-8", file=file)]
        ) from None
    return parse_config(text, file, calendar)


def parse_config(text: str, file: str = "<config>",
                 calendar: WorkingCalendar | None = None) -> CycleConfig:
    try:
        node, data = _parse(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        line = mark.line + 1 if mark else None
        raise ConfigError(file, [ConfigProblem(
            _near(text, line) if line else (), f"not valid YAML: {problem}",
            "check indentation (spaces, not tabs), colons after keys and matching quotes",
            line=line, file=file)]) from None
    if not isinstance(data, dict):
        raise ConfigError(file, [ConfigProblem(
            (), "the file is empty or not a mapping of sections",
            "start from cycle_config/trust_annual_cycle.yaml (sections cycle:, organisation:, "
            "people:, roles:, stages:)", line=1, file=file)])
    lines = _line_index(node)
    try:
        config = CycleConfig.model_validate(data)
    except ValidationError as exc:
        problems = _from_pydantic(exc, lines, data)
        raise ConfigError(file, [p.located(file, lines) for p in problems]) from None
    problems = check_config(config, calendar)
    if problems:
        raise ConfigError(file, [p.located(file, lines) for p in problems])
    config._warnings = [w.located(file, lines) for w in config_warnings(config, calendar)]
    return config


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps an impossible date (2026-02-30) as text for validation to report."""


def _timestamp(loader: _Loader, node: yaml.ScalarNode) -> Any:
    try:
        return loader.construct_yaml_timestamp(node)
    except ValueError:
        return loader.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)

if getattr(yaml, "__with_libyaml__", False):
    class _FastLoader(yaml.CSafeLoader):
        """_Loader's constructors on libyaml's parser (about ten times faster)."""

    _FastLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)
else:  # pragma: no cover - PyYAML built without libyaml
    _FastLoader = _Loader  # type: ignore[misc,assignment]


def _parse(text: str) -> tuple[yaml.Node | None, Any]:
    """The node tree (for line numbers) and the data, from one parse.

    A file libyaml refuses is parsed again by the pure-Python parser, so a syntax error is
    reported in the same words and at the same place whichever parser is installed.
    """
    try:
        return _parse_with(_FastLoader, text)
    except yaml.YAMLError:
        if _FastLoader is _Loader:
            raise
    return _parse_with(_Loader, text)


def _parse_with(loader_class: type[Any], text: str) -> tuple[yaml.Node | None, Any]:
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        return node, (loader.construct_document(node) if node is not None else None)
    finally:
        loader.dispose()


def _near(text: str, line: int) -> Path:
    """For a YAML syntax error on ``line``: the path of the section being written just before.

    Parses the lines above the error; the last complete ``key: value`` there is a sibling of
    the broken line, so its parent is where the mistake is ((top level) if that cannot be told).
    """
    try:
        above = "".join(text.splitlines(keepends=True)[: line - 1])
        node = yaml.compose(above, Loader=yaml.SafeLoader)
        data = yaml.load(above, Loader=_Loader)
    except yaml.YAMLError:
        return ()
    lines = _line_index(node)
    keyed = [p for p in lines if p and isinstance(p[-1], str)]
    if not keyed:
        return ()
    last = max(lines[p] for p in keyed)
    path = min((p for p in keyed if lines[p] == last), key=len)
    return path if _value_at(data, path) is None else path[:-1]


def _line_index(node: yaml.Node | None, path: Path = (), out: dict[Path, int] | None = None
                ) -> dict[Path, int]:
    """Map every YAML path to the (1-based) line where it is written."""
    out = {} if out is None else out
    if node is None:
        return out
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*path, key.value)
            out.setdefault(child, key.start_mark.line + 1)
            _line_index(value, child, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, value in enumerate(node.value):
            _line_index(value, (*path, i), out)
    return out


def _is_union_tag(part: str | int) -> bool:
    return isinstance(part, str) and (
        part in _UNION_TAGS or "[" in part or part[:1].isupper())


def _model_at(path: Path) -> type[BaseModel] | None:
    """The pydantic model that owns the last key of ``path`` (for 'did you mean')."""
    model: Any = CycleConfig
    for part in path[:-1]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if hasattr(model, "model_fields") else None
        if field is None:
            field = next((f for f in getattr(model, "model_fields", {}).values()
                          if f.alias == part), None)
        if field is None:
            return None
        model = _inner_model(field.annotation)
        if model is None:
            return None
    return model


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _from_pydantic(
    exc: ValidationError, lines: dict[Path, int], data: Any
) -> list[ConfigProblem]:
    problems: dict[Path, ConfigProblem] = {}
    for error in exc.errors():
        loc: list[str | int] = list(error["loc"])
        # The last part of an unknown-key error is the planner's key, never a union tag.
        tags = loc[:-1] if error["type"] == "extra_forbidden" else loc
        union = next((i for i, part in enumerate(tags) if _is_union_tag(part)), None)
        if union is not None:
            path = tuple(loc[:union])
            key = path[-1] if path else ""
            hint = _FORM_HINTS.get(str(key), "check the value's form against the JSON schema")
            if error["type"] == "missing" or path in problems:
                problems.setdefault(
                    path, ConfigProblem(path, "value not in an accepted form", hint))
                continue
            value = _value_at(data, path)
            what = ("is not a date in the calendar" if isinstance(value, str)
                    and re.fullmatch(r"\d{4}-\d\d-\d\d", value) else "is not in an accepted form")
            problems[path] = ConfigProblem(path, f"{value!r} {what}", hint)
            continue
        path = tuple(loc)
        problems.setdefault(path, _problem(error, path))
    return list(problems.values())


def _value_at(data: Any, path: Path) -> Any:
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _problem(error: Any, path: Path) -> ConfigProblem:
    kind = error["type"]
    key = path[-1] if path else ""
    if kind == "missing":
        return ConfigProblem(path, f"required key '{key}' is missing", f"add '{key}:' here")
    if kind == "extra_forbidden":
        model = _model_at(path)
        allowed = sorted(
            (f.alias or name) for name, f in (model.model_fields.items() if model else []))
        close = difflib.get_close_matches(str(key), allowed, n=1)
        fix = f"did you mean '{close[0]}'?" if close else (
            f"remove it; allowed keys here: {', '.join(allowed)}" if allowed else "remove it")
        return ConfigProblem(path, f"unknown key '{key}'", fix)
    if kind == "string_pattern_mismatch" and key in ("id", "role", "deputy", "line_manager") \
            or kind == "string_pattern_mismatch" and isinstance(key, int):
        return ConfigProblem(path, f"{error['input']!r} is not a valid id",
                             "ids use lower case letters, digits, '_', '-' and '.' only")
    if kind == "string_pattern_mismatch" and key == "org_code":
        return ConfigProblem(path, f"{error['input']!r} is not an ORG_CODE",
                             "use the 3–5 character NHS organisation code, e.g. RXX or RJE")
    if kind == "string_pattern_mismatch" and key == "financial_year":
        return ConfigProblem(path, f"{error['input']!r} is not a financial year",
                             "write it as YYYY/YY, e.g. 2026/27")
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        return ConfigProblem(path, f"{error['input']!r} is not allowed here",
                             f"use one of: {expected}")
    if kind == "enum":
        expected = error.get("ctx", {}).get("expected", "")
        return ConfigProblem(path, f"{error['input']!r} is not a known {key}",
                             f"use one of: {expected}")
    if kind in ("too_short",) and key in ("holders", "tasks", "people", "roles", "stages",
                                          "approvers"):
        return ConfigProblem(path, f"'{key}' is empty", f"list at least one entry under '{key}:'")
    message = error["msg"].removeprefix("Value error, ")
    return ConfigProblem(path, message, "correct the value (see `plancycle config schema`)")


def config_schema() -> dict[str, Any]:
    """JSON Schema of a cycle file, for editors (VS Code YAML, etc.)."""
    schema = CycleConfig.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "plancycle cycle configuration"
    return schema
