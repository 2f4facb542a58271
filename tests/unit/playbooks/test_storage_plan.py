"""The storage role's safety rules (pure function, no host).

The lsblk trees are hand-written in the shape of `lsblk --json --tree -o NAME,TYPE,MOUNTPOINTS`.
"""

from __future__ import annotations

from tests.unit.playbooks.plugins import load

plan_mod = load("storage", "filter_plugins/storage_plan.py")

PARTITIONED = {
    "blockdevices": [
        {"name": "sda", "type": "disk", "mountpoints": [None], "children": [
            {"name": "sda1", "type": "part", "mountpoints": ["/boot/efi"]},
            {"name": "sda2", "type": "part", "mountpoints": ["/"]},
        ]},
        {"name": "sdb", "type": "disk", "mountpoints": [None]},
    ]
}  # fmt: skip
LVM = {
    "blockdevices": [
        {"name": "nvme0n1", "type": "disk", "mountpoints": [None], "children": [
            {"name": "nvme0n1p1", "type": "part", "mountpoints": [None], "children": [
                {"name": "vg-root", "type": "lvm", "mountpoints": ["/"]},
            ]},
        ]},
        {"name": "sdb", "type": "disk", "mountpoints": [None]},
    ]
}  # fmt: skip
# A systemd-nspawn container: / is an overlay; the host's disk carries nspawn's /run/host mounts.
CONTAINER = {
    "blockdevices": [
        {"name": "zram0", "type": "disk", "mountpoints": [None]},
        {"name": "vda", "type": "disk", "mountpoints": ["/run/host/incoming", "/run/host/os"]},
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
    disks=DATA, os_disks=("sda",), present=None, signatures=None, backend="longhorn", wipe=False
):
    present = {"sdb": True} if present is None else present
    return plan_mod.storage_plan(disks, list(os_disks), present, signatures or {}, backend, wipe)


def test_os_disk_is_found_through_partitions_lvm_and_containers() -> None:
    assert plan_mod.os_disks(PARTITIONED) == ["sda"]
    assert plan_mod.os_disks(LVM) == ["nvme0n1"]
    assert plan_mod.os_disks(CONTAINER) == ["vda"]
    assert plan_mod.os_disks({"blockdevices": [{"name": "sdb", "mountpoints": [None]}]}) == []


def test_only_data_disks_are_considered() -> None:
    assert [d["name"] for d in decide()] == ["sdb"]


def test_the_os_disk_is_refused_even_when_the_site_calls_it_data() -> None:
    [d] = decide(disks=[{"name": "sda", "role": "data"}], present={"sda": True}, wipe=True)
    assert d["action"] == "refuse" and "holds / (the OS disk)" in d["reason"]
    assert d["wipe"] is False


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
    assert decide(present={})[0]["action"] == "skip"
    [d] = decide(os_disks=())
    assert d["action"] == "refuse" and "cannot tell which disk holds /" in d["reason"]
