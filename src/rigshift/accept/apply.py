"""Acceptance verdicts folded into the assessment: the plan follows the cards' real state.

A site entry of `count` cards of one model is split by what its rig's record found: the cards
that passed keep their class, a degraded card moves one class down, a failed card is retired,
and cards the record did not cover keep the datasheet's verdict. Differences between the record
and the site file (another count, a model the site does not list) are warnings, not guesses.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from rigshift.accept.verdict import GpuVerdict, HostVerdict
from rigshift.model import Problem
from rigshift.model.schema import SiteModel
from rigshift.paths import shown
from rigshift.plan.assess import Assessment, GpuAssessment, RigAssessment, blockers
from rigshift.plan.classify import GpuClass

# One class down. The classes under infer are set by architecture (legacy is Pascal on the R580
# branch), so a degraded infer or legacy card has no lower class to go to: it is retired, with
# its reasons; a site that wants it kept relaxes `plan.acceptance`.
DEGRADED: dict[GpuClass, GpuClass] = {
    "train": "infer",
    "infer": "retire",
    "legacy": "retire",
    "retire": "retire",
}


def split_entry(item: GpuAssessment, verdicts: list[GpuVerdict]) -> list[GpuAssessment]:
    """`item` (count cards of one model) as parts: passed, then each degraded or failed card
    with its own reasons, then the untested rest. `verdicts` holds at most `item.count`."""
    passed = [v for v in verdicts if v.outcome == "pass"]
    parts = []
    if passed:
        parts.append(replace(item, count=len(passed), acceptance="pass"))
    for verdict in verdicts:
        if verdict.outcome == "pass":
            continue
        reasons = "; ".join(verdict.reasons)
        if verdict.outcome == "fail":
            klass: GpuClass = "retire"
            reason = f"failed acceptance ({verdict.label}): {reasons}"
        else:
            klass = DEGRADED[item.klass]
            reason = f"degraded from {item.klass} by acceptance ({verdict.label}): {reasons}"
        parts.append(replace(item, count=1, klass=klass, reason=reason, acceptance=verdict.outcome))
    untested = item.count - len(verdicts)
    if untested:
        parts.append(replace(item, count=untested))
    return parts


def by_model(host: HostVerdict) -> dict[str, list[GpuVerdict]]:
    """A record's verdicts grouped by catalogue model, in the record's (PCI bus) order."""
    out: dict[str, list[GpuVerdict]] = {}
    for verdict in host.gpus:
        if verdict.model:
            out.setdefault(verdict.model, []).append(verdict)
    return out


def apply_acceptance(
    site: SiteModel, assessment: Assessment, verdicts: Mapping[str, HostVerdict]
) -> Assessment:
    """The assessment with every tested rig's entries split by their cards' verdicts, and its
    blockers and class counts worked out again."""
    tested = {host: v for host, v in verdicts.items() if v.status == "tested"}
    if not tested:
        return assessment
    rigs = {rig.name: rig for rig in site.fleet.rigs}
    out_rigs: list[RigAssessment] = []
    by_class: Counter[GpuClass] = Counter()
    for rig in assessment.rigs:
        if rig.name in tested:
            pool = by_model(tested[rig.name])
            parts: list[GpuAssessment] = []
            for item in rig.gpus:
                cards = pool.get(item.spec.model, [])
                pool[item.spec.model] = cards[item.count :]
                parts.extend(split_entry(item, cards[: item.count]))
            found = blockers(rigs[rig.name], parts)
            rig = RigAssessment(
                rig.name,
                tuple(parts),
                tuple(text for _, text in found),
                tuple(kind for kind, _ in found),
            )
        out_rigs.append(rig)
        for item in rig.gpus:
            by_class[item.klass] += item.count
    return Assessment(tuple(g for r in out_rigs for g in r.gpus), tuple(out_rigs), by_class)


def acceptance_warnings(
    site: SiteModel,
    assessment: Assessment,
    verdicts: Mapping[str, HostVerdict],
    records: Path,
) -> list[Problem]:
    """Where a record (in the folder `records`) and the site file disagree (`assessment` before
    `apply_acceptance`)."""
    out = []
    index = {rig.name: i for i, rig in enumerate(site.fleet.rigs)}
    for host, verdict in sorted(verdicts.items()):
        where = shown(records / f"{host}.json")
        if host not in index:
            out.append(Problem((), f"{where}: no rig {host!r} in the site file; record ignored"))
            continue
        loc: tuple[str | int, ...] = ("fleet", "rigs", index[host], "gpus")
        listed: Counter[str] = Counter()
        for item in assessment.rig(host).gpus:
            listed[item.spec.model] += item.count
        if verdict.status != "tested":
            if listed:
                out.append(
                    Problem(
                        loc,
                        f"{where}: {verdict.note}; the site file lists "
                        f"{listed.total()} GPUs on {host}: no verdicts",
                    )
                )
            continue
        found = Counter({model: len(cards) for model, cards in by_model(verdict).items()})
        for model in sorted(set(listed) | set(found)):
            if listed[model] != found[model]:
                out.append(
                    Problem(
                        loc,
                        f"{where} found {found[model]} {model} on {host}, the site file "
                        f"lists {listed[model]}",
                        hint="correct the site file (`rigshift discover` reads the rig) "
                        "or look at the rig",
                    )
                )
        unknown = [v.label for v in verdict.gpus if v.model is None]
        if unknown:
            out.append(
                Problem(loc, f"{where}: {', '.join(unknown)} on {host} match no catalogue model")
            )
    return out
