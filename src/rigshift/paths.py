"""Where the project's non-Python parts live.

rigshift runs from a checkout (as kubespray does): playbooks, templates and the Pulumi project
sit beside the package, not inside it, so that operators read and review them as files.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
PLAYBOOKS = ROOT / "playbooks"
STACKS = ROOT / "stacks"
