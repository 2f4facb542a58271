"""Load a site file into a SiteModel, turning every kind of bad input into a SiteError."""

from __future__ import annotations

import difflib
import re
import stat
import types
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from rigshift.model.checks import cross_field_problems, vram_warnings
from rigshift.model.errors import Problem, SiteError
from rigshift.model.schema import MAX_RIGS, SiteModel
from rigshift.model.text import text_problems
from rigshift.paths import SITE_FILE

# libyaml's parser is several times faster than the pure-Python one; a 10,000-rig file
# spends most of its load time here, so fall back only where libyaml is missing.
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# A 10,000-rig site is a few MB; a file far beyond that is a mistake (or an attack), and is
# refused before it is read whole.
MAX_SITE_BYTES = 64 * 1024 * 1024


class _Refused(Exception):
    """YAML the site loader refuses although YAML allows it, at a line."""

    def __init__(self, message: str, hint: str, line: int) -> None:
        super().__init__(message)
        self.problem = Problem((), message, hint, line)


class _SiteLoader(_Loader):  # type: ignore[valid-type,misc]
    """Safe YAML without the features that make a site file mean something else than it
    reads: aliases (a few lines of nested `*a` expand to billions of nodes, and validation would
    walk them all), duplicate keys (YAML keeps the last one silently: a second `gpus:` drops
    a rig's first list) and merge keys (`<<:` sets fields no line of the mapping names)."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        # The composer gives an alias the node of its anchor: a node met twice is an alias.
        if node in self.constructed_objects:
            raise _Refused(
                "YAML aliases (*name) are not allowed in a site file",
                "write the value out where it is used",
                node.start_mark.line + 1,
            )
        return super().construct_object(node, deep=deep)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> Any:
        seen: dict[object, int] = {}
        for key, _ in node.value:
            if isinstance(key, yaml.ScalarNode):
                line = key.start_mark.line + 1
                if key.tag == "tag:yaml.org,2002:merge":
                    raise _Refused(
                        "YAML merge keys (<<) are not allowed in a site file",
                        "write the keys out in the mapping itself",
                        line,
                    )
                if key.value in seen:
                    raise _Refused(
                        f"key {key.value!r} appears twice (lines {seen[key.value]} and {line}); "
                        "YAML would keep only the last",
                        "merge the two into one",
                        line,
                    )
                seen[key.value] = line
        return super().construct_mapping(node, deep=deep)


def read_site(file: Path) -> tuple[SiteModel, list[Problem]]:
    """The validated site and its warnings (with lines). Raises SiteError naming every problem.

    Commands load a site through `rigshift.site.Site.load`, which calls this once and hands
    the result down; nothing else should call it.
    """
    try:
        text = _read(file)
    except FileNotFoundError:
        raise SiteError(
            file,
            [Problem((), "no such file", f"create it, or pass inventories/<site>/{SITE_FILE}")],
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SiteError(file, [Problem((), f"cannot read the file: {exc}")]) from None
    site = parse_site(text, file)
    warnings = vram_warnings(site)
    return site, _with_lines(text, warnings) if warnings else []


def _read(file: Path) -> str:
    """The file's text; refused before reading when it is not a regular file (a named pipe
    would block forever) or larger than MAX_SITE_BYTES."""
    info = file.stat()
    if not stat.S_ISREG(info.st_mode):
        kind = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        raise OSError(f"{kind}; expected a site.yaml file")
    if info.st_size > MAX_SITE_BYTES:
        raise OSError(f"{info.st_size:,} bytes; a site file is at most {MAX_SITE_BYTES:,}")
    with file.open("rb") as handle:
        data = handle.read(MAX_SITE_BYTES + 1)
    if len(data) > MAX_SITE_BYTES:
        raise OSError(f"more than {MAX_SITE_BYTES:,} bytes; a site file is at most that")
    return data.decode("utf-8")


def parse_site(text: str, file: Path | str | None = None) -> SiteModel:
    """Validate site YAML given as text; `file` is only used to name it in errors."""
    listed = _rigs_listed(text)
    if listed is not None and listed[0] > MAX_RIGS:
        count, rigs_line = listed
        message = f"{count:,} rigs listed; a site holds at most {MAX_RIGS:,}"
        hint = "split the fleet into several sites"
        raise SiteError(file, [Problem(("fleet", "rigs"), message, hint, rigs_line)])
    try:
        data = yaml.load(text, Loader=_SiteLoader)
    except _Refused as exc:
        raise SiteError(file, [exc.problem]) from None
    except ValueError as exc:
        # Python refuses to turn a number of thousands of digits into an int.
        raise SiteError(
            file, [Problem((), f"not a usable number: {exc}", "write a shorter number")]
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise SiteError(
            file, [Problem((), f"not valid YAML: {problem}", "fix the YAML syntax", line)]
        ) from None
    if not isinstance(data, dict):
        raise SiteError(
            file, [Problem((), "expected a mapping with 'site', 'network', ... 'fleet' at the top")]
        )
    problems = text_problems(data)
    if problems:
        raise SiteError(file, _with_lines(text, problems))
    try:
        site = SiteModel.model_validate(data)
    except ValidationError as exc:
        problems = [_from_pydantic(err) for err in exc.errors(include_url=False)]
        raise SiteError(file, _with_lines(text, problems)) from None
    problems = cross_field_problems(site)
    if problems:
        raise SiteError(file, _with_lines(text, problems))
    return site


_FLEET = re.compile(r"^fleet:[ \t]*(?:#.*)?$", re.MULTILINE)
_TOP_LEVEL = re.compile(r"^[^ \t\n#]", re.MULTILINE)
_CONTENT = re.compile(r"^( *)[^ \t\n#]", re.MULTILINE)
_ITEM = re.compile(r"^( *)-(?:[ \t]|$)", re.MULTILINE)


def _rigs_listed(text: str) -> tuple[int, int] | None:
    """The items of the block list under `fleet: rigs:` and the line of `rigs:`, counted from
    the lines alone; None when the fleet is written otherwise (the model's bound still holds).

    Parsing and validating 100,000 rigs takes minutes and gigabytes, counting lines a fraction
    of a second: a fleet beyond the bound is refused before it is parsed. A rig's block scalars
    (notes) are indented deeper than the list's items, so their lines never count.
    """
    fleet = _FLEET.search(text)
    if fleet is None:
        return None
    top = _TOP_LEVEL.search(text, fleet.end())
    end = top.start() if top else len(text)
    first = _CONTENT.search(text, fleet.end(), end)
    if first is None:
        return None
    indent = len(first.group(1))
    key = re.compile(rf"^ {{{indent}}}rigs:[ \t]*(?:#.*)?$", re.MULTILINE)
    rigs = key.search(text, fleet.end(), end)
    if rigs is None:
        return None
    content = _CONTENT.search(text, rigs.end(), end)
    item = _ITEM.match(text, content.start()) if content else None
    if item is None or len(item.group(1)) < indent:
        return None
    # The list ends at a line indented less than its items, or as much but not an item.
    depth = len(item.group(1))
    after = re.compile(
        rf"^(?: {{0,{depth - 1}}}[^ \t\n#]| {{{depth}}}(?!-(?:[ \t]|$))[^ \t\n#])",
        re.MULTILINE,
    ).search(text, item.start(), end)
    items = re.compile(rf"^ {{{depth}}}-(?:[ \t]|$)", re.MULTILINE)
    count = sum(1 for _ in items.finditer(text, item.start(), after.start() if after else end))
    return count, text.count("\n", 0, rigs.start()) + 1


def _from_pydantic(err: Any) -> Problem:
    loc = tuple(err["loc"])
    kind = err["type"]
    if kind == "extra_forbidden":
        known = _fields_at(loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"known keys here: {', '.join(known)}"
        return Problem(loc, "unknown key", hint)
    if kind == "missing":
        return Problem(loc, "required field is missing", "add it")
    value = err.get("input")
    shown = "" if isinstance(value, dict | list) else f" (got {_cut(repr(value))})"
    # A validator's own sentence, without pydantic's "Value error, " in front of it.
    error = (err.get("ctx") or {}).get("error")
    message = str(error) if kind == "value_error" and error is not None else err["msg"]
    return Problem(loc, f"{message}{shown}", _yaml_hint(kind, value))


# YAML 1.1 reads some unquoted text as another type: a MAC address or bus id of digits and
# colons as a (base-60) number, `no` / `off` / `yes` as a bool.
def _yaml_hint(kind: str, value: Any) -> str:
    if kind == "string_type" and isinstance(value, bool | int | float):
        what = "true/false" if isinstance(value, bool) else "a number"
        return f"YAML read the unquoted value as {what}: put it in quotes"
    return ""


def _cut(text: str, limit: int = 80) -> str:
    """A value short enough for one line of a message."""
    return text if len(text) <= limit else f"{text[: limit - 20]}... ({len(text):,} characters)"


def _fields_at(loc: tuple[Any, ...]) -> list[str]:
    """The keys the model accepts at a location, for 'did you mean' hints."""
    current: Any = SiteModel
    for part in loc:
        current = _unwrap(current)
        if isinstance(part, int):
            args = typing.get_args(current)
            current = args[0] if args else None
        elif isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            current = field.annotation if field else None
        else:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _unwrap(annotation: Any) -> Any:
    """`Rig | None` -> `Rig`, so a hint can see through optional fields."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        return options[0] if len(options) == 1 else annotation
    return annotation


def _with_lines(text: str, problems: list[Problem]) -> list[Problem]:
    """Attach line numbers. Only runs on the error path, so a good file never pays for it."""
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError:
        return problems
    return [
        Problem(p.loc, p.message, p.hint, _line_of(root, p.loc)) if p.line is None else p
        for p in problems
    ]


def _line_of(node: Any, loc: tuple[str | int, ...]) -> int | None:
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == part:
                    line = key.start_mark.line + 1
                    node = value
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return line
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line
