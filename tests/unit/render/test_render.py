"""`rigshift render`: the inventory Ansible reads, byte-stable and owning only its own files."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from rigshift import paths
from rigshift.cli import cli
from rigshift.paths import SiteLayout
from rigshift.render import TARGETS, RenderResult, render
from rigshift.render.engine import HEADER, environment, read_rendered, to_yaml
from rigshift.site import Site

ROOT = paths.ROOT


@pytest.fixture
def lab(tmp_path: Path) -> Path:
    """A copy of the lab site, so that rendering never writes into the checkout."""
    site_dir = tmp_path / "lab"
    site_dir.mkdir()
    shutil.copy(ROOT / "inventories" / "lab" / "site.yaml", site_dir / "site.yaml")
    return site_dir


def render_site(site_dir: Path) -> RenderResult:
    return render(Site.load(site_dir))


def _hosts(site_dir: Path) -> dict:  # type: ignore[type-arg]
    return read_rendered((site_dir / "generated" / "hosts.yml").read_text())["all"]["children"]


def test_groups_follow_the_assessment(lab: Path) -> None:
    render_site(lab)
    groups = _hosts(lab)
    members = {name: list(group["hosts"] or {}) for name, group in groups.items()}
    # lab-1: RTX 3090 + 3060 (train), lab-2: GTX 1070 (legacy), lab-3: RX 580 + CMP 90HX (retire).
    assert members == {
        "rigs": ["lab-1", "lab-2", "lab-3"],
        "gpu_nodes": ["lab-1", "lab-2"],
        "k8s_servers": ["lab-1"],
        "k8s_agents": ["lab-2"],
        "retire": ["lab-3"],
        "gpu_train": ["lab-1"],
        "gpu_infer": [],
        "gpu_legacy": ["lab-2"],
    }


def test_host_vars_carry_model_and_plan_facts(lab: Path) -> None:
    render_site(lab)
    lab1 = _hosts(lab)["rigs"]["hosts"]["lab-1"]
    assert lab1["ansible_host"] == "198.18.0.11"
    assert lab1["rigshift_gpu_class"] == "train"
    assert lab1["rigshift_ram_gb"] == 8
    # Node pools: lab-2 is research's own; the server lab-1 and lab-3 (no GPU kept) serve none.
    pools = {h: v["rigshift_tenant_pool"] for h, v in _hosts(lab)["rigs"]["hosts"].items()}
    assert pools == {"lab-1": "", "lab-2": "research", "lab-3": ""}
    assert [d["name"] for d in lab1["rigshift_disks"]] == ["sda", "sdb"]
    assert lab1["rigshift_gpus"][0] == {
        "model": "RTX 3090",
        "vendor": "NVIDIA",
        "count": 2,
        "class": "train",
        "vram_gb": 24,
        "compute_capability": "8.6",
        "gfx": None,
        "link": {"gen": 3, "width": 1},
    }


def test_cards_listed_one_by_one_render_like_a_count(lab: Path) -> None:
    text = (lab / "site.yaml").read_text()
    one_by_one = "\n".join(["        - {model: GTX 1070, link: {gen: 2, width: 1}}"] * 6)
    text = text.replace(
        "        - {model: GTX 1070, count: 6, link: {gen: 2, width: 1}}", one_by_one
    )
    (lab / "site.yaml").write_text(text)
    render_site(lab)
    gpus = _hosts(lab)["rigs"]["hosts"]["lab-2"]["rigshift_gpus"]
    assert [(g["model"], g["count"]) for g in gpus] == [("GTX 1070", 6)]


def test_every_rendered_variable_is_read_by_a_role(lab: Path) -> None:
    render_site(lab)
    layout = SiteLayout.of(lab)
    names: set[str] = set()
    for file in layout.group_vars.rglob("*.yml"):
        text = file.read_text()
        assert text.startswith(HEADER)
        names |= set(read_rendered(text) or {})
    for host in _hosts(lab)["rigs"]["hosts"].values():
        names |= set(host)
    # Ansible's own connection variables (ansible_host, ansible_ssh_common_args) are read by
    # Ansible itself, not by a role.
    names = {name for name in names if not name.startswith("ansible_")}
    # A read is any mention other than the line of a role's defaults that declares the name.
    roles = [p for p in (ROOT / "playbooks").rglob("*") if p.suffix in (".yml", ".j2")]
    text = "\n".join(p.read_text() for p in roles)
    unread = sorted(
        name
        for name in names
        if not re.search(rf"\b{name}\b", re.sub(rf"(?m)^\s*{name}:", "", text))
    )
    assert names and unread == []


def test_ansible_reads_the_inventory(lab: Path) -> None:
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.vars.manager import VariableManager

    render_site(lab)
    inventory = InventoryManager(
        loader=DataLoader(), sources=[str(lab / "generated" / "hosts.yml")]
    )
    assert [h.name for h in inventory.get_hosts("k8s_agents")] == ["lab-2"]
    host_vars = VariableManager(loader=DataLoader(), inventory=inventory).get_vars(
        host=inventory.get_host("lab-3")
    )
    # group_vars/ beside hosts.yml reach every host.
    assert host_vars["kubernetes_distribution"] == "rke2"
    assert host_vars["rigshift_gpu_class"] == "retire"


def test_second_render_is_byte_identical_and_touches_nothing(lab: Path) -> None:
    first = render_site(lab)
    assert first.written
    generated = sorted((lab / "generated").rglob("*"))
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in generated if p.is_file()}
    second = render_site(lab)
    assert second.written == [] and second.removed == []
    assert sorted(second.unchanged) == sorted(first.written)
    after = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in generated if p.is_file()}
    assert after == before


def test_files_it_does_not_own_survive(lab: Path) -> None:
    foreign = lab / "generated" / "group_vars" / "all" / "lab-connection.yml"
    foreign.parent.mkdir(parents=True)
    foreign.write_text("ansible_user: root\n")
    render_site(lab)
    render_site(lab)
    assert foreign.read_text() == "ansible_user: root\n"


def test_a_file_no_target_renders_any_more_is_removed(lab: Path) -> None:
    def extra(site: Site) -> list[tuple[Path, str]]:
        return [(site.layout.group_vars / "gpu_nodes" / "extra.yml", "x: 1\n")]

    site = Site.load(lab)
    render(site, [*TARGETS, extra])
    stale = site.layout.group_vars / "gpu_nodes" / "extra.yml"
    assert stale.exists()
    dry = render(site, dry_run=True)
    assert dry.stale() == [f"not rendered any more: {stale}"]
    assert stale.exists(), "a dry run removes nothing"
    result = render(site)
    assert result.removed == [stale]
    assert not stale.parent.exists()
    assert "extra.yml" not in site.layout.render_manifest.read_text()


def test_a_dry_run_reports_missing_and_differing_files_and_writes_nothing(lab: Path) -> None:
    site = Site.load(lab)
    before = render(site, dry_run=True)
    assert not before.up_to_date
    assert f"missing: {site.layout.hosts}" in before.stale()
    assert not site.layout.generated.exists()
    render(site)
    assert render(site, dry_run=True).up_to_date
    site.layout.hosts.write_text(site.layout.hosts.read_text() + "# edited by hand\n")
    assert render(site, dry_run=True).stale() == [f"differs: {site.layout.hosts}"]


def test_a_failing_target_writes_nothing(lab: Path) -> None:
    def broken(site: Site) -> list[tuple[Path, str]]:
        return [(site.layout.root / "x", environment().from_string("{{ nope }}").render())]

    with pytest.raises(Exception, match="nope"):
        render(Site.load(lab), [*TARGETS, broken])
    assert not (lab / "generated").exists()


def test_every_render_template_parses() -> None:
    env = environment()
    names = ["hosts.yml.j2"] + [
        p.relative_to(paths.TEMPLATES).as_posix()
        for p in (paths.TEMPLATES / "group_vars").rglob("*.j2")
    ]
    assert "group_vars/all/kubernetes.yml.j2" in names
    for name in names:
        env.get_template(name)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("lab-1", "!unsafe lab-1"),
        ("yes", "'yes'"),
        ("1.10", "'1.10'"),
        ("123", "'123'"),
        ("", "''"),
        ("0000:07:00.0", "'0000:07:00.0'"),
        ("{{ x }}", "!unsafe '{{ x }}'"),
        (None, "null"),
        ({"b": 1, "a": [1, "x y"], "yes": "on"}, "a:\n- 1\n- !unsafe x y\nb: 1\n'yes': 'on'"),
        ([], "[]"),
    ],
)
def test_to_yaml_reads_back_in_ansible_as_the_same_value(value: object, text: str) -> None:
    from ansible.parsing.yaml.loader import AnsibleLoader

    assert to_yaml(value) == text
    assert read_rendered(text) == value
    # Ansible reads an `!unsafe` scalar as if it were plain: the quoting above keeps each a string.
    assert yaml.load(text, Loader=AnsibleLoader) == value


def test_cli_render_reports_what_it_wrote(lab: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(cli, ["render", str(lab)])
    assert first.exit_code == 0, first.output
    assert "generated/hosts.yml" in first.output
    assert "generated/group_vars/all/kubernetes.yml" in first.output
    second = runner.invoke(cli, ["render", str(lab)])
    assert second.exit_code == 0, second.output
    assert second.output.startswith("0 written, ") and ", 0 removed" in second.output


def test_cli_render_refuses_a_broken_site(lab: Path) -> None:
    (lab / "site.yaml").write_text(
        (lab / "site.yaml").read_text().replace("name: lab-2", "name: lab-1", 1)
    )
    result = CliRunner().invoke(cli, ["render", str(lab)])
    assert result.exit_code == 2
    assert "fleet.rigs[1].name" in result.stderr
    assert not (lab / "generated").exists()


@pytest.mark.parametrize("site", ["lab", "example-farm"])
def test_committed_manifests_mean_the_same_in_every_clone(site: str) -> None:
    # The manifest is committed with the rendered files; an absolute path in it (the stack
    # config lives outside the site folder) made every other clone look stale.
    manifest = SiteLayout.of(ROOT / "inventories" / site).render_manifest
    files = json.loads(manifest.read_text())["files"]
    assert files, "the manifest lists what render wrote"
    assert all(not f.startswith("/") for f in files), files
    assert f"../../stacks/Pulumi.{site}.yaml" in files
