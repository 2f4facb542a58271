"""Input built to hurt: every case exits 2 naming the file (and the field or line), with no
traceback, no hang and nothing written.

Cases that could hang run `rigshift validate` in a child process under a generous time limit:
the limit is a hang guard that fails the test, not a measure of speed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

LAB = (ROOT / "inventories" / "lab" / "site.yaml").read_text()
RIGSHIFT = Path(sys.executable).parent / "rigshift"
HANG_GUARD_S = 120


def validate(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(RIGSHIFT), "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
        check=False,
    )


def site(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "site.yaml"
    path.write_text(text)
    return path


def refused(done: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    for text in expected:
        assert text in done.stderr, done.stderr


ALIAS_BOMB = "".join(
    f"x{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9) if i else '1, 1, 1, 1, 1, 1, 1, 1, 1'}]\n"
    for i in range(12)
)


@pytest.mark.parametrize(
    ("case", "text", "expected"),
    [
        ("duplicate top-level key", LAB + "site:\n  name: other\n", ["key 'site' appears twice"]),
        (
            "second gpus list",
            LAB.replace(
                "      gpus:\n        - {model: GTX 1070",
                "      gpus: []\n      gpus:\n        - {model: GTX 1070",
            ),
            ["key 'gpus' appears twice (lines"],
        ),
        ("alias bomb", LAB + ALIAS_BOMB, ["YAML aliases (*name) are not allowed"]),
        ("5000-digit integer", LAB.replace("ram_gb: 8", "ram_gb: " + "9" * 5000, 1), ["number"]),
        ("infinite VRAM", LAB.replace("count: 2,", "count: 2, vram_gb: .inf,", 1), ["finite"]),
        ("NaN RAM", LAB.replace("ram_gb: 8", "ram_gb: .nan", 1), ["fleet.rigs[0].ram_gb"]),
        (
            "denormal rack power",
            LAB + "plan:\n  thresholds:\n    rack_kw: 1.0e-320\n",
            ["plan.thresholds.rack_kw"],
        ),
        ("count as text", LAB.replace("count: 2,", "count: '2',", 1), ["valid integer"]),
        ("count as bool", LAB.replace("count: 2,", "count: true,", 1), ["valid integer"]),
        (
            "address as a number",
            LAB.replace("address: 198.18.0.11", "address: 12345", 1),
            ["fleet.rigs[0].address: expected text such as '10.0.0.5'"],
        ),
        (
            "network as a number",
            LAB.replace("management_cidr: 198.18.0.0/24", "management_cidr: 12345", 1),
            ["network.management_cidr: expected text"],
        ),
        (
            "board 'no' read as false",
            LAB.replace("board: ASUS B250 MINING EXPERT", "board: no", 1),
            ["fleet.rigs[0].board", "put it in quotes"],
        ),
        (
            "120,000 GPUs in one rig",
            LAB.replace("count: 2,", "count: 120000,", 1),
            ["fleet.rigs[0].gpus[0].count"],
        ),
        (
            "a 10,000-character value",
            LAB.replace("board: ASUS B250 MINING EXPERT", "board: " + "x" * 10_000, 1).replace(
                "count: 2,", "count: '" + "7" * 10_000 + "',", 1
            ),
            ["(10,002 characters)"],
        ),
    ],
)
def test_hostile_site_files_are_refused(
    tmp_path: Path, case: str, text: str, expected: list[str]
) -> None:
    assert text != LAB, f"{case}: the lab site changed under the test"
    done = validate(site(tmp_path, text))
    refused(done, str(tmp_path / "site.yaml"), *expected)
    assert max(map(len, done.stderr.splitlines())) < 400, "a long value is cut in messages"


def test_a_named_pipe_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "site.yaml"
    os.mkfifo(fifo)
    refused(validate(fifo), "not a regular file")


def test_a_huge_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    big = tmp_path / "site.yaml"
    with big.open("wb") as handle:
        handle.truncate(65 * 1024 * 1024)  # sparse: costs no disk
    refused(validate(big), "a site file is at most")


def test_the_example_sites_still_validate() -> None:
    for name in ("lab", "example-farm"):
        done = validate(ROOT / "inventories" / name)
        assert done.returncode == 0, done.stderr
