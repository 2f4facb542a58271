"""Shared test helpers: paths to the example sites and the shared real-data fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The real chart sources at the pinned versions (../shared/charts, see its SOURCES.md).
CHARTS = ROOT.parent / "shared" / "charts"


def need_charts() -> Path:
    """The shared charts folder; a test that needs it fails under CI=true and skips elsewhere."""
    if not (CHARTS / "SOURCES.md").is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHARTS} is missing: CI must have ../shared/charts checked out")
        pytest.skip(f"the pinned charts are not present at {CHARTS} (a clone without ../shared)")
    return CHARTS


def charts_without(tmp_path: Path, chart: str, dependency: str) -> Path:
    """A charts folder like the shared one (links to it) whose `chart` lacks `dependency` in
    its charts/ folder."""
    shared = need_charts()
    charts = tmp_path / "charts"
    charts.mkdir()
    for folder in shared.iterdir():
        if folder.name != chart:
            (charts / folder.name).symlink_to(folder)
    (charts / chart / "charts").mkdir(parents=True)
    for part in (shared / chart).iterdir():
        if part.name != "charts":
            (charts / chart / part.name).symlink_to(part)
    for sub in (shared / chart / "charts").iterdir():
        if sub.name != dependency:
            (charts / chart / "charts" / sub.name).symlink_to(sub)
    return charts


@pytest.fixture
def lab_site_text() -> str:
    return (ROOT / "inventories" / "lab" / "site.yaml").read_text()


@pytest.fixture
def site_loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every validation of a site model from here on, by the top-level site name it read.

    Counted at `SiteModel.model_validate`, which every way of turning YAML into a model passes
    through, so a layer that loads the site file again cannot hide from the count.
    """
    from rigshift.model import SiteModel

    seen: list[str] = []
    original = SiteModel.model_validate

    def counting(obj: object, *args: object, **kwargs: object) -> SiteModel:
        model = original(obj, *args, **kwargs)  # type: ignore[arg-type]
        seen.append(model.site.name)
        return model

    monkeypatch.setattr(SiteModel, "model_validate", counting)
    return seen


@pytest.fixture(autouse=True)
def no_chart_repositories(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests render charts from ../shared/charts only: a chart repository is the internet."""
    from rigshift.charts import helm

    real = helm.template

    def local_only(*args: object, **kwargs: object) -> object:
        if kwargs.get("repo"):
            pytest.fail(f"a test tried to reach the chart repository {kwargs['repo']}")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(helm, "template", local_only)
