"""The acceptance runner's checks, run for real on the CPU with PyTorch's CPU build.

No mocks: each test computes on real tensors, then breaks one thing (a bit in memory, an
element of a product) and checks that the runner sees it where it happened.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from rigshift.accept import parse_record, runner
from rigshift.accept.record import AcceptanceRecord

CPU = torch.device("cpu")
WORDS = 1 << 16  # 512 KiB: several chunks when CHUNK_WORDS is lowered below


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of 4 Ki words, so a test buffer spans several and chunk edges are exercised."""
    monkeypatch.setattr(runner, "CHUNK_WORDS", 4096)


@pytest.mark.parametrize("pattern", runner.PATTERNS)
@pytest.mark.parametrize("run", [0, 1, 65])
def test_a_clean_buffer_reads_back_without_mismatches(pattern: str, run: int) -> None:
    buffer = torch.empty(WORDS, dtype=torch.int64)
    runner.fill(buffer, pattern, run)
    assert runner.check(buffer, pattern, run) == (0, [])


@pytest.mark.parametrize("pattern", runner.PATTERNS)
def test_a_flipped_bit_is_found_at_its_byte_offset(pattern: str) -> None:
    buffer = torch.empty(WORDS, dtype=torch.int64)
    runner.fill(buffer, pattern, 3)
    byte = 5 * 4096 * 8 + 8 * 77 + 3  # in the sixth chunk, third byte of word 77
    buffer.view(torch.uint8)[byte] ^= 0x10  # one bit, as a worn GDDR cell loses it

    count, found = runner.check(buffer, pattern, 3)

    assert count == 1
    assert found[0]["offset"] == byte - 3  # the word's offset
    assert found[0]["flipped_bits"] == 1
    assert found[0]["pattern"] == pattern
    expected, read = int(found[0]["expected"], 16), int(found[0]["read"], 16)
    assert expected ^ read == 0x10 << 24  # byte 3 of a little-endian word


def test_the_patterns_differ_between_passes_and_from_each_other() -> None:
    """A pattern that wrote the same words each pass would test one bit position only."""
    words = {
        (p, run): runner.expected_words(p, 0, 256, run, CPU)
        for p in runner.PATTERNS
        for run in (0, 1)
    }
    keys = list(words)
    for i, a in enumerate(keys):
        for b in keys[i + 1 :]:
            assert not torch.equal(words[a], words[b]), (a, b)
    ones = words[("walking-ones", 0)]
    # Each word holds exactly one set bit, and 64 neighbours hold all 64 positions.
    assert all(bin(int(w) & (2**64 - 1)).count("1") == 1 for w in ones.tolist())
    assert len({int(w) & (2**64 - 1) for w in ones[:64].tolist()}) == 64


def test_many_flips_are_counted_and_the_first_ones_kept() -> None:
    buffer = torch.empty(WORDS, dtype=torch.int64)
    runner.fill(buffer, "random", 0)
    buffer[1000:1100] ^= 1
    count, found = runner.check(buffer, "random", 0)
    assert count == 100
    assert len(found) == runner.MAX_MISMATCHES_KEPT
    assert [m["offset"] for m in found] == [(1000 + i) * 8 for i in range(16)]


def test_the_vram_stage_passes_a_sound_buffer() -> None:
    result = runner.vram_test(CPU, seconds=0.0, size_bytes=WORDS * 8)
    assert result["mismatches"] == 0
    assert result["passes"] == 1
    assert result["tested_bytes"] == WORDS * 8
    assert result["patterns"] == list(runner.PATTERNS)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_a_right_product_is_within_the_allowed_error(dtype: torch.dtype) -> None:
    a, b = torch.randn(128, 128, dtype=dtype), torch.randn(128, 128, dtype=dtype)
    assert runner.product_error(a, b, a @ b, [0, 5, 127]) <= 1.0


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_a_wrong_product_is_caught(dtype: torch.dtype) -> None:
    a, b = torch.randn(128, 128, dtype=dtype), torch.randn(128, 128, dtype=dtype)
    c = a @ b
    c[5, 9] += 1.0  # a single element off by one, in a product of magnitude ~11
    assert runner.product_error(a, b, c, [0, 5, 127]) > 1.0


def test_the_compute_stage_measures_a_rate_and_finds_no_error_on_a_sound_cpu() -> None:
    result = runner.compute_test(CPU, seconds=0.2, size=96)
    assert result["precision"] == "float32"  # the CPU path has no tensor cores
    assert result["iterations"] > 0
    assert result["tflops"] > 0
    assert result["mismatched_elements"] == 0
    assert result["reference_ok"] is True


def test_the_bandwidth_stage_produces_every_figure() -> None:
    result = runner.bandwidth_test(CPU, seconds=0.1, size_bytes=1 << 22)
    for key in ("device_copy_gbps", "host_to_device_gbps", "device_to_host_gbps"):
        assert result[key] > 0, key
    assert result["pinned"] is False  # no pinned memory without CUDA; the record says so


def test_a_failing_stage_is_recorded_and_the_others_still_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*_: object, **__: object) -> dict[str, object]:
        raise RuntimeError("CUDA error: an illegal memory access was encountered")

    monkeypatch.setattr(runner, "compute_test", broken)
    result = runner.test_device(CPU, 0.001, {"vram_bytes": 1 << 15, "copy_bytes": 1 << 20})
    assert result["errors"] == {
        "compute": "RuntimeError: CUDA error: an illegal memory access was encountered"
    }
    assert result["vram"]["mismatches"] == 0
    assert result["bandwidth"]["device_copy_gbps"] > 0


def test_the_command_writes_a_record_the_control_machine_accepts(tmp_path: Path) -> None:
    out = tmp_path / "acceptance.json"
    code = runner.main(
        [
            "--device",
            "cpu",
            "--minutes",
            "0.005",
            "--out",
            str(out),
            "--vram-bytes",
            "65536",
            "--matmul-size",
            "64",
            "--copy-bytes",
            "1048576",
        ]
    )
    assert code == 0
    record = parse_record(out)
    assert record.status == "cpu"
    assert record.runner["torch"] == torch.__version__
    (gpu,) = record.gpus
    assert gpu.vram is not None and gpu.vram.mismatches == 0
    assert gpu.compute is not None and gpu.compute.reference_ok
    assert not list(tmp_path.glob(".*")), "no temporary file left beside the record"
    assert json.loads(out.read_text())["schema"] == runner.SCHEMA


def test_the_reader_takes_the_format_the_runner_writes() -> None:
    assert AcceptanceRecord.model_fields["schema_"].annotation.__args__ == (runner.SCHEMA,)  # type: ignore[union-attr]


def test_a_figure_that_is_not_finite_is_written_as_null(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    runner.write_record(out, {"a": float("nan"), "b": [float("inf"), 1.5]})
    assert json.loads(out.read_text()) == {"a": None, "b": [None, 1.5]}
