"""Render the site model into the files Ansible and Pulumi read.

`render(site)` asks every render target for its files and writes them atomically: a file that
already holds the same bytes is left untouched, so a second render changes nothing.
`render(site, dry_run=True)` writes nothing and reports what a render would write or remove:
`rigshift ci` uses it to say whether the committed rendered files are up to date.

Render targets
--------------
A render target is a function `(site) -> list[(Path, content)]` listed in `TARGETS` below.
`site` is the loaded `rigshift.site.Site` (model, assessment, layout); each returned path comes
from `site.layout` and `content` is the whole text of the file. Targets are pure: they return
content and never write. To add one, write the function in its own module and add it to
`TARGETS`. Use `rigshift.render.engine.render_template` to render a file from `templates/`
with the generated-file header in front.

Ownership
---------
Render only ever overwrites the files its targets return. It records them in the render
manifest (`site.layout.render_manifest`) and, on the next run, removes files it wrote before
that no target returns any more (a group_vars template that was deleted, say). Other files in
`generated/` (the lab's connection variables, the kubeconfig) are never touched.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rigshift.files import holds, write_atomic
from rigshift.render.inventory import group_vars_target, hosts_target
from rigshift.render.stack import stack_config_target
from rigshift.site import Site

RenderTarget = Callable[[Site], Sequence[tuple[Path, str]]]

TARGETS: tuple[RenderTarget, ...] = (hosts_target, group_vars_target, stack_config_target)


@dataclass
class RenderResult:
    """What one render did, or with `dry_run` would do, file by file."""

    dry_run: bool = False
    written: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)
    # The written files that did not exist before (the others held other content).
    created: list[Path] = field(default_factory=list)

    @property
    def up_to_date(self) -> bool:
        """True when the tree on disk already is what render writes."""
        return not self.written and not self.removed

    def stale(self) -> list[str]:
        """One line per file that is not what render writes: missing, differs, or no longer
        rendered (a previous render wrote it and no target returns it)."""
        lines = [f"missing: {p}" for p in self.created]
        lines += [f"differs: {p}" for p in self.written if p not in self.created]
        lines += [f"not rendered any more: {p}" for p in self.removed]
        return lines


def render(
    site: Site, targets: Sequence[RenderTarget] = TARGETS, *, dry_run: bool = False
) -> RenderResult:
    """Render every target for a loaded site into its folder (or, with `dry_run`, compare)."""
    layout = site.layout
    # Render everything before writing anything: a template error leaves no half-done tree.
    files = [item for target in targets for item in target(site)]
    result = RenderResult(dry_run=dry_run)
    for file, content in files:
        if holds(file, content):
            result.unchanged.append(file)
            continue
        if not file.exists():
            result.created.append(file)
        result.written.append(file)
        if not dry_run:
            # The stack config holds the stack's secrets (encrypted, but never for other eyes).
            write_atomic(file, content, 0o600 if file == layout.stack_config else None)
    owned = sorted({_relative(file, layout.root) for file, _ in files})
    generated = layout.generated.resolve()
    for stale in sorted(set(_read_manifest(layout.render_manifest)) - set(owned)):
        old = layout.root / stale
        # Only ever delete inside generated/, whatever the manifest says.
        if old.resolve().is_relative_to(generated) and old.is_file():
            result.removed.append(old)
            if not dry_run:
                old.unlink()
                _remove_empty_parents(old.parent, layout.generated)
    if not dry_run:
        write_atomic(layout.render_manifest, json.dumps({"files": owned}, indent=2) + "\n")
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


__all__ = ["TARGETS", "RenderResult", "RenderTarget", "render"]
