"""The previous owner keeps no door: after the baseline, only the site file's keys log in.

A second-hand rig comes with its previous owner's keys: the HiveOS seed leaves a support key in
root's authorized_keys2, and this module adds a key that really logs in (its private half is
here) in the places such keys hide: root's authorized_keys beside the converge's key, root's
authorized_keys2, HiveOS's `user` account, and a file of its own that an AuthorizedKeysFile
line in a drop-in names. The baseline (on lab-3 alone) leaves root the converge's key only and
the admin its site key and sudo; a dry run before it changes nothing, a second run nothing
either. Then verify fails a host where a drop-in read before rigshift's changes the effective
AuthorizedKeysFile, and a converge that logs in as another user than root turns root logins off.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from phase_runner import read, run_phase

from rigshift.lab import Lab, reset

HOST = "lab-3"
SEEDED = "hive-support@previous-owner"
PLANTED = "/etc/ssh/sshd_config.d/50-hive-keys.conf"
EARLIER = "/etc/ssh/sshd_config.d/00-previous-owner.conf"
ROOT_KEYS = "/root/.ssh/authorized_keys"
# Where the previous owner's key hides besides root's authorized_keys.
OTHER_KEYS = f"{ROOT_KEYS}2 /home/user/.ssh/authorized_keys /etc/ssh/keys/root"


def keygen(folder: Path, name: str) -> tuple[Path, str]:
    key = folder / name
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)], check=True
    )
    return key, key.with_suffix(".pub").read_text().strip()


def logs_in(lab: Lab, user: str, key: Path, *argv: str) -> bool:
    options = lab.ssh_options(HOST)
    options[options.index(str(lab.key))] = str(key)
    address = lab.host(HOST).address
    login = subprocess.run(
        ["ssh", "-F", "none", *options, "--", f"{user}@{address}", *(argv or ["true"])],
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )
    return login.returncode == 0


def sh(lab: Lab, script: str) -> str:
    return lab.exec(HOST, ["bash", "-c", script]).stdout


def effective(lab: Lab, setting: str) -> str:
    lines = lab.exec(HOST, ["sshd", "-T"]).stdout.splitlines()
    return next(line.split(" ", 1)[1] for line in lines if line.startswith(f"{setting} "))


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str]]:
    folder = tmp_path_factory.mktemp("keys")
    return {name: keygen(folder, name) for name in ("previous-owner", "rigops")}


@pytest.fixture(scope="module")
def admins(keys: dict[str, tuple[Path, str]]) -> dict[str, object]:
    return {"baseline_admins": [{"name": "rigops", "ssh_keys": [keys["rigops"][1]]}]}


@pytest.fixture(scope="module")
def doors(lab: Lab, keys: dict[str, tuple[Path, str]]) -> Iterator[Lab]:
    """lab-3 fresh from its seed, with the previous owner's key wherever such keys hide."""
    reset(lab, HOST)
    previous = keys["previous-owner"][1]
    sh(lab, f"""
        set -e
        echo '{previous}' >> /root/.ssh/authorized_keys
        echo '{previous}' >> /root/.ssh/authorized_keys2
        useradd --create-home --shell /bin/bash user
        install -d -m 700 -o user -g user /home/user/.ssh
        install -m 600 -o user -g user /dev/null /home/user/.ssh/authorized_keys
        echo '{previous}' > /home/user/.ssh/authorized_keys
        install -d /etc/ssh/keys
        echo '{previous}' > /etc/ssh/keys/root
        printf 'AuthorizedKeysFile .ssh/authorized_keys /etc/ssh/keys/%%u\\n' > {PLANTED}
        systemctl reload ssh
    """)  # fmt: skip
    yield lab
    reset(lab, HOST)  # later modules log in as root with the lab key, which a test here removes


def test_the_previous_owner_logs_in_before_the_baseline(
    doors: Lab, keys: dict[str, tuple[Path, str]]
) -> None:
    key, previous = keys["previous-owner"]
    assert logs_in(doors, "root", key) and logs_in(doors, "user", key)
    blob = previous.split()[1]
    for path in (ROOT_KEYS, f"{ROOT_KEYS}2"):
        sh(doors, f"grep -vF '{blob}' {path} > /tmp/kept; cat /tmp/kept > {path}")
    assert logs_in(doors, "root", key), "the file an AuthorizedKeysFile line names lets it in too"
    sh(doors, f"echo '{previous}' | tee -a {ROOT_KEYS}2 >> {ROOT_KEYS}")


def test_a_dry_run_leaves_every_key(doors: Lab, admins: dict[str, object]) -> None:
    files = f"{ROOT_KEYS} {OTHER_KEYS}"
    before = sh(doors, f"sha256sum {files}")
    run = run_phase(doors, "baseline", "--limit", HOST, "--check", extravars=admins)
    assert run.rc == 0, run.output[-3000:]
    assert sh(doors, f"sha256sum {files}") == before


@pytest.fixture(scope="module")
def converged(doors: Lab, admins: dict[str, object]) -> Lab:
    run = run_phase(doors, "baseline", "--limit", HOST, extravars=admins)
    assert run.rc == 0, run.output[-3000:]
    # Each key removed is named, so the operator sees what the previous owner left.
    assert "previous-owner" in run.output and SEEDED in run.output
    return doors


def test_every_key_the_site_file_does_not_give_is_gone(
    converged: Lab, keys: dict[str, tuple[Path, str]]
) -> None:
    lab = converged
    key = keys["previous-owner"][0]
    assert not logs_in(lab, "root", key)
    assert not logs_in(lab, "user", key)
    assert read(lab, HOST, ROOT_KEYS) == lab.key.with_suffix(".pub").read_text()
    assert sh(lab, f"ls {OTHER_KEYS} 2>/dev/null || true") == ""
    assert effective(lab, "authorizedkeysfile") == ".ssh/authorized_keys"


def test_the_admin_and_the_converge_still_log_in(
    converged: Lab, keys: dict[str, tuple[Path, str]]
) -> None:
    assert logs_in(converged, "rigops", keys["rigops"][0], "sudo", "-n", "true")
    assert converged.ssh_ok(HOST)


def test_a_second_run_changes_nothing(converged: Lab, admins: dict[str, object]) -> None:
    run = run_phase(converged, "baseline", "--limit", HOST, extravars=admins)
    assert run.rc == 0, run.output[-3000:]
    assert run.changed() == {HOST: 0}, run.output[-3000:]


def test_verify_fails_a_host_whose_sshd_reads_another_key_file(
    converged: Lab, admins: dict[str, object]
) -> None:
    lab = converged
    sh(lab, f"printf 'AuthorizedKeysFile /etc/ssh/keys/%%u\\n' > {EARLIER}")
    try:
        run = run_phase(lab, "verify", "--limit", HOST, extravars={"verify_lynis": False})
        assert run.failed() == [HOST], run.output[-3000:]
        record = json.loads((lab.dir / "verify" / f"{HOST}.json").read_text())
        assert record["checks"]["sshd_authorizedkeysfile"] is False
        # The baseline refuses to go on under such a file rather than leave the door open.
        again = run_phase(lab, "baseline", "--limit", HOST, extravars=admins)
        assert again.failed() == [HOST]
        assert "sshd does not take rigshift's value for authorizedkeysfile" in " ".join(
            again.output.split()
        )
    finally:
        sh(lab, f"rm -f {EARLIER}")


def test_a_converge_that_is_not_root_turns_root_logins_off(
    converged: Lab, admins: dict[str, object]
) -> None:
    lab = converged
    # A bootstrap account with sudo, not one of the site's admins, logs in with the lab's key.
    sh(lab, """
        set -e
        useradd --create-home --shell /bin/bash deploy
        install -d -m 700 -o deploy -g deploy /home/deploy/.ssh
        install -m 600 -o deploy -g deploy /root/.ssh/authorized_keys /home/deploy/.ssh/
        echo 'deploy ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/deploy
        chmod 440 /etc/sudoers.d/deploy
    """)  # fmt: skip
    run = run_phase(
        lab, "baseline", "--limit", HOST, extravars={**admins, "ansible_user": "deploy"}
    )
    assert run.rc == 0, run.output[-3000:]
    assert effective(lab, "permitrootlogin") == "no"
    assert sh(lab, "ls /root/.ssh/authorized_keys 2>/dev/null || true") == ""
    assert not lab.ssh_ok(HOST)
    assert logs_in(lab, "deploy", lab.key)
