"""What every discovery parser shares: the error it raises and how "not reported" reads."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from rigshift.errors import UserError

# How drivers and tools spell "nothing to report"; all of them become None.
_NOT_REPORTED = {"", "n/a", "[n/a]", "[not supported]", "not supported", "unknown", "none"}


class SurveyFileError(UserError):
    """A survey output that is not what its parser expects. Names the file; no traceback."""

    def __init__(self, source: str, expected: str, detail: str = "") -> None:
        self.source = source
        message = f"{source}: not {expected}"
        if detail:
            message += f" ({detail})"
        message += "; re-run the survey for this host, or remove the file to skip it"
        super().__init__(message)


def strict_json(text: str) -> Any:
    """JSON as a survey writes it: finite numbers only, and no nesting deep enough to exhaust
    Python's recursion limit (a broken or hostile file). Raises ValueError naming the problem
    (json.JSONDecodeError is one)."""
    try:
        return json.loads(text, parse_float=_finite, parse_constant=_no_constant)
    except RecursionError:
        raise ValueError("nested too deeply to be a survey output") from None


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:40]} is out of range")
    return value


def _no_constant(text: str) -> float:
    raise ValueError(f"{text} is not a number JSON allows")


def reported(value: str | None) -> str | None:
    """The value with surrounding space removed, or None where it says "not reported"."""
    if value is None:
        return None
    value = value.strip()
    return None if value.lower() in _NOT_REPORTED else value


def leading_number(value: str | None) -> float | None:
    """175.0 from '175.00 W', 8192 from '8192 MiB', 16 from '16x'; None if not reported."""
    value = reported(value)
    if value is None:
        return None
    match = re.match(r"[-+]?\d+(\.\d+)?", value)
    return float(match.group()) if match else None


def leading_int(value: str | None) -> int | None:
    number = leading_number(value)
    return int(number) if number is not None else None


_PCI_ADDRESS = re.compile(r"^(?:([0-9a-f]{1,8}):)?([0-9a-f]{2}):([0-1][0-9a-f])\.([0-7])$")


def pci_address(value: str) -> str | None:
    """Normalise a PCI address to 'dddd:bb:dd.f' in lower case; None for anything else.

    nvidia-smi writes an 8-digit domain ('00000000:2D:00.0'), lspci none unless run with -D.
    """
    match = _PCI_ADDRESS.match(value.strip().lower())
    if match is None:
        return None
    domain, bus, device, function = match.groups()
    return f"{int(domain or '0', 16):04x}:{bus}:{device}.{function}"


# PCIe transfer rate in GT/s -> generation.
_GEN_BY_SPEED = {2.5: 1, 5.0: 2, 8.0: 3, 16.0: 4, 32.0: 5, 64.0: 6}


def gen_from_speed(value: str | None) -> int | None:
    """3 from '8GT/s' or '8.0 GT/s PCIe'; None for 'unknown' or anything unexpected."""
    number = leading_number(value)
    if number is None:
        return None
    return _GEN_BY_SPEED.get(number)


# Placeholders board vendors leave in the DMI tables instead of a real value.
_DMI_PLACEHOLDERS = {"to be filled by o.e.m.", "default string", "not specified", "system name"}


def dmi_value(value: str | None) -> str | None:
    """A DMI string, or None where the vendor left a placeholder."""
    value = reported(value)
    if value is None or value.lower() in _DMI_PLACEHOLDERS:
        return None
    return value
