"""Kubernetes quantities (`32`, `8000m`, `128Gi`) as a model type, checked where they are read.

The grammar is apimachinery's `resource.Quantity`: a number, then a binary suffix (Ki..Ei), a
decimal suffix (n, u, m, k, M, G, T, P, E) or an exponent. A site file states amounts of
something (a tenant's CPU or memory), so a sign is refused: a negative quota is never meant.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import BeforeValidator, WithJsonSchema

QUANTITY = re.compile(
    r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)"
    r"(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$"
)
UNSIGNED = r"^([0-9]+(\.[0-9]*)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$"
_UNSIGNED = re.compile(UNSIGNED)
EXPECTED = "expected a Kubernetes quantity such as '32', '8000m' or '128Gi'"


def as_quantity(value: Any) -> str:
    """The quantity as Kubernetes writes it; a plain YAML number (`cpu_quota: 32`) is one too."""
    if isinstance(value, bool):
        raise ValueError(EXPECTED)
    if isinstance(value, int | float):
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{EXPECTED}, not negative or infinite")
        value = str(int(value)) if float(value).is_integer() else repr(value)
    if not isinstance(value, str) or not _UNSIGNED.match(value):
        raise ValueError(EXPECTED)
    return value


Quantity = Annotated[
    str,
    BeforeValidator(as_quantity),
    WithJsonSchema({"type": ["string", "integer"], "pattern": UNSIGNED}),
]
