"""Merge host surveys into the `fleet` section of a site file, keeping everything else.

The site file is edited round-trip (ruamel.yaml), so comments, key order and layout outside
the values the survey changes stay as a person wrote them. The survey only writes what it
measured; fields it cannot know stay as they were: a rig's name and address once set, its
PSU watts, notes, and the role a person chose for a data disk.
"""

from __future__ import annotations

import difflib
import io
import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any

import yaml as yaml11
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import SingleQuotedScalarString

from rigshift.discover.records import BlockDevice, PcieLink
from rigshift.discover.survey import HostSurvey, SurveyedGpu
from rigshift.errors import UserError

# The order a new rig's keys are written in (the schema's field order).
RIG_KEYS = (
    "name",
    "address",
    "board",
    "cpu",
    "cpu_cores",
    "ram_gb",
    "disks",
    "nics",
    "psu_w",
    "mining_os",
    "gpus",
    "notes",
)
# Interfaces that exist in software only: never a rig's NIC.
_VIRTUAL_NIC = re.compile(
    r"^(lo|docker|veth|br-|virbr|cni|flannel|cali|vxlan|tun|tap|kube|wg|ifb|dummy)"
)


@dataclass
class MergeResult:
    """The new site text and what the merge did, for the report the CLI prints."""

    text: str
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def diff(self, old: str, name: str) -> str:
        lines = difflib.unified_diff(
            old.splitlines(keepends=True),
            self.text.splitlines(keepends=True),
            fromfile=name,
            tofile=f"{name} (surveyed)",
        )
        return "".join(lines)


def _yaml() -> YAML:
    yaml = YAML()
    yaml.preserve_quotes = True
    # The layout rigshift's own site files use; other files are re-indented to it once.
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    return yaml


def merge_fleet(text: str, surveys: list[HostSurvey], source: str = "site.yaml") -> MergeResult:
    """Return the site text with `fleet.rigs` updated from `surveys`.

    A survey matches the rig with its inventory name, else the rig with its address; an
    unmatched survey adds a rig. Rigs no survey matched are left exactly as they were.
    """
    yaml = _yaml()
    try:
        doc = yaml.load(text)
    except YAMLError as exc:
        raise UserError(f"{source}: not valid YAML ({exc}); fix it before merging") from None
    if not isinstance(doc, CommentedMap):
        raise UserError(f"{source}: expected a mapping with 'site', 'network', ... 'fleet'")
    fleet = doc.get("fleet")
    if fleet is None:
        fleet = doc["fleet"] = CommentedMap()
    if not isinstance(fleet, CommentedMap):
        raise UserError(f"{source}: fleet: expected a mapping with a 'rigs' list")
    rigs = fleet.get("rigs")
    if rigs is None:
        rigs = fleet["rigs"] = CommentedSeq()
    if not isinstance(rigs, CommentedSeq):
        raise UserError(f"{source}: fleet.rigs: expected a list of rigs")
    if not rigs:
        # A first survey into `rigs: []`: write the rigs as a block, one key per line.
        rigs.fa.set_block_style()
    network = _management_network(doc)

    result = MergeResult(text="")
    for survey in surveys:
        rig = _find_rig(rigs, survey)
        if rig is None:
            rig = CommentedMap()
            name = _rig_name(survey)
            rig["name"] = _typed(name)
            address = survey.management_address(network)
            if address:
                rig["address"] = _typed(address)
            rigs.append(rig)
            result.added.append(name)
            if survey.hostname and survey.hostname != name:
                # Shown, never written: read_host_dir refused control characters in it.
                result.notes.append(
                    f"{name}: the rig calls itself {survey.hostname!r}; rename it in the site "
                    "file if you like (a rig is matched by its address when the name differs)"
                )
        before = _plain(rig)
        result.notes += [f"{rig['name']}: {note}" for note in _update_rig(rig, survey)]
        if str(rig["name"]) not in result.added:
            bucket = result.unchanged if _plain(rig) == before else result.updated
            bucket.append(str(rig["name"]))
    out = io.StringIO()
    yaml.dump(doc, out)
    result.text = out.getvalue()
    return result


def _management_network(doc: CommentedMap) -> ipaddress.IPv4Network | None:
    try:
        return ipaddress.IPv4Network(str(doc["network"]["management_cidr"]))
    except (KeyError, TypeError, ValueError):
        return None


def _find_rig(rigs: CommentedSeq, survey: HostSurvey) -> CommentedMap | None:
    for rig in rigs:
        if isinstance(rig, CommentedMap) and str(rig.get("name")) == survey.host:
            return rig
    if survey.ansible_host:
        for rig in rigs:
            if isinstance(rig, CommentedMap) and str(rig.get("address")) == survey.ansible_host:
                return rig
    return None


def _rig_name(survey: HostSurvey) -> str:
    """The inventory name made a rig name; `rig-10-0-0-21` for a host surveyed by address.

    Never the host name the rig reports: a rig that calls itself `localhost` would receive
    every task meant for the control machine, and one that calls itself after another rig
    would take that rig's name.
    """
    name = survey.host
    if _is_ip(name):
        name = f"rig-{name}"
    return re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:63].rstrip("-") or "rig"


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _update_rig(rig: CommentedMap, survey: HostSurvey) -> list[str]:
    """Write what the survey measured into `rig`; return notes on what it could not."""
    notes = list(survey.notes)
    if survey.board and survey.board.board:
        _set(rig, "board", survey.board.board)
    if survey.cpu:
        if survey.cpu.model:
            _set(rig, "cpu", survey.cpu.model)
        if survey.cpu.cores:
            _set(rig, "cpu_cores", survey.cpu.cores)
    if survey.ram_gb:
        _set(rig, "ram_gb", survey.ram_gb)
    if survey.disks is not None:
        _set(rig, "disks", _disks(rig.get("disks"), survey.disks))
    if survey.nics is not None:
        nics, nic_notes = _nics(rig.get("nics"), survey)
        _set(rig, "nics", nics)
        notes += nic_notes
    if survey.mining_os is not None:
        _set(rig, "mining_os", survey.mining_os.kind)
    if survey.gpus_surveyed:
        cards = survey.gpus()
        _set(rig, "gpus", [_gpu_entry(card) for card in cards])
        notes += [
            f"GPU {card.bus_id or '?'}: {card.name!r} is not in the catalogue; kept verbatim "
            "(add an alias to the catalogue or write the model by hand)"
            for card in cards
            if not card.in_catalogue
        ]
    else:
        notes.append("no GPU source answered (nvidia-smi, lspci, DRM sysfs): GPUs left as written")
    notes += [
        f"GPU {gpu.bus_id or '?'}: {problem}"
        for gpu in survey.nvidia or []
        for problem in gpu.health_problems
    ]
    return notes


def _disks(old: Any, disks: list[BlockDevice]) -> CommentedSeq:
    """Disks as surveyed. 'os' follows the disk that holds /; a 'data' or 'none' role a
    person chose stays with its disk. Where no disk holds / (a container), roles stay."""
    old_roles = {str(d.get("name")): d.get("role") for d in old or [] if isinstance(d, dict)}
    root_known = any(d.holds_root for d in disks)
    out = CommentedSeq()
    for disk in disks:
        role = old_roles.get(disk.name, "none")
        if root_known:
            role = "os" if disk.holds_root else ("none" if role == "os" else role)
        entry = _flow(
            name=disk.name,
            size_gb=round(disk.size_bytes / 1000**3, 1),
            kind=_disk_kind(disk),
            role=role,
        )
        if disk.model:
            entry["model"] = disk.model
        out.append(entry)
    return out


def _disk_kind(disk: BlockDevice) -> str:
    if disk.transport == "usb":
        return "usb"
    if disk.transport == "nvme" or disk.name.startswith("nvme"):
        return "nvme"
    if disk.transport == "mmc" or disk.name.startswith("mmcblk"):
        return "sd"
    return "hdd" if disk.rotational else "ssd"


def _nics(old: Any, survey: HostSurvey) -> tuple[CommentedSeq, list[str]]:
    old_speeds = {str(n.get("name")): n.get("speed_gbps") for n in old or [] if isinstance(n, dict)}
    out = CommentedSeq()
    notes = []
    for nic in survey.nics or []:
        if nic.link_type not in (None, "ether") or _VIRTUAL_NIC.match(nic.name):
            continue
        speed_mbps = survey.net_speeds.get(nic.name)
        speed: Any = speed_mbps / 1000 if speed_mbps else old_speeds.get(nic.name)
        if speed is None:
            notes.append(f"NIC {nic.name}: link down, speed unknown; not written")
            continue
        entry = _flow(name=nic.name, speed_gbps=_number(speed))
        if nic.mac:
            entry["mac"] = nic.mac
        out.append(entry)
    return out, notes


def _gpu_entry(card: SurveyedGpu) -> CommentedMap:
    entry = CommentedMap(model=card.model)
    if card.link.gen and card.link.width:
        entry["link"] = _link(card.link)
    if card.link_current.gen and card.link_current.width:
        entry["link_current"] = _link(card.link_current)
    for key in ("vram_gb", "uuid", "serial", "bus_id"):
        value = getattr(card, key)
        if value is not None:
            entry[key] = _number(value) if key == "vram_gb" else value
    return entry


def _link(link: PcieLink) -> CommentedMap:
    return _flow(gen=link.gen, width=link.width)


def _flow(**values: Any) -> CommentedMap:
    entry = CommentedMap(values)
    entry.fa.set_flow_style()
    return entry


def _number(value: float) -> float | int:
    """16 rather than 16.0, so hand-written and surveyed values read alike."""
    return int(value) if float(value).is_integer() else value


def _set(rig: CommentedMap, key: str, value: Any) -> None:
    """Set `key`, keeping the old node (and its layout) when the value did not change, and
    placing a new key where the schema's order puts it."""
    value = _typed(value)
    if key in rig:
        if _plain(rig[key]) != _plain(value):
            rig[key] = value
        return
    later = RIG_KEYS[RIG_KEYS.index(key) + 1 :]
    position = next((i for i, k in enumerate(rig) if k in later), len(rig))
    rig.insert(position, key, value)


_RESOLVER = yaml11.resolver.Resolver()
_STR_TAG = "tag:yaml.org,2002:str"


def _typed(value: Any) -> Any:
    """Quote every string a YAML 1.1 reader would take for another type.

    ruamel writes YAML 1.2, but site files are loaded with PyYAML (YAML 1.1), which reads a
    bare PCI address like 0000:07:00.0 as a base-60 number.
    """
    if isinstance(value, dict):
        for key in value:
            value[key] = _typed(value[key])
        return value
    if isinstance(value, list):
        for i, item in enumerate(value):
            value[i] = _typed(item)
        return value
    if isinstance(value, str) and not isinstance(value, SingleQuotedScalarString):
        return SingleQuotedScalarString(value) if _reads_as_other_type(value) else value
    return value


def _reads_as_other_type(text: str) -> bool:
    tag: str = _RESOLVER.resolve(  # type: ignore[no-untyped-call]  # untyped in types-PyYAML
        yaml11.ScalarNode, text, (True, False)
    )
    return tag != _STR_TAG


def _plain(value: Any) -> Any:
    """Comparable plain data: 8 == 8.0, comments and styles ignored."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        return str(value)
    return value
