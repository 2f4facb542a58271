"""Pulumi ComponentResources for a site's cluster services; stacks/__main__.py only wires them."""

from rigshift.components.cluster import api_endpoint, cluster_provider
from rigshift.components.config import StackConfig, load_stack_site, resolve_kubeconfig
from rigshift.components.gpu_operator import GpuFacts, GpuOperator, GpuOperatorArgs
from rigshift.components.host_layer import HostLayer, HostLayerArgs
from rigshift.components.network import Network, NetworkArgs
from rigshift.components.observability import Observability, ObservabilityArgs
from rigshift.components.storage import Storage, StorageArgs
from rigshift.components.tenancy import Tenancy, TenancyArgs
from rigshift.components.wiring import Wiring

__all__ = [
    "GpuFacts",
    "GpuOperator",
    "GpuOperatorArgs",
    "HostLayer",
    "HostLayerArgs",
    "Network",
    "NetworkArgs",
    "Observability",
    "ObservabilityArgs",
    "StackConfig",
    "Storage",
    "StorageArgs",
    "Tenancy",
    "TenancyArgs",
    "Wiring",
    "api_endpoint",
    "cluster_provider",
    "load_stack_site",
    "resolve_kubeconfig",
]
