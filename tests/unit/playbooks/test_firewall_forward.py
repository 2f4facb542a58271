"""The baseline's forward chain (issue 31, point 7), rendered as Ansible renders it with the
role's defaults and checked by `nft -c` where nft is installed. The lab sends real packets
through it (tests/integration/test_firewall.py)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jinja2
import pytest
import yaml

from tests.unit.playbooks.plugins import ROLES

DEFAULTS = yaml.safe_load((ROLES / "baseline" / "defaults" / "main.yml").read_text())
PEERS = {
    "baseline_firewall_management_cidr": "10.40.0.0/16",
    "baseline_firewall_servers": ["10.40.1.11"],
    "baseline_firewall_nodes": ["10.40.1.11", "10.40.11.11"],
}


def render(**values: Any) -> str:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(ROLES / "baseline" / "templates"),
        trim_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    variables = {**DEFAULTS, **PEERS, **values}
    return env.get_template("rigshift.nft.j2").render(
        variables, ansible_managed="managed", baseline_controller_ip="10.40.0.5"
    )


def chain(rules: str, name: str) -> list[str]:
    found = re.search(rf"^  chain {name} {{\n(.*?)^  }}", rules, re.M | re.S)
    assert found, rules
    return [line.strip() for line in found[1].splitlines() if line.strip()]


def test_routed_traffic_is_dropped_unless_it_is_the_clusters_own() -> None:
    forward = [r for r in chain(render(), "forward") if not r.startswith("#")]
    assert forward == [
        "type filter hook forward priority filter; policy drop;",
        "ct state established,related accept",
        "ip saddr { 10.42.0.0/16, 10.43.0.0/16 } accept",
        "ip saddr { 10.40.1.11, 10.40.11.11 } accept",
    ]


def test_nodeports_are_routed_from_their_sources_by_the_port_the_client_asked_for() -> None:
    forward = chain(render(baseline_firewall_nodeport_sources=["10.40.9.0/24"]), "forward")
    for proto in ("tcp", "udp"):
        assert (
            f"ip saddr {{ 10.40.9.0/24 }} ct status dnat meta l4proto {proto} "
            "ct original proto-dst 30000-32767 accept"
        ) in forward


def test_load_balancer_addresses_are_routed_for_anyone() -> None:
    rules = render(
        baseline_firewall_load_balancer_pool=["10.40.200.0/24", "10.40.201.1-10.40.201.9"]
    )
    assert (
        "ct status dnat ct original ip daddr { 10.40.200.0/24, 10.40.201.1-10.40.201.9 } accept"
    ) in chain(rules, "forward")


def test_the_forward_chain_leaves_the_input_chain_as_it_was() -> None:
    """Load-balancer addresses change the forward chain only; SSH stays open on input."""
    plain = chain(render(), "input")
    assert chain(render(baseline_firewall_load_balancer_pool=["10.40.200.0/24"]), "input") == plain
    assert "ip saddr { 10.40.0.0/16, 10.40.0.5 } tcp dport 22 accept" in plain
    assert not [rule for rule in chain(render(), "forward") if "dport" in rule]


FULL = {
    "baseline_firewall_nodeport_sources": ["10.40.9.0/24", "10.40.0.7"],
    "baseline_firewall_load_balancer_pool": ["10.40.200.0/24", "10.40.201.1-10.40.201.9"],
}


@pytest.mark.skipif(shutil.which("nft") is None, reason="nft is not installed here")
def test_nft_accepts_the_rules(tmp_path: Path) -> None:
    rules = tmp_path / "rigshift.nft"
    rules.write_text(render(**FULL))
    checked = subprocess.run(["nft", "-c", "-f", str(rules)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr


@pytest.mark.skipif(
    shutil.which("nft") is None or shutil.which("unshare") is None or os.geteuid() != 0,
    reason="needs nft, unshare and root (a network namespace of its own)",
)
def test_what_nft_lists_loads_again_as_the_rollback_does(tmp_path: Path) -> None:
    """The rollback saves `nft list table inet rigshift` and loads it: the listing must parse."""
    rules = tmp_path / "rigshift.nft"
    rules.write_text(render(**FULL))
    script = f"nft -f {rules} && nft list table inet rigshift > {tmp_path}/saved.nft && "
    script += f"nft delete table inet rigshift && nft -f {tmp_path}/saved.nft"
    done = subprocess.run(["unshare", "--net", "sh", "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "[invalid type]" not in (tmp_path / "saved.nft").read_text()
