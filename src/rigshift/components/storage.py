"""Storage: the site's backend with a default StorageClass and replicas sized to the cluster.

longhorn    small and mid-size sites (replicated block storage on the rigs' data disks)
rook-ceph   sites that ask for Ceph (operator + one cluster with a replicated block pool)
local-path  the lab: node-local volumes, no replication. Only the StorageClass is created:
            k3s ships its provisioner, on RKE2 it has to be installed separately.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from rigshift.components.cluster import helm_release, system_namespace
from rigshift.components.versions import LONGHORN, ROOK_CEPH, ROOK_CEPH_CLUSTER
from rigshift.model import SiteModel
from rigshift.plan import Assessment

DEFAULT_CLASS = {"storageclass.kubernetes.io/is-default-class": "true"}
MAX_DERIVED_REPLICAS = 3  # three copies survive one failure during a rebuild; more buys little


def cluster_nodes(site: SiteModel, assessment: Assessment) -> int:
    """Nodes the cluster will have: the servers plus every rig that keeps a GPU."""
    servers = set(site.kubernetes.control_plane)
    kept = {rig.name for rig in assessment.rigs if rig.verdict != "retire"}
    return len(servers | kept)


def derived_replicas(site: SiteModel, assessment: Assessment) -> int:
    """`storage.replicas`, or one copy per node up to three."""
    if site.storage.replicas is not None:
        return site.storage.replicas
    return max(1, min(MAX_DERIVED_REPLICAS, cluster_nodes(site, assessment)))


@dataclass
class StorageArgs:
    backend: str
    replicas: int

    @classmethod
    def from_site(cls, site: SiteModel, assessment: Assessment) -> StorageArgs:
        return cls(site.storage.backend, derived_replicas(site, assessment))


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
            values = {
                "persistence": {"defaultClass": True, "defaultClassReplicaCount": args.replicas},
                "defaultSettings": {"defaultReplicaCount": args.replicas},
            }
            helm_release(f"{name}-longhorn", LONGHORN, namespace.metadata.name, values, child)
        elif args.backend == "rook-ceph":
            self.storage_class = "ceph-block"
            namespace = system_namespace(f"{name}-namespace", "rook-ceph", child)
            operator = helm_release(
                f"{name}-rook-ceph", ROOK_CEPH, namespace.metadata.name, {}, child
            )
            helm_release(
                f"{name}-ceph-cluster",
                ROOK_CEPH_CLUSTER,
                namespace.metadata.name,
                _ceph_cluster_values(args.replicas),
                pulumi.ResourceOptions(parent=self, depends_on=[operator]),
            )
        else:
            # k3s ships the local-path provisioner (RKE2 does not: see the module docstring).
            self.storage_class = "local-path"
            k8s.storage.v1.StorageClass(
                f"{name}-class",
                metadata=k8s.meta.v1.ObjectMetaArgs(name="local-path", annotations=DEFAULT_CLASS),
                provisioner="rancher.io/local-path",
                reclaim_policy="Delete",
                volume_binding_mode="WaitForFirstConsumer",
                opts=child,
            )
        self.register_outputs({"storage_class": self.storage_class, "replicas": args.replicas})


def _ceph_cluster_values(replicas: int) -> dict[str, Any]:
    """One replicated RBD pool as the default class; no CephFS or object store by default."""
    secrets = {
        "csi.storage.k8s.io/provisioner-secret-name": "rook-csi-rbd-provisioner",
        "csi.storage.k8s.io/provisioner-secret-namespace": "rook-ceph",
        "csi.storage.k8s.io/controller-expand-secret-name": "rook-csi-rbd-provisioner",
        "csi.storage.k8s.io/controller-expand-secret-namespace": "rook-ceph",
        "csi.storage.k8s.io/node-stage-secret-name": "rook-csi-rbd-node",
        "csi.storage.k8s.io/node-stage-secret-namespace": "rook-ceph",
    }
    return {
        "operatorNamespace": "rook-ceph",
        "cephBlockPools": [
            {
                "name": "ceph-blockpool",
                "spec": {"failureDomain": "host", "replicated": {"size": replicas}},
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
