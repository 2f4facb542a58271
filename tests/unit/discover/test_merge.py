"""Merging surveys into a site file, and `rigshift discover --from-dir` end to end."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from rigshift.cli import cli
from rigshift.discover import merge_fleet, read_host_dir, read_survey_dir, resolve_model
from rigshift.model import parse_site

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "fixtures" / "discover"

SITE = """\
# A small farm, written by hand.
site:
  name: small
  location: test
  power: {capacity_kw: 10, price_per_kwh: 0.1}
  cooling: {kind: air, capacity_kw: 10}
  target_tier: 2

network:
  management_cidr: 10.0.0.0/24
  load_balancer_pool: [10.0.0.200-10.0.0.210]

kubernetes:
  version: v1.36.4+rke2r1
  control_plane: [rig-1]

fleet:
  rigs:
    # The first rig: its PSU was read off the label.
    - name: rig-1
      address: 10.0.0.11
      board: unknown board
      cpu: Intel Celeron G3930
      ram_gb: 4
      disks:
        - {name: sda, size_gb: 16, kind: usb, role: os}
        - {name: sdb, size_gb: 240, kind: ssd, role: data}
      nics: [{name: eth0, speed_gbps: 1}]
      psu_w: 1600
      mining_os: unknown
      gpus:
        - {model: GTX 1070, count: 6}
      notes: fan 3 rattles
    - name: rig-2
      address: 10.0.0.12
      ram_gb: 8
      gpus: [{model: RTX 3060, count: 4}]
"""

MARKERS = "present /hive-config/rig.conf\npresent /hive/bin\nversion /hive/etc/VERSION 0.6-222\n"


def host_dir(root: Path, name: str, ansible_host: str, **files: str) -> Path:
    """A survey folder as the playbook writes it, from hand-written fixture files."""
    folder = root / name
    folder.mkdir(parents=True)
    sources = {
        "nvidia-smi.xml": "nvidia-smi-riser-gen1x1.xml",
        "lsblk.json": "lsblk-usb-root.json",
        "dmidecode.txt": "dmidecode.txt",
        **files,
    }
    for target, source in sources.items():
        shutil.copy(FIXTURES / source, folder / target)
    for name_ in ("cpuinfo.txt", "meminfo.txt", "ip-addr.json"):
        shutil.copy(FIXTURES / "buildvm" / name_, folder / name_)
    (folder / "mining-os.txt").write_text(MARKERS)
    (folder / "net-speed.txt").write_text("/sys/class/net/eth0/speed:1000\n")
    commands = {name_: 0 for name_ in sources} | {"lspci.txt": 127, "drm.txt": 127}
    (folder / "commands.json").write_text(json.dumps(commands))
    host = {"inventory_hostname": name, "ansible_host": ansible_host, "hostname": name}
    (folder / "host.json").write_text(json.dumps(host))
    return folder


def test_survey_updates_measured_fields_and_keeps_hand_written_ones(tmp_path: Path) -> None:
    survey = read_host_dir(host_dir(tmp_path, "rig-1", "10.0.0.11"))
    result = merge_fleet(SITE, [survey])
    rig = parse_site(result.text).rig("rig-1")
    assert rig.board == "ASRock H110 Pro BTC+"
    assert (rig.cpu, rig.cpu_cores, rig.ram_gb) == ("AMD EPYC", 2, 24)
    assert rig.mining_os == "hiveos"
    (gpu,) = rig.gpus
    assert gpu.model == "GTX 1070"
    assert (gpu.link and gpu.link.gen, gpu.link and gpu.link.width) == (1, 1)
    assert gpu.uuid == "GPU-0a0b0c0d-1111-2222-3333-444455556666"
    assert gpu.bus_id == "0000:07:00.0"
    # The survey cannot know these: PSU watts, notes, and the role a person gave the data disk.
    assert rig.psu_w == 1600
    assert rig.notes == "fan 3 rattles"
    assert [(d.name, d.kind, d.role) for d in rig.disks] == [
        ("sda", "usb", "os"),
        ("sdb", "ssd", "data"),
    ]
    assert [(n.name, n.speed_gbps, n.mac) for n in rig.nics] == [("eth0", 1, "02:fc:00:00:00:01")]
    assert result.updated == ["rig-1"]
    assert "# The first rig: its PSU was read off the label." in result.text
    assert "# A small farm, written by hand." in result.text
    # A rig no survey reached is left exactly as it was.
    assert "      gpus: [{model: RTX 3060, count: 4}]\n" in result.text


def test_second_merge_of_the_same_survey_changes_nothing(tmp_path: Path) -> None:
    survey = read_host_dir(host_dir(tmp_path, "rig-1", "10.0.0.11"))
    once = merge_fleet(SITE, [survey]).text
    again = merge_fleet(once, [survey])
    assert again.text == once
    assert again.unchanged == ["rig-1"]


def test_new_rig_is_added_with_the_address_ansible_reached(tmp_path: Path) -> None:
    survey = read_host_dir(host_dir(tmp_path, "rig-9", "10.0.0.19"))
    result = merge_fleet(SITE, [survey])
    assert result.added == ["rig-9"]
    rig = parse_site(result.text).rig("rig-9")
    assert str(rig.address) == "10.0.0.19"
    assert [d.role for d in rig.disks] == ["os", "none"]


def test_a_first_survey_by_address_names_the_rig_after_its_address(tmp_path: Path) -> None:
    # Not after the host name it reports: a rig is never named after what it says about itself.
    folder = host_dir(tmp_path, "10.0.0.21", "10.0.0.21")
    (folder / "host.json").write_text(
        json.dumps({"ansible_host": "10.0.0.21", "hostname": "Rig21"})
    )
    result = merge_fleet(SITE, [read_host_dir(folder)])
    assert result.added == ["rig-10-0-0-21"]


def test_a_first_survey_fills_an_empty_fleet(tmp_path: Path) -> None:
    empty = SITE[: SITE.index("fleet:")] + "fleet:\n  rigs: []\n"
    survey = read_host_dir(host_dir(tmp_path, "rig-1", "10.0.0.11"))
    result = merge_fleet(empty, [survey])
    assert result.added == ["rig-1"]
    assert "  rigs:\n    - name: rig-1\n      address: 10.0.0.11\n" in result.text
    assert parse_site(result.text).rig("rig-1").gpus[0].model == "GTX 1070"


def test_without_any_gpu_source_the_written_gpus_stay(tmp_path: Path) -> None:
    folder = host_dir(tmp_path, "rig-2", "10.0.0.12")
    (folder / "nvidia-smi.xml").unlink()
    commands = json.loads((folder / "commands.json").read_text())
    (folder / "commands.json").write_text(json.dumps(commands | {"nvidia-smi.xml": 127}))
    survey = read_host_dir(folder)
    assert not survey.gpus_surveyed
    assert "no NVIDIA driver (nvidia-smi not found)" in survey.notes
    result = merge_fleet(SITE, [survey])
    assert parse_site(result.text).rig("rig-2").gpus[0].model == "RTX 3060"
    assert any("GPUs left as written" in note for note in result.notes)


def test_a_survey_inside_a_container_says_so(tmp_path: Path) -> None:
    folder = host_dir(tmp_path, "rig-1", "10.0.0.11")
    (folder / "container.txt").write_text("systemd-nspawn\n")
    survey = read_host_dir(folder)
    assert survey.container == "systemd-nspawn"
    assert any(note.startswith("runs in a container (systemd-nspawn)") for note in survey.notes)
    (folder / "container.txt").write_text("none\n")
    assert read_host_dir(folder).container is None


def test_driverless_cards_come_from_lspci_and_amd_from_sysfs(tmp_path: Path) -> None:
    folder = host_dir(
        tmp_path, "rig-1", "10.0.0.11", **{"lspci.txt": "lspci-rig.txt", "drm.txt": "drm-amd.txt"}
    )
    (folder / "commands.json").write_text("{}")
    gpus = read_host_dir(folder).gpus()
    assert [(g.bus_id, g.source, g.model, g.in_catalogue) for g in gpus] == [
        ("0000:07:00.0", "nvidia-smi", "GTX 1070", True),
        ("0000:02:00.0", "sysfs", "RX 580 8GB", True),
        ("0000:01:00.0", "lspci", "RTX 3090", True),
        ("0000:03:00.0", "lspci", "P106-100", True),
    ]
    # The family name alone fits several 8 GB cards; the board's subsystem name settles it.
    assert gpus[1].name == "Radeon RX 470/480/570/570X/580/580X/590"
    rtx = gpus[2]
    assert (str(rtx.link), str(rtx.link_current)) == ("Gen4 x1", "Gen1 x1")
    assert gpus[1].vram_gb == 8.0


def test_ambiguous_amd_names_resolve_by_vram_or_board_name_or_stay_verbatim() -> None:
    family = "Radeon RX 470/480/570/570X/580/580X/590"
    assert resolve_model(family, 8.0) == (family, False)
    assert resolve_model(family, 8.0, "Sapphire Nitro+ Radeon RX 580 8GB") == ("RX 580 8GB", True)
    # A board name that contradicts the VRAM seen is not believed.
    assert resolve_model(family, 8.0, "Sapphire Nitro+ Radeon RX 580 4GB") == (family, False)
    assert resolve_model("Graphics Device", 5.8) == ("Graphics Device", False)
    # The PCI id decides where the driver's name says nothing.
    assert resolve_model("Graphics Device", 5.8, pci_id="10de:2184") == ("GTX 1660", True)
    assert resolve_model("NVIDIA GeForce RTX 3060 Laptop GPU", 6.0, pci_id="10de:2560") == (
        "NVIDIA GeForce RTX 3060 Laptop GPU",
        False,
    )


def run_discover(site_dir: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["discover", str(site_dir), *args])
    assert "Traceback" not in result.output
    return result.exit_code, result.output


@pytest.fixture
def site_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "small"
    folder.mkdir()
    (folder / "site.yaml").write_text(SITE)
    return folder


def test_from_dir_previews_then_merge_writes(site_dir: Path, tmp_path: Path) -> None:
    survey = tmp_path / "survey"
    host_dir(survey, "rig-1", "10.0.0.11")
    code, out = run_discover(site_dir, "--from-dir", str(survey))
    assert code == 0, out
    assert "rig-1: hiveos 0.6-222, 1 GPUs (NVIDIA driver 390.48)" in out
    assert "+      mining_os: hiveos" in out
    assert "preview only" in out
    assert (site_dir / "site.yaml").read_text() == SITE
    code, out = run_discover(site_dir, "--from-dir", str(survey), "--merge")
    assert code == 0, out
    assert "0 rigs added, 1 updated" in out
    assert parse_site((site_dir / "site.yaml").read_text()).rig("rig-1").mining_os == "hiveos"
    code, out = run_discover(site_dir, "--from-dir", str(survey), "--merge")
    assert (code, out.splitlines()[-1]) == (0, f"{site_dir / 'site.yaml'}: no change")


def test_limit_merges_only_the_named_hosts(site_dir: Path, tmp_path: Path) -> None:
    survey = tmp_path / "survey"
    host_dir(survey, "rig-1", "10.0.0.11")
    host_dir(survey, "rig-7", "10.0.0.17")
    assert [s.host for s in read_survey_dir(survey, {"rig-7"})] == ["rig-7"]
    code, out = run_discover(site_dir, "--from-dir", str(survey), "--limit", "rig-7", "--merge")
    assert code == 0, out
    text = (site_dir / "site.yaml").read_text()
    assert "rig-7" in text
    assert "mining_os: unknown" in text


def test_a_file_that_is_not_what_the_parser_expects_leaves_the_site_untouched(
    site_dir: Path, tmp_path: Path
) -> None:
    survey = tmp_path / "survey"
    folder = host_dir(survey, "rig-1", "10.0.0.11")
    (folder / "nvidia-smi.xml").write_text("Failed to initialize NVML: Driver/library mismatch\n")
    code, out = run_discover(site_dir, "--from-dir", str(survey), "--merge", "--yes")
    assert code == 2
    assert f"{folder / 'nvidia-smi.xml'}: not nvidia-smi -q -x output" in out
    assert "Traceback" not in out
    assert (site_dir / "site.yaml").read_text() == SITE


def test_an_unknown_gpu_name_is_kept_and_the_invalid_result_not_written(
    site_dir: Path, tmp_path: Path
) -> None:
    survey = tmp_path / "survey"
    folder = host_dir(survey, "rig-1", "10.0.0.11")
    shutil.copy(FIXTURES / "nvidia-smi-ecc-retired.xml", folder / "nvidia-smi.xml")
    code, out = run_discover(site_dir, "--from-dir", str(survey), "--merge", "--yes")
    assert code == 2
    assert "'NVIDIA A10' is not in the catalogue; kept verbatim" in out
    assert "GPU 0000:3b:00.0: 3 uncorrectable ECC errors" in out
    assert "GPU 0000:3b:00.0: 2 retired pages" in out
    assert "fleet.rigs[0].gpus[0].model: unknown GPU model 'NVIDIA A10'" in out
    assert "left untouched" in out
    assert (site_dir / "site.yaml").read_text() == SITE


def test_an_empty_or_wrong_survey_dir_is_a_clear_error(site_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "empty" / "rig-1").mkdir(parents=True)
    code, out = run_discover(site_dir, "--from-dir", str(tmp_path / "empty"))
    assert code == 2
    assert "not a survey directory" in out
