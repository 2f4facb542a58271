"""Render the site model into the files Ansible and Pulumi read.

`render_site(path)` loads and checks a site, asks every render target for its files and writes
them atomically: a file that already holds the same bytes is left untouched, so a second render
changes nothing.

Render targets
--------------
A target is a function `(site, assessment, site_dir) -> list[(Path, content)]` listed in
`TARGETS` below. `site` is the validated `SiteModel`, `assessment` the plan's `Assessment`,
`site_dir` the `inventories/<site>` folder; each returned path is absolute (or relative to the
working directory) and `content` is the whole text of the file. Targets are pure: they return
content and never write. To add one (the Pulumi stack config, say), write the function in its
own module and add it to `TARGETS`. Use `rigshift.render.engine.render_template` to render a
file from `templates/` with the generated-file header in front.

Ownership
---------
Render only ever overwrites the files its targets return. It records them in
`generated/.rigshift-render.json` and, on the next run, removes files it wrote before that no
target returns any more (a group_vars template that was deleted, say). Other files in
`generated/` (the lab's connection variables) are never touched.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rigshift.files import write_atomic
from rigshift.model import SiteModel, site_file
from rigshift.plan import Assessment
from rigshift.render.inventory import GENERATED, group_vars_target, hosts_target
from rigshift.render.stack import stack_config_target
from rigshift.site import load_checked

Target = Callable[[SiteModel, Assessment, Path], Sequence[tuple[Path, str]]]

TARGETS: list[Target] = [hosts_target, group_vars_target, stack_config_target]

MANIFEST = ".rigshift-render.json"


@dataclass
class RenderResult:
    """What one render did, as paths relative to the site folder where possible."""

    written: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)


def render_site(path: Path | str, targets: Sequence[Target] | None = None) -> RenderResult:
    """Load, check and render the site at `path` (`inventories/<site>` or its site.yaml)."""
    site, assessment = load_checked(path)
    return render(site, assessment, site_file(path).parent, targets)


def render(
    site: SiteModel,
    assessment: Assessment,
    site_dir: Path,
    targets: Sequence[Target] | None = None,
) -> RenderResult:
    """Render every target for an already checked site into `site_dir`."""
    # Render everything before writing anything: a template error leaves no half-done tree.
    files = [item for target in (targets or TARGETS) for item in target(site, assessment, site_dir)]
    result = RenderResult()
    for file, content in files:
        (result.written if write_atomic(file, content) else result.unchanged).append(file)
    manifest = site_dir / GENERATED / MANIFEST
    owned = sorted({_relative(file, site_dir) for file, _ in files})
    for stale in sorted(set(_read_manifest(manifest)) - set(owned)):
        old = site_dir / stale
        # Only ever delete inside generated/, whatever the manifest says.
        if old.resolve().is_relative_to((site_dir / GENERATED).resolve()) and old.is_file():
            old.unlink()
            result.removed.append(old)
            _remove_empty_parents(old.parent, site_dir / GENERATED)
    write_atomic(manifest, json.dumps({"files": owned}, indent=2) + "\n")
    return result


def _relative(file: Path, site_dir: Path) -> str:
    # Relative even for files outside the site folder (stacks/Pulumi.<site>.yaml): the manifest
    # is committed with the rendered files and must mean the same in every clone.
    return Path(os.path.relpath(file.resolve(), site_dir.resolve())).as_posix()


def _read_manifest(manifest: Path) -> list[str]:
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return []
    files = data.get("files") if isinstance(data, dict) else None
    return [f for f in files if isinstance(f, str)] if isinstance(files, list) else []


def _remove_empty_parents(folder: Path, stop: Path) -> None:
    """Remove folders left empty by a removed file, up to (not including) `stop`."""
    while folder != stop and folder.is_relative_to(stop) and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent


__all__ = ["MANIFEST", "TARGETS", "RenderResult", "Target", "render", "render_site"]
