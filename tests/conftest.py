"""Shared test helpers: paths to the example sites and the shared real-data fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


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
