"""The Checkov scan: real checkov on small hand-made releases, and how its report is judged."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from rigshift.charts.render import RenderedRelease
from rigshift.charts.scan import Accepted, in_namespace, judge, load_accepted, scan
from rigshift.releases import CHECKOV, LONGHORN


def pod(privileged: bool) -> dict[str, Any]:
    container = {
        "name": "main",
        "image": "registry.example/app:1.0",
        "securityContext": {"privileged": privileged},
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "app", "namespace": "apps"},
        "spec": {
            "selector": {"matchLabels": {"app": "app"}},
            "template": {
                "metadata": {"labels": {"app": "app"}},
                "spec": {"containers": [container]},
            },
        },
    }


def release(*objects: dict[str, Any]) -> RenderedRelease:
    return RenderedRelease("storage", "demo", LONGHORN, "apps", "chart", {}, list(objects))


def test_a_privileged_container_is_a_new_finding_until_an_entry_justifies_it() -> None:
    plain = scan({"site": [release(pod(privileged=False))]}, accepted=[])
    privileged = scan({"site": [release(pod(privileged=True))]}, accepted=[])
    assert plain.problems == privileged.problems == []
    assert plain.scanned == privileged.scanned == 1
    new = {f.check for f in privileged.new} - {f.check for f in plain.new}
    assert "CKV_K8S_16" in new  # Container should not be privileged
    [finding] = [f for f in privileged.new if f.check == "CKV_K8S_16"]
    assert finding.line().startswith("site: demo: CKV_K8S_16 Deployment/app: ")

    entry = Accepted("CKV_K8S_16", ("demo",), ("Deployment/app",), "it loads kernel modules")
    reviewed = scan({"site": [release(pod(privileged=True))]}, accepted=[entry])
    assert "CKV_K8S_16" not in {f.check for f in reviewed.new}
    assert reviewed.used == {0}


def test_crds_go_to_their_own_file_and_a_release_without_checked_kinds_scans_nothing() -> None:
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "things.example.io"},
        "spec": {"group": "example.io", "names": {"kind": "Thing", "plural": "things"}},
    }
    report = scan({"site": [release(crd, pod(privileged=False))]}, accepted=[])
    assert report.problems == []
    assert report.scanned == 1  # the Deployment; Checkov has no check for CRDs


def test_an_object_checkov_reported_nothing_for_means_its_file_was_dropped() -> None:
    raw = {
        "summary": {"checkov_version": CHECKOV.version, "parsing_errors": 0},
        "results": {
            "passed_checks": [
                {
                    "file_path": "/site/demo.yaml",
                    "resource": "Deployment.apps.app",
                    "check_id": "CKV_K8S_16",
                    "check_name": "privileged",
                }
            ],
            "failed_checks": [],
        },
    }
    expected = {("site", "demo"): {("Deployment", "app"), ("DaemonSet", "agent")}}
    report = judge(raw, expected, [])
    [problem] = report.problems
    assert "site: demo: checkov reported nothing for 1 of 2 objects" in problem
    assert "DaemonSet/agent" in problem and "not really scanned" in problem
    assert report.scanned == 1


def test_another_checkov_version_or_a_parse_error_is_a_problem() -> None:
    raw = {"summary": {"checkov_version": "2.0.0", "parsing_errors": 2}, "results": {}}
    problems = judge(raw, {}, []).problems
    assert any("checkov 2.0.0 ran" in p and CHECKOV.requirement in p for p in problems)
    assert any("could not parse 2 file(s)" in p for p in problems)


def test_the_reviewed_file_loads_and_every_entry_says_why() -> None:
    entries = load_accepted()
    assert entries and all(len(e.why) > 20 for e in entries)
    with pytest.raises(ValueError, match="entry 0: needs check, releases, objects and why"):
        load_accepted("- check: CKV_K8S_16\n  releases: ['*']\n  objects: ['*']\n")


def test_namespaced_objects_get_the_release_namespace_as_helm_install_gives_them() -> None:
    account = {"kind": "ServiceAccount", "metadata": {"name": "csi"}}
    role = {"kind": "ClusterRole", "metadata": {"name": "csi"}}
    before = copy.deepcopy(account)
    assert in_namespace(account, "rook-ceph")["metadata"]["namespace"] == "rook-ceph"
    assert account == before  # the rendered object itself is left as helm gave it
    assert "namespace" not in in_namespace(role, "rook-ceph")["metadata"]
