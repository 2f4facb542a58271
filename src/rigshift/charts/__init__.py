"""The real charts, rendered: what each Helm release of the stack would put in the cluster.

    rendered = render_releases(preview)     # `helm template` of every release, with the
                                            # values the stack passes (from the preview)
    problems = check_rendered(rendered, "1.36")

`helm.py` finds and runs a real helm; `values.py` checks the values a release passes against
the chart's own values.yaml, templates and values.schema.json; `crds.py` validates custom
resources against the openAPIV3Schema of the CRDs the charts ship; `render.py` ties them to
the preview's Release resources.
"""

from rigshift.charts.helm import HelmMissing, find_helm
from rigshift.charts.render import RenderedRelease, check_rendered, render_releases

__all__ = ["HelmMissing", "RenderedRelease", "check_rendered", "find_helm", "render_releases"]
