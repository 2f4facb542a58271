"""Every release rigshift installs, pinned in one place, and what each is known to work with.

    from rigshift.releases import CHARTS, GPU_OPERATOR, KUBERNETES, compat

`pins.py` holds the versions and says why each is what it is; `compat.yaml` is the
compatibility table (GPU operator to Kubernetes, driver branch to GPU architectures and CUDA)
as data, read by `compat.py`. Nothing here imports Pulumi, so the model and plan can use it.
"""

from rigshift.releases.compat import Compat, compat
from rigshift.releases.pins import (
    CHARTS,
    CHECKOV,
    GPU_OPERATOR,
    HELM,
    KUBE_PROMETHEUS_STACK,
    KUBERNETES,
    LOCAL_PATH_PROVISIONER,
    LONGHORN,
    METALLB,
    ROOK_CEPH,
    ROOK_CEPH_CLUSTER,
    Chart,
    HelmWheel,
    Tool,
)

__all__ = [
    "CHARTS",
    "CHECKOV",
    "GPU_OPERATOR",
    "HELM",
    "KUBERNETES",
    "KUBE_PROMETHEUS_STACK",
    "LOCAL_PATH_PROVISIONER",
    "LONGHORN",
    "METALLB",
    "ROOK_CEPH",
    "ROOK_CEPH_CLUSTER",
    "Chart",
    "Compat",
    "HelmWheel",
    "Tool",
    "compat",
]
