"""What `rigshift preview` prints for both example sites reads as data, never as Python: no
`None` where a value is absent (a chart from a folder has no repository version, a
cluster-scoped object has no namespace)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from rigshift import preview as engine
from rigshift.cli import cli
from rigshift.preview.checked import CheckedPreview
from rigshift.site import Site
from tests.conftest import ROOT, need_charts

SITES = ("example-farm", "lab")


@pytest.fixture(scope="module", params=SITES)
def checked(request: pytest.FixtureRequest) -> tuple[Path, CheckedPreview]:
    """Each site's stack checked once, rendered from the shared charts; the CLI prints it."""
    site = ROOT / "inventories" / request.param
    return site, engine.check_site(Site.load(site), need_charts())


# --json prints the rendered objects as the charts wrote them (a webhook's sideEffects: "None"),
# and JSON's own null for an absent value.
@pytest.mark.parametrize("form", [[], ["--summary"]], ids=["table", "summary"])
def test_preview_prints_no_python_none(
    checked: tuple[Path, CheckedPreview], form: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    site, result = checked
    monkeypatch.setattr(engine, "check_site", lambda *_: result)
    run = CliRunner().invoke(cli, ["preview", str(site), "--charts", str(need_charts()), *form])
    assert run.exit_code == 0, run.output
    assert "None" not in run.output


def test_a_release_names_its_chart_version_and_folder(
    checked: tuple[Path, CheckedPreview], monkeypatch: pytest.MonkeyPatch
) -> None:
    site, result = checked
    monkeypatch.setattr(engine, "check_site", lambda *_: result)
    charts = need_charts()
    run = CliRunner().invoke(cli, ["preview", str(site), "--charts", str(charts)])
    assert f"metallb 0.16.1 from {charts}/metallb-0.16.1 -> ns metallb-system" in run.output
    assert "gpu-operator v26.7.0 from" in run.output
    # The tenancy ClusterRole is cluster-scoped: its name alone.
    assert "  ClusterRole      tenancy-role                               rigshift-tenant\n" in (
        run.output
    )


def test_a_release_from_its_repository_names_the_repository() -> None:
    # The example farm's stack config names no charts folder: `pulumi up` pulls from the
    # repositories (the program alone runs here, nothing is rendered).
    from rigshift.preview.offline import run_offline
    from rigshift.preview.report import key_inputs

    preview = run_offline(Site.load(ROOT / "inventories" / "example-farm"))
    releases = [key_inputs(r) for r in preview.resources if r.kind == "Release"]
    assert "metallb 0.16.1 from https://metallb.github.io/metallb -> ns metallb-system" in releases
    assert not any("None" in line for line in releases)
