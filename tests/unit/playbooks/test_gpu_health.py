"""The gpu_stack role's driver policy and health parsing (pure functions, no host).

The nvidia-smi lines are hand-written in the documented format of
`nvidia-smi --query-gpu=index,pci.bus_id,name,pcie.link.gen.max,pcie.link.gen.current,
pcie.link.width.max,pcie.link.width.current --format=csv,noheader,nounits`; the kernel lines
follow the NVRM Xid and pcieport AER message formats.
"""

from __future__ import annotations

from rigshift import labels
from tests.unit.playbooks.plugins import load

gpu = load("gpu_stack", "filter_plugins/gpu_health.py")
node_labels = load("kubernetes", "filter_plugins/node_labels.py")

SMI = """\
0, 00000000:01:00.0, NVIDIA GeForce RTX 3090, 4, 1, 16, 1
1, 00000000:02:00.0, NVIDIA GeForce RTX 3090, 4, 1, 16, 16
2, 00000000:03:00.0, NVIDIA GeForce RTX 3060, [N/A], 1, 16, 16
"""
KERNEL = """\
NVRM: Xid (PCI:0000:01:00): 79, pid=1234, name=python3, GPU has fallen off the bus.
NVRM: Xid (PCI:0000:02:00): 13, pid=99, name=miner, Graphics SM Warp Exception
NVRM: Xid (PCI:0000:02:00): 13, pid=99, name=miner, Graphics SM Warp Exception
pcieport 0000:00:1c.0: AER: Corrected error received: 0000:01:00.0
pcieport 0000:00:1c.0: AER: Uncorrected (Non-Fatal) error received: 0000:01:00.0
"""


def test_driver_track_follows_the_oldest_kept_card() -> None:
    ampere = {"vendor": "NVIDIA", "class": "train"}
    pascal = {"vendor": "NVIDIA", "class": "legacy"}
    cmp_card = {"vendor": "NVIDIA", "class": "retire"}
    amd = {"vendor": "AMD", "class": "retire"}
    assert gpu.driver_track([ampere]) == "production"
    assert gpu.driver_track([ampere, pascal]) == "legacy"
    assert gpu.driver_track([cmp_card, amd]) == "none"
    assert gpu.driver_track([]) == "none"


def test_nvidia_smi_links_are_parsed_with_unknown_fields_as_none() -> None:
    links = gpu.nvidia_smi_links(SMI)
    assert [link["width_current"] for link in links] == [1, 16, 16]
    assert links[0] == {
        "index": 0, "bus_id": "00000000:01:00.0", "name": "NVIDIA GeForce RTX 3090",
        "gen_max": 4, "gen_current": 1, "width_max": 16, "width_current": 1,
    }  # fmt: skip
    assert links[2]["gen_max"] is None
    assert gpu.nvidia_smi_links("") == []


def test_kernel_log_errors_are_counted() -> None:
    errors = gpu.kernel_gpu_errors(KERNEL)
    assert errors == {"xid": {"13": 2, "79": 1}, "aer": {"corrected": 1, "uncorrected": 1}}


def test_health_turns_into_labels_and_taints() -> None:
    health = gpu.health_labels(gpu.nvidia_smi_links(SMI), gpu.kernel_gpu_errors(KERNEL))
    assert health["labels"] == {
        "pcie_gen": "4",  # from the max field: idle cards report Gen1 now
        "pcie_width": "1",
        "pcie_degraded": "true",  # card 0 runs x1 in an x16-capable link
    }
    # Xid 79 (fallen off the bus) taints; Xid 13 (one application's fault) does not.
    assert health["taints"] == [
        "gpu_xid=79:NoSchedule",
        "pcie_aer=uncorrected:NoSchedule",
    ]


def test_the_kubernetes_phase_takes_every_health_label_and_taint_the_gpu_phase_writes() -> None:
    # The record names labels and taints; the kubernetes phase turns the names into keys and
    # refuses any name outside the health allowlist: whatever this role writes must pass.
    health = gpu.health_labels(gpu.nvidia_smi_links(SMI), gpu.kernel_gpu_errors(KERNEL))
    assert set(health["labels"]) == set(labels.HEALTH_LABELS)
    applied = node_labels.health_node_labels(health, labels.vocabulary())
    assert applied["labels"] == {
        labels.PCIE_GEN_LABEL: "4",
        labels.PCIE_WIDTH_LABEL: "1",
        labels.PCIE_DEGRADED_LABEL: "true",
    }
    assert applied["taints"] == [
        f"{labels.GPU_XID_TAINT}=79:NoSchedule",
        f"{labels.PCIE_AER_TAINT}=uncorrected:NoSchedule",
    ]
    # Several fatal Xids in one taint value: still a label value.
    many = gpu.health_labels([], {"xid": {"48": 1, "79": 2, "94": 1}, "aer": {}})
    assert node_labels.health_node_labels(many, labels.vocabulary())["taints"] == [
        f"{labels.GPU_XID_TAINT}=48-79-94:NoSchedule"
    ]


def test_no_driver_means_no_health_labels() -> None:
    assert gpu.health_labels([], gpu.kernel_gpu_errors("")) == {"labels": {}, "taints": []}
