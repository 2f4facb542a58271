"""Check the values a release passes against the chart itself, before helm sees them.

A key is known when the chart's values.yaml (or a bundled subchart's, under the subchart's
name) has it, when a template reads it (`.Values.a.b`: charts document some keys only as
comments), or when a template hands a map above it on whole (`toYaml .Values.cephClusterSpec`
into a custom resource, whose CRD then checks it). Below a key whose default is an empty map
({}) or a list, or that only a template reads, the chart takes any content. A value whose
default is a boolean, number, string, list or map must have that type, unless a template hands
that very key on whole (its type is then the receiving object's). Where the chart ships
values.schema.json, the merged values must pass it too (helm checks the same at install).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

_VALUES_REF = re.compile(r"\.Values\.([A-Za-z0-9_.]+)")
# A map a template hands on whole (to a custom resource's spec, a pod's securityContext): any
# key below it belongs to the object it lands in, and the schema or CRD check validates it.
# `{{ with .Values.x }} ... {{ toYaml . }}` hands it on too.
_WHOLESALE_REF = re.compile(
    r"(?:toYaml|toJson|toPrettyJson)\s+\(?\$?\.Values\.([A-Za-z0-9_.]+)"
    r"|\.Values\.([A-Za-z0-9_.]+)\s*\|\s*(?:toYaml|toJson|toPrettyJson)"
    r"|with\s+\$?\.Values\.([A-Za-z0-9_.]+)\s*-?}}[^{]*{{-?\s*"
    r"(?:(?:toYaml|toJson)\s+\.\s|\.\s*\|\s*(?:toYaml|toJson))"
)


@dataclass(frozen=True)
class ValueProblem:
    path: str  # dotted values path, e.g. "driver.enabled"
    message: str


@dataclass(frozen=True)
class ChartValues:
    """What a chart folder accepts: its defaults and the values paths its templates read."""

    defaults: dict[str, Any]
    read_by_templates: frozenset[str]
    passed_whole: frozenset[str]
    schema: dict[str, Any] | None

    def template_reads(self, path: str) -> bool:
        if any(ref == path or ref.startswith(path + ".") for ref in self.read_by_templates):
            return True
        return any(path.startswith(whole + ".") for whole in self.passed_whole)


@cache
def chart_values(folder: Path) -> ChartValues:
    defaults = _yaml(folder / "values.yaml")
    reads = set(_template_refs(folder, _VALUES_REF))
    whole = set(_template_refs(folder, _WHOLESALE_REF))
    for sub in sorted((folder / "charts").glob("*/Chart.yaml")):
        sub_dir = sub.parent
        name = _subchart_key(folder, sub_dir)
        sub_values = chart_values(sub_dir)
        defaults[name] = _merge(sub_values.defaults, defaults.get(name) or {})
        reads |= {f"{name}.{ref}" for ref in sub_values.read_by_templates}
        whole |= {f"{name}.{ref}" for ref in sub_values.passed_whole}
    schema_file = folder / "values.schema.json"
    schema = json.loads(schema_file.read_text(encoding="utf-8")) if schema_file.is_file() else None
    return ChartValues(defaults, frozenset(reads), frozenset(whole), schema)


def value_problems(folder: Path, values: dict[str, Any]) -> list[ValueProblem]:
    chart = chart_values(folder.resolve())
    problems = _walk(chart, values, chart.defaults, "")
    if chart.schema is not None:
        merged = _merge(chart.defaults, values)
        for error in jsonschema.Draft7Validator(chart.schema).iter_errors(merged):
            path = ".".join(str(p) for p in error.absolute_path) or "(values)"
            problems.append(ValueProblem(path, f"{error.message} (the chart's values.schema.json)"))
    return problems


def _walk(
    chart: ChartValues, values: dict[str, Any], defaults: dict[str, Any], prefix: str
) -> list[ValueProblem]:
    problems = []
    for key, value in values.items():
        path = f"{prefix}{key}"
        if key not in defaults:
            if not chart.template_reads(path):
                problems.append(ValueProblem(path, "the chart has no such key"))
            continue
        if path in chart.passed_whole:
            # Handed on whole to an object (a custom resource's field): its type is that
            # object's, which the schema or CRD check of the rendered object judges, not the
            # chart's default (kube-prometheus-stack defaults arbitraryFSAccessThroughSMs to
            # false, yet the Prometheus CRD takes a map there).
            continue
        default = defaults[key]
        wrong = _type_problem(default, value)
        if wrong:
            problems.append(ValueProblem(path, wrong))
        elif isinstance(default, dict) and default and isinstance(value, dict):
            problems += _walk(chart, value, default, f"{path}.")
    return problems


def _type_problem(default: Any, value: Any) -> str | None:
    """A mismatch between the chart default's type and the value's (None accepts anything)."""
    wanted, got = _kind(default), _kind(value)
    if wanted is None or got is None or wanted == got:
        return None
    return f"expected {wanted} (the chart's default is {default!r}), got {value!r}"


def _kind(value: Any) -> str | None:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    for kind, name in ((str, "a string"), (list, "a list"), (dict, "a map")):
        if isinstance(value, kind):
            return name
    return None


def _subchart_key(parent: Path, sub_dir: Path) -> str:
    """The values key of a bundled subchart: its alias in the parent's Chart.yaml, or its name."""
    name = str(_yaml(sub_dir / "Chart.yaml").get("name", sub_dir.name))
    for dep in _yaml(parent / "Chart.yaml").get("dependencies") or []:
        if dep.get("name") == name and dep.get("alias"):
            return str(dep["alias"])
    return name


def _template_refs(folder: Path, pattern: re.Pattern[str]) -> set[str]:
    refs: set[str] = set()
    for path in (folder / "templates").rglob("*"):
        if path.is_file():
            for found in pattern.findall(path.read_text(encoding="utf-8", errors="replace")):
                groups = found if isinstance(found, tuple) else (found,)
                refs |= {group for group in groups if group}
    return {ref.rstrip(".") for ref in refs}


def _yaml(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None
    return data if isinstance(data, dict) else {}


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """helm's coalescing of values: maps merge key by key, anything else replaces."""
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged
