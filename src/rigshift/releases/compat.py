"""The compatibility table (compat.yaml) as typed data, read once.

compat().operator_range("v26.7.0")      -> ("1.33", "1.36")
compat().branch("580").drives("Pascal")  -> True
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml


@dataclass(frozen=True)
class OperatorSupport:
    kubernetes: tuple[str, ...]
    distributions: tuple[str, ...]

    @property
    def range_text(self) -> str:
        return f"{self.kubernetes[0]}-{self.kubernetes[-1]}"


@dataclass(frozen=True)
class DriverBranch:
    name: str
    architectures: tuple[str, ...]
    cuda: str | None
    container_version: str

    def drives(self, architecture: str) -> bool:
        return architecture in self.architectures


@dataclass(frozen=True)
class Architecture:
    cuda_ceiling: str | None
    pytorch_wheels: bool


@dataclass(frozen=True)
class Compat:
    operators: dict[str, OperatorSupport]
    branches: dict[str, DriverBranch]
    default_branches: dict[str, str]
    architectures: dict[str, Architecture]

    def operator(self, version: str) -> OperatorSupport:
        return self.operators[version]

    def branch(self, name: str) -> DriverBranch | None:
        return self.branches.get(name)

    def architecture(self, name: str) -> Architecture | None:
        return self.architectures.get(name)


@cache
def compat() -> Compat:
    text = resources.files(__package__).joinpath("compat.yaml").read_text(encoding="utf-8")
    doc = yaml.safe_load(text)
    return Compat(
        operators={
            version: OperatorSupport(tuple(v["kubernetes"]), tuple(v["distributions"]))
            for version, v in doc["gpu_operator"].items()
        },
        branches={
            str(name): DriverBranch(
                str(name), tuple(b["architectures"]), b["cuda"], str(b["container_version"])
            )
            for name, b in doc["driver_branches"].items()
        },
        default_branches={k: str(v) for k, v in doc["default_branches"].items()},
        architectures={
            name: Architecture(a["cuda_ceiling"], bool(a["pytorch_wheels"]))
            for name, a in doc["architectures"].items()
        },
    )
