"""The storage role's safety rules (pure function, no host).

lsblk trees are in the shape of `lsblk --json --tree -o NAME,KNAME,TYPE,FSTYPE,MOUNTPOINTS`.
The files under tests/fixtures/lsblk/ are CAPTURED on real machines (see their README); the
trees written in this file are HAND-WRITTEN, for layouts those machines cannot show (this
kernel has no partitions on loop devices, no device mapper and no md).
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import ROOT
from tests.unit.playbooks.plugins import load

plan_mod = load("storage", "filter_plugins/storage_plan.py")
FIXTURES = ROOT / "tests" / "fixtures" / "lsblk"


def captured(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


# HAND-WRITTEN: a boot partition and / on sda, an empty sdb.
PARTITIONED = {
    "blockdevices": [
        {"name": "sda", "kname": "sda", "type": "disk", "fstype": None, "mountpoints": [None],
         "children": [
            {"name": "sda1", "kname": "sda1", "type": "part", "fstype": "vfat",
             "mountpoints": ["/boot/efi"]},
            {"name": "sda2", "kname": "sda2", "type": "part", "fstype": "ext4",
             "mountpoints": ["/"]},
        ]},
        {"name": "sdb", "kname": "sdb", "type": "disk", "fstype": None, "mountpoints": [None]},
    ]
}  # fmt: skip
# HAND-WRITTEN: / on an LVM volume (dm-0) on nvme0n1p1; sdb an empty disk.
LVM = {
    "blockdevices": [
        {"name": "nvme0n1", "kname": "nvme0n1", "type": "disk", "fstype": None,
         "mountpoints": [None], "children": [
            {"name": "nvme0n1p1", "kname": "nvme0n1p1", "type": "part",
             "fstype": "LVM2_member", "mountpoints": [None], "children": [
                {"name": "vg0-root", "kname": "dm-0", "type": "lvm", "fstype": "ext4",
                 "mountpoints": ["/"]},
            ]},
        ]},
        {"name": "sdb", "kname": "sdb", "type": "disk", "fstype": None, "mountpoints": [None]},
    ]
}  # fmt: skip
# HAND-WRITTEN: / on a RAID1 (md0) over sdb and sdc; sdd a whole-disk LVM PV of another group.
RAID = {
    "blockdevices": [
        {"name": "sda", "kname": "sda", "type": "disk", "fstype": None, "mountpoints": [None]},
        *({"name": d, "kname": d, "type": "disk", "fstype": "linux_raid_member",
           "mountpoints": [None], "children": [
              {"name": "md0", "kname": "md0", "type": "raid1", "fstype": "ext4",
               "mountpoints": ["/"]}]} for d in ("sdb", "sdc")),
        {"name": "sdd", "kname": "sdd", "type": "disk", "fstype": "LVM2_member",
         "mountpoints": [None]},
    ]
}  # fmt: skip
# HAND-WRITTEN: a systemd-nspawn container: / is an overlay; the host's disk carries /run/host.
CONTAINER = {
    "blockdevices": [
        {"name": "zram0", "kname": "zram0", "type": "disk", "mountpoints": [None]},
        {"name": "vda", "kname": "vda", "type": "disk",
         "mountpoints": ["/run/host/incoming", "/run/host/os"]},
    ]
}  # fmt: skip
DATA = [
    {"name": "sda", "role": "os"},
    {"name": "sdb", "role": "data"},
    {"name": "sdc", "role": "none"},
]
EXT4 = [{"type": "ext4", "label": "old-miner-data"}]
OURS = [{"type": "ext4", "label": "rigshift-data"}]


def decide(
    disks=DATA,
    lsblk=PARTITIONED,
    knames=None,
    signatures=None,
    backend="longhorn",
    wipe=False,
):
    knames = {"sdb": "sdb"} if knames is None else knames
    return plan_mod.storage_plan(disks, lsblk, knames, signatures or {}, backend, wipe)


def data(name: str) -> list[dict]:
    return [{"name": name, "role": "data"}]


def test_os_disk_is_found_through_partitions_lvm_raid_and_containers() -> None:
    assert plan_mod.os_disks(PARTITIONED) == ["sda"]
    assert plan_mod.os_disks(LVM) == ["nvme0n1"]
    assert plan_mod.os_disks(RAID) == ["sdb", "sdc"]
    assert plan_mod.os_disks(CONTAINER) == ["vda"]
    assert plan_mod.os_disks(captured("dev-machine-swap-lvm.json")) == ["vda"]
    assert plan_mod.os_disks({"blockdevices": [{"name": "sdb", "mountpoints": [None]}]}) == []


def test_only_data_disks_are_considered() -> None:
    assert [d["name"] for d in decide()] == ["sdb"]


@pytest.mark.parametrize(
    ("name", "kname", "lsblk", "why"),
    [
        ("sda", "sda", PARTITIONED, "sda holds the OS (/ on sda2), a mounted filesystem"),
        # A symlink the site names: the kernel's device is the OS disk.
        ("disk/by-id/ata-SSD_123", "sda", PARTITIONED, "(the kernel's sda) holds the OS"),
        # The root partition, and the other partition of the OS disk.
        ("sda2", "sda2", PARTITIONED, "sda2 is on sda, which holds the OS"),
        ("sda1", "sda1", PARTITIONED, "sda1 is on sda, which holds the OS"),
        # The root LVM volume through its mapper name.
        ("mapper/vg0-root", "dm-0", LVM, "(the kernel's dm-0) is on nvme0n1, which holds the OS"),
        # A RAID member holding /, and a whole-disk LVM PV of some volume group.
        (
            "sdb",
            "sdb",
            RAID,
            "sdb holds the OS (/ on md0), a RAID member (sdb), a RAID array (md0)",
        ),
        ("sdd", "sdd", RAID, "sdd holds an LVM physical volume (sdd)"),
        # The container's host disk (its mounts are the host's).
        ("vda", "vda", CONTAINER, "vda holds a mounted filesystem (/run/host/incoming"),
    ],
)
def test_a_disk_in_use_is_refused_whatever_it_is_called_and_even_with_the_wipe_flag(
    name: str, kname: str, lsblk: dict, why: str
) -> None:
    [d] = decide(disks=data(name), lsblk=lsblk, knames={name: kname}, wipe=True)
    assert d["action"] == "refuse", d
    assert why in d["reason"]
    assert d["wipe"] is False


def test_real_lsblk_swap_and_lvm_members_are_refused_and_an_empty_disk_is_prepared() -> None:
    # CAPTURED: loop0 is swap in use, loop1 an LVM PV (its FSTYPE blank without udev: the
    # CAPTURED wipefs output shows the member), loop2 empty, vda holds /.
    lsblk = captured("dev-machine-swap-lvm.json")
    lvm = captured("wipefs-lvm-member.json")["signatures"]
    disks = data("loop0") + data("loop1") + data("loop2")
    knames = {"loop0": "loop0", "loop1": "loop1", "loop2": "loop2"}
    swap, member, empty = decide(
        disks=disks, lsblk=lsblk, knames=knames, signatures={"loop1": lvm}, wipe=True
    )
    assert swap["action"] == "refuse" and "swap in use (loop0)" in swap["reason"]
    assert member["action"] == "refuse" and "an LVM physical volume" in member["reason"]
    assert empty["action"] == "prepare" and empty["wipe"] is False


def test_a_swap_signature_not_in_use_is_a_foreign_signature_like_any_other() -> None:
    # CAPTURED wipefs output of a disk holding a swap signature and a GPT.
    signatures = captured("wipefs-swap.json")["signatures"]
    [refused] = decide(signatures={"sdb": signatures})
    assert refused["action"] == "refuse" and "holds PMBR, gpt, swap" in refused["reason"]
    [allowed] = decide(signatures={"sdb": signatures}, wipe=True)
    assert allowed["action"] == "prepare" and allowed["wipe"] is True


def test_a_device_lsblk_cannot_place_or_that_is_no_block_device_is_refused() -> None:
    [unknown] = decide(knames={"sdb": "sdz"})
    assert unknown["action"] == "refuse"
    assert "not in lsblk's list of block devices" in unknown["reason"]
    [plain] = decide(knames={"sdb": ""})
    assert plain["action"] == "refuse" and "not a block device" in plain["reason"]


def test_a_disk_mounted_where_this_role_mounts_its_own_is_ready() -> None:
    mounted = {
        "blockdevices": [
            *PARTITIONED["blockdevices"][:1],
            {"name": "sdb", "kname": "sdb", "type": "disk", "fstype": "ext4",
             "mountpoints": ["/var/lib/rigshift/disks/sdb"]},
        ]
    }  # fmt: skip
    [d] = decide(lsblk=mounted, signatures={"sdb": OURS})
    assert d["action"] == "ready"
    [elsewhere] = decide(
        lsblk={"blockdevices": [*mounted["blockdevices"][:1], {**mounted["blockdevices"][1],
               "mountpoints": ["/srv/data"]}]},
        signatures={"sdb": OURS},
    )  # fmt: skip
    assert elsewhere["action"] == "refuse" and "/srv/data on sdb" in elsewhere["reason"]


def test_a_disk_with_a_foreign_filesystem_needs_the_flag() -> None:
    [refused] = decide(signatures={"sdb": EXT4})
    assert refused["action"] == "refuse"
    assert "storage_allow_wipe=true" in refused["reason"]
    [allowed] = decide(signatures={"sdb": EXT4}, wipe=True)
    assert allowed["action"] == "prepare" and allowed["wipe"] is True


def test_an_empty_disk_is_prepared_without_wiping() -> None:
    [d] = decide()
    assert d["action"] == "prepare" and d["wipe"] is False


def test_a_disk_prepared_before_is_left_alone() -> None:
    [d] = decide(signatures={"sdb": OURS})
    assert d["action"] == "ready"


def test_rook_ceph_takes_raw_disks_and_recognises_its_own() -> None:
    assert decide(backend="rook-ceph")[0]["action"] == "ready"
    assert (
        decide(backend="rook-ceph", signatures={"sdb": [{"type": "ceph_bluestore"}]})[0]["action"]
        == "ready"
    )
    assert decide(backend="rook-ceph", signatures={"sdb": OURS})[0]["action"] == "refuse"


def test_absent_disk_is_a_skip_and_an_unplaceable_root_refuses_everything() -> None:
    assert decide(knames={})[0]["action"] == "skip"
    nothing_mounted = {"blockdevices": [{"name": "sdb", "kname": "sdb", "type": "disk"}]}
    [d] = decide(lsblk=nothing_mounted)
    assert d["action"] == "refuse" and "cannot tell which disk holds /" in d["reason"]


def _looped(name: str, rc: int, stdout: str) -> dict:
    """One result of a task looped over stat results, as Ansible registers it."""
    return {"item": {"item": {"name": name}}, "rc": rc, "stdout": stdout}


def test_the_looped_command_results_become_names_and_signatures() -> None:
    knames = plan_mod.resolved_knames(
        [_looped("disk/by-id/x", 0, "sdb\n"), _looped("/dev/plain", 32, "")]
    )
    assert knames == {"disk/by-id/x": "sdb", "plain": ""}
    swap = (FIXTURES / "wipefs-swap.json").read_text()
    signatures = plan_mod.wipefs_signatures(
        [_looped("sdb", 0, swap), _looped("sdc", 0, ""), _looped("sdd", 1, "")]
    )
    assert [s["type"] for s in signatures["sdb"]] == ["swap", "gpt", "PMBR"]
    assert signatures["sdc"] == [] and signatures["sdd"] is None


def test_a_disk_whose_signatures_cannot_be_read_is_not_taken_for_an_empty_one() -> None:
    [d] = decide(signatures={"sdb": None}, wipe=True)
    assert d["action"] == "refuse" and "cannot read sdb's signatures" in d["reason"]
