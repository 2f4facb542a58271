"""Every validation rule of a site file, each with a broken copy of the lab site.

Each case makes one small edit to inventories/lab/site.yaml and checks what a user sees from
`rigshift validate`: the file, the field path, the fix, exit code 2 and no traceback.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from rigshift.cli import main
from rigshift.model import SiteError, parse_site, read_site
from rigshift.site import Site


@dataclass(frozen=True)
class Case:
    old: str
    new: str
    path: str  # field path the error names
    says: str  # part of the message or fix a user reads
    line: int | None = None  # line the error points at, where the rule knows it


CASES = {
    "unknown key with did-you-mean": Case(
        "  mtu: 1500", "  mtux: 1500", "network.mtux", "did you mean 'mtu'?", 18
    ),
    "missing field": Case(
        "  target_tier: 2\n", "", "site.target_tier", "required field is missing"
    ),
    "wrong type": Case(
        "      ram_gb: 8\n", "      ram_gb: lots\n", "fleet.rigs[0].ram_gb", "'lots'"
    ),
    "bad CIDR": Case(
        "management_cidr: 198.18.0.0/24",
        "management_cidr: 198.18.0.0/33",
        "network.management_cidr",
        "198.18.0.0/33",
        13,
    ),
    "bad rig name": Case(
        "- name: lab-2", "- name: Lab_2", "fleet.rigs[1].name", "should match pattern"
    ),
    "duplicate rig name": Case(
        "- name: lab-2", "- name: lab-1", "fleet.rigs[1].name", "duplicate rig name 'lab-1'"
    ),
    "duplicate address": Case(
        "address: 198.18.0.12",
        "address: 198.18.0.11",
        "fleet.rigs[1].address",
        "duplicate address 198.18.0.11 (also fleet.rigs[0])",
    ),
    "address outside the management CIDR": Case(
        "address: 198.18.0.13",
        "address: 10.0.0.13",
        "fleet.rigs[2].address",
        "not a host address in network.management_cidr 198.18.0.0/24",
    ),
    "two OS disks": Case(
        "{name: sdb, size_gb: 240, kind: ssd, role: data}",
        "{name: sdb, size_gb: 240, kind: ssd, role: os}",
        "fleet.rigs[0].disks",
        "2 disks have role 'os'",
    ),
    "even control-plane count": Case(
        "control_plane: [lab-1]",
        "control_plane: [lab-1, lab-2]",
        "kubernetes.control_plane",
        "odd count",
    ),
    "control plane naming an unknown host": Case(
        "control_plane: [lab-1]",
        "control_plane: [lab-9]",
        "kubernetes.control_plane[0]",
        "'lab-9' is not a rig in fleet.rigs",
    ),
    "control plane naming a host twice": Case(
        "control_plane: [lab-1]",
        "control_plane: [lab-1, lab-2, lab-1]",
        "kubernetes.control_plane[2]",
        "'lab-1' is listed twice",
    ),
    "api_vip is a rig's address": Case(
        "api_vip: 198.18.0.10",
        "api_vip: 198.18.0.12",
        "kubernetes.api_vip",
        "198.18.0.12 is a rig's address",
    ),
    "api_vip outside the management network": Case(
        "api_vip: 198.18.0.10",
        "api_vip: 10.9.9.9",
        "kubernetes.api_vip",
        "outside network.management_cidr",
    ),
    "load-balancer pool overlapping rigs": Case(
        "load_balancer_pool: [198.18.0.200-198.18.0.220]",
        "load_balancer_pool: [198.18.0.12-198.18.0.20]",
        "network.load_balancer_pool[0]",
        "contains rig addresses (198.18.0.12, 198.18.0.13)",
    ),
    "load-balancer pool entry that does not parse": Case(
        "load_balancer_pool: [198.18.0.200-198.18.0.220]",
        "load_balancer_pool: [198.18.0.220-198.18.0.200]",
        "network.load_balancer_pool",
        "ends before it starts",
    ),
    "a tenant drawing time-sliced GPUs from a shared pool": Case(
        "nodes: [lab-2],",
        "gpu_quota: 2,",
        "tenants[0].gpu_quota",
        "cannot be shared between tenants",
    ),
    "a quota that is not what the tenant's nodes hold": Case(
        "nodes: [lab-2],",
        "nodes: [lab-2], gpu_quota: 500,",
        "tenants[0].gpu_quota",
        "nodes hold 24 GPUs (time-slices), not 500",
    ),
    "a rig given to two tenants": Case(
        "  - {name: research, nodes: [lab-2],",
        "  - {name: studio, nodes: [lab-2]}\n  - {name: research, nodes: [lab-2],",
        "tenants[1].nodes[0]",
        "lab-2 already belongs to tenant 'studio'",
    ),
    "a tenant given a rig that does not exist": Case(
        "nodes: [lab-2],", "nodes: [lab-9],", "tenants[0].nodes[0]", "no rig is named 'lab-9'"
    ),
    "more nodes of a class than there are": Case(
        "nodes: [lab-2],",
        "nodes_by_class: {legacy: 2},",
        "tenants[0].nodes_by_class.legacy",
        "2 legacy nodes asked, 1 left",
    ),
    "tenant addresses outside the site's pool": Case(
        "load_balancer_pool: [198.18.0.210-198.18.0.212]}",
        "load_balancer_pool: [198.18.1.5-198.18.1.6]}",
        "tenants[0].load_balancer_pool[0]",
        "not inside network.load_balancer_pool",
    ),
    "duplicate tenant": Case(
        "  - {name: research, nodes: [lab-2],",
        "  - {name: research}\n  - {name: research, nodes: [lab-2],",
        "tenants[1].name",
        "duplicate name 'research'",
    ),
    "admin key that is not a public key": Case(
        "      - ssh-ed25519 AAAA",
        "      - -----BEGIN OPENSSH PRIVATE KEY----- AAAA",
        "admins[0].ssh_keys",
        "expected an OpenSSH public key",
    ),
    "unknown GPU model with suggestions": Case(
        "model: RTX 3090,",
        "model: RTX 3099,",
        "fleet.rigs[0].gpus[0].model",
        "did you mean 'RTX 3090'",
        63,
    ),
    "bad YAML syntax": Case(
        "  mtu: 1500\n", "  mtu: 1500\n bad: indent\n", "(top level)", "not valid YAML", 19
    ),
    "a tab in the indentation": Case(
        "  target_tier: 2\n", "  target_tier: 2\n\tx: 1\n", "(top level)", "tab character", 11
    ),
    "tenant network on the default pod CIDR": Case(
        "tenant_cidr: 198.18.2.0/24",
        "tenant_cidr: 10.42.0.0/16",
        "kubernetes.pod_cidr",
        "overlaps network.tenant_cidr 10.42.0.0/16",
    ),
    "storage network inside the management network": Case(
        "storage_cidr: 198.18.1.0/24",
        "storage_cidr: 198.18.0.128/25",
        "network.storage_cidr",
        "overlaps network.management_cidr",
    ),
    "service CIDR on a site network": Case(
        "api_vip: 198.18.0.10",
        "api_vip: 198.18.0.10\n  service_cidr: 198.18.2.0/24",
        "kubernetes.service_cidr",
        "overlaps network.tenant_cidr",
    ),
    "gateway outside the management network": Case(
        "gateway: 198.18.0.1", "gateway: 10.1.1.1", "network.gateway", "not a host address"
    ),
    "gateway on a rig's address": Case(
        "gateway: 198.18.0.1", "gateway: 198.18.0.12", "network.gateway", "(lab-2)"
    ),
    "API VIP inside the load-balancer pool": Case(
        "api_vip: 198.18.0.10", "api_vip: 198.18.0.205", "kubernetes.api_vip", "MetalLB"
    ),
    "overlapping pool entries": Case(
        "load_balancer_pool: [198.18.0.200-198.18.0.220]",
        "load_balancer_pool: [198.18.0.200-198.18.0.220, 198.18.0.210-198.18.0.230]",
        "network.load_balancer_pool[1]",
        "overlaps load_balancer_pool[0]",
    ),
    "an L2 pool on no site network": Case(
        "load_balancer_pool: [198.18.0.200-198.18.0.220]",
        "load_balancer_pool: [192.0.2.0/28]",
        "network.load_balancer_pool[0]",
        "lies in no site network",
    ),
    "a layout NIC the rigs lack": Case(
        "storage: eth1", "storage: eth7", "network.layout.storage", "NIC 'eth7' does not exist"
    ),
    "a tenant named after a system namespace": Case(
        "- {name: research,", "- {name: monitoring,", "tenants[0].name", "rigshift's own"
    ),
    "a tenant named kube-something": Case(
        "- {name: research,", "- {name: kube-public,", "tenants[0].name", "namespace of"
    ),
    "a tenant bound to a system group": Case(
        "memory_quota: 16Gi,",
        "memory_quota: 16Gi, group: 'system:authenticated',",
        "tenants[0].group",
        "Kubernetes system group",
    ),
    "an admin named root": Case("- name: rigops", "- name: root", "admins[0].name", "root's"),
    "one GPU in two rigs": Case(
        "- {model: RTX 3090, count: 2, link: {gen: 3, width: 1}}",
        "- {model: RTX 3090, count: 1, uuid: GPU-1}\n"
        "        - {model: RTX 3090, count: 1, uuid: GPU-1}",
        "fleet.rigs[0].gpus[1].uuid",
        "is also fleet.rigs[0].gpus[0]",
    ),
}


def _broken(lab_site_text: str, tmp_path: Path, case: Case) -> Path:
    assert case.old in lab_site_text, f"the lab site changed: {case.old!r} is gone"
    site_dir = tmp_path / "broken"
    site_dir.mkdir()
    (site_dir / "site.yaml").write_text(lab_site_text.replace(case.old, case.new, 1))
    return site_dir


def _validate(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], site: Path
) -> tuple[int, str, str]:
    """Run the console entry point as `rigshift validate SITE` and capture what it prints."""
    monkeypatch.setattr(sys, "argv", ["rigshift", "validate", str(site)])
    with pytest.raises(SystemExit) as exited:
        main()
    out, err = capsys.readouterr()
    code = exited.value.code
    return code if isinstance(code, int) else 1, out, err


def test_the_lab_site_is_valid(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _validate(monkeypatch, capsys, Path("inventories/lab").resolve())
    assert code == 0
    assert "ok (3 rigs, 18 GPUs)" in out


@pytest.mark.parametrize("name", list(CASES))
def test_broken_site(
    name: str,
    lab_site_text: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    case = CASES[name]
    site_dir = _broken(lab_site_text, tmp_path, case)
    with pytest.raises(SiteError) as raised:
        Site.load(site_dir)
    assert case.path in raised.value.paths
    problem = next(p for p in raised.value.problems if p.path == case.path)
    assert case.says in f"{problem.message} {problem.hint}"
    if case.line is not None:
        assert problem.line == case.line

    code, out, err = _validate(monkeypatch, capsys, site_dir)
    assert code == 2
    assert out == ""
    where = f"{site_dir / 'site.yaml'}" + (f":{problem.line}" if problem.line else "")
    assert f"{where}: {case.path}: " in err
    assert "Traceback" not in err


def test_every_problem_is_reported_at_once(lab_site_text: str, tmp_path: Path) -> None:
    text = lab_site_text.replace("address: 198.18.0.12", "address: 198.18.0.11")
    text = text.replace("control_plane: [lab-1]", "control_plane: [lab-9]")
    with pytest.raises(SiteError) as raised:
        parse_site(text, "site.yaml")
    assert raised.value.paths == ["fleet.rigs[1].address", "kubernetes.control_plane[0]"]


def test_top_level_that_is_not_a_mapping(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "site.yaml").write_text("- lab-1\n- lab-2\n")
    code, _, err = _validate(monkeypatch, capsys, tmp_path)
    assert code == 2
    assert f"{tmp_path / 'site.yaml'}: (top level): expected a mapping" in err
    assert "Traceback" not in err


def test_missing_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere" / "site.yaml"
    with pytest.raises(SiteError, match="no such file"):
        read_site(missing)
    code, _, err = _validate(monkeypatch, capsys, missing)
    assert code == 2
    assert f"{missing}: (top level): no such file" in err
    assert "Traceback" not in err


def test_the_installed_command_prints_no_traceback(lab_site_text: str, tmp_path: Path) -> None:
    """The real console script, end to end, for the error a user meets most: a typo."""
    site_dir = _broken(lab_site_text, tmp_path, CASES["unknown key with did-you-mean"])
    done = subprocess.run(
        [sys.executable, "-c", "from rigshift.cli import main; main()", "validate", str(site_dir)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "network.mtux: unknown key" in done.stderr
    assert "did you mean 'mtu'?" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("given", "kept"), [(32, "32"), ("8000m", "8000m"), ("1.5", "1.5"), ("128Gi", "128Gi")]
)
def test_tenant_quotas_are_kubernetes_quantities(
    lab_site_text: str, given: object, kept: str
) -> None:
    text = lab_site_text.replace('cpu_quota: "8"', f"cpu_quota: {given!r}")
    assert 'cpu_quota: "8"' in lab_site_text, "the lab site sets a CPU quota to replace"
    assert parse_site(text, "site.yaml").tenants[0].cpu_quota == kept


@pytest.mark.parametrize("given", ["2 cores", "-4", ".inf", "true", "12 Gi"])
def test_a_quota_that_is_not_a_quantity_is_refused_at_its_field(
    lab_site_text: str, given: str
) -> None:
    text = lab_site_text.replace('cpu_quota: "8"', f"cpu_quota: {given}")
    with pytest.raises(SiteError) as raised:
        parse_site(text, "site.yaml")
    assert raised.value.paths == ["tenants[0].cpu_quota"]
    assert "expected a Kubernetes quantity" in raised.value.render()


def test_a_cards_vram_against_its_model_is_a_warning_not_an_error(
    lab_site_text: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    old = "- {model: GTX 1070, count: 6, link: {gen: 2, width: 1}}"
    assert old in lab_site_text
    text = lab_site_text.replace(old, "- {model: GTX 1070, count: 6, vram_gb: 4}")
    (tmp_path / "site.yaml").write_text(text)
    code, out, err = _validate(monkeypatch, capsys, tmp_path)
    assert code == 0
    assert "ok (3 rigs" in out
    assert "warning: " in err and "fleet.rigs[1].gpus[0].vram_gb: 4 GB seen" in err
