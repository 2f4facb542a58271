"""Storage: the site's backend with a default StorageClass and replicas sized to the cluster.

longhorn    small and mid-size sites: replicated block storage on the data disks the storage
            phase prepared (mounted at /var/lib/rigshift/disks/<disk>), never on the OS disk
            (a USB stick or a small SSD on a rig): Longhorn creates default disks only on nodes
            labelled for it, and each such node is annotated with its data-disk paths.
rook-ceph   sites that ask for Ceph: the operator and one cluster with a replicated block pool,
            with OSDs only on the rigs that have a data disk and the RAM to run one (sized from
            the rig, see `osd_hosts`); validate refuses a site with too few such rigs.
local-path  the lab: node-local volumes, no replication. k3s ships the provisioner; on RKE2
            rigshift installs local-path-provisioner, its paths on the nodes' data disks.

Every storage daemon tolerates the legacy-class taint, so legacy nodes still get storage.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from rigshift.components.cluster import (
    RUNTIME_DEFAULT_SECCOMP,
    ChartSource,
    helm_release,
    namespace_policies,
    platform_policies,
    resources,
    system_namespace,
)
from rigshift.components.gpu_operator import GPU_CLASS_TOLERATION
from rigshift.labels import GPU_CLASS_LABEL
from rigshift.model import SiteModel
from rigshift.plan import Assessment
from rigshift.plan.platform import OsdHost, osd_hosts
from rigshift.releases import LOCAL_PATH_PROVISIONER, LONGHORN, ROOK_CEPH, ROOK_CEPH_CLUSTER

DEFAULT_CLASS = {"storageclass.kubernetes.io/is-default-class": "true"}
MAX_DERIVED_REPLICAS = 3  # three copies survive one failure during a rebuild; more buys little
# Where the storage phase mounts each prepared data disk (storage role's storage_mount_base).
DISK_MOUNT_BASE = "/var/lib/rigshift/disks"
# Where local-path keeps volumes on a node with no data disk, used only when no node has one
# (the lab): the OS disk is better than a claim that never binds.
LOCAL_PATH_FALLBACK = "/var/lib/rigshift/local-path"
LOCAL_PATH_NAMESPACE = "local-path-storage"
LONGHORN_DISK_LABEL = "node.longhorn.io/create-default-disk"
LONGHORN_DISKS_ANNOTATION = "node.longhorn.io/default-disks-config"
# longhorn-manager's admission (and conversion) webhook port, its containerPort `admission-wh`.
LONGHORN_WEBHOOK_PORT = 9502
NFS_PORT = 2049


def cluster_nodes(site: SiteModel, assessment: Assessment) -> list[str]:
    """Nodes the cluster will have: the servers plus every rig that keeps a GPU, in file order."""
    servers = set(site.kubernetes.control_plane)
    kept = {rig.name for rig in assessment.rigs if rig.verdict != "retire"}
    return [rig.name for rig in site.fleet.rigs if rig.name in servers | kept]


def derived_replicas(site: SiteModel, assessment: Assessment) -> int:
    """`storage.replicas`, or one copy per node up to three."""
    if site.storage.replicas is not None:
        return site.storage.replicas
    return max(1, min(MAX_DERIVED_REPLICAS, len(cluster_nodes(site, assessment))))


def data_disk_paths(site: SiteModel, assessment: Assessment) -> dict[str, list[str]]:
    """Node -> the mount points of its prepared data disks, for the cluster's nodes."""
    nodes = set(cluster_nodes(site, assessment))
    paths = {}
    for rig in site.fleet.rigs:
        disks = [d.name.removeprefix("/dev/") for d in rig.disks if d.role == "data"]
        if rig.name in nodes and disks:
            paths[rig.name] = [f"{DISK_MOUNT_BASE}/{disk}" for disk in disks]
    return paths


@dataclass
class StorageArgs:
    backend: str
    replicas: int
    distribution: str = "rke2"
    disks: dict[str, list[str]] = field(default_factory=dict)
    osds: list[OsdHost] = field(default_factory=list)
    charts: ChartSource = field(default_factory=ChartSource)

    @classmethod
    def from_site(
        cls, site: SiteModel, assessment: Assessment, charts: ChartSource | None = None
    ) -> StorageArgs:
        return cls(
            backend=site.storage.backend,
            replicas=derived_replicas(site, assessment),
            distribution=site.kubernetes.distribution,
            disks=data_disk_paths(site, assessment),
            osds=osd_hosts(site) if site.storage.backend == "rook-ceph" else [],
            charts=charts or ChartSource(),
        )


def longhorn_values(args: StorageArgs) -> dict[str, Any]:
    tolerations = [GPU_CLASS_TOLERATION]
    return {
        "persistence": {"defaultClass": True, "defaultClassReplicaCount": args.replicas},
        "defaultSettings": {
            "defaultReplicaCount": args.replicas,
            # Default disks only where a node is labelled, with the paths its annotation names.
            "createDefaultDiskLabeledNodes": True,
            # Longhorn's own format for its system-managed pods (CSI, engine, instance managers).
            "taintToleration": f"{GPU_CLASS_LABEL}:NoSchedule",
        },
        "global": {"tolerations": tolerations},
        # Requests but no memory limit: an OOM kill of the manager degrades every volume on
        # its node (the reviewed finding CKV_K8S_13 in rigshift/charts/accepted-findings.yaml).
        "longhornManager": {
            "tolerations": tolerations,
            "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}},
        },
        "longhornDriver": {"tolerations": tolerations},
    }


def longhorn_node_disks(args: StorageArgs) -> dict[str, dict[str, str]]:
    """Node -> the label and annotation that give Longhorn its data disks and nothing else."""
    return {
        node: {
            LONGHORN_DISKS_ANNOTATION: json.dumps(
                [{"path": path, "allowScheduling": True} for path in paths]
            )
        }
        for node, paths in args.disks.items()
    }


def local_path_values(args: StorageArgs) -> dict[str, Any]:
    listed = [{"node": node, "paths": paths} for node, paths in sorted(args.disks.items())]
    # Nodes without a data disk get no volumes, unless no node has one (the lab).
    fallback = [] if listed else [LOCAL_PATH_FALLBACK]
    return {
        "storageClass": {"create": True, "defaultClass": True, "name": "local-path"},
        "nodePathMap": [{"node": "DEFAULT_PATH_FOR_NON_LISTED_NODES", "paths": fallback}, *listed],
        "tolerations": [GPU_CLASS_TOLERATION],
        # The provisioner only talks to the API; the helper pods it starts do the host work.
        "podSecurityContext": RUNTIME_DEFAULT_SECCOMP,
        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
        "resources": resources("10m", "32Mi", "128Mi"),
        "helperPod": {"resources": resources("10m", "16Mi", "64Mi")},
    }


def rook_operator_values() -> dict[str, Any]:
    # The chart's own container security context (non-root, no capabilities) plus these.
    hardened = {"allowPrivilegeEscalation": False, **RUNTIME_DEFAULT_SECCOMP}
    return {
        "tolerations": [GPU_CLASS_TOLERATION],
        "containerSecurityContext": hardened,
        # The CSI operator subchart: its pod security context (non-root) gains the seccomp profile.
        "ceph-csi-operator": {"controllerManager": {"podSecurityContext": RUNTIME_DEFAULT_SECCOMP}},
    }


def ceph_cluster_values(args: StorageArgs) -> dict[str, Any]:
    """One replicated RBD pool as the default class; OSDs only on the hosts `osd_hosts` chose,
    each asking what its rig can give (no CephFS or object store by default)."""
    secrets = {
        "csi.storage.k8s.io/provisioner-secret-name": "rook-csi-rbd-provisioner",
        "csi.storage.k8s.io/provisioner-secret-namespace": "rook-ceph",
        "csi.storage.k8s.io/controller-expand-secret-name": "rook-csi-rbd-provisioner",
        "csi.storage.k8s.io/controller-expand-secret-namespace": "rook-ceph",
        "csi.storage.k8s.io/node-stage-secret-name": "rook-csi-rbd-node",
        "csi.storage.k8s.io/node-stage-secret-namespace": "rook-ceph",
    }
    smallest = min(args.osds, key=lambda h: h.memory_mib) if args.osds else None
    osd_resources = (
        {
            "requests": {"cpu": smallest.cpu, "memory": f"{smallest.memory_mib}Mi"},
            "limits": {"memory": f"{smallest.memory_mib}Mi"},
        }
        if smallest
        else {}
    )
    return {
        "operatorNamespace": "rook-ceph",
        "cephClusterSpec": {
            "placement": {"all": {"tolerations": [GPU_CLASS_TOLERATION]}},
            "resources": {"osd": osd_resources},
            "storage": {
                "useAllNodes": False,
                "useAllDevices": False,
                "nodes": [
                    {"name": h.name, "devices": [{"name": d} for d in h.devices]} for h in args.osds
                ],
            },
        },
        "cephBlockPools": [
            {
                "name": "ceph-blockpool",
                "spec": {"failureDomain": "host", "replicated": {"size": args.replicas}},
                "storageClass": {
                    "enabled": True,
                    "name": "ceph-block",
                    "isDefault": True,
                    "reclaimPolicy": "Delete",
                    "allowVolumeExpansion": True,
                    "volumeBindingMode": "Immediate",
                    "parameters": {
                        "imageFormat": "2",
                        "imageFeatures": "layering",
                        "csi.storage.k8s.io/fstype": "ext4",
                        **secrets,
                    },
                },
            }
        ],
        "cephFileSystems": [],
        "cephObjectStores": [],
    }


def longhorn_policies() -> dict[str, Any]:
    """Longhorn's pods talk to each other (engines to replicas across nodes, the CSI plugin to
    the manager); from outside only Prometheus, the webhook and NFS reach them. The manager's
    API (9500) deletes volumes on an unauthenticated call: only the namespace's own pods.

    A ReadWriteMany volume is an NFS export of its share-manager pod, mounted by the kubelet
    of whichever node runs the consumer: from the node's own or its overlay address."""
    found = platform_policies([LONGHORN_WEBHOOK_PORT])
    found["allow-nfs"] = {
        "podSelector": {"matchLabels": {"longhorn.io/component": "share-manager"}},
        "policyTypes": ["Ingress"],
        "ingress": [{"ports": [{"protocol": "TCP", "port": NFS_PORT}]}],
    }
    return found


def local_path_policies() -> dict[str, Any]:
    """The provisioner only calls the API and its helper pods only touch the host: nothing
    needs to reach them."""
    return platform_policies(monitored=False)


class Storage(pulumi.ComponentResource):
    """The storage backend and the cluster's default StorageClass."""

    storage_class: str

    def __init__(
        self, name: str, args: StorageArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("rigshift:index:Storage", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        if args.backend == "longhorn":
            self.storage_class = "longhorn"
            namespace = system_namespace(f"{name}-namespace", "longhorn-system", child)
            namespace_policies(name, namespace, longhorn_policies(), child)
            for node, annotations in longhorn_node_disks(args).items():
                k8s.core.v1.NodePatch(
                    f"{name}-disks-{node}",
                    metadata=k8s.meta.v1.ObjectMetaPatchArgs(
                        name=node,
                        labels={LONGHORN_DISK_LABEL: "config"},
                        annotations=annotations,
                    ),
                    opts=child,
                )
            helm_release(
                f"{name}-longhorn",
                LONGHORN,
                namespace.metadata.name,
                longhorn_values(args),
                child,
                args.charts,
            )
        elif args.backend == "rook-ceph":
            self.storage_class = "ceph-block"
            namespace = system_namespace(f"{name}-namespace", "rook-ceph", child)
            operator = helm_release(
                f"{name}-rook-ceph",
                ROOK_CEPH,
                namespace.metadata.name,
                rook_operator_values(),
                child,
                args.charts,
            )
            helm_release(
                f"{name}-ceph-cluster",
                ROOK_CEPH_CLUSTER,
                namespace.metadata.name,
                ceph_cluster_values(args),
                pulumi.ResourceOptions(parent=self, depends_on=[operator]),
                args.charts,
            )
        else:
            self.storage_class = "local-path"
            if args.distribution == "k3s":
                # k3s ships the provisioner and its class; rigshift only makes it the default.
                k8s.storage.v1.StorageClass(
                    f"{name}-class",
                    metadata=k8s.meta.v1.ObjectMetaArgs(
                        name="local-path", annotations=DEFAULT_CLASS
                    ),
                    provisioner="rancher.io/local-path",
                    reclaim_policy="Delete",
                    volume_binding_mode="WaitForFirstConsumer",
                    opts=child,
                )
            else:
                namespace = system_namespace(f"{name}-namespace", LOCAL_PATH_NAMESPACE, child)
                namespace_policies(name, namespace, local_path_policies(), child)
                helm_release(
                    f"{name}-local-path",
                    LOCAL_PATH_PROVISIONER,
                    namespace.metadata.name,
                    local_path_values(args),
                    child,
                    args.charts,
                )
        self.register_outputs({"storage_class": self.storage_class, "replicas": args.replicas})
