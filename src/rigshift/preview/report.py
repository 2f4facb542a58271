"""How a preview is shown: a table grouped by component, a one-line-per-component summary, JSON."""

from __future__ import annotations

import json
from typing import Any

from rigshift.preview.offline import PlannedResource, Preview


def key_inputs(resource: PlannedResource) -> str:
    """The inputs a reviewer checks for this kind of resource, in one line (secrets hidden)."""
    shown = resource.shown
    meta = shown.get("metadata") or {}
    spec = shown.get("spec") or {}
    kind = resource.kind
    if resource.type.startswith("pulumi:providers:"):
        return f"kubeconfig={shown.get('kubeconfig')}"
    if kind == "Release":
        values = shown.get("values")
        secret = " values=[secret]" if values == "[secret]" else ""
        return f"{shown.get('chart')}@{shown.get('version')} -> ns {shown.get('namespace')}{secret}"
    if kind == "Namespace":
        labels = meta.get("labels") or {}
        return f"{meta.get('name')} pod-security={labels.get('pod-security.kubernetes.io/enforce')}"
    if kind == "ResourceQuota":
        hard = ", ".join(f"{k}={v}" for k, v in (spec.get("hard") or {}).items())
        return f"{meta.get('namespace')}: {hard}"
    if kind == "NetworkPolicy":
        return f"{meta.get('namespace')}/{meta.get('name')} {'+'.join(spec.get('policyTypes', []))}"
    if kind == "RoleBinding":
        subjects = ", ".join(f"{s.get('kind')} {s.get('name')}" for s in shown.get("subjects", []))
        role = (shown.get("roleRef") or {}).get("name")
        return f"{meta.get('namespace')}: {subjects} -> {role}"
    if kind == "ConfigMap":
        return f"{meta.get('namespace')}/{meta.get('name')} keys={sorted(shown.get('data') or {})}"
    if kind == "StorageClass":
        return f"{meta.get('name')} provisioner={shown.get('provisioner')}"
    if kind == "Command":
        return str(shown.get("create"))
    where = f"{meta.get('namespace')}/{meta.get('name')}"
    return f"{where} {json.dumps(spec, sort_keys=True)}" if spec else where


def table(preview: Preview, schema: str) -> str:
    lines = [
        f"rigshift preview: {preview.site.name} — {len(preview.resources)} resources "
        f"(Kubernetes objects checked against the {schema} schema)"
    ]
    for component, resources in preview.by_component().items():
        lines.append(f"\n{component} ({len(resources)})")
        for r in resources:
            lines.append(f"  {r.kind:<16} {r.name:<42} {key_inputs(r)}")
    lines.append("\noutputs")
    for name, value in preview.outputs.items():
        lines.append(f"  {name}: {json.dumps(value, sort_keys=True)}")
    return "\n".join(lines)


def summary(preview: Preview) -> str:
    groups = preview.by_component()
    counts = ", ".join(f"{component} {len(items)}" for component, items in groups.items())
    return f"{preview.site.name}: {len(preview.resources)} resources ({counts})"


def as_json(preview: Preview, schema: str, problems: list[str]) -> dict[str, Any]:
    return {
        "site": preview.site.name,
        "schema": schema,
        "problems": problems,
        "resources": [
            {
                "component": r.component,
                "type": r.type,
                "name": r.name,
                "provider": r.provider,
                "inputs": r.shown,
            }
            for r in preview.resources
        ],
        "by_component": {c: len(items) for c, items in preview.by_component().items()},
        "outputs": preview.outputs,
    }
