"""Network: MetalLB hands the site's load-balancer pool to Services.

With BGP peers in the site file the pool is announced by BGP; without, by L2 (ARP). On k3s the
built-in service load balancer (servicelb) must be off, which the kubernetes phase's server
config does (`disable: [servicelb]`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from rigshift.components.cluster import (
    METALLB_NAMESPACE,
    RUNTIME_DEFAULT_SECCOMP,
    ChartSource,
    helm_release,
    resources,
    system_namespace,
)
from rigshift.components.gpu_operator import GPU_CLASS_TOLERATION
from rigshift.model import SiteModel
from rigshift.releases import METALLB

POOL_NAME = "rigshift"


@dataclass(frozen=True)
class BgpPeerArgs:
    address: str
    asn: int
    local_asn: int


@dataclass
class NetworkArgs:
    pool: list[str]
    bgp_peers: list[BgpPeerArgs] = field(default_factory=list)
    charts: ChartSource = field(default_factory=ChartSource)

    @classmethod
    def from_site(cls, site: SiteModel, charts: ChartSource | None = None) -> NetworkArgs:
        peers = [BgpPeerArgs(str(p.address), p.asn, p.local_asn) for p in site.network.bgp_peers]
        return cls(list(site.network.load_balancer_pool), peers, charts or ChartSource())


def metallb_values(bgp: bool) -> dict[str, Any]:
    """The speaker runs on legacy-class nodes too, so they announce the pool like the rest.

    FRR-K8s (MetalLB's BGP backend, a privileged host-network DaemonSet) runs only where the
    site names BGP peers: an L2 site announces by ARP from the speaker alone.
    """
    return {
        "controller": {
            "securityContext": RUNTIME_DEFAULT_SECCOMP,
            "resources": resources("50m", "64Mi", "256Mi"),
        },
        "speaker": {
            "tolerations": [GPU_CLASS_TOLERATION],
            "securityContext": RUNTIME_DEFAULT_SECCOMP,
            "resources": resources("50m", "64Mi", "256Mi"),
        },
        "frrk8s": {"enabled": bgp},
    }


class Network(pulumi.ComponentResource):
    """MetalLB, its address pool and how the pool is announced."""

    addresses: list[str]

    def __init__(
        self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("rigshift:index:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        namespace = system_namespace(f"{name}-namespace", METALLB_NAMESPACE, child)
        release = helm_release(
            f"{name}-metallb",
            METALLB,
            namespace.metadata.name,
            metallb_values(bool(args.bgp_peers)),
            child,
            args.charts,
        )
        # MetalLB's custom resources only exist once its chart has installed the CRDs.
        crs = pulumi.ResourceOptions(parent=self, depends_on=[release])

        def metallb(part: str, version: str, kind: str, obj: str, spec: dict[str, object]) -> None:
            k8s.apiextensions.CustomResource(
                f"{name}-{part}",
                api_version=f"metallb.io/{version}",
                kind=kind,
                metadata={"name": obj, "namespace": METALLB_NAMESPACE},
                spec=spec,
                opts=crs,
            )

        metallb("pool", "v1beta1", "IPAddressPool", POOL_NAME, {"addresses": args.pool})
        if args.bgp_peers:
            for i, peer in enumerate(args.bgp_peers):
                spec = {"myASN": peer.local_asn, "peerASN": peer.asn, "peerAddress": peer.address}
                metallb(f"bgp-peer-{i}", "v1beta2", "BGPPeer", f"peer-{i}", spec)
            metallb(
                "bgp", "v1beta1", "BGPAdvertisement", POOL_NAME, {"ipAddressPools": [POOL_NAME]}
            )
        else:
            metallb("l2", "v1beta1", "L2Advertisement", POOL_NAME, {"ipAddressPools": [POOL_NAME]})
        self.addresses = args.pool
        self.register_outputs({"addresses": args.pool})
