"""The baseline's sshd and fail2ban settings keep the converge's own address in, rendered as
Ansible renders them (trim_blocks) with the role's defaults. The lab shows the sshd side for
real (tests/integration/test_firewall.py); its converge comes from 127.0.0.1, which fail2ban
never bans anyway, so the ban exemption is shown here with a management-network address."""

from __future__ import annotations

import re

import jinja2
import yaml

from tests.unit.playbooks.plugins import ROLES

DEFAULTS = yaml.safe_load((ROLES / "baseline" / "defaults" / "main.yml").read_text())


def render(template: str, controller: str) -> str:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(ROLES / "baseline" / "templates"),
        trim_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    return env.get_template(template).render(
        DEFAULTS, ansible_managed="managed", baseline_controller_ip=controller
    )


def test_fail2ban_never_bans_the_converges_address() -> None:
    jail = render("jail.local.j2", "10.40.0.5")
    assert "ignoreip = 127.0.0.1/8 ::1 10.40.0.5\n" in jail


def test_fail2ban_without_a_known_converge_address_ignores_loopback_only() -> None:
    assert "ignoreip = 127.0.0.1/8 ::1\n" in render("jail.local.j2", "")


def test_sshd_allows_more_keys_from_the_converge_only_in_a_match_block_at_the_end() -> None:
    sshd = render("sshd.conf.j2", "10.40.0.5")
    assert re.search(r"^MaxAuthTries 3$", sshd, re.M)
    match_at = sshd.index("Match Address 10.40.0.5\n")
    # Everything after a Match line belongs to it: no global setting may follow.
    assert sshd[match_at:].splitlines()[1:] == ["    MaxAuthTries 10"]


def test_sshd_has_no_match_block_without_a_converge_address() -> None:
    assert "Match" not in render("sshd.conf.j2", "")
