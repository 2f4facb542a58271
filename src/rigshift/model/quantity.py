"""Kubernetes quantities (`32`, `8000m`, `128Gi`) as a model type, checked where they are read.

The grammar is apimachinery's `resource.Quantity`: a number, then a binary suffix (Ki..Ei), a
decimal suffix (n, u, m, k, M, G, T, P, E) or an exponent. A site file states amounts of
something (a tenant's CPU or memory), so a sign is refused: a negative quota is never meant.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, WithJsonSchema

QUANTITY = re.compile(
    r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)"
    r"(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$"
)
UNSIGNED = r"^([0-9]+(\.[0-9]*)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$"
_UNSIGNED = re.compile(UNSIGNED)
EXPECTED = "expected a Kubernetes quantity such as '32', '8000m' or '128Gi'"
# apimachinery: "no quantity may represent a number greater than 2^63-1 in magnitude"; a larger
# one is capped, so the quota the cluster enforces would not be the one written.
MAX_QUANTITY = 2**63 - 1
_SCALE = {
    **{s: Decimal(1024) ** (i + 1) for i, s in enumerate(("Ki", "Mi", "Gi", "Ti", "Pi", "Ei"))},
    **{
        s: Decimal(10) ** e
        for s, e in zip("numkMGTPE", (-9, -6, -3, 3, 6, 9, 12, 15, 18), strict=True)
    },
}


def as_quantity(value: Any) -> str:
    """The quantity as Kubernetes writes it; a plain YAML number (`cpu_quota: 32`) is one too."""
    if isinstance(value, bool):
        raise ValueError(EXPECTED)
    if isinstance(value, int | float):
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{EXPECTED}, not negative or infinite")
        value = str(int(value)) if float(value).is_integer() else repr(value)
    match = _UNSIGNED.match(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(EXPECTED)
    if _amount(match.group(1), match.group(3) or "") > MAX_QUANTITY:
        raise ValueError(
            f"more than the largest quantity Kubernetes holds, 2^63-1 ({MAX_QUANTITY:,}): "
            "write the amount at most that"
        )
    return match.string


def _amount(number: str, suffix: str) -> Decimal:
    scale = _SCALE.get(suffix) if suffix else Decimal(1)
    if scale is not None:
        return Decimal(number) * scale
    # An exponent: checked by length first, as int() refuses thousands of digits.
    exponent = suffix[1:].lstrip("+")
    if len(exponent.lstrip("-")) > 3:
        return Decimal(0) if exponent.startswith("-") else Decimal(MAX_QUANTITY + 1)
    return Decimal(number).scaleb(int(exponent))


Quantity = Annotated[
    str,
    BeforeValidator(as_quantity),
    WithJsonSchema({"type": ["string", "integer"], "pattern": UNSIGNED}),
]
