"""Property tests: a mutated site file never crashes a command, and a refused one writes nothing.

Hypothesis mutates the lab site (keys dropped, values swapped for other types, huge, negative
and non-finite numbers, template text, duplicate keys, aliases) and runs validate, plan and
render through the CLI: each exits 0 or 2 with no traceback, and after a refusal the site
folder holds only its site.yaml. The same for discover's parsers over mutated real captures:
they return or raise SurveyFileError. Derandomized, so a run is repeatable; each example runs
under a hang guard (an alarm that fails it), which is not a timing assertion.
"""

from __future__ import annotations

import contextlib
import signal
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rigshift.cli import cli
from rigshift.discover import (
    SurveyFileError,
    parse_ip_addr,
    parse_lsblk,
    parse_lspci,
    parse_nvidia_smi,
)
from tests.conftest import ROOT

LAB = yaml.safe_load((ROOT / "inventories" / "lab" / "site.yaml").read_text())
HANG_GUARD_S = 60
SETTINGS = settings(
    derandomize=True,
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    database=None,
)

ODD_VALUES = st.sampled_from(
    [
        None,
        "",
        0,
        -1,
        10**400,
        1e308,
        float("inf"),
        float("nan"),
        True,
        "no",
        "{{ lookup('pipe', 'id') }}",
        "x" * 5000,
        [],
        {},
        [1, 2],
        {"x": 1},
        "10.42.0.0/16",
        "00:11:22:33:44:55",
        # Plausible values too, so that many mutants validate and reach plan and render.
        1,
        2,
        8,
        0.5,
        "lab-2",
        "198.18.0.50",
        "RTX 3060",
        "16Gi",
    ]
)


def _paths(value: Any, here: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield here
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*here, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _paths(item, (*here, i))


PATHS = [p for p in _paths(LAB) if p]


def _mutate(data: Any, path: tuple[Any, ...], how: str, value: Any) -> Any:
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if how == "drop":
        del parent[last]
    elif how == "swap" and isinstance(parent, dict) and len(parent) > 1:
        keys = list(parent)
        other = keys[(keys.index(last) + 1) % len(keys)]
        parent[last], parent[other] = parent[other], parent[last]
    else:
        parent[last] = value
    return data


@st.composite
def site_texts(draw: st.DrawFn) -> str:
    import copy

    data = copy.deepcopy(LAB)
    for _ in range(draw(st.integers(1, 2))):
        paths = [p for p in _paths(data) if p]
        path = draw(st.sampled_from(paths))
        how = draw(st.sampled_from(["drop", "swap", "set", "set"]))
        data = _mutate(data, path, how, draw(ODD_VALUES))
    text = yaml.safe_dump(data, sort_keys=False)
    # Mostly none: a broken tail makes every mutant fail at the first step.
    tail = draw(
        st.sampled_from(
            [""] * 12
            + ["site:\n  name: again\n", "x: &a [1, 2]\ny: *a\n", "\tbad: tab\n", "fleet: [\n"]
        )
    )
    return text + tail


@contextlib.contextmanager
def hang_guard() -> Iterator[None]:
    def expired(signum: int, frame: object) -> None:
        raise AssertionError(f"an example ran longer than {HANG_GUARD_S} s: it hangs")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(HANG_GUARD_S)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@SETTINGS
@given(site_texts())
def test_a_mutated_site_exits_0_or_2_and_a_refused_one_writes_nothing(text: str) -> None:
    runner = CliRunner()
    with tempfile.TemporaryDirectory() as tmp, hang_guard():
        folder = Path(tmp) / "site"
        folder.mkdir()
        (folder / "site.yaml").write_text(text)
        codes = []
        for args in (
            ["validate", str(folder)],
            ["plan", str(folder), "--out", str(Path(tmp) / "reports")],
            ["render", str(folder)],
        ):
            result = runner.invoke(cli, args)
            assert result.exit_code in (0, 2), (args, result.output, result.exception)
            assert "Traceback" not in result.output
            if result.exit_code == 2:
                assert result.exception is None or isinstance(result.exception, SystemExit)
            codes.append(result.exit_code)
        assert len(set(codes)) == 1, f"validate, plan and render disagree: {codes}"
        if codes[0] == 2:
            assert sorted(p.name for p in folder.iterdir()) == ["site.yaml"]
            assert not (Path(tmp) / "reports").exists()


CAPTURES: list[tuple[Callable[[str, str], object], Path]] = [
    (parse_lsblk, ROOT / "tests" / "fixtures" / "discover" / "buildvm" / "lsblk.json"),
    (parse_ip_addr, ROOT / "tests" / "fixtures" / "discover" / "buildvm" / "ip-addr.json"),
    (parse_lspci, ROOT / "tests" / "fixtures" / "discover" / "lspci-rig.txt"),
    (parse_nvidia_smi, ROOT / "tests" / "fixtures" / "discover" / "nvidia-smi-riser-gen1x1.xml"),
]


@SETTINGS
@given(
    st.sampled_from(range(len(CAPTURES))),
    st.integers(0, 10**9),
    st.sampled_from(["cut", "insert", "replace"]),
    st.text(alphabet="0123456789-.eE:[]{}<>\"'&;x \n", max_size=20),
)
def test_a_mutated_capture_parses_or_is_refused_with_the_file_named(
    which: int, at: int, how: str, junk: str
) -> None:
    parse, path = CAPTURES[which]
    text = path.read_text()
    i = at % (len(text) + 1)
    mutated = {
        "cut": text[:i],
        "insert": text[:i] + junk + text[i:],
        "replace": text[:i] + junk + text[i + len(junk) :],
    }[how]
    with hang_guard():
        try:
            parse(mutated, "rig-7/capture")
        except SurveyFileError as exc:
            assert "rig-7/capture" in str(exc)
