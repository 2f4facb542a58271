"""A site's cluster services: load the site model, wire the components, export the outputs.

One stack per site; `Pulumi.<site>.yaml` names the site file (see rigshift.components.config).
"""

import pulumi

from rigshift.components import (
    GpuFacts,
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
    api_endpoint,
    cluster_provider,
    load_stack_site,
    resolve_kubeconfig,
)

config = StackConfig.load()
site, assessment = load_stack_site(config)

host = None
if config.host_layer:
    host = HostLayer("host", HostLayerArgs(config.site_dir, config.kubeconfig_path))
kubeconfig = host.kubeconfig if host else None
provider = cluster_provider("cluster", resolve_kubeconfig(config, kubeconfig))

network = Network("network", NetworkArgs.from_site(site, provider))
storage = Storage("storage", StorageArgs.from_site(site, assessment, provider))
observability = Observability(
    "observability",
    ObservabilityArgs.from_site(
        site, provider, storage.storage_class, config.grafana_admin_password
    ),
    opts=pulumi.ResourceOptions(depends_on=[storage]),
)
gpus = GpuFacts.from_plan(site, assessment)
# The operator's DCGM ServiceMonitor needs the monitoring stack's CRDs.
GpuOperator("gpu-operator", GpuOperatorArgs(provider, gpus, depends_on=[observability]))
tenancy = Tenancy("tenancy", TenancyArgs.from_site(site, provider))

pulumi.export("api_endpoint", api_endpoint(site))
pulumi.export("load_balancer_pool", network.addresses)
pulumi.export("gpus_by_class", gpus.by_class)
pulumi.export("tenants", tenancy.tenants)
