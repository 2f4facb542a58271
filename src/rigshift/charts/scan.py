"""Checkov over every rendered object, judged against one reviewed file of accepted findings.

    report = scan({"example-farm": rendered_releases})
    report.new        # findings no entry of accepted-findings.yaml justifies: these fail
    report.problems   # what could not be scanned (a file Checkov dropped, another version)

Each release's objects go to a file of their own and its CRDs to another: Checkov's loader can
drop a whole file on one CRD it cannot read and report nothing for it, so a file is only taken
as scanned when every object of a kind Checkov checks came back with results. Checkov has no
check for CRDs at all (it counts none as a resource): their schemas are validated by
`check_rendered`, and their files are handed over only so that Checkov must parse them cleanly.

The rendered objects may hold secrets (a Grafana password): they are written into a private
temporary folder (0700, files 0600) that is removed afterwards, and no code block of Checkov's
output is ever shown.
"""

from __future__ import annotations

import fnmatch
import json
import os
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from rigshift.charts.install import find_installed
from rigshift.charts.render import RenderedRelease
from rigshift.errors import UserError
from rigshift.releases import CHECKOV

ACCEPTED_FILE = "accepted-findings.yaml"
TIMEOUT_S = 600
# Kinds Checkov's Kubernetes checks read (pod specs, RBAC, service accounts, services, config):
# each object of these kinds must come back with at least one result, or its file was dropped.
CHECKED_KINDS = frozenset(
    {
        "Pod",
        "Deployment",
        "DaemonSet",
        "StatefulSet",
        "ReplicaSet",
        "Job",
        "CronJob",
        "Role",
        "ClusterRole",
        "RoleBinding",
        "ClusterRoleBinding",
        "ServiceAccount",
        "Service",
        "Secret",
        "ConfigMap",
    }
)
CLUSTER_SCOPED = frozenset({"ClusterRole", "ClusterRoleBinding"})


class CheckovMissing(UserError):
    """No checkov could be found."""


def find_checkov() -> Path:
    """checkov on PATH, else the one `make` installs in the virtualenv's own checkov venv."""
    found = find_installed("checkov")
    if found:
        return found
    raise CheckovMissing(
        "no checkov found on PATH or in this virtualenv: run `make .venv/checkov/bin/checkov` "
        f"(installs {CHECKOV.requirement} into a virtualenv of its own)"
    )


@dataclass(frozen=True)
class Accepted:
    """One reviewed entry: the check, the releases and objects ("Kind/name" patterns) it
    covers, and why the finding stays."""

    check: str
    releases: tuple[str, ...]
    objects: tuple[str, ...]
    why: str

    def covers(self, finding: Finding) -> bool:
        return (
            fnmatch.fnmatchcase(finding.check, self.check)
            and any(fnmatch.fnmatchcase(finding.release, r) for r in self.releases)
            and any(fnmatch.fnmatchcase(finding.object, o) for o in self.objects)
        )


def load_accepted(text: str | None = None) -> list[Accepted]:
    """The reviewed findings file shipped with rigshift (or `text`, for tests)."""
    if text is None:
        text = resources.files("rigshift.charts").joinpath(ACCEPTED_FILE).read_text()
    entries = yaml.safe_load(text) or []
    accepted = []
    for i, entry in enumerate(entries):
        missing = {"check", "releases", "objects", "why"} - set(entry)
        if missing or not str(entry.get("why", "")).strip():
            raise ValueError(f"{ACCEPTED_FILE} entry {i}: needs check, releases, objects and why")
        accepted.append(
            Accepted(
                str(entry["check"]),
                tuple(entry["releases"]),
                tuple(entry["objects"]),
                " ".join(str(entry["why"]).split()),
            )
        )
    return accepted


@dataclass(frozen=True)
class Finding:
    """A failed Checkov check on one rendered object of one release."""

    site: str
    release: str
    check: str
    title: str
    object: str  # "Kind/name"; Checkov's graph checks add the pod's labels to the name

    def line(self) -> str:
        return f"{self.site}: {self.release}: {self.check} {self.object}: {self.title}"


@dataclass
class ScanReport:
    version: str
    scanned: int  # objects Checkov checked
    findings: list[Finding] = field(default_factory=list)
    new: list[Finding] = field(default_factory=list)
    used: set[int] = field(default_factory=set)  # indexes of accepted entries that matched
    problems: list[str] = field(default_factory=list)


def _objects_file(path: Path, objects: Iterable[Mapping[str, Any]]) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        yaml.safe_dump_all(list(objects), out, sort_keys=False)


def run_checkov(folder: Path) -> dict[str, Any]:
    checkov = find_checkov()
    cmd = [str(checkov), "-d", str(folder), "--framework", "kubernetes", "-o", "json"]
    # --skip-download: no policy download, no network; the scan is offline and repeatable.
    cmd += ["--skip-download", "--compact"]
    env = dict(os.environ, LOG_LEVEL="ERROR", BC_SKIP_MAPPING="TRUE", NO_COLOR="1")
    try:
        done = subprocess.run(
            cmd, capture_output=True, text=True, timeout=TIMEOUT_S, env=env, check=False
        )
    except subprocess.TimeoutExpired:
        raise UserError(f"checkov did not finish within {TIMEOUT_S} s") from None
    # Checkov exits 1 when a check failed: that is judged here, against the accepted file.
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise UserError(f"checkov gave no JSON report (exit {done.returncode})", tail) from None
    if isinstance(report, list):  # one entry per framework; only kubernetes runs
        [report] = [r for r in report if r.get("check_type") == "kubernetes"] or [{}]
    if not report:
        return {"summary": {"resource_count": 0, "parsing_errors": 0}, "results": {}}
    result: dict[str, Any] = report
    return result


def in_namespace(obj: dict[str, Any], namespace: str) -> dict[str, Any]:
    """The object as `helm install` creates it: `helm template` leaves out the release
    namespace where a chart does not write one, and Checkov would take "default" (CKV_K8S_21)."""
    if obj.get("kind") not in CHECKED_KINDS - CLUSTER_SCOPED or obj["metadata"].get("namespace"):
        return obj
    return {**obj, "metadata": {**obj["metadata"], "namespace": namespace}}


def scan(
    sites: Mapping[str, list[RenderedRelease]], accepted: list[Accepted] | None = None
) -> ScanReport:
    """One Checkov run over the rendered releases of every site given (site name -> releases)."""
    accepted = load_accepted() if accepted is None else accepted
    expected: dict[tuple[str, str], set[tuple[str, str]]] = {}
    with tempfile.TemporaryDirectory(prefix="rigshift-checkov-") as tmp:
        root = Path(tmp)
        for site, releases in sites.items():
            (root / site).mkdir(mode=0o700)
            for release in releases:
                crds = [o for o in release.objects if o.get("kind") == "CustomResourceDefinition"]
                rest = [
                    in_namespace(o, release.namespace)
                    for o in release.objects
                    if o.get("kind") != "CustomResourceDefinition"
                ]
                _objects_file(root / site / f"{release.name}.yaml", rest)
                if crds:
                    _objects_file(root / site / f"{release.name}.crds.yaml", crds)
                expected[(site, release.name)] = {
                    (o["kind"], o["metadata"]["name"]) for o in rest if o["kind"] in CHECKED_KINDS
                }
        raw = run_checkov(root)
    return judge(raw, expected, accepted)


def judge(
    raw: Mapping[str, Any],
    expected: Mapping[tuple[str, str], set[tuple[str, str]]],
    accepted: list[Accepted],
) -> ScanReport:
    """Checkov's JSON report, read back: findings against the accepted file, and every object
    that should have been checked accounted for."""
    summary = raw.get("summary", {})
    report = ScanReport(str(summary.get("checkov_version", "?")), 0)
    if report.version != CHECKOV.version:
        report.problems.append(
            f"checkov {report.version} ran; {ACCEPTED_FILE} was reviewed against "
            f"{CHECKOV.requirement}: install that version (make .venv/checkov/bin/checkov)"
        )
    if summary.get("parsing_errors"):
        report.problems.append(
            f"checkov could not parse {summary['parsing_errors']} file(s) of rendered objects"
        )
    results = raw.get("results", {})
    seen: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for state in ("passed_checks", "failed_checks"):
        for result in results.get(state, []):
            site, release = _site_release(result["file_path"])
            # `Kind.namespace.name`: a cluster-scoped object's namespace reads "default".
            kind, _, name = result["resource"].split(".", 2)
            seen.setdefault((site, release), set()).add((kind, name))
            if state != "failed_checks":
                continue
            finding = Finding(
                site, release, result["check_id"], result["check_name"], f"{kind}/{name}"
            )
            report.findings.append(finding)
            matched = [i for i, entry in enumerate(accepted) if entry.covers(finding)]
            report.used.update(matched)
            if not matched:
                report.new.append(finding)
    for key, objects in sorted(expected.items()):
        unscanned = sorted(f"{k}/{n}" for k, n in objects - seen.get(key, set()))
        if unscanned:
            report.problems.append(
                f"{key[0]}: {key[1]}: checkov reported nothing for {len(unscanned)} of "
                f"{len(objects)} objects it checks ({', '.join(unscanned[:3])}): the file was "
                "not really scanned"
            )
        report.scanned += len(objects) - len(unscanned)
    report.new.sort(key=Finding.line)
    return report


def _site_release(file_path: str) -> tuple[str, str]:
    """`/<site>/<release>.yaml` (Checkov's paths are relative to the scanned folder)."""
    parts = Path(file_path.lstrip("/")).parts
    return parts[0], parts[-1].removesuffix(".yaml").removesuffix(".crds")
