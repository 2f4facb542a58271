"""Network: MetalLB hands the site's load-balancer pool to Services.

Tenants' Services take addresses only from what the site file gives each tenant (a pool per
tenant, allocated to its namespace alone); the rest of the site's pool serves only namespaces
that are no tenant's.

With BGP peers in the site file the pool is announced by BGP; without, by L2 (ARP). On k3s the
built-in service load balancer (servicelb) must be off, which the kubernetes phase's server
config does (`disable: [servicelb]`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from rigshift.components.admission import TENANT_LABEL
from rigshift.components.cluster import (
    METALLB_NAMESPACE,
    RUNTIME_DEFAULT_SECCOMP,
    ChartSource,
    helm_release,
    namespace_policies,
    platform_policies,
    resources,
    system_namespace,
)
from rigshift.components.gpu_operator import GPU_CLASS_TOLERATION
from rigshift.model import SiteModel
from rigshift.model.schema import parse_pool_entry
from rigshift.releases import METALLB

POOL_NAME = "rigshift"
# The controller's validating webhook (the chart's metallb-webhook-service targets it).
METALLB_WEBHOOK_PORT = 9443


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
    tenant_pools: dict[str, list[str]] = field(default_factory=dict)
    """Tenant -> the addresses of `pool` its Services alone may take."""

    @classmethod
    def from_site(cls, site: SiteModel, charts: ChartSource | None = None) -> NetworkArgs:
        peers = [BgpPeerArgs(str(p.address), p.asn, p.local_asn) for p in site.network.bgp_peers]
        tenant_pools = {t.name: list(t.load_balancer_pool) for t in site.tenants}
        return cls(
            list(site.network.load_balancer_pool),
            peers,
            charts or ChartSource(),
            {name: pool for name, pool in tenant_pools.items() if pool},
        )


def pool_without(pool: list[str], taken: list[str]) -> list[str]:
    """The addresses of `pool` outside `taken`, as 'first-last' ranges (MetalLB refuses pools
    that overlap, so the platform's pool is the site's minus what tenants were given)."""
    cuts = sorted((int(a), int(b)) for a, b in map(parse_pool_entry, taken))
    left = []
    for entry in pool:
        first, last = (int(a) for a in parse_pool_entry(entry))
        for lo, hi in cuts:
            if hi < first or lo > last:
                continue
            if lo > first:
                left.append((first, lo - 1))
            first = max(first, hi + 1)
        if first <= last:
            left.append((first, last))
    return [f"{IPv4Address(a)}-{IPv4Address(b)}" for a, b in left]


def pool_allocations(args: NetworkArgs) -> dict[str, dict[str, Any]]:
    """IPAddressPool name -> spec: one pool per tenant that was given addresses, for its
    namespace only, and the rest of the site's pool for namespaces that are no tenant's."""
    pools: dict[str, dict[str, Any]] = {}
    taken = [entry for entries in args.tenant_pools.values() for entry in entries]
    platform = pool_without(args.pool, taken)
    if platform:
        pools[POOL_NAME] = {
            "addresses": platform,
            "serviceAllocation": {
                "namespaceSelectors": [
                    {"matchExpressions": [{"key": TENANT_LABEL, "operator": "DoesNotExist"}]}
                ]
            },
        }
    for tenant, entries in sorted(args.tenant_pools.items()):
        pools[f"tenant-{tenant}"] = {
            "addresses": entries,
            "serviceAllocation": {"namespaces": [tenant]},
        }
    return pools


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


def metallb_policies() -> dict[str, Any]:
    """The speakers (and FRR-K8s) run on the host network, which no policy sees: these cover
    the controller, its webhook and its metrics."""
    return platform_policies([METALLB_WEBHOOK_PORT])


class Network(pulumi.ComponentResource):
    """MetalLB, its address pool and how the pool is announced."""

    addresses: list[str]

    def __init__(
        self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("rigshift:index:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        namespace = system_namespace(f"{name}-namespace", METALLB_NAMESPACE, child)
        namespace_policies(name, namespace, metallb_policies(), child)
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

        def metallb(part: str, version: str, kind: str, obj: str, spec: dict[str, Any]) -> None:
            k8s.apiextensions.CustomResource(
                f"{name}-{part}",
                api_version=f"metallb.io/{version}",
                kind=kind,
                metadata={"name": obj, "namespace": METALLB_NAMESPACE},
                spec=spec,
                opts=crs,
            )

        pools = pool_allocations(args)
        for pool, spec in pools.items():
            part = "pool" if pool == POOL_NAME else f"pool-{pool}"  # the first name kept in state
            metallb(part, "v1beta1", "IPAddressPool", pool, spec)
        announced = {"ipAddressPools": sorted(pools)}
        if args.bgp_peers:
            for i, peer in enumerate(args.bgp_peers):
                spec = {"myASN": peer.local_asn, "peerASN": peer.asn, "peerAddress": peer.address}
                metallb(f"bgp-peer-{i}", "v1beta2", "BGPPeer", f"peer-{i}", spec)
            metallb("bgp", "v1beta1", "BGPAdvertisement", POOL_NAME, announced)
        else:
            metallb("l2", "v1beta1", "L2Advertisement", POOL_NAME, announced)
        self.addresses = args.pool
        self.register_outputs({"addresses": args.pool})
