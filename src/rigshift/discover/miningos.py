"""Recognise the mining OS from its on-disk markers, as the survey lists them.

The survey prints one line per marker it finds (`playbooks/roles/discover/files/markers.sh`):

    present /hive-config/rig.conf
    version /hive/etc/VERSION 0.6-222@230512
    package hive 0.6-222@230512

Only presence is recorded for configuration files: rig.conf holds the rig's password and farm
hash, which must never leave the rig.
"""

from __future__ import annotations

from dataclasses import dataclass

from rigshift.discover.common import SurveyFileError
from rigshift.discover.records import MiningOs


@dataclass(frozen=True)
class _Signature:
    kind: str
    paths: tuple[str, ...]
    version_files: tuple[str, ...]
    packages: tuple[str, ...]


# Markers documented by each OS's public client. HiveOS is the only one whose layout is
# public (its client repository); RaveOS, SimpleMining and NiceHash OS publish none we could
# confirm, so they are not guessed at: such a rig reads as 'none' with a visible note.
SIGNATURES = (
    _Signature(
        kind="hiveos",
        paths=("/hive-config/rig.conf", "/hive/bin", "/hive/etc"),
        version_files=("/hive/etc/VERSION",),
        packages=("hive",),
    ),
)

EXPECTED = "a mining-OS marker list ('present PATH', 'version PATH TEXT', 'package NAME VER')"


def parse_mining_os(text: str, source: str = "mining-os.txt") -> MiningOs:
    """The mining OS the markers point to, with its version where one is recorded."""
    present: set[str] = set()
    versions: dict[str, str] = {}
    packages: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        kind, _, rest = line.strip().partition(" ")
        if not kind or kind.startswith("#"):
            continue
        if kind == "present" and rest:
            present.add(rest.strip())
        elif kind == "version" and rest:
            path, _, value = rest.partition(" ")
            present.add(path)
            versions[path] = value.strip()
        elif kind == "package" and rest:
            name, _, value = rest.partition(" ")
            packages[name] = value.strip()
        else:
            raise SurveyFileError(source, EXPECTED, f"line {number}: {line[:60]!r}")
    for sig in SIGNATURES:
        evidence = [p for p in sig.paths + sig.version_files if p in present]
        evidence += [f"package {p}" for p in sig.packages if p in packages]
        if evidence:
            version = next((versions[f] for f in sig.version_files if versions.get(f)), None)
            version = version or next((packages[p] for p in sig.packages if packages.get(p)), None)
            return MiningOs(sig.kind, version, tuple(evidence))
    return MiningOs("none")
