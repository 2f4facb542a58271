"""Render every Helm release the stack declares, with exactly the values it passes, and check
what comes out.

The releases are read from the offline preview (the stack program run under Pulumi's mocks), so
the values are the ones `pulumi up` would send: one function per component builds them for both.
Each release is rendered from the folder its Release names (rigshift:chartsDir or
`rigshift preview --charts`), or from its chart repository.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import kubernetes_validate
import yaml

from rigshift.charts import crds, helm
from rigshift.charts.values import value_problems
from rigshift.errors import UserError
from rigshift.releases import CHARTS, Chart

if TYPE_CHECKING:
    from rigshift.preview.offline import Preview

RELEASE_TYPE = "kubernetes:helm.sh/v3:Release"

# Where a release's values come from in the site file, by chart and values path prefix (the
# longest prefix wins), so a bad value can be traced to the field to fix.
SITE_FIELDS: dict[str, dict[str, str]] = {
    "gpu-operator": {
        "driver": "gpu.driver and the kept cards' models (fleet.rigs[].gpus)",
        "toolkit": "gpu.driver and kubernetes.distribution",
        "devicePlugin": "gpu.sharing and gpu.time_slicing_replicas",
        "mig": "the kept cards' models (fleet.rigs[].gpus)",
        "migManager": "the kept cards' models (fleet.rigs[].gpus)",
    },
    "longhorn": {
        "persistence": "storage.replicas",
        "defaultSettings.defaultReplicaCount": "storage.replicas",
    },
    "kube-prometheus-stack": {
        "prometheus.prometheusSpec.retention": "observability.retention",
        "prometheus.prometheusSpec.storageSpec": "observability.storage_gb and storage.backend",
        "grafana.adminPassword": "the stack config's rigshift:grafanaAdminPassword",
    },
    "rook-ceph-cluster": {
        "cephBlockPools": "storage.replicas",
        "cephClusterSpec.storage": "fleet.rigs[].disks",
        "cephClusterSpec.resources": "fleet.rigs[].ram_gb and cpu_cores",
    },
    "local-path-provisioner": {"nodePathMap": "fleet.rigs[].disks"},
}


def site_field(chart: str, path: str) -> str:
    fields = SITE_FIELDS.get(chart, {})
    best = max((p for p in fields if path == p or path.startswith(p + ".")), key=len, default="")
    return fields[best] if best else "rigshift's own setting (src/rigshift/components/)"


@dataclass
class RenderedRelease:
    """One Helm release of the stack and every object its chart renders."""

    component: str
    name: str
    chart: Chart
    namespace: str
    source: str  # the chart folder, or the repository URL
    values: dict[str, Any]
    objects: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def counts(self) -> Counter[str]:
        return Counter(str(obj.get("kind")) for obj in self.objects)

    def where(self, obj: dict[str, Any]) -> str:
        meta = obj.get("metadata") or {}
        name = (
            f"{meta['namespace']}/{meta.get('name')}" if "namespace" in meta else meta.get("name")
        )
        return f"{self.chart.name} {self.chart.version}: {obj.get('kind')} {name}"


def render_releases(preview: Preview, helm_binary: Path | None = None) -> list[RenderedRelease]:
    """`helm template` of every Release in the preview; a chart that fails to render is a
    problem of that release, and the others still render."""
    binary = helm_binary or helm.find_helm()
    kube_version = preview.site.model.kubernetes.version.lstrip("v").split("+")[0]
    pins = {chart.name: chart for chart in CHARTS}
    rendered = []
    for resource in preview.resources:
        if resource.type != RELEASE_TYPE:
            continue
        inputs = resource.manifest
        pin = pins[inputs["name"]]
        folder = Path(inputs["chart"]) if Path(inputs["chart"]).is_absolute() else None
        repo = (inputs.get("repositoryOpts") or {}).get("repo")
        release = RenderedRelease(
            component=resource.component,
            name=inputs["name"],
            chart=pin,
            namespace=inputs["namespace"],
            source=str(folder) if folder else str(repo),
            values=inputs.get("values") or {},
        )
        rendered.append(release)
        if folder is not None and not (folder / "Chart.yaml").is_file():
            release.problems.append(
                f"{pin.name} {pin.version}: no chart at {folder} (the charts folder must hold "
                f"{pin.folder}/)"
            )
            continue
        if folder is not None:
            # helm refuses a chart whose declared dependencies are absent; rendering it with
            # them switched off would leave their objects unchecked and still look green.
            missing = missing_dependencies(folder)
            if missing:
                release.problems.append(
                    f"{pin.name} {pin.version}: {folder}/charts/ lacks the dependencies its "
                    f"Chart.yaml declares: {', '.join(f'{n} {v}' for n, v in missing)}; put "
                    "the chart with its dependencies in the charts folder, as released"
                )
                continue
            release.problems += [
                f"{pin.name} {pin.version}: values key {p.path!r}: {p.message}; set from "
                f"{site_field(pin.name, p.path)}"
                for p in value_problems(folder, release.values)
            ]
        try:
            release.objects = helm.template(
                binary,
                release=release.name,
                chart=str(folder) if folder else pin.name,
                namespace=release.namespace,
                values=release.values,
                kube_version=kube_version,
                version=pin.version,
                repo=None if folder else repo,
            )
        except UserError as exc:
            release.problems.append(str(exc))
    return rendered


def missing_dependencies(folder: Path) -> list[tuple[str, str]]:
    """(name, version) of each dependency in Chart.yaml that charts/ lacks, as a folder or a
    packaged .tgz."""
    chart = yaml.safe_load((folder / "Chart.yaml").read_text(encoding="utf-8")) or {}
    present = set()
    for sub in (folder / "charts").glob("*"):
        if (sub / "Chart.yaml").is_file():
            present.add(str((yaml.safe_load((sub / "Chart.yaml").read_text()) or {}).get("name")))
        elif sub.suffix == ".tgz":
            present.add(sub.name.rsplit("-", 1)[0])
    return [
        (str(dep["name"]), str(dep.get("version", "")))
        for dep in chart.get("dependencies") or []
        if dep["name"] not in present
    ]


def check_rendered(
    releases: list[RenderedRelease], preview: Preview, schema_version: str
) -> list[str]:
    """Every rendered object, and every custom resource the stack itself declares, validated:
    built-in kinds against the Kubernetes schema, custom resources against their CRDs."""
    every = [obj for release in releases for obj in release.objects]
    index = crds.index_crds(every)
    problems = [p for release in releases for p in release.problems]
    for release in releases:
        for obj in release.objects:
            problems += [
                f"{release.where(obj)}: {p}" for p in object_problems(obj, index, schema_version)
            ]
    for resource in preview.resources:
        if _custom(resource.type):
            obj = resource.manifest
            problems += [
                f"stack {obj.get('kind')} {(obj.get('metadata') or {}).get('name')}: {p}"
                for p in object_problems(obj, index, schema_version)
            ]
    return problems


def _custom(type_token: str) -> bool:
    """A custom resource's Pulumi type ('kubernetes:metallb.io/v1beta1:IPAddressPool')."""
    package, _, rest = type_token.partition(":")
    group = rest.split("/", 1)[0] if "/" in rest else ""
    builtin = group.endswith("k8s.io") or group == "helm.sh"
    return package == "kubernetes" and "." in group and not builtin


def object_problems(
    obj: dict[str, Any], index: dict[crds.ObjectKey, crds.CrdVersion], schema_version: str
) -> list[str]:
    if not obj.get("apiVersion") or not obj.get("kind"):
        return [f"not a Kubernetes object (no apiVersion or kind): keys {sorted(obj)[:8]}"]
    key = crds.object_key(obj)
    if key in index:
        return crds.custom_problems(obj, index[key])
    try:
        kubernetes_validate.validate(obj, schema_version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        path = ".".join(str(p) for p in exc.absolute_path) or "(object)"
        return [f"{path}: {exc.message} (Kubernetes {schema_version} schema)"]
    except kubernetes_validate.SchemaNotFoundError:
        group, version, kind = key
        return [
            f"no schema for {group or 'core'}/{version} {kind}: neither Kubernetes "
            f"{schema_version} nor any rendered chart's CRDs define it"
        ]
    return []
