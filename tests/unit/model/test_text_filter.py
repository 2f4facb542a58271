"""The text filter every string from a site file or a rig passes: what a terminal would act on
(C0 and C1 controls, escape sequences, bidi controls) and template delimiters are refused at
their field path; ordinary text, accented or not, goes through."""

from __future__ import annotations

import pytest

from rigshift.model.text import text_problems


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("\x1b]0;owned\x07", "control character"),
        ("\x1b[2J", "control character"),
        ("\x7f", "control character"),
        ("\x9b2J", "control character"),  # CSI in its 8-bit C1 form
        ("\x85", "control character"),
        ("\u202e", "bidi"),  # right-to-left override
        ("\u202a", "bidi"),
        ("\u2066", "bidi"),  # left-to-right isolate
        ("\u2069", "bidi"),
        ("\u200e", "bidi"),
        ("\u200f", "bidi"),
        ("\u061c", "bidi"),
        ("\u2028", "line separator"),
        ("{{ lookup('pipe', 'id') }}", "template delimiter"),
    ],
)
def test_what_a_terminal_or_a_template_acts_on_is_refused(text: str, named: str) -> None:
    [problem] = text_problems({"fleet": {"rigs": [{"notes": f"ok {text} ok"}]}})
    assert problem.path == "fleet.rigs[0].notes"
    assert named in problem.message
    assert text not in problem.message, "the message quotes the character escaped"


def test_a_control_in_a_key_is_refused_too() -> None:
    [problem] = text_problems({"runner": {"to\u202erch": "2.1"}})
    assert problem.path == "runner"
    assert "a key" in problem.message


@pytest.mark.parametrize("text", ["Zürich · Ħal Far", "GeForce RTX™ 3090", "日本語", "a\u00a0b"])
def test_ordinary_text_goes_through(text: str) -> None:
    assert text_problems({"site": {"location": text}}) == []


def test_a_refused_key_is_not_printed_in_the_paths_below_it() -> None:
    problems = text_problems({"gpus": {"na\x1bme": {"model": "x\x1b"}}})
    assert [p.path for p in problems] == ["gpus"]
    assert all("\x1b" not in p.render("record.json") for p in problems)
