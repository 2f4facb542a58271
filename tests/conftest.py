"""Shared test helpers: paths to the example sites and the shared real-data fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def lab_site_text() -> str:
    return (ROOT / "inventories" / "lab" / "site.yaml").read_text()
