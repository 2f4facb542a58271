"""The site model: the typed form of `inventories/<site>/site.yaml`.

Every other part of rigshift (plan, render, playbooks through rendered vars, Pulumi stacks)
reads this model and nothing else. Unknown keys are rejected everywhere so that a typo never
silently falls back to a default. Defaults are documented in each field's description, which
also feeds the JSON Schema that `rigshift schema` exports for editors.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from rigshift.model.quantity import Quantity
from rigshift.releases import KUBERNETES, compat

Redundancy = Literal["N", "N+1", "2N"]
Name = Annotated[
    str,
    Field(
        pattern=r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$",
        description="Lower-case DNS label: letters, digits and '-', at most 63 characters.",
    ),
]


# What every section refuses: unknown keys, values of another type ('8' for a count, `true` for
# a number: no silent coercion), and infinite or NaN numbers (they would reach plan.json, which
# JSON cannot hold).
STRICT = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class Strict(BaseModel):
    """Base for every section: unknown keys are errors, values are not coerced silently."""

    model_config = STRICT


def _written_as_text(example: str) -> Callable[[object], object]:
    """Addresses and networks are written as text: YAML reads `12345` as a number, which the
    ipaddress module would take as the address 0.0.48.57 (or a /32), so a number is refused."""

    def check(value: object) -> object:
        if isinstance(value, int | float):
            raise ValueError(f"expected text such as '{example}' (quote it in the YAML)")
        return value

    return check


# Strict mode takes only instances, so these parse the text themselves (after the check above).
IPv4Address = Annotated[
    ipaddress.IPv4Address,
    Field(strict=False),
    BeforeValidator(_written_as_text("10.0.0.5")),
]
IPv4Network = Annotated[
    ipaddress.IPv4Network,
    Field(strict=False),
    BeforeValidator(_written_as_text("10.0.0.0/24")),
]
# Upper bounds for amounts no real site reaches: they keep arithmetic in the plan finite.
MAX_KW = 1_000_000.0  # one gigawatt
MAX_PRICE = 1e9
MAX_VRAM_GB = 1024.0
MAX_GPUS_PER_RIG = 64
MAX_RIGS = 100_000


# --- site ----------------------------------------------------------------------------------------


class Power(Strict):
    capacity_kw: float = Field(
        gt=0, le=MAX_KW, description="Contracted power available to IT load, in kW."
    )
    price_per_kwh: float = Field(
        ge=0, le=1000, description="Price of one kWh, in the economics currency."
    )
    redundancy: Redundancy = Field("N", description="Redundancy of the power path today.")


class Cooling(Strict):
    kind: Literal["air", "evaporative", "liquid", "immersion", "hybrid"] = Field(
        description="How heat leaves the site."
    )
    capacity_kw: float = Field(
        gt=0, le=MAX_KW, description="Heat the cooling plant removes, in kW."
    )
    redundancy: Redundancy = Field("N", description="Redundancy of the cooling plant today.")


class Site(Strict):
    name: Name
    location: str = Field(description="Free text: town, region, country.")
    power: Power
    cooling: Cooling
    target_tier: int = Field(
        ge=1, le=4, description="Uptime Institute tier the converted site aims for (1-4)."
    )


# --- network -------------------------------------------------------------------------------------


IFNAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$")


def _interface_name(name: str) -> str:
    # The name reaches systemd-networkd unit files, by file name and by content.
    if not IFNAME.fullmatch(name):
        raise ValueError(
            "expected a kernel interface name ('eth0', 'enp3s0f1'): at most 15 letters, "
            "digits and _ . -, not starting with '.' or '-'"
        )
    return name


InterfaceName = Annotated[
    str, Field(json_schema_extra={"pattern": IFNAME.pattern}), AfterValidator(_interface_name)
]


class Uplink(Strict):
    name: str
    speed_gbps: float = Field(gt=0, le=1600)
    provider: str = ""


class BgpPeer(Strict):
    address: IPv4Address
    asn: int = Field(ge=1, le=4294967295, description="The peer's AS number.")
    local_asn: int = Field(ge=1, le=4294967295, description="The cluster's AS number.")


class Bond(Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9._-]{0,14}$", description="Kernel name, e.g. 'bond0'.")
    members: list[InterfaceName] = Field(min_length=1, description="NICs the bond aggregates.")
    mode: Literal["802.3ad", "active-backup", "balance-alb", "balance-tlb", "balance-xor"] = Field(
        "802.3ad", description="Bonding mode; default: 802.3ad (LACP, needs switch support)."
    )


class Vlan(Strict):
    name: str = Field(
        pattern=r"^[a-z][a-z0-9._-]{0,14}$", description="Kernel name, e.g. 'vlan20'."
    )
    id: int = Field(ge=1, le=4094, description="802.1Q VLAN id.")
    link: InterfaceName = Field(description="NIC or bond that carries the tagged frames.")


class NetworkLayout(Strict):
    """Which link carries which network on every rig (rigs of one site are cabled alike)."""

    storage: InterfaceName | None = Field(
        None, description="NIC, bond or VLAN for storage_cidr; default: none (shares management)."
    )
    tenant: InterfaceName | None = Field(
        None, description="NIC, bond or VLAN for tenant_cidr; default: none (shares management)."
    )
    bonds: list[Bond] = Field(default_factory=list)
    vlans: list[Vlan] = Field(default_factory=list)


class Network(Strict):
    management_cidr: IPv4Network = Field(
        description="Where every rig's `address` lives; Ansible and the Kubernetes API use it."
    )
    storage_cidr: IPv4Network | None = Field(
        None, description="Storage replication network; default: share the management network."
    )
    tenant_cidr: IPv4Network | None = Field(
        None, description="Tenant workload network; default: share the management network."
    )
    gateway: IPv4Address | None = Field(
        None, description="Default gateway on the management network; default: none rendered."
    )
    dns: list[IPv4Address] = Field(default_factory=list)
    load_balancer_pool: list[str] = Field(
        min_length=1,
        description="Addresses MetalLB hands to Services: CIDRs or 'first-last' ranges.",
    )
    mtu: int = Field(1500, ge=1280, le=9216, description="MTU of the cluster networks.")
    uplinks: list[Uplink] = Field(default_factory=list)
    bgp_peers: list[BgpPeer] = Field(
        default_factory=list, description="When given, MetalLB announces by BGP instead of L2."
    )
    layout: NetworkLayout = Field(
        default_factory=lambda: NetworkLayout(),
        description="Links for the storage and tenant networks; default: all on management.",
    )

    @model_validator(mode="after")
    def _layout_networks_exist(self) -> Network:
        # A link for a network needs the network's addresses, or the rendered config has none.
        for role in ("storage", "tenant"):
            if getattr(self.layout, role) and getattr(self, f"{role}_cidr") is None:
                raise ValueError(f"layout.{role} is set but {role}_cidr is not: add {role}_cidr")
        return self

    @field_validator("load_balancer_pool")
    @classmethod
    def _pool_entries_parse(cls, pool: list[str]) -> list[str]:
        for entry in pool:
            parse_pool_entry(entry)
        return pool


def parse_pool_entry(entry: str) -> tuple[ipaddress.IPv4Address, ipaddress.IPv4Address]:
    """Return the first and last address of a pool entry ('10.0.0.0/28' or '10.0.0.5-10.0.0.9')."""
    try:
        if "-" in entry:
            first_text, last_text = (part.strip() for part in entry.split("-", 1))
            first, last = ipaddress.IPv4Address(first_text), ipaddress.IPv4Address(last_text)
        else:
            net = ipaddress.IPv4Network(entry.strip(), strict=True)
            first, last = net.network_address, net.broadcast_address
    except ValueError as exc:
        raise ValueError(f"{entry!r} is neither a CIDR nor a 'first-last' range ({exc})") from exc
    if last < first:
        raise ValueError(f"{entry!r} ends before it starts")
    return first, last


# --- kubernetes, storage, gpu, tenants, admins ---------------------------------------------------


class Airgap(Strict):
    enabled: bool = Field(False, description="Install from local artifacts instead of downloads.")
    artifacts_dir: str = Field(
        "/opt/rigshift/artifacts",
        description="Directory on the control machine holding the distribution's tarballs.",
    )


class Kubernetes(Strict):
    distribution: Literal["rke2", "k3s"] = Field("rke2", description="Default: rke2.")
    version: str = Field(
        pattern=r"^v1\.\d+\.\d+(\+(rke2r|k3s)\d+)?$",
        description="Release to install, e.g. 'v1.36.4+rke2r1'; it must be a Kubernetes minor "
        "the pinned GPU operator is validated on.",
    )
    control_plane: list[str] = Field(
        min_length=1, description="Rig names that run the servers (odd count: etcd quorum)."
    )
    api_vip: IPv4Address | None = Field(
        None, description="Virtual IP of the API server; added to the TLS SANs."
    )
    pod_cidr: IPv4Network = Field(
        ipaddress.IPv4Network("10.42.0.0/16"),
        description="Pods' addresses (cluster-cidr); default: 10.42.0.0/16, RKE2's and k3s's.",
    )
    service_cidr: IPv4Network = Field(
        ipaddress.IPv4Network("10.43.0.0/16"),
        description="Services' cluster IPs (service-cidr); default: 10.43.0.0/16, both's.",
    )
    nodeport_sources: list[IPv4Network] = Field(
        default_factory=list,
        description="Networks that may reach Services' NodePorts on the nodes; default: none "
        "(NodePorts closed: tenants publish through LoadBalancer addresses).",
    )
    airgap: Airgap = Field(default_factory=lambda: Airgap())

    @field_validator("version")
    @classmethod
    def _version_of_the_distribution(cls, version: str, info: ValidationInfo) -> str:
        # The installer fetches the release by this name: an rke2 build does not exist for k3s.
        distribution = info.data.get("distribution")
        build = version.partition("+")[2]
        if distribution and build and not build.startswith(distribution):
            raise ValueError(
                f"{version} is not a {distribution} release: {distribution} versions end in "
                f"'+{distribution}...', e.g. {KUBERNETES[distribution]}"
            )
        return version

    @property
    def minor(self) -> str:
        """'1.36' from 'v1.36.4+rke2r1': the schema version of the Kubernetes API."""
        return ".".join(self.version.lstrip("v").split("+")[0].split(".")[:2])


class Storage(Strict):
    backend: Literal["longhorn", "rook-ceph", "local-path"] = Field(
        "longhorn", description="Longhorn for small sites, Rook-Ceph at scale, local-path for labs."
    )
    replicas: int | None = Field(
        None, ge=1, le=5, description="Volume replicas; default: derived from the node count."
    )


GpuClassName = Literal["train", "infer", "legacy"]
DEFAULT_TIME_SLICING: dict[GpuClassName, int] = {"train": 1, "infer": 2, "legacy": 4}


class Gpu(Strict):
    sharing: Literal["none", "time-slicing"] = Field(
        "none", description="How GPUs are shared between pods."
    )
    time_slicing_replicas: dict[GpuClassName, Annotated[int, Field(ge=1, le=64)]] = Field(
        default_factory=lambda: dict(DEFAULT_TIME_SLICING),
        description="Pods per physical GPU, by class, when sharing is time-slicing.",
    )
    driver: Literal["host", "container"] = Field(
        "host",
        description="'host': the gpu phase installs the driver; "
        "'container': the GPU operator does.",
    )
    driver_branch: str = Field(
        compat().default_branches["production"],
        pattern=r"^[0-9]{3}$",
        description="NVIDIA driver branch of rigs whose GPUs are train or infer class; "
        "default: the production branch in rigshift's compatibility table.",
    )
    legacy_driver_branch: str = Field(
        compat().default_branches["legacy"],
        pattern=r"^[0-9]{3}$",
        description="Driver branch of rigs that keep a legacy (Pascal) card: R580 is the last "
        "branch that drives Maxwell, Pascal and Volta.",
    )


class Observability(Strict):
    retention: str = Field(
        "15d",
        pattern=r"^[0-9]+(ms|s|m|h|d|w|y)$",
        description="How long Prometheus keeps metrics, e.g. '15d' or '8w'.",
    )
    storage_gb: int = Field(50, ge=1, le=1_000_000, description="Prometheus volume size, in GiB.")


# Namespaces a tenant may not be named after: Kubernetes' own and every one rigshift creates
# (a test checks this list against the namespaces the stack declares).
RESERVED_NAMESPACES = frozenset(
    {
        "default",
        "gpu-operator",
        "local-path-storage",
        "longhorn-system",
        "metallb-system",
        "monitoring",
        "rook-ceph",
    }
)


# The node pool (rigshift.labels.NODE_POOL_LABEL, and the namespace label `rigshift.io/nodes`)
# of GPU nodes no tenant owns: a tenant of that name would share them.
SHARED_POOL = "shared"
# Grafana keeps a dashboard uid of at most 40 characters: `rigshift-tenant-<name>` is cut there.
DASHBOARD_UID_LENGTH = 40


class Tenant(Strict):
    """One paying customer: a namespace fenced by quota, policies and, where GPUs are
    time-sliced, nodes of its own (docs/tenancy.md)."""

    name: Name
    gpu_quota: int | None = Field(
        None,
        ge=0,
        le=1_000_000,
        description="Most GPUs (nvidia.com/gpu; time-slices where the site time-slices) the "
        "tenant's pods may request at once; with nodes of its own, what those nodes hold "
        "(may be left out); default: 0 without nodes.",
    )
    nodes: list[Name] = Field(
        default_factory=list, description="Rigs the tenant has to itself, by name (whole nodes)."
    )
    nodes_by_class: dict[GpuClassName, Annotated[int, Field(ge=1, le=100_000)]] = Field(
        default_factory=dict,
        description="How many more whole GPU nodes of each class the tenant has to itself "
        "(rigshift picks agents of that class in fleet order).",
    )
    cpu_quota: Quantity = Field("32", description="Kubernetes quantity of CPU: '32', '8000m'.")
    memory_quota: Quantity = Field("128Gi", description="Kubernetes quantity of memory: '128Gi'.")
    ephemeral_storage_quota: Quantity = Field(
        "100Gi", description="Node-local scratch space the tenant's pods may request and use."
    )
    storage_quota: Quantity = Field(
        "500Gi", description="Persistent volume space, from the site's StorageClass only."
    )
    volume_claims: int = Field(20, ge=0, le=100_000, description="Most PersistentVolumeClaims.")
    pods: int = Field(200, ge=1, le=1_000_000, description="Most pods at once.")
    load_balancer_pool: list[str] = Field(
        default_factory=list,
        description="Addresses of network.load_balancer_pool this tenant's Services may take "
        "('10.0.0.8/29' or 'first-last'); its LoadBalancer quota is their count. Default: none.",
    )
    node_ports: int = Field(
        0, ge=0, le=2768, description="Most NodePort Services (NodePorts are closed by default)."
    )
    api_access: bool = Field(
        False, description="Let the tenant's pods reach the Kubernetes API (egress to port 6443)."
    )
    group: str = Field("", description="Identity-provider group bound to the tenant's role.")

    @property
    def admin_group(self) -> str:
        return self.group or f"{self.name}-admins"

    @property
    def dashboard_uid(self) -> str:
        """The uid of the tenant's Grafana dashboard."""
        return f"rigshift-tenant-{self.name}"[:DASHBOARD_UID_LENGTH]

    @property
    def owns_nodes(self) -> bool:
        return bool(self.nodes or self.nodes_by_class)


class Admin(Strict):
    name: Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_-]{0,31}$")]
    ssh_keys: list[str] = Field(min_length=1, description="OpenSSH public keys.")

    @field_validator("ssh_keys")
    @classmethod
    def _keys_look_public(cls, keys: list[str]) -> list[str]:
        for key in keys:
            if not key.startswith(("ssh-", "ecdsa-", "sk-")) or "PRIVATE KEY" in key:
                raise ValueError("expected an OpenSSH public key ('ssh-ed25519 AAAA... comment')")
        return keys


# --- plan knobs ----------------------------------------------------------------------------------


class Thresholds(Strict):
    """Where the assessment draws its lines; the defaults follow public CUDA / PyTorch support."""

    train_min_vram_gb: float = Field(
        24, ge=0, le=MAX_VRAM_GB, description="Least VRAM for the train class."
    )
    infer_min_vram_gb: float = Field(
        10, ge=0, le=MAX_VRAM_GB, description="Least VRAM for the infer class."
    )
    min_compute_capability: float = Field(
        7.5,
        ge=0,
        le=20,
        description="Least NVIDIA compute capability that current CUDA 13 / PyTorch run on.",
    )
    legacy_min_compute_capability: float = Field(
        6.0,
        ge=0,
        le=20,
        description="Least compute capability kept on the legacy (R580 / CUDA 12) branch.",
    )
    legacy_min_vram_gb: float = Field(
        8, ge=0, le=MAX_VRAM_GB, description="Least VRAM kept in the legacy class."
    )
    rack_kw: float = Field(
        15, ge=0.5, le=500, description="IT load one rack takes, for the rack count."
    )
    gpus_per_server: int = Field(
        8, ge=1, le=64, description="GPU slots in the server chassis to buy."
    )
    server_ram_per_vram: float = Field(
        2.0, gt=0, le=64, description="Server RAM to buy per GB of GPU memory it hosts."
    )


class Acceptance(Strict):
    """Where a used card's acceptance run (`rigshift accept`) draws its lines.

    A card fails (retired) on any memory or compute error, an Xid that means the card or its
    link is failing, or uncorrected ECC errors during the run; it is degraded (one class down)
    when it runs hot, throttles for heat, falls short of its datasheet or its PCIe link, or its
    link retrains. docs/acceptance.md says where each default comes from.
    """

    minutes: float = Field(
        10, gt=0, le=24 * 60, description="How long `rigshift accept` runs each rig by default."
    )
    max_vram_errors: int = Field(
        0, ge=0, le=1_000_000, description="Wrong words the VRAM test may read back."
    )
    min_compute_ratio: float = Field(
        0.6,
        ge=0,
        le=2,
        description="Least share of the datasheet's matrix-product rate, at the card's best "
        "precision, before the card is degraded.",
    )
    min_memory_bandwidth_ratio: float = Field(
        0.6,
        ge=0,
        le=2,
        description="Least share of the datasheet's memory bandwidth the device copy reaches.",
    )
    min_host_link_ratio: float = Field(
        0.4,
        ge=0,
        le=2,
        description="Least share of its negotiated PCIe link a host-to-device copy reaches.",
    )
    max_temperature_c: float = Field(
        85, ge=30, le=150, description="Hottest GPU core temperature allowed under load."
    )
    max_memory_temperature_c: float = Field(
        100,
        ge=30,
        le=150,
        description="Hottest memory junction temperature allowed (GDDR6X and HBM report one).",
    )
    max_pcie_replays: int = Field(
        100,
        ge=0,
        le=1_000_000_000,
        description="PCIe replays the link may add during the run (a flaky riser adds many).",
    )


class Plan(Strict):
    thresholds: Thresholds = Field(default_factory=lambda: Thresholds())
    acceptance: Acceptance = Field(default_factory=lambda: Acceptance())


# --- economics -----------------------------------------------------------------------------------


class Economics(Strict):
    currency: str = Field("USD", pattern=r"^[A-Z]{3}$")
    server_chassis: float = Field(
        ge=0, le=MAX_PRICE, description="One GPU server chassis without GPUs."
    )
    ram_per_gb: float = Field(ge=0, le=MAX_PRICE)
    nvme_per_tb: float = Field(ge=0, le=MAX_PRICE)
    nvme_tb_per_server: float = Field(4, ge=0, le=10_000)
    nic: float = Field(ge=0, le=MAX_PRICE, description="One 25 GbE (or faster) NIC.")
    switch_port: float = Field(ge=0, le=MAX_PRICE)
    revenue_per_gpu_hour: dict[GpuClassName, Annotated[float, Field(ge=0, le=10_000)]] = Field(
        default_factory=dict, description="Expected revenue per rented GPU-hour by class."
    )
    utilisation: float = Field(0.6, gt=0, le=1, description="Share of hours a GPU is rented.")


# --- fleet ---------------------------------------------------------------------------------------


class Link(Strict):
    gen: int = Field(ge=1, le=6, description="PCIe generation (1 = 2.5 GT/s ... 5 = 32 GT/s).")
    width: Literal[1, 2, 4, 8, 16] = Field(description="Lanes.")


class GpuEntry(Strict):
    model: str = Field(description="Catalogue name or alias, e.g. 'RTX 3090'.")
    count: int = Field(
        1, ge=1, le=MAX_GPUS_PER_RIG, description="Identical cards this entry stands for."
    )
    link: Link | None = Field(
        None,
        description="PCIe link the card gets in this rig at most (max link, not the idle current).",
    )
    link_current: Link | None = Field(None, description="Link seen at survey time (idle: Gen1).")
    uuid: str | None = None
    serial: str | None = None
    bus_id: str | None = None
    vram_gb: float | None = Field(
        None, gt=0, le=MAX_VRAM_GB, description="VRAM seen; default: the catalogue's."
    )


DISK_NAME = re.compile(r"^(/dev/)?[A-Za-z0-9_][A-Za-z0-9_.+:-]*(/[A-Za-z0-9_][A-Za-z0-9_.+:-]*)*$")


class Disk(Strict):
    name: str = Field(
        max_length=255,
        json_schema_extra={"pattern": DISK_NAME.pattern},
        description="Kernel name or a path under /dev, e.g. 'sda', 'nvme0n1' or "
        "'disk/by-id/nvme-eui.0025385b71b0'.",
    )
    size_gb: float = Field(gt=0, le=1_000_000)
    kind: Literal["usb", "sd", "hdd", "ssd", "nvme"]
    role: Literal["os", "data", "none"] = Field(
        "none", description="'os' holds /; only 'data' disks are ever prepared for storage."
    )
    model: str = ""

    @field_validator("name")
    @classmethod
    def _name_is_a_device(cls, name: str) -> str:
        # The name reaches wipefs, mkfs and a mount path.
        if not DISK_NAME.fullmatch(name):
            raise ValueError(
                "expected a device name ('sdb') or a path under /dev ('disk/by-id/...'): "
                "letters, digits and _ . + : - only, no spaces, no part that is '..' or starts "
                "with '.' or '-'"
            )
        return name


class Nic(Strict):
    name: InterfaceName
    speed_gbps: float = Field(gt=0, le=1600)
    mac: str | None = Field(None, pattern=r"^([0-9a-f]{2}:){5}[0-9a-f]{2}$")


# The groups of the rendered inventory (generated/hosts.yml), in the order they appear there;
# every playbook targets one of these.
INVENTORY_GROUPS = (
    "rigs",
    "gpu_nodes",
    "k8s_servers",
    "k8s_agents",
    "retire",
    "gpu_train",
    "gpu_infer",
    "gpu_legacy",
)
# Names Ansible reads as something other than a rig: `localhost` is the control machine, where
# every `delegate_to: localhost` task runs (the cluster-admin kubeconfig, the evidence records);
# a host named like a group is matched by every pattern that names the group.
RESERVED_RIG_NAMES = frozenset({"localhost", "all", "ungrouped", *INVENTORY_GROUPS})
# Digits alone, or 0x and hex digits, are an IPv4 address to ssh and the resolver
# (2130706433 and 0x7f000001 are 127.0.0.1).
ADDRESS_LIKE = re.compile(r"^([0-9]+|0x[0-9a-f]*)$")


def _rig_name(name: str) -> str:
    if name == "localhost":
        raise ValueError(
            "'localhost' is the control machine to Ansible: every task meant for it would go "
            "to this rig; expected a name of the rig's own ('rig-01')"
        )
    if name in RESERVED_RIG_NAMES:
        raise ValueError(
            f"{name!r} is the name of an Ansible group: every play for that group would "
            "target this rig by name; expected a name of the rig's own ('rig-01')"
        )
    if ADDRESS_LIKE.fullmatch(name):
        raise ValueError(
            f"{name!r} reads as an IPv4 address: ssh would reach that address; expected a "
            "name of the rig's own ('rig-01')"
        )
    return name


RigName = Annotated[Name, AfterValidator(_rig_name)]


class Rig(Strict):
    name: RigName
    address: IPv4Address = Field(description="Management address Ansible reaches.")
    board: str = ""
    cpu: str = ""
    cpu_cores: int = Field(2, ge=1, le=4096)
    ram_gb: float = Field(gt=0, le=65_536)
    disks: list[Disk] = Field(default_factory=list)
    nics: list[Nic] = Field(default_factory=list)
    psu_w: int | None = Field(None, gt=0, le=100_000, description="Hand-written: total PSU watts.")
    mining_os: Literal["hiveos", "raveos", "simplemining", "nicehash", "none", "unknown"] = Field(
        "unknown", description="Mining OS found on the rig ('none': a plain OS)."
    )
    gpus: list[GpuEntry] = Field(default_factory=list)
    notes: str = ""

    @property
    def gpu_count(self) -> int:
        return sum(entry.count for entry in self.gpus)

    @model_validator(mode="after")
    def _a_rig_holds_a_rigs_worth_of_gpus(self) -> Rig:
        if self.gpu_count > MAX_GPUS_PER_RIG:
            raise ValueError(
                f"{self.gpu_count} GPUs in one rig: expected at most {MAX_GPUS_PER_RIG} "
                "(split the entry if these are several machines)"
            )
        return self


class Fleet(Strict):
    rigs: list[Rig] = Field(min_length=1, max_length=MAX_RIGS)


# --- the whole file ------------------------------------------------------------------------------


class SiteModel(Strict):
    """One site: everything rigshift knows about it comes from here."""

    model_config = STRICT | ConfigDict(
        title="rigshift site file",
        json_schema_extra={"$comment": "inventories/<site>/site.yaml"},
    )

    site: Site
    network: Network
    kubernetes: Kubernetes
    storage: Storage = Field(default_factory=lambda: Storage())
    gpu: Gpu = Field(default_factory=lambda: Gpu())
    observability: Observability = Field(default_factory=lambda: Observability())
    tenants: list[Tenant] = Field(default_factory=list)
    admins: list[Admin] = Field(default_factory=list)
    plan: Plan = Field(default_factory=lambda: Plan())
    economics: Economics | None = None
    fleet: Fleet

    def rig(self, name: str) -> Rig:
        for rig in self.fleet.rigs:
            if rig.name == name:
                return rig
        raise KeyError(name)
