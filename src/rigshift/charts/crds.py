"""Validate custom resources against the openAPIV3Schema of the CRDs that define them.

The API server first prunes nulls and applies the schema's `default:` values, then validates;
this does the same, then checks with jsonschema. The Kubernetes extensions are translated:
`x-kubernetes-int-or-string` (an integer or a string), `nullable`, and
`x-kubernetes-preserve-unknown-fields` (any keys; elsewhere an unknown field is an error, as
with kubectl's strict field validation). CEL rules (`x-kubernetes-validations`) are not
evaluated here: they need the API server.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import jsonschema

ObjectKey = tuple[str, str, str]  # (group, version, kind)

# JSON has one number type: 65001.0 goes over the wire as 65001, and the API server takes it
# for an integer. Pulumi hands every number back as a float, so Draft 4's stricter `integer`
# (no float at all) would refuse what the API server accepts.
_JSON_INTEGERS = jsonschema.Draft4Validator.TYPE_CHECKER.redefine(
    "integer", lambda _, value: jsonschema.Draft7Validator.TYPE_CHECKER.is_type(value, "integer")
)
_Validator = jsonschema.validators.extend(jsonschema.Draft4Validator, type_checker=_JSON_INTEGERS)


@dataclass(frozen=True)
class CrdVersion:
    crd: str  # the CRD's name, e.g. clusterpolicies.nvidia.com
    schema: dict[str, Any]

    @cached_property
    def validator(self) -> jsonschema.protocols.Validator:
        return _Validator(_strict(self.schema))


def index_crds(objects: list[dict[str, Any]]) -> dict[ObjectKey, CrdVersion]:
    """Every served version of every CustomResourceDefinition among `objects`."""
    index = {}
    for obj in objects:
        if obj.get("kind") != "CustomResourceDefinition":
            continue
        spec = obj.get("spec") or {}
        group, kind = spec.get("group", ""), (spec.get("names") or {}).get("kind", "")
        for version in spec.get("versions") or []:
            schema = (version.get("schema") or {}).get("openAPIV3Schema")
            if version.get("served", True) and schema:
                key = (group, version["name"], kind)
                index[key] = CrdVersion(obj["metadata"]["name"], schema)
    return index


def object_key(obj: dict[str, Any]) -> ObjectKey:
    group, _, version = str(obj.get("apiVersion", "")).rpartition("/")
    return group, version, str(obj.get("kind", ""))


def custom_problems(obj: dict[str, Any], crd: CrdVersion) -> list[str]:
    """Every schema violation of `obj`, as 'field: message'."""
    prepared = apply_defaults(prune_nulls(copy.deepcopy(obj)), crd.schema)
    found = []
    for error in sorted(crd.validator.iter_errors(prepared), key=lambda e: list(e.absolute_path)):
        path = ".".join(str(p) for p in error.absolute_path) or "(object)"
        found.append(f"{path}: {error.message}")
    return found


def prune_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: prune_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [prune_nulls(v) for v in value]
    return value


def apply_defaults(value: Any, schema: dict[str, Any]) -> Any:
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        for key, sub in props.items():
            if key not in value and "default" in sub:
                value[key] = copy.deepcopy(sub["default"])
        for key, item in value.items():
            if key in props:
                value[key] = apply_defaults(item, props[key])
            elif isinstance(schema.get("additionalProperties"), dict):
                value[key] = apply_defaults(item, schema["additionalProperties"])
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [apply_defaults(item, schema["items"]) for item in value]
    return value


def _strict(schema: Any, top: bool = True) -> Any:
    """The CRD schema as plain JSON schema, unknown fields refused."""
    if isinstance(schema, list):
        return [_strict(s, False) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {
        k: (_strict(v, False) if k not in ("default", "example", "enum") else v)
        for k, v in schema.items()
        if not k.startswith("x-kubernetes-") and k not in ("nullable", "format")
    }
    if "properties" in schema:
        out["properties"] = {k: _strict(v, False) for k, v in schema["properties"].items()}
    if schema.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if schema.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    open_keys = schema.get("x-kubernetes-preserve-unknown-fields") or schema.get(
        "x-kubernetes-embedded-resource"
    )
    if "properties" in schema and "additionalProperties" not in schema and not open_keys:
        out["additionalProperties"] = False
    if top:
        # Every object carries these, whether or not the CRD's schema lists them.
        props = out.setdefault("properties", {})
        for key in ("apiVersion", "kind", "metadata"):
            props.setdefault(key, {})
    return out
