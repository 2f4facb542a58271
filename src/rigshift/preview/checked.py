"""The whole offline check of a site's stack, for `rigshift preview` and `rigshift ci` alike:
run the program under mocks, render every chart release with helm, validate every object."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rigshift.charts import RenderedRelease, check_rendered, render_releases
from rigshift.preview.offline import Preview, run_offline
from rigshift.preview.validate import schema_version, validate
from rigshift.render.stack import plain_settings
from rigshift.site import Site

CHARTS_SETTING = "rigshift:chartsDir"


@dataclass
class CheckedPreview:
    preview: Preview
    releases: list[RenderedRelease]
    schema: str
    problems: list[str]

    @property
    def objects(self) -> int:
        return sum(len(r.objects) for r in self.releases)


def check_site(site: Site, charts: Path | None = None) -> CheckedPreview:
    """`charts` (a folder of the pinned charts) replaces the stack config's rigshift:chartsDir."""
    settings = plain_settings(site.layout)
    if charts is not None:
        settings[CHARTS_SETTING] = str(charts.resolve())
    preview = run_offline(site, settings)
    schema = schema_version(site.model.kubernetes.minor)
    releases = render_releases(preview)
    problems = validate(preview) + check_rendered(releases, preview, schema)
    return CheckedPreview(preview, releases, schema, problems)
