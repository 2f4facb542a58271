"""`rigshift render` writes the non-secret part of Pulumi.<site>.yaml and keeps the rest."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from rigshift.render.stack import stack_config_target
from rigshift.site import Site
from tests.conftest import ROOT


def repo_with_lab(tmp_path: Path) -> Path:
    """A copy of the repository layout: inventories/lab beside stacks/Pulumi.yaml."""
    site_dir = tmp_path / "inventories" / "lab"
    site_dir.mkdir(parents=True)
    shutil.copy(ROOT / "inventories" / "lab" / "site.yaml", site_dir)
    (tmp_path / "stacks").mkdir()
    shutil.copy(ROOT / "stacks" / "Pulumi.yaml", tmp_path / "stacks")
    return site_dir


def render(site_dir: Path) -> tuple[Path, dict[str, object]]:
    ((path, text),) = stack_config_target(Site.load(site_dir))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path, yaml.safe_load(text)


def test_render_points_the_stack_at_the_site_and_its_kubeconfig(tmp_path: Path) -> None:
    site_dir = repo_with_lab(tmp_path)
    path, document = render(site_dir)
    assert path == tmp_path / "stacks" / "Pulumi.lab.yaml"
    assert document["config"] == {
        "rigshift:site": "../inventories/lab/site.yaml",
        "rigshift:kubeconfigPath": "../inventories/lab/generated/kubeconfig",
    }


def test_render_keeps_secrets_and_keys_it_does_not_own(tmp_path: Path) -> None:
    site_dir = repo_with_lab(tmp_path)
    stack = tmp_path / "stacks" / "Pulumi.lab.yaml"
    stack.write_text(
        "encryptionsalt: v1:abc:def\n"
        "config:\n"
        "  rigshift:site: old/path.yaml\n"
        "  rigshift:hostLayer: 'true'\n"
        "  rigshift:grafanaAdminPassword:\n"
        "    secure: v1:AAAABBBB\n"
    )
    _, document = render(site_dir)
    assert document["encryptionsalt"] == "v1:abc:def"
    config = document["config"]
    assert config["rigshift:site"] == "../inventories/lab/site.yaml"
    assert config["rigshift:hostLayer"] == "true"
    assert config["rigshift:grafanaAdminPassword"] == {"secure": "v1:AAAABBBB"}
    again = stack_config_target(Site.load(site_dir))
    assert again[0][1] == stack.read_text()


def test_a_site_outside_the_repository_layout_gets_its_stack_config_in_generated(
    tmp_path: Path,
) -> None:
    site_dir = tmp_path / "copy-of-lab"
    site_dir.mkdir()
    shutil.copy(ROOT / "inventories" / "lab" / "site.yaml", site_dir)
    path, document = render(site_dir)
    # The stack is named after the folder, so a copy never takes the original's stack config.
    assert path == site_dir / "generated" / "Pulumi.copy-of-lab.yaml"
    assert document["config"]["rigshift:site"] == "../site.yaml"


def test_a_malformed_stack_config_is_bad_input_and_is_left_as_it_is(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from rigshift.cli import cli

    site_dir = repo_with_lab(tmp_path)
    stack = tmp_path / "stacks" / "Pulumi.lab.yaml"
    stack.write_text("config: [unclosed\n")
    result = CliRunner().invoke(cli, ["render", str(site_dir)])
    assert result.exit_code == 2
    assert f"{stack}: not a readable Pulumi stack config" in result.stderr
    assert "Traceback" not in result.output
    assert stack.read_text() == "config: [unclosed\n"
    assert not (site_dir / "generated").exists(), "nothing is written when one target fails"


PLAIN_PASSWORD = "config:\n  rigshift:grafanaAdminPassword: hunter2-plain\n"


def test_a_plaintext_grafana_password_is_refused_by_render_preview_and_ci(
    tmp_path: Path,
) -> None:
    from click.testing import CliRunner

    from rigshift.cli import cli

    site_dir = repo_with_lab(tmp_path)
    stack = tmp_path / "stacks" / "Pulumi.lab.yaml"
    stack.write_text(PLAIN_PASSWORD)
    for command in ("render", "preview", "ci"):
        result = CliRunner().invoke(cli, [command, str(site_dir)])
        assert result.exit_code != 0, (command, result.output)
        out = result.output + (result.stderr or "")
        assert "config.rigshift:grafanaAdminPassword is in plain text" in out, (command, out)
        assert "pulumi config set --secret --stack lab rigshift:grafanaAdminPassword" in out
        assert "hunter2-plain" not in out, command
        assert "Traceback" not in out
    assert stack.read_text() == PLAIN_PASSWORD
    # An encrypted value (what `pulumi config set --secret` writes) is kept as it is.
    stack.write_text("config:\n  rigshift:grafanaAdminPassword:\n    secure: AAABAGx==\n")
    assert CliRunner().invoke(cli, ["render", str(site_dir)]).exit_code == 0
    assert "secure: AAABAGx==" in stack.read_text()


def test_render_keeps_an_operators_file_modes_and_writes_a_new_stack_config_0600(
    tmp_path: Path,
) -> None:
    from rigshift.render import render as render_site

    site_dir = repo_with_lab(tmp_path)
    render_site(Site.load(site_dir))
    stack = tmp_path / "stacks" / "Pulumi.lab.yaml"
    hosts = site_dir / "generated" / "hosts.yml"
    assert stack.stat().st_mode & 0o777 == 0o600
    assert hosts.stat().st_mode & 0o777 == 0o644
    # The operator tightens the inventory; a change of the site file re-renders it.
    hosts.chmod(0o600)
    site = site_dir / "site.yaml"
    site.write_text(site.read_text().replace("name: lab\n", "name: lab\n# changed\n", 1) + "\n")
    hosts.write_text(hosts.read_text() + "# stale\n")
    assert hosts in render_site(Site.load(site_dir)).written
    assert hosts.stat().st_mode & 0o777 == 0o600
