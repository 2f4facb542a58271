"""A second-hand rig's previous owner keeps no door: the baseline leaves each account only the
keys the site file gives it (and the converge its own), sshd reads one pinned key file, and
verify fails a host where it reads another. Shown here on a folder standing in for the rig; the
lab shows it on a real host (tests/integration/test_previous_owner.py)."""

from __future__ import annotations

import base64
import os
import struct
from pathlib import Path
from typing import Any

import jinja2
import yaml

from tests.unit.playbooks.plugins import ROLES, load

keys = load("baseline", "library/rigshift_authorized_keys.py")
DEFAULTS = yaml.safe_load((ROLES / "baseline" / "defaults" / "main.yml").read_text())
VERIFY = yaml.safe_load((ROLES / "verify" / "defaults" / "main.yml").read_text())


def public_key(comment: str) -> str:
    kind = b"ssh-ed25519"
    blob = struct.pack(">I", len(kind)) + kind + struct.pack(">I", 32) + os.urandom(32)
    return f"ssh-ed25519 {base64.b64encode(blob).decode()} {comment}"


CONVERGE = public_key("converge@control")
ADMIN = public_key("rigops@site")
PREVIOUS = public_key("previous-owner@hive")


def write(path: Path, *lines: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{line}\n" for line in lines))
    return path


def rig(tmp_path: Path) -> dict[str, Path]:
    """Homes for root, the HiveOS user and an admin, as a previous owner left them."""
    homes = {name: tmp_path / "home" / name for name in ("root", "user", "rigops")}
    write(homes["root"] / ".ssh/authorized_keys", CONVERGE, f'from="10.0.0.0/8" {PREVIOUS}')
    write(homes["root"] / ".ssh/authorized_keys2", PREVIOUS)
    write(homes["user"] / ".ssh/authorized_keys", "# the rig's owner", PREVIOUS)
    write(homes["rigops"] / ".ssh/authorized_keys", ADMIN)
    # A key file an old AuthorizedKeysFile line named, outside any home.
    write(tmp_path / "etc/ssh/keys/root", PREVIOUS)
    return homes


def accounts(homes: dict[str, Path]) -> list[Any]:
    return [keys.Account(name, uid, str(home)) for uid, (name, home) in enumerate(homes.items())]


def as_me(change: Any) -> Any:
    """`change` owned by the test's own user (the test cannot chown to root's accounts)."""
    return keys.Change(change.path, os.getuid(), change.kept, change.removed)


def clean(tmp_path: Path, converge_keys: list[str], converge_user: str = "root") -> list[Any]:
    homes = rig(tmp_path)
    patterns = [".ssh/authorized_keys", f"{tmp_path}/etc/ssh/keys/%u"]
    changes = keys.plan(
        accounts(homes),
        {"rigops": [ADMIN], converge_user: converge_keys},
        [],
        ".ssh/authorized_keys",
        patterns,
        converge_user,
    )
    for change in changes:
        keys.apply(as_me(change))
    return changes


def test_every_key_the_site_file_does_not_give_goes_and_the_converge_keeps_its_own(
    tmp_path: Path,
) -> None:
    clean(tmp_path, [CONVERGE])
    home = tmp_path / "home"
    assert (home / "root/.ssh/authorized_keys").read_text() == f"{CONVERGE}\n"
    assert not (home / "root/.ssh/authorized_keys2").exists()
    assert not (home / "user/.ssh/authorized_keys").exists()
    assert not (tmp_path / "etc/ssh/keys/root").exists()
    assert (home / "rigops/.ssh/authorized_keys").read_text() == f"{ADMIN}\n"


def test_a_second_run_changes_nothing(tmp_path: Path) -> None:
    clean(tmp_path, [CONVERGE])
    homes = {name: tmp_path / "home" / name for name in ("root", "user", "rigops")}
    again = keys.plan(
        accounts(homes), {"rigops": [ADMIN], "root": [CONVERGE]}, [], ".ssh/authorized_keys", []
    )
    assert again == []


def test_each_removed_key_is_named_by_its_fingerprint(tmp_path: Path) -> None:
    removed = [line for change in clean(tmp_path, [CONVERGE]) for line in change.removed]
    assert len(removed) == 4
    assert all("SHA256:" in line and line.endswith("previous-owner@hive") for line in removed)


def test_the_converges_keys_stay_when_its_key_is_not_known(tmp_path: Path) -> None:
    # Check mode, or a certificate login: the converge's own file is never guessed at.
    clean(tmp_path, [])
    root = (tmp_path / "home/root/.ssh/authorized_keys").read_text()
    assert CONVERGE in root and PREVIOUS in root
    assert not (tmp_path / "home/user/.ssh/authorized_keys").exists()


def test_the_converges_keys_stay_when_its_key_is_not_in_its_file(tmp_path: Path) -> None:
    clean(tmp_path, [public_key("elsewhere")])
    assert CONVERGE in (tmp_path / "home/root/.ssh/authorized_keys").read_text()


def test_a_root_that_is_not_the_converge_keeps_no_key(tmp_path: Path) -> None:
    clean(tmp_path, [], converge_user="deploy")
    assert not (tmp_path / "home/root/.ssh/authorized_keys").exists()


def test_a_linked_key_file_is_replaced_not_written_through(tmp_path: Path) -> None:
    outside = write(tmp_path / "outside", CONVERGE, PREVIOUS)
    home = tmp_path / "home" / "root"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh/authorized_keys").symlink_to(outside)
    changes = keys.plan(
        [keys.Account("root", 0, str(home))], {"root": [CONVERGE]}, [], ".ssh/authorized_keys", []
    )
    for change in changes:
        keys.apply(as_me(change))
    assert not (home / ".ssh/authorized_keys").is_symlink()
    assert (home / ".ssh/authorized_keys").read_text() == f"{CONVERGE}\n"
    assert outside.read_text() == f"{CONVERGE}\n{PREVIOUS}\n"


def test_a_key_inside_an_option_is_not_the_lines_key() -> None:
    decoy = PREVIOUS.split()[1]
    for options in (f'command="ssh-ed25519 {decoy}"', f'command="echo \\" ssh-ed25519 {decoy} x"'):
        assert keys.key_of(f"{options} {CONVERGE}") == keys.key_of(CONVERGE), options
    assert keys.key_of(f'from="10.0.0.0/8",no-pty {PREVIOUS}') == keys.key_of(PREVIOUS)
    assert keys.key_of("# ssh-ed25519 " + decoy) is None


def test_every_authorized_keys_file_an_sshd_file_names_is_found(tmp_path: Path) -> None:
    write(
        tmp_path / "sshd_config", "Include /etc/ssh/sshd_config.d/*.conf", "AuthorizedKeysFile none"
    )
    write(tmp_path / "d/50-hive.conf", "Match User root", "  authorizedkeysfile .ssh/a /k/%u %%x")
    write(tmp_path / "d/ignored.txt", "AuthorizedKeysFile /never")
    found = keys.patterns_from([str(tmp_path / "sshd_config"), str(tmp_path / "d")])
    assert found == [".ssh/a", "/k/%u", "%%x"]
    account = keys.Account("root", 0, "/root")
    assert [keys.expand(p, account) for p in found] == ["/root/.ssh/a", "/k/root", "/root/%x"]


def render_sshd(login_user: str) -> str:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(ROLES / "baseline" / "templates"),
        trim_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    return env.get_template("sshd.conf.j2").render(
        DEFAULTS,
        ansible_managed="managed",
        baseline_controller_ip="",
        baseline_login_user=login_user,
    )


def test_sshd_reads_keys_from_one_file_and_trusts_no_command_or_authority() -> None:
    sshd = render_sshd("deploy").splitlines()
    assert "AuthorizedKeysFile .ssh/authorized_keys" in sshd
    assert "AuthorizedKeysCommand none" in sshd
    assert "TrustedUserCAKeys none" in sshd


def test_root_logins_are_off_unless_the_converge_is_root() -> None:
    assert "PermitRootLogin no" in render_sshd("deploy").splitlines()
    assert "PermitRootLogin prohibit-password" in render_sshd("root").splitlines()


def test_verify_expects_the_file_the_baseline_pins() -> None:
    expect = VERIFY["verify_sshd_expect"]
    assert expect["authorizedkeysfile"] == [DEFAULTS["baseline_sshd_authorized_keys_file"]]
    assert expect["authorizedkeyscommand"] == ["none"]
    assert expect["trustedusercakeys"] == ["none"]
    assert "without-password" in expect["permitrootlogin"]
