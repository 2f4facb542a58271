"""The plan difference a reviewer reads instead of a YAML diff.

Both sides are reduced to the same handful of figures (GPUs by class, servers and parts to buy,
power at stock TDP, capex), so that a pull request can be summed up as "this change retires 24
GPUs and adds 45 kW". The base side is the site as committed at the base ref, copied by
`site_at_ref` and loaded by `Site.load` as the head is, records included: the two sides differ
only by what the change changed.
"""

from __future__ import annotations

import io
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from rigshift.errors import UserError
from rigshift.paths import SiteLayout
from rigshift.plan import SitePlan

MONEY = "money"


@dataclass(frozen=True)
class Metric:
    """One figure compared between the base and the proposed site file."""

    key: str
    label: str
    unit: str = ""


@dataclass(frozen=True)
class Change:
    """A metric's value on both sides."""

    metric: Metric
    base: float
    head: float

    @property
    def delta(self) -> float:
        return self.head - self.base


@dataclass(frozen=True)
class PlanDiff:
    """Every metric on both sides, in a fixed order, and the one-sentence headline."""

    base_ref: str
    changes: tuple[Change, ...]
    currency: str = ""

    def value(self, key: str) -> Change | None:
        return next((c for c in self.changes if c.metric.key == key), None)

    @property
    def changed(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.delta)

    def headline(self) -> str:
        """What the change does, in the words a reviewer would use."""
        clauses: list[str] = []

        def clause(key: str, more: str, fewer: str) -> None:
            change = self.value(key)
            if change is None or not change.delta:
                return
            amount = self.number(abs(change.delta), change.metric.unit)
            clauses.append((more if change.delta > 0 else fewer).format(n=amount))

        clause("gpus.retire", "retires {n} GPUs", "retires {n} fewer GPUs")
        clause("gpus.kept", "keeps {n} more GPUs", "keeps {n} fewer GPUs")
        clause("power_kw", "adds {n}", "removes {n}")
        clause("servers", "buys {n} more servers", "buys {n} fewer servers")
        clause("capex", "adds {n} of capex", "saves {n} of capex")
        if not clauses:
            return f"This change leaves the plan as it was at {self.base_ref}."
        text = ", ".join(clauses[:-1]) + (" and " if len(clauses) > 1 else "") + clauses[-1]
        return f"Against {self.base_ref}, this change {text}."

    def to_json(self) -> dict[str, Any]:
        return {
            "base_ref": self.base_ref,
            "currency": self.currency,
            "headline": self.headline(),
            "metrics": [
                {
                    "key": c.metric.key,
                    "label": c.metric.label,
                    "unit": c.metric.unit,
                    "base": c.base,
                    "head": c.head,
                    "delta": c.delta,
                }
                for c in self.changes
            ],
        }

    def table(self) -> list[str]:
        """A Markdown table of the metrics that changed (all of them when none did)."""
        rows = self.changed or self.changes
        out = [f"| | {self.base_ref} | this change | difference |", "|---|---:|---:|---:|"]
        for c in rows:
            unit = c.metric.unit
            sign = "+" if c.delta > 0 else "-" if c.delta < 0 else "±"
            out.append(
                f"| {c.metric.label} | {self.number(c.base, unit)} "
                f"| {self.number(c.head, unit)} | {sign}{self.number(abs(c.delta), unit)} |"
            )
        return out

    def number(self, value: float, unit: str) -> str:
        """A figure as a person writes it: thousands separated, kW and TB to one decimal."""
        if unit == MONEY:
            return f"{value:,.0f} {self.currency}".rstrip()
        text = f"{value:,.1f}".removesuffix(".0") if unit in ("kW", "TB") else f"{value:,.0f}"
        return f"{text} {unit}".rstrip()


# The figures a reviewer weighs, in the order the table shows them.
METRICS = (
    Metric("gpus.train", "GPUs kept for training"),
    Metric("gpus.infer", "GPUs kept for inference"),
    Metric("gpus.legacy", "GPUs kept on the legacy driver"),
    Metric("gpus.kept", "GPUs kept in all"),
    Metric("gpus.retire", "GPUs retired"),
    Metric("rigs.total", "rigs"),
    Metric("servers", "GPU servers to buy"),
    Metric("ram_gb", "server RAM to buy", "GB"),
    Metric("nvme_tb", "NVMe to buy", "TB"),
    Metric("nics", "NICs to buy"),
    Metric("switch_ports", "switch ports to buy"),
    Metric("power_kw", "IT load at stock TDP", "kW"),
    Metric("racks", "racks"),
    Metric("capex", "capex", MONEY),
)


def figures(plan: SitePlan) -> dict[str, float]:
    """The METRICS of one plan. Capex only when the site gives its economics."""
    out: dict[str, float] = {
        f"gpus.{k}": float(plan.classes[k].gpus) for k in ("train", "infer", "legacy")
    }
    out["gpus.kept"] = float(plan.kept.gpus)
    out["gpus.retire"] = float(plan.classes["retire"].gpus)
    out["rigs.total"] = float(plan.rigs.total)
    out["servers"] = float(plan.bom.server_count)
    out["ram_gb"] = float(plan.bom.ram_gb)
    out["nvme_tb"] = float(plan.bom.nvme_tb)
    out["nics"] = float(plan.bom.nics)
    out["switch_ports"] = float(plan.bom.switch_ports)
    out["power_kw"] = float(plan.power.it_load_kw)
    out["racks"] = float(plan.power.racks)
    if plan.economics is not None:
        out["capex"] = float(plan.economics.capex.total)
    return out


def currency(plan: SitePlan) -> str:
    return plan.economics.currency if plan.economics is not None else ""


def summary(plan: SitePlan) -> str:
    """One line for the plan step: what is kept, what to buy, what it draws."""
    f = figures(plan)
    total = f["gpus.kept"] + f["gpus.retire"]
    text = (
        f"{f['gpus.kept']:.0f} of {total:.0f} GPUs kept ({f['gpus.train']:.0f} train, "
        f"{f['gpus.infer']:.0f} infer, {f['gpus.legacy']:.0f} legacy), "
        f"{f['servers']:.0f} servers to buy, {f['power_kw']:,.1f} kW at stock TDP"
    )
    if "capex" in f:
        text += f", capex {f['capex']:,.0f} {currency(plan)}".rstrip()
    return text


def diff(base_ref: str, base: SitePlan, head: SitePlan) -> PlanDiff:
    """Compare two plans. A figure missing on one side (capex) counts as 0."""
    old, new = figures(base), figures(head)
    changes = tuple(
        Change(m, old.get(m.key, 0.0), new.get(m.key, 0.0))
        for m in METRICS
        if m.key in old or m.key in new
    )
    return PlanDiff(base_ref, changes, currency(head) or currency(base))


# Git's modes for a regular file; a symlink or a submodule is no file `Site.load` would read.
REGULAR_FILE_MODES = ("100644", "100755")


@dataclass(frozen=True)
class SiteAtRef:
    """A site folder's files as committed at a git ref, copied to a local folder."""

    ref: str
    # The site folder inside the repository, as git names it (`inventories/lab`).
    name: str
    copy: SiteLayout

    def shown(self, text: str) -> str:
        """`text` naming the copy as git names it (`main:inventories/lab/site.yaml`), since
        the temporary folder means nothing to the reader of a message."""
        return text.replace(str(self.copy.root), f"{self.ref}:{self.name}")


def site_at_ref(layout: SiteLayout, ref: str, into: Path) -> SiteAtRef:
    """Copy what `Site.load` reads of the site at `layout` (its site file and its acceptance
    records) as committed at git `ref` into a site folder under `into`.

    Each file goes where `SiteLayout` puts it: of a path read from git only a record's own file
    name is used, and nothing read is run. Raises UserError when git is missing, the site is
    outside a repository, the ref is unknown, or the site file is not committed at that ref.
    """
    top = _git(layout.root, "rev-parse", "--show-toplevel")
    if top.returncode != 0:
        raise UserError(f"--base: {layout.root} is not inside a git repository")
    root = Path(os.fsdecode(top.stdout).removesuffix("\n")).resolve()
    site_file = layout.site_file.relative_to(root).as_posix()
    records = layout.acceptance.relative_to(root).as_posix()
    listed = _git(
        root,
        "--literal-pathspecs",
        "ls-tree",
        "-r",
        "-z",
        "--end-of-options",
        ref,
        "--",
        site_file,
        records,
    )
    if listed.returncode != 0:
        why = os.fsdecode(listed.stderr).strip().splitlines()[-1:] or ["git ls-tree failed"]
        raise UserError(f"--base {ref}: cannot read {site_file} at that ref ({why[0]})")
    copy = SiteLayout(into / layout.name, layout.site_file_name)
    wanted: list[tuple[str, Path]] = []  # blob -> where the copy keeps it
    for entry in filter(None, listed.stdout.split(b"\0")):
        meta, _, raw = entry.partition(b"\t")
        mode, _, blob = meta.decode().split()
        if mode not in REGULAR_FILE_MODES:
            continue
        path = PurePosixPath(os.fsdecode(raw))
        if path.as_posix() == site_file:
            wanted.append((blob, copy.site_file))
        elif path.parent.as_posix() == records and path.suffix == ".json":
            wanted.append((blob, copy.acceptance / path.name))
    if not any(target == copy.site_file for _, target in wanted):
        raise UserError(f"--base {ref}: cannot read {site_file} at that ref (not committed there)")
    # One git for every file: a farm keeps one acceptance record per rig.
    blobs = _git(root, "cat-file", "--batch", stdin="".join(f"{b}\n" for b, _ in wanted))
    stream = io.BytesIO(blobs.stdout)
    for _, target in wanted:
        size = int(stream.readline().split()[2])  # "<blob> blob <size>"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(stream.read(size))
        stream.read(1)  # the newline after each blob
    return SiteAtRef(ref, layout.root.relative_to(root).as_posix(), copy)


def _git(cwd: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(
            ["git", *args], cwd=cwd, input=stdin.encode(), capture_output=True, check=False
        )
    except FileNotFoundError:
        raise UserError("--base needs git, which is not installed") from None
