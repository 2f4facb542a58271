"""What the stack program's `wire(site, config)` returns: its parts in order, and its outputs.

`stacks/__main__.py` exports the outputs; `rigshift preview` reads the order from `components`
instead of restating it, so the preview lists resources the way the program wires them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi


@dataclass
class Wiring:
    """The stack's top-level resources in the order they were created, and its outputs."""

    components: list[pulumi.Resource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)

    def add(self, resource: pulumi.Resource) -> Any:
        """Record `resource` as the next part and return it, so wiring reads as assignments."""
        self.components.append(resource)
        return resource
