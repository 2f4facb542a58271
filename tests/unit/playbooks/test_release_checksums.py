"""The kubernetes role's check of release artifacts against the release's checksum file.

The checksum text is hand-written in the format of RKE2's and k3s's `sha256sum-amd64.txt`
(`sha256sum` output); the digests are of the stand-in bytes named beside them."""

from __future__ import annotations

import hashlib

from tests.unit.playbooks.plugins import load

checks = load("kubernetes", "filter_plugins/release_checksums.py")
TARBALL = hashlib.sha256(b"tarball").hexdigest()
IMAGES = hashlib.sha256(b"images").hexdigest()
CHECKSUMS = (
    f"{TARBALL}  rke2.linux-amd64.tar.gz\n"
    f"{IMAGES.upper()}  rke2-images.linux-amd64.tar.zst\n"
    f"{'0' * 64}  rke2-images-core.linux-amd64.tar.gz\n"
    "not a checksum line\n"
)
CHECKED = ["rke2.linux-amd64.tar.gz", "rke2-images.linux-amd64.tar.zst"]


def stats(**digests: str | None) -> list[dict[str, object]]:
    """Results of a stat loop, as Ansible registers them (file name -> sha256 or missing)."""
    names = dict(zip(("tarball", "images", "script"), [*CHECKED, "install.sh"], strict=True))
    return [
        {"item": names[key], "stat": {"exists": True, "checksum": digest} if digest else {}}
        for key, digest in digests.items()
    ]


def problems(results: list[dict[str, object]], text: str = CHECKSUMS) -> list[str]:
    return list(checks.release_checksum_problems(text, results, CHECKED, "sha256sum-amd64.txt"))


def test_artifacts_the_release_lists_pass() -> None:
    assert problems(stats(tarball=TARBALL, images=IMAGES, script="anything")) == []


def test_an_altered_artifact_is_named_with_both_digests() -> None:
    altered = hashlib.sha256(b"images, altered").hexdigest()
    assert problems(stats(tarball=TARBALL, images=altered)) == [
        f"rke2-images.linux-amd64.tar.zst: sha256 {altered}, but sha256sum-amd64.txt lists {IMAGES}"
    ]


def test_an_artifact_the_checksum_file_leaves_out_is_refused() -> None:
    only_tarball = CHECKSUMS.splitlines()[0] + "\n"
    assert problems(stats(tarball=TARBALL, images=IMAGES), only_tarball) == [
        "rke2-images.linux-amd64.tar.zst: not listed in sha256sum-amd64.txt"
    ]


def test_an_artifact_without_a_digest_is_refused() -> None:
    assert problems(stats(tarball=TARBALL, images=None)) == [
        "rke2-images.linux-amd64.tar.zst: missing on the control machine"
    ]


def test_sha256sum_binary_mode_and_dot_slash_names_are_read() -> None:
    assert checks.parse_checksums(f"{TARBALL} *./rke2.linux-amd64.tar.gz\n") == {
        "rke2.linux-amd64.tar.gz": TARBALL
    }
