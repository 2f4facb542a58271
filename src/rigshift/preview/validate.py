"""Check the objects a preview would apply, before anything is applied.

Plain Kubernetes objects go through the official OpenAPI schema of the site's Kubernetes
version (kubernetes-validate carries them offline). That schema types a quantity as a free
string, so '2 cores' would pass it and only fail at the API server: quantities are checked
here with the API server's own grammar. MetalLB's custom resources have no schema in that
package and are checked for the fields MetalLB needs.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import kubernetes_validate
from kubernetes_validate.utils import all_versions

from rigshift.model.quantity import QUANTITY
from rigshift.model.schema import parse_pool_entry
from rigshift.preview.offline import PlannedResource, Preview

# API groups whose schemas kubernetes-validate carries (what rigshift creates of them).
PLAIN_GROUPS = {
    "core": "v1",
    "rbac.authorization.k8s.io": "rbac.authorization.k8s.io",
    "networking.k8s.io": "networking.k8s.io",
    "storage.k8s.io": "storage.k8s.io",
    "admissionregistration.k8s.io": "admissionregistration.k8s.io",
}
METALLB_GROUP = "metallb.io"
# ResourceQuota keys rigshift sets, and the site field each one comes from.
QUOTA_FIELDS = {
    "requests.nvidia.com/gpu": "gpu_quota",
    "requests.cpu": "cpu_quota",
    "limits.cpu": "cpu_quota",
    "requests.memory": "memory_quota",
    "limits.memory": "memory_quota",
    "requests.ephemeral-storage": "ephemeral_storage_quota",
    "limits.ephemeral-storage": "ephemeral_storage_quota",
    "requests.storage": "storage_quota",
}


def schema_version(minor: str) -> str:
    """The schema version kubernetes-validate has that is closest to the site's minor."""
    versions = sorted({_minor(v) for v in all_versions()})
    wanted = _minor(minor)
    best = min(versions, key=lambda v: (abs(v[1] - wanted[1]), -v[1]))
    return f"{best[0]}.{best[1]}"


def _minor(version: str) -> tuple[int, int]:
    major, minor = version.lstrip("v").split(".")[:2]
    return int(major), int(minor)


def validate(preview: Preview) -> list[str]:
    """Every problem found, one line each naming the object, the field and the site field."""
    version = schema_version(preview.site.model.kubernetes.minor)
    problems: list[str] = []
    for resource in preview.resources:
        group = _group(resource)
        if group in PLAIN_GROUPS:
            problems += _schema_problems(resource, version)
            problems += _quantity_problems(resource, preview)
        elif group == METALLB_GROUP:
            problems += _metallb_problems(resource)
    return problems


def _group(resource: PlannedResource) -> str | None:
    package, _, rest = resource.type.partition(":")
    if package != "kubernetes" or "/" not in rest:
        return None
    return rest.split("/", 1)[0]


def _where(resource: PlannedResource) -> str:
    meta = resource.manifest.get("metadata") or {}
    name = meta.get("name", "?")
    return (
        f"{resource.kind} {meta['namespace']}/{name}"
        if "namespace" in meta
        else (f"{resource.kind} {name}")
    )


def _schema_problems(resource: PlannedResource, version: str) -> list[str]:
    try:
        kubernetes_validate.validate(resource.manifest, version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        path = ".".join(str(p) for p in exc.absolute_path) or "(object)"
        return [f"{_where(resource)}: {path}: {exc.message} (Kubernetes {version} schema)"]
    except kubernetes_validate.SchemaNotFoundError:
        return [f"{_where(resource)}: no Kubernetes {version} schema for {resource.type}"]
    return []


def _quantity_problems(resource: PlannedResource, preview: Preview) -> list[str]:
    manifest = resource.manifest
    spec = manifest.get("spec") or {}
    found: list[tuple[str, str, Any]] = []
    if resource.kind == "ResourceQuota":
        found = [(f"spec.hard.{k}", k, v) for k, v in (spec.get("hard") or {}).items()]
    elif resource.kind == "LimitRange":
        for i, limit in enumerate(spec.get("limits") or []):
            for part in ("default", "defaultRequest", "max", "min"):
                for k, v in (limit.get(part) or {}).items():
                    found.append((f"spec.limits[{i}].{part}.{k}", k, v))
    namespace = (manifest.get("metadata") or {}).get("namespace")
    problems = []
    for path, key, value in found:
        if isinstance(value, int) or QUANTITY.match(str(value)):
            continue
        line = f"{_where(resource)}: {path} = {value!r} is not a Kubernetes quantity"
        source = _tenant_field(preview, namespace, key)
        hint = " (e.g. '8', '500m' for CPU; '64Gi' for memory)"
        problems.append(line + (f"; fix {source} in the site file" if source else "") + hint)
    return problems


def _tenant_field(preview: Preview, namespace: str | None, key: str) -> str | None:
    for i, tenant in enumerate(preview.site.model.tenants):
        if tenant.name == namespace and key in QUOTA_FIELDS:
            return f"tenants[{i}].{QUOTA_FIELDS[key]} (tenant {tenant.name!r})"
    return None


def _metallb_problems(resource: PlannedResource) -> list[str]:
    manifest = resource.manifest
    where = _where(resource)
    meta = manifest.get("metadata") or {}
    spec = manifest.get("spec")
    problems = []
    if not manifest.get("apiVersion", "").startswith(f"{METALLB_GROUP}/"):
        problems.append(f"{where}: apiVersion is not {METALLB_GROUP}/*")
    if not meta.get("name") or not meta.get("namespace"):
        problems.append(f"{where}: metadata.name and metadata.namespace are required")
    if not isinstance(spec, dict):
        return [*problems, f"{where}: spec must be a mapping"]
    if resource.kind == "IPAddressPool":
        addresses = spec.get("addresses")
        if not addresses:
            problems.append(f"{where}: spec.addresses is empty")
        for i, entry in enumerate(addresses or []):
            try:
                parse_pool_entry(str(entry))
            except ValueError as exc:
                problems.append(f"{where}: spec.addresses[{i}]: {exc}")
    elif resource.kind in ("L2Advertisement", "BGPAdvertisement"):
        if not spec.get("ipAddressPools"):
            problems.append(f"{where}: spec.ipAddressPools names no pool")
    elif resource.kind == "BGPPeer":
        for key in ("myASN", "peerASN"):
            # Numbers come back from Pulumi's wire format as floats.
            asn = spec.get(key)
            if not isinstance(asn, int | float) or not float(asn).is_integer() or asn < 1:
                problems.append(f"{where}: spec.{key} must be an AS number")
        try:
            ipaddress.ip_address(str(spec.get("peerAddress")))
        except ValueError:
            problems.append(f"{where}: spec.peerAddress is not an IP address")
    return problems
