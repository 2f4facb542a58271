"""`rigshift plan SITE`: the conversion plan, summarised in the terminal and written as reports."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from rigshift.cli.site import say_warnings
from rigshift.plan import CLASSES
from rigshift.plan.conversion import PUBLIC_KEPT_SHARE, SitePlan
from rigshift.report import FORMATS, write_reports
from rigshift.site import Site


@click.command()
@click.argument("site", type=click.Path(path_type=str))
@click.option(
    "--format",
    "fmt",
    type=click.Choice([*FORMATS, "all"]),
    default="all",
    show_default=True,
    help="Report format to write.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Directory for the reports  [default: build/<site folder name>]",
)
def plan(site: str, fmt: str, out: Path | None) -> None:
    """Assess a site and plan its conversion: print a summary, write the reports."""
    loaded = Site.load(site)
    say_warnings(loaded)
    result = loaded.plan
    written = write_reports(
        result, out or Path("build") / loaded.layout.name, FORMATS if fmt == "all" else (fmt,)
    )
    console = Console(highlight=False)
    console.print(summary_table(result))
    for path in written:
        console.print(f"wrote {path}")


def summary_table(plan: SitePlan) -> Table:
    """The few figures a site engineer wants first, as a terminal table."""
    kept, p, eco = plan.kept, plan.power, plan.economics
    table = Table(title=f"Conversion plan: {plan.site}", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    low, high = PUBLIC_KEPT_SHARE
    table.add_row(
        "GPUs kept",
        f"{kept.gpus:,} of {plan.total_gpus:,} ({plan.kept_share:.1%}; public estimates "
        f"{low:.0%}-{high:.0%})",
    )
    table.add_row("by class", "  ".join(f"{k} {plan.classes[k].gpus:,}" for k in CLASSES))
    table.add_row(
        "usable",
        f"{kept.vram_gb:,.0f} GB VRAM, {kept.fp16_tensor_tflops:,.0f} FP16 tensor / "
        f"{kept.fp32_tflops:,.0f} FP32 TFLOPS",
    )
    table.add_row(
        "rigs",
        f"{plan.rigs.host:,} host as-is, {plan.rigs.move:,} move, {plan.rigs.retire:,} retire",
    )
    table.add_row(
        "to buy",
        f"{plan.bom.server_count:,} servers, {plan.bom.ram_gb:,} GB RAM, "
        f"{plan.bom.nvme_tb:,.0f} TB NVMe, {plan.bom.nics:,} NICs, "
        f"{plan.bom.switch_ports:,} switch ports",
    )
    verdict = "fits" if p.fits else f"[red]over by {-p.headroom_kw:,.1f} kW[/red]"
    racks = f"{p.racks:,} rack" + ("" if p.racks == 1 else "s")
    table.add_row(
        "power",
        f"{p.it_load_kw:,.1f} kW of {p.limit_kw:,.1f} kW ({verdict}), {racks}",
    )
    for gap in plan.redundancy:
        state = "met" if gap.met else "[red]gap[/red]"
        table.add_row(
            f"{gap.system} redundancy",
            f"{gap.current} today, tier {plan.target_tier} needs {gap.required} ({state})",
        )
    if eco is not None:
        payback = f"{eco.payback_months:,.1f} months" if eco.payback_months is not None else "never"
        table.add_row("capex", f"{eco.capex.total:,.0f} {eco.currency}, payback {payback}")
    return table


COMMANDS = (plan,)
