"""lspci, sysfs, lsblk, ip, dmidecode, cpuinfo, meminfo and mining-OS parsing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from rigshift.discover import (
    PcieLink,
    SurveyFileError,
    parse_cpuinfo,
    parse_dmi_id,
    parse_dmidecode,
    parse_drm_cards,
    parse_ip_addr,
    parse_lsblk,
    parse_lspci,
    parse_meminfo,
    parse_mining_os,
    parse_net_speeds,
)

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "fixtures" / "discover"
BUILDVM = FIXTURES / "buildvm"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


# --- lspci -------------------------------------------------------------------------------------


def test_lspci_lists_display_devices_only_with_riser_links() -> None:
    devices = parse_lspci(fixture("lspci-rig.txt"))
    assert [(d.bus_id, d.class_code, d.vendor) for d in devices] == [
        ("0000:01:00.0", "0300", "NVIDIA"),
        ("0000:02:00.0", "0300", "AMD"),
        ("0000:03:00.0", "0302", "NVIDIA"),
        ("0000:04:00.0", "0300", "ASPEED"),
    ]
    rtx = devices[0]
    assert rtx.marketing_name == "GeForce RTX 3090"
    assert (rtx.vendor_id, rtx.device_id) == ("10de", "2204")
    assert rtx.kernel_driver is None
    assert rtx.link_cap == PcieLink(4, 16)
    assert rtx.link_status == PcieLink(1, 1)
    # A card on an x1 riser: the plan keeps the card's generation and the riser's one lane.
    assert rtx.plan_link == PcieLink(4, 1)
    assert devices[1].marketing_name == "Radeon RX 470/480/570/570X/580/580X/590"
    assert devices[1].kernel_driver == "amdgpu"
    assert devices[1].subsystem == "Sapphire Technology Limited Nitro+ Radeon RX 580 8GB"
    assert devices[3].link_cap == PcieLink()


def test_lspci_without_numeric_ids_or_domain_and_with_unknown_speed() -> None:
    gtx, vega = parse_lspci(fixture("lspci-plain.txt"))
    assert (gtx.bus_id, gtx.class_code, gtx.vendor) == ("0000:01:00.0", None, "NVIDIA")
    assert gtx.marketing_name == "GeForce GTX 1070"
    assert (gtx.link_cap, gtx.link_status) == (PcieLink(3, 16), PcieLink(2, 1))
    assert vega.class_name == "Display controller"
    assert vega.vendor == "AMD"
    assert vega.link_cap == PcieLink(None, 16)


def test_lspci_in_a_container_that_sees_no_pci_bus_is_empty() -> None:
    assert parse_lspci("") == []
    assert parse_lspci("\n") == []


def test_lspci_that_sees_only_the_hosts_non_display_devices_is_empty() -> None:
    text = "00:1f.2 SATA controller [0106]: Intel Corporation Device [8086:a102] (rev 31)\n"
    assert parse_lspci(text) == []


def test_not_lspci_output_names_the_file() -> None:
    with pytest.raises(SurveyFileError, match=r"^h/lspci\.txt: not lspci -vv output"):
        parse_lspci("bash: lspci: command not found\n", "h/lspci.txt")


# --- sysfs ---------------------------------------------------------------------------------------


def test_drm_amd_card_links_vram_and_bus_id_skipping_connectors() -> None:
    (card,) = parse_drm_cards(fixture("drm-amd.txt"))
    assert card.card == "card0"
    assert card.bus_id == "0000:02:00.0"
    assert (card.vendor_id, card.device_id) == ("1002", "67df")
    assert card.vram_bytes == 8 * 1024**3
    assert card.link_current == PcieLink(1, 1)
    assert card.link_max == PcieLink(3, 16)
    assert card.plan_link == PcieLink(3, 1)


def test_net_speeds_leave_out_links_that_are_down() -> None:
    text = "/sys/class/net/eth0/speed:1000\n/sys/class/net/eth1/speed:-1\n"
    assert parse_net_speeds(text) == {"eth0": 1000}
    assert parse_net_speeds((BUILDVM / "net-speed.txt").read_text()) == {}


def test_dmi_id_ignores_oem_placeholders() -> None:
    text = (
        "/sys/class/dmi/id/board_vendor:Biostar Group\n"
        "/sys/class/dmi/id/board_name:TB360-BTC PRO\n"
        "/sys/class/dmi/id/bios_version:Default string\n"
    )
    board = parse_dmi_id(text)
    assert board.board == "Biostar Group TB360-BTC PRO"
    assert board.bios_version is None


def test_sysfs_dump_that_is_not_one_names_the_file() -> None:
    with pytest.raises(SurveyFileError, match=r"^h/drm\.txt: not a sysfs dump.*line 1"):
        parse_drm_cards("card0 vendor 0x1002\n", "h/drm.txt")


# --- disks, NICs, board, CPU, RAM ---------------------------------------------------------------


def test_lsblk_finds_the_disk_holding_root_and_skips_empty_loop_and_zram() -> None:
    usb, ssd = parse_lsblk(fixture("lsblk-usb-root.json"))
    assert (usb.name, usb.transport, usb.holds_root, usb.model) == ("sda", "usb", True, "Ultra Fit")
    assert (ssd.name, ssd.rotational, ssd.holds_root) == ("sdb", False, False)
    assert ssd.size_bytes == 240057409536


def test_lsblk_of_the_build_vm() -> None:
    (disk,) = parse_lsblk((BUILDVM / "lsblk.json").read_text())
    assert (disk.name, disk.holds_root, disk.size_bytes) == ("vda", True, 274877906944)


def test_ip_addr_of_the_build_vm() -> None:
    nics = {nic.name: nic for nic in parse_ip_addr((BUILDVM / "ip-addr.json").read_text())}
    assert set(nics) == {"lo", "ifb0", "ifb1", "eth0"}
    assert nics["eth0"].mac == "02:fc:00:00:00:01"
    assert nics["eth0"].addresses == ("192.0.2.2/24",)
    assert nics["lo"].link_type == "loopback"


def test_ip_link_output_without_addresses_also_parses() -> None:
    text = '[{"ifname": "enp3s0", "address": "AA:BB:CC:DD:EE:FF", "link_type": "ether"}]'
    (nic,) = parse_ip_addr(text)
    assert (nic.mac, nic.addresses) == ("aa:bb:cc:dd:ee:ff", ())


def test_dmidecode_board_and_bios() -> None:
    board = parse_dmidecode(fixture("dmidecode.txt"))
    assert board.board == "ASRock H110 Pro BTC+"
    assert (board.bios_vendor, board.bios_version) == ("American Megatrends Inc.", "P1.20")
    assert board.bios_date == "07/27/2017"


def test_cpuinfo_and_meminfo_of_the_build_vm() -> None:
    cpu = parse_cpuinfo((BUILDVM / "cpuinfo.txt").read_text())
    assert (cpu.model, cpu.cores, cpu.threads) == ("AMD EPYC", 2, 2)
    assert parse_meminfo((BUILDVM / "meminfo.txt").read_text()) > 20 * 1024**3


def test_cpuinfo_counts_physical_cores_not_threads() -> None:
    block = "processor : {n}\nmodel name : Intel(R) Core(TM) i3-8100 CPU @ 3.60GHz\n"
    block += "physical id : 0\ncpu cores : 2\n\n"
    cpu = parse_cpuinfo("".join(block.format(n=n) for n in range(4)))
    assert (cpu.cores, cpu.threads) == (2, 4)


@pytest.mark.parametrize(
    ("parser", "text", "message"),
    [
        (parse_lsblk, "NAME SIZE\nsda 16G\n", r"not lsblk -J -b output"),
        (parse_lsblk, '{"devices": []}', r"no 'blockdevices' list"),
        (parse_ip_addr, "1: lo: <LOOPBACK,UP>", r"not ip -j addr output"),
        (parse_ip_addr, '{"ifname": "eth0"}', r"top level is not a list"),
        (parse_cpuinfo, "Hello\n", r"not /proc/cpuinfo"),
        (parse_meminfo, "MemFree: 12 kB\n", r"not /proc/meminfo"),
        (parse_dmidecode, "Permission denied\n", r"not dmidecode output"),
        (parse_mining_os, "HIVE_HOST_URL=x\n", r"not a mining-OS marker list"),
    ],
)
def test_wrong_input_names_the_file(
    parser: Callable[[str, str], object], text: str, message: str
) -> None:
    with pytest.raises(SurveyFileError, match=rf"^rig-7/in: .*{message}"):
        parser(text, "rig-7/in")


# --- mining OS -----------------------------------------------------------------------------------


def test_hiveos_with_version_from_its_version_file() -> None:
    text = "present /hive-config/rig.conf\npresent /hive/bin\nversion /hive/etc/VERSION 0.6-222\n"
    found = parse_mining_os(text)
    assert (found.kind, found.version) == ("hiveos", "0.6-222")
    assert "/hive-config/rig.conf" in found.evidence


def test_hiveos_version_from_the_package_when_no_version_file() -> None:
    found = parse_mining_os("present /hive/bin\npackage hive 0.6-219@220101\n")
    assert (found.kind, found.version) == ("hiveos", "0.6-219@220101")


def test_no_markers_is_a_plain_os() -> None:
    found = parse_mining_os((BUILDVM / "mining-os.txt").read_text())
    assert (found.kind, found.version) == ("none", None)


# --- what a hostile or broken rig reports ----------------------------------------------------


@pytest.mark.parametrize(
    ("parse", "text", "says"),
    [
        (parse_lsblk, '{"blockdevices": [{"type": "disk", "size": 1e400}]}', "out of range"),
        (parse_lsblk, '{"blockdevices": [{"type": "disk", "size": 8e9}]}', "has no 'name'"),
        (parse_lsblk, '{"blockdevices": [{"type": "disk", "size": NaN}]}', "not a number"),
        (parse_lsblk, "[" * 100_000 + "]" * 100_000, "nested too deeply"),
        (parse_ip_addr, "[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ],
)
def test_hostile_json_names_the_file_instead_of_a_traceback(
    parse: Callable[[str, str], object], text: str, says: str
) -> None:
    with pytest.raises(SurveyFileError) as raised:
        parse(text, "rig-7/lsblk.json")
    assert "rig-7/lsblk.json" in str(raised.value) and says in str(raised.value)


def test_a_pci_address_with_a_bad_domain_is_not_kept() -> None:
    from rigshift.discover.common import pci_address

    assert pci_address("00000000:2D:00.0") == "0000:2d:00.0"
    assert pci_address("01:00.0") == "0000:01:00.0"
    assert pci_address("zzzz:2d:00.0") is None
    assert pci_address("0000:2d:00.9") is None


def test_a_survey_file_far_too_large_is_not_read(tmp_path: Path) -> None:
    from rigshift.discover import read_host_dir

    host = tmp_path / "rig-7"
    host.mkdir()
    with (host / "nvidia-smi.xml").open("wb") as handle:
        handle.truncate(17 * 1024 * 1024)  # sparse: costs no disk
    with pytest.raises(SurveyFileError, match="at most 16,777,216 are read"):
        read_host_dir(host)


def test_a_malformed_local_address_is_passed_over_when_finding_the_management_address() -> None:
    import ipaddress

    from rigshift.discover import HostSurvey, NetInterface

    nic = NetInterface("eth0", None, "ether", "UP", addresses=("10.0.0.999/24", "10.0.0.7/24"))
    survey = HostSurvey(host="rig-7", directory=Path("rig-7"), nics=[nic])
    assert survey.management_address(ipaddress.IPv4Network("10.0.0.0/24")) == "10.0.0.7"
