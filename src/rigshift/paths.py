"""Where things live: the project's own non-Python parts, and every name under a site folder.

rigshift runs from a checkout (as kubespray does): playbooks, templates and the Pulumi project
sit beside the package, not inside it, so that operators read and review them as files.

`SiteLayout` is the one owner of the names under `inventories/<site>/`; every other module asks
it for a path instead of spelling the name. Every path derives from the site *folder*, never
from the site's name, so two copies of a site (same name, other folders) never share a file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
PLAYBOOKS = ROOT / "playbooks"
STACKS = ROOT / "stacks"

SITE_FILE = "site.yaml"


@dataclass(frozen=True)
class SiteLayout:
    """The files of one site folder: the site file and what rigshift writes beside it.

    inventories/<site>/
      site.yaml                    the source of truth (committed)
      generated/                   written by `rigshift render` (committed)
        hosts.yml, group_vars/     the Ansible inventory
        .rigshift-render.json      the render manifest: which files render owns
        lab-connection.yml         how Ansible reaches the default lab (machine-local)
        kubeconfig                 the cluster's admin kubeconfig (a secret, never committed)
        acceptance/<host>.json     GPU acceptance records (`rigshift accept`, committed: the
                                   plan reads them)
      runs/                        converge run records and ansible-runner's data (local)
      evidence/, verify/           decommission and verify records of the site's rigs
    """

    root: Path
    # The site file's name in the folder: site.yaml, unless a command was given another file.
    site_file_name: str = SITE_FILE

    @classmethod
    def of(cls, path: Path | str) -> SiteLayout:
        """The layout of `inventories/<site>` or of a site file (`inventories/<site>/site.yaml`;
        a file of another name is that folder's site file)."""
        path = Path(path)
        # A path that names no file is a folder, unless it is spelled like a YAML file.
        if path.is_dir() or (not path.exists() and path.suffix not in (".yaml", ".yml")):
            return cls(path.resolve())
        return cls(path.parent.resolve(), path.name)

    @property
    def name(self) -> str:
        """The folder's name: what names the site's Pulumi stack and its build output."""
        return self.root.name

    @property
    def site_file(self) -> Path:
        return self.root / self.site_file_name

    @property
    def known_hosts(self) -> Path:
        """The rigs' pinned SSH host keys, committed beside the site file (rigshift.hostkeys)."""
        return self.root / "known_hosts"

    @property
    def generated(self) -> Path:
        return self.root / "generated"

    @property
    def hosts(self) -> Path:
        """The rendered inventory of the site's rigs."""
        return self.generated / "hosts.yml"

    @property
    def group_vars(self) -> Path:
        return self.generated / "group_vars"

    @property
    def render_manifest(self) -> Path:
        return self.generated / ".rigshift-render.json"

    @property
    def lab_connection(self) -> Path:
        """The default lab's connection variables (other labs keep theirs in their own dir)."""
        return self.generated / "lab-connection.yml"

    @property
    def kubeconfig(self) -> Path:
        """Where the kubernetes phase saves the cluster's admin kubeconfig for Pulumi."""
        return self.generated / "kubeconfig"

    @property
    def runs(self) -> Path:
        """Converge run records (one JSON file per run)."""
        return self.root / "runs"

    @property
    def runner(self) -> Path:
        """ansible-runner's private data dir for converges of the site's own rigs."""
        return self.runs / ".runner"

    @property
    def evidence(self) -> Path:
        return self.root / "evidence"

    @property
    def verify_records(self) -> Path:
        """The verify phase's record per rig (OS checks, Lynis index)."""
        return self.root / "verify"

    @property
    def acceptance(self) -> Path:
        """GPU acceptance records, one per rig (`rigshift accept`), read by `Site.load`."""
        return self.generated / "acceptance"

    @property
    def acceptance_incoming(self) -> Path:
        """Where the acceptance playbook fetches rigs' records, before they are checked."""
        return self.runner / "acceptance"

    @property
    def stacks(self) -> Path:
        """The Pulumi project folder that holds this site's stack config.

        `<repo>/stacks` for `<repo>/inventories/<site>` (the layout of this repository); a site
        anywhere else keeps its stack config in its own generated/ folder, so rendering a copy
        of a site never rewrites the checkout's stack config.
        """
        repo_stacks = self.root.parent.parent / "stacks"
        if self.root.parent.name == "inventories" and (repo_stacks / "Pulumi.yaml").is_file():
            return repo_stacks
        return self.generated

    @property
    def stack_name(self) -> str:
        return self.name

    @property
    def stack_config(self) -> Path:
        """`Pulumi.<stack>.yaml`, the stack named after the site folder."""
        return self.stacks / f"Pulumi.{self.stack_name}.yaml"

    @property
    def shown(self) -> str:
        """The site folder for messages: relative to the working directory when inside it."""
        return shown(self.root)


def shown(path: Path) -> str:
    """`path` for messages: relative to the working directory when inside it, else absolute."""
    cwd = Path.cwd()
    return str(path.relative_to(cwd) if path.is_relative_to(cwd) else path)
