"""`rigshift preview`: what `pulumi up` would create for a site, checked before anything runs.

`run_offline(site)` runs the real stack program (stacks/__main__.py) under Pulumi's mocks, so no
Pulumi CLI, cluster or network is needed; `validate(preview)` checks every plain Kubernetes
object against the official OpenAPI schema of the site's Kubernetes version
(kubernetes-validate), plus the Kubernetes quantity syntax the schema leaves open, and the
MetalLB resources structurally. `check_site(site)` does all that and renders every chart release
with a real helm (rigshift.charts), validating each object against the Kubernetes schema or
its CRD. `run_pulumi(site)` runs the real `pulumi preview` on a local
file backend when a Pulumi CLI is installed.
"""

from rigshift.preview.checked import CheckedPreview, check_site
from rigshift.preview.offline import PlannedResource, Preview, run_offline
from rigshift.preview.pulumi_cli import run_pulumi
from rigshift.preview.validate import schema_version, validate

__all__ = [
    "CheckedPreview",
    "PlannedResource",
    "Preview",
    "check_site",
    "run_offline",
    "run_pulumi",
    "schema_version",
    "validate",
]
