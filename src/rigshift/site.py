"""The loaded site every command works on: its model, its assessment and its folder layout.

    site = Site.load("inventories/lab")   # parse, validate, cross-check: once per command
    site.model.fleet.rigs                  # the typed site file
    site.assessment                        # the verdict per GPU and rig (computed once)
    site.layout.hosts                      # inventories/lab/generated/hosts.yml

Every layer (render, run, lab, preview, discover, ci, the stack program) takes a `Site` or its
layout and never a path to load again: `Site.load` is the only caller of the model's loader.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import MappingProxyType

from rigshift.accept import HostVerdict, judge, load_records
from rigshift.accept.apply import acceptance_warnings, apply_acceptance
from rigshift.model import Problem, SiteError, SiteModel, read_site
from rigshift.paths import SiteLayout
from rigshift.plan import (
    Assessment,
    SitePlan,
    assess,
    build_plan,
    capacity_problems,
    platform_problems,
)


@dataclass(frozen=True, eq=False)
class Site:
    """A validated site file and where its files go.

    Frozen: `cached_property` still fills `assessment` and `plan` once (it writes the instance
    dict directly), and nothing else can change a loaded site behind another layer's back.
    """

    model: SiteModel
    layout: SiteLayout
    # What the site file's loader found odd but not wrong (a card's surveyed VRAM against its
    # model's); `warnings` adds what the acceptance records disagree with.
    file_warnings: tuple[Problem, ...] = ()
    # Host -> its GPU acceptance verdicts, from `generated/acceptance/<host>.json`
    # (`rigshift accept`), judged under the site file's `plan.acceptance`.
    acceptance: Mapping[str, HostVerdict] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def load(cls, path: Path | str) -> Site:
        """Load the site at `path` (`inventories/<site>` or its site.yaml) and check it.

        Raises SiteError naming every problem: the model's own rules first, then the rules that
        need the assessment (the pinned releases against the site's Kubernetes and cards, tenant
        quotas against the GPUs the site keeps).
        """
        layout = SiteLayout.of(path)
        model, warnings = read_site(layout.site_file)
        records = load_records(layout.acceptance)
        verdicts = {
            host: judge(host, record, model.plan.acceptance) for host, record in records.items()
        }
        site = cls(model, layout, tuple(warnings), MappingProxyType(verdicts))
        problems = [
            *platform_problems(site.model, site.datasheet),
            *capacity_problems(site.model, site.assessment),
        ]
        if problems:
            raise SiteError(layout.site_file, problems)
        return site

    @property
    def name(self) -> str:
        """The site's own name (`site.name` in the file), as reports show it."""
        return self.model.site.name

    @cached_property
    def warnings(self) -> tuple[Problem, ...]:
        """What is odd but not wrong: commands print these and carry on."""
        found = acceptance_warnings(
            self.model, self.datasheet, self.acceptance, self.layout.acceptance
        )
        return (*self.file_warnings, *found)

    @cached_property
    def datasheet(self) -> Assessment:
        """The verdict per GPU and rig from the catalogue alone, before acceptance."""
        return assess(self.model)

    @cached_property
    def assessment(self) -> Assessment:
        """The datasheet verdicts, with the acceptance verdicts of tested rigs applied."""
        return apply_acceptance(self.model, self.datasheet, self.acceptance)

    @cached_property
    def plan(self) -> SitePlan:
        """The conversion plan (bill of materials, power, economics) built from the assessment."""
        return build_plan(self.model, self.assessment, self.acceptance)
