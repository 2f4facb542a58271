"""Site files that once passed validation and must not (issue 31, points 3 and 4).

Each case makes one edit to the lab site and checks that `rigshift validate` exits 2 naming
the field; the site loads through `Site.load`, so the plan's refusals count too.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from rigshift.cli import main
from rigshift.model import SiteError, load, parse_site
from rigshift.model.schema import SiteModel
from rigshift.site import Site

LAB_TENANT = (
    '  - {name: research, nodes: [lab-2], cpu_quota: "8", memory_quota: 16Gi, '
    "load_balancer_pool: [198.18.0.210-198.18.0.212]}\n"
)


@dataclass(frozen=True)
class Case:
    old: str
    new: str
    path: str  # field path the error names
    says: str  # part of the message or fix a user reads
    times: int = 1  # how many occurrences of `old` to replace


CASES = {
    # Point 3: tenants that would take what is not theirs.
    "a tenant named after the shared pool": Case(
        "{name: research,", "{name: shared,", "tenants[0].name", "'shared'"
    ),
    "two tenants bound to one group": Case(
        LAB_TENANT,
        LAB_TENANT + "  - {name: ops, group: research-admins}\n",
        "tenants[1].group",
        "tenants[0]",
    ),
    "two tenants whose dashboards share a uid": Case(
        LAB_TENANT,
        LAB_TENANT
        + "  - {name: analytics-team-number-one-a}\n"
        + "  - {name: analytics-team-number-one-b}\n",
        "tenants[2].name",
        "dashboard",
    ),
    # Point 4: values that reach commands, paths and the cluster.
    "a disk name climbing out of /dev": Case(
        "{name: sdb, size_gb: 240",
        "{name: ../../etc, size_gb: 240",
        "fleet.rigs[0].disks[1].name",
        "disk",
    ),
    "a disk name with a space": Case(
        "{name: sdb, size_gb: 240",
        "{name: 'sdb /', size_gb: 240",
        "fleet.rigs[0].disks[1].name",
        "disk",
    ),
    "a NIC name with a path in it": Case(
        "[{name: eth0, speed_gbps: 1},",
        "[{name: eth0/../../x, speed_gbps: 1},",
        "fleet.rigs[0].nics[0].name",
        "interface name",
    ),
    "a storage link with a space": Case(
        "storage: eth1", "storage: 'eth1 x'", "network.layout.storage", "interface name"
    ),
    "a disk listed twice": Case(
        "{name: sdb, size_gb: 240",
        "{name: sda, size_gb: 240",
        "fleet.rigs[0].disks[1].name",
        "twice",
    ),
    "a NIC listed twice": Case(
        "{name: eth2, speed_gbps: 1}]",
        "{name: eth2, speed_gbps: 1}, {name: eth2, speed_gbps: 10}]",
        "fleet.rigs[0].nics[3].name",
        "twice",
    ),
    "a GPU listed twice": Case(
        "- {model: RTX 3090, count: 2, link: {gen: 3, width: 1}}",
        "- {model: RTX 3090, bus_id: '00000000:01:00.0'}\n"
        "        - {model: RTX 3090, bus_id: '00000000:01:00.0'}",
        "fleet.rigs[0].gpus[1].bus_id",
        "twice",
    ),
    "one MAC on two rigs": Case(
        "[{name: eth0, speed_gbps: 1},",
        "[{name: eth0, speed_gbps: 1, mac: '02:00:00:00:00:01'},",
        "fleet.rigs[1].nics[0].mac",
        "fleet.rigs[0].nics[0]",
        times=2,
    ),
    "a load-balancer pool holding the gateway": Case(
        "load_balancer_pool: [198.18.0.200-198.18.0.220]",
        "load_balancer_pool: [198.18.0.200-198.18.0.220, 198.18.0.1-198.18.0.5]",
        "network.load_balancer_pool[1]",
        "gateway",
    ),
    "a load-balancer pool holding the broadcast address": Case(
        "load_balancer_pool: [198.18.0.200-198.18.0.220]",
        "load_balancer_pool: [198.18.0.200-198.18.0.255]",
        "network.load_balancer_pool[0]",
        "broadcast",
    ),
    "a load-balancer pool holding the network address": Case(
        "load_balancer_pool: [198.18.0.200-198.18.0.220]",
        "load_balancer_pool: [198.18.0.200-198.18.0.220, 198.18.1.0/29]",
        "network.load_balancer_pool[1]",
        "network address",
    ),
    "an API VIP on the network address": Case(
        "api_vip: 198.18.0.10", "api_vip: 198.18.0.0", "kubernetes.api_vip", "network address"
    ),
    "an API VIP on the broadcast address": Case(
        "api_vip: 198.18.0.10", "api_vip: 198.18.0.255", "kubernetes.api_vip", "broadcast"
    ),
    "a quantity beyond any machine": Case(
        'cpu_quota: "8"', 'cpu_quota: "1e999999999"', "tenants[0].cpu_quota", "2^63-1"
    ),
    "a tenant owning a control-plane server": Case(
        "nodes: [lab-2]", "nodes: [lab-1]", "tenants[0].nodes[0]", "control-plane"
    ),
    "a version of the other distribution": Case(
        "distribution: rke2", "distribution: k3s", "kubernetes.version", "k3s"
    ),
}


def _validate(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], site: Path
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["rigshift", "validate", str(site)])
    with pytest.raises(SystemExit) as exited:
        main()
    out, err = capsys.readouterr()
    code = exited.value.code
    return code if isinstance(code, int) else 1, out, err


@pytest.mark.parametrize("name", list(CASES))
def test_refused_at_its_field(
    name: str,
    lab_site_text: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    case = CASES[name]
    assert case.old in lab_site_text, f"the lab site changed: {case.old!r} is gone"
    (tmp_path / "site.yaml").write_text(lab_site_text.replace(case.old, case.new, case.times))
    with pytest.raises(SiteError) as raised:
        Site.load(tmp_path)
    assert case.path in raised.value.paths, raised.value.render()
    problem = next(p for p in raised.value.problems if p.path == case.path)
    assert case.says in f"{problem.message} {problem.hint}"

    code, out, err = _validate(monkeypatch, capsys, tmp_path)
    assert (code, out) == (2, "")
    assert f": {case.path}: " in err
    assert "Traceback" not in err


def test_a_bond_shares_its_members_mac(lab_site_text: str) -> None:
    # `ip addr` on a rig with a bond (or a VLAN) shows the same MAC on the bond and its members.
    mac = "mac: '02:00:00:00:00:01'"
    text = lab_site_text.replace(
        "[{name: eth0, speed_gbps: 1},",
        f"[{{name: eth0, speed_gbps: 1, {mac}}}, {{name: bond0, speed_gbps: 1, {mac}}},",
        1,
    )
    assert text != lab_site_text
    parse_site(text, "site.yaml")


def test_a_merge_key_is_refused_at_its_line(lab_site_text: str) -> None:
    # `<<:` fills in keys the mapping lacks: here it would set the tier without a line saying so.
    text = lab_site_text.replace("  target_tier: 2\n", "  <<: {target_tier: 4}\n", 1)
    with pytest.raises(SiteError) as raised:
        parse_site(text, "site.yaml")
    (problem,) = raised.value.problems
    assert "<<" in problem.message
    assert problem.line == text.splitlines().index("  <<: {target_tier: 4}") + 1


def _fleet(count: int) -> str:
    head = """\
site: {name: big, location: x, power: {capacity_kw: 1, price_per_kwh: 0}, target_tier: 1,
       cooling: {kind: air, capacity_kw: 1}}
network: {management_cidr: 10.0.0.0/8, load_balancer_pool: [10.255.255.200/29]}
kubernetes: {version: v1.36.4+rke2r1, control_plane: [r1]}
fleet:
  rigs:
"""
    rigs = (
        f"    - {{name: r{i}, address: 10.{i >> 16}.{i >> 8 & 255}.{i & 255}, ram_gb: 8}}\n"
        for i in range(1, count + 1)
    )
    return head + "".join(rigs)


class Built(Exception):
    """The model was built: the rig count was not checked before."""


def test_too_many_rigs_are_refused_before_the_model_is_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def build(*args: object, **kwargs: object) -> SiteModel:
        raise Built

    monkeypatch.setattr(SiteModel, "model_validate", build)
    with pytest.raises(SiteError) as raised:
        parse_site(_fleet(100_001), "site.yaml")
    (problem,) = raised.value.problems
    assert problem.path == "fleet.rigs"
    assert "100,001" in problem.message
    assert problem.line == 6


def test_the_count_passes_a_full_fleet_and_counts_rigs_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def build(*args: object, **kwargs: object) -> SiteModel:
        raise Built

    monkeypatch.setattr(SiteModel, "model_validate", build)
    monkeypatch.setattr(load, "MAX_RIGS", 4)
    with pytest.raises(Built):
        parse_site(_fleet(4), "site.yaml")
    with pytest.raises(SiteError, match="5 rigs"):
        parse_site(_fleet(5), "site.yaml")
    # Lines of a block scalar that look like list items are text, not rigs (the notes are
    # refused later, for their line breaks).
    notes = "        - not a rig\n" * 5
    rig = f"    - name: r4\n      address: 10.0.0.4\n      ram_gb: 8\n      notes: |\n{notes}"
    with pytest.raises(SiteError) as raised:
        parse_site(_fleet(3) + rig, "site.yaml")
    assert raised.value.paths == ["fleet.rigs[3].notes"]
