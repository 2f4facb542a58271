"""The survey playbook's bounds: no command on a rig may hold the survey forever.

The real playbook runs here through `run_survey` against two local-connection hosts with a
survey of two commands, one of which never answers on one host.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from rigshift import paths
from rigshift.discover.playbook import run_survey

TASKS = paths.PLAYBOOKS / "roles" / "discover" / "tasks" / "main.yml"


def test_every_command_on_the_rig_has_a_timeout_of_its_own() -> None:
    tasks = yaml.safe_load(TASKS.read_text())
    commands = [t for t in tasks if "ansible.builtin.command" in t or "ansible.builtin.shell" in t]
    assert len(commands) == 2, "the role's commands moved: update this test"
    unbounded = [
        t["name"] for t in commands if t.get("timeout") != "{{ discover_command_timeout }}"
    ]
    assert unbounded == []


def test_a_command_that_hangs_fails_its_host_alone_within_the_command_timeout(
    tmp_path: Path,
) -> None:
    def survey(nvidia_smi: str) -> list[dict[str, str]]:
        # The playbook's summary reads these two files' exit status on every host.
        return [
            {"file": "nvidia-smi.xml", "command": nvidia_smi},
            {"file": "lspci.txt", "command": "echo ok"},
        ]

    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        yaml.safe_dump(
            {
                "all": {
                    "vars": {
                        "ansible_connection": "local",
                        "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                        "discover_command_timeout": 2,
                    },
                    "hosts": {
                        # A driver that never answers: it outlives the timeout, then ends alone.
                        "stuck": {"discover_commands": survey("sleep 20")},
                        "fine": {"discover_commands": survey("exit 127")},
                    },
                }
            }
        )
    )
    run = run_survey([str(inventory)], tmp_path / "out", hosts="all")
    assert (run.surveyed, run.failed, run.unreachable) == (["fine"], ["stuck"], [])
    assert (tmp_path / "out" / "fine" / "lspci.txt").read_text() == "ok\n"
    assert not (tmp_path / "out" / "stuck").exists()
