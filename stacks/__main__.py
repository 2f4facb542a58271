"""A site's cluster services: load the site, wire the components, export the outputs.

One stack per site; `Pulumi.<site>.yaml` names the site file (see rigshift.components.config).
`rigshift preview` calls `wire` with the site it has already loaded.
"""

import pulumi

from rigshift.components import (
    GpuOperator,
    GpuOperatorArgs,
    HostLayer,
    HostLayerArgs,
    Network,
    NetworkArgs,
    Observability,
    ObservabilityArgs,
    StackConfig,
    Storage,
    StorageArgs,
    Tenancy,
    TenancyArgs,
    Wiring,
    api_endpoint,
    cluster_provider,
    load_stack_site,
    resolve_kubeconfig,
)
from rigshift.site import Site


def wire(site: Site, config: StackConfig) -> Wiring:
    """Create the site's components in dependency order; return them and the stack outputs.

    Every component gets the cluster provider through its options; its children inherit it.
    """
    model, assessment = site.model, site.assessment
    parts = Wiring()
    host = None
    if config.host_layer:
        host = parts.add(HostLayer("host", HostLayerArgs.from_site(site, config.kubeconfig_path)))
    kubeconfig = host.kubeconfig if host else None
    provider = parts.add(cluster_provider("cluster", resolve_kubeconfig(config, kubeconfig)))

    def on_cluster(*after: pulumi.Resource) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(providers=[provider], depends_on=list(after))

    charts = config.charts
    network = parts.add(Network("network", NetworkArgs.from_site(model, charts), on_cluster()))
    storage = parts.add(
        Storage("storage", StorageArgs.from_site(model, assessment, charts), on_cluster())
    )
    observability = parts.add(
        Observability(
            "observability",
            ObservabilityArgs.from_site(
                model, storage.storage_class, config.grafana_admin_password, charts
            ),
            on_cluster(storage),
        )
    )
    gpus = GpuOperatorArgs.from_site(model, assessment, charts)
    # The operator's DCGM ServiceMonitor needs the monitoring stack's CRDs.
    parts.add(GpuOperator("gpu-operator", gpus, on_cluster(observability)))
    tenants = TenancyArgs.from_site(model, assessment, storage.storage_class)
    tenancy = parts.add(Tenancy("tenancy", tenants, on_cluster()))

    parts.outputs = {
        "api_endpoint": api_endpoint(model),
        "load_balancer_pool": network.addresses,
        "gpus_by_class": gpus.facts.by_class,
        "tenants": tenancy.tenants,
    }
    return parts


if __name__ == "__main__":
    stack_config = StackConfig.load()
    for key, value in wire(load_stack_site(stack_config), stack_config).outputs.items():
        pulumi.export(key, value)
