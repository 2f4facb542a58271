"""How a preview is shown: a table grouped by component, a one-line-per-component summary, JSON."""

from __future__ import annotations

import json
from typing import Any

from rigshift.charts import RenderedRelease
from rigshift.preview.checked import CheckedPreview
from rigshift.preview.offline import SECRET_TEXT, PlannedResource
from rigshift.releases import CHARTS

PINS = {chart.name: chart for chart in CHARTS}


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
        # A Release names its chart by folder or by repository; the version is the pin's either way.
        chart = PINS[str(shown.get("name"))]
        source = (shown.get("repositoryOpts") or {}).get("repo") or shown.get("chart")
        return f"{chart.name} {chart.version} from {source} -> ns {shown.get('namespace')}{secret}"
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
    # Cluster-scoped objects (a ClusterRole, a node patch) have no namespace to show.
    name = str(meta.get("name"))
    where = f"{meta['namespace']}/{name}" if meta.get("namespace") else name
    return f"{where} {json.dumps(spec, sort_keys=True)}" if spec else where


def table(checked: CheckedPreview) -> str:
    preview = checked.preview
    lines = [
        f"rigshift preview: {preview.site.name} — {len(preview.resources)} resources, "
        f"{checked.objects} objects rendered from {len(checked.releases)} chart releases "
        f"(checked against the Kubernetes {checked.schema} schema and the charts' CRDs)"
    ]
    for component, resources in preview.by_component().items():
        lines.append(f"\n{component} ({len(resources)})")
        for r in resources:
            lines.append(f"  {r.kind:<16} {r.name:<42} {key_inputs(r)}")
    lines.append("\nchart releases (objects rendered by kind)")
    lines += [f"  {release_line(release)}" for release in checked.releases]
    lines.append("\noutputs")
    for name, value in preview.outputs.items():
        lines.append(f"  {name}: {json.dumps(value, sort_keys=True)}")
    return "\n".join(lines)


def release_line(release: RenderedRelease) -> str:
    kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(release.counts.items()))
    return (
        f"{release.name} {release.chart.version} -> ns {release.namespace}: "
        f"{len(release.objects)} objects ({kinds})"
    )


def summary(checked: CheckedPreview) -> str:
    preview = checked.preview
    groups = preview.by_component()
    counts = ", ".join(f"{component} {len(items)}" for component, items in groups.items())
    releases = ", ".join(f"{r.name} {len(r.objects)}" for r in checked.releases)
    return (
        f"{preview.site.name}: {len(preview.resources)} resources ({counts}); "
        f"{checked.objects} chart objects ({releases})"
    )


def as_json(checked: CheckedPreview) -> dict[str, Any]:
    preview = checked.preview
    return {
        "site": preview.site.name,
        "schema": checked.schema,
        "problems": checked.problems,
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
        "releases": [
            {
                "component": r.component,
                "name": r.name,
                "chart": r.chart.name,
                "version": r.chart.version,
                "namespace": r.namespace,
                "source": r.source,
                "counts": dict(sorted(r.counts.items())),
                "objects": [_redacted(obj) for obj in r.objects],
            }
            for r in checked.releases
        ],
        "outputs": preview.outputs,
    }


def _redacted(obj: dict[str, Any]) -> dict[str, Any]:
    """A rendered object as printed: Secrets' data never shown."""
    if obj.get("kind") != "Secret":
        return obj
    hidden = {k: SECRET_TEXT for k in (obj.get("data") or {})}
    shown = {**obj, "data": hidden} if hidden else dict(obj)
    if obj.get("stringData"):
        shown["stringData"] = {k: SECRET_TEXT for k in obj["stringData"]}
    return shown
