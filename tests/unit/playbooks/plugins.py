"""Load the roles' filter plugins and files by path: they are not part of the rigshift package."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ROLES = Path(__file__).resolve().parents[3] / "playbooks" / "roles"


def load(role: str, relative: str) -> ModuleType:
    path = ROLES / role / relative
    spec = importlib.util.spec_from_file_location(f"rigshift_test_{path.stem}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
