"""The steps of `rigshift ci`, in the order they run.

Each step is a function of the run's context that returns normally when its check passed, or
raises `Failed` / `Skipped` with the reason. Steps hand what they learn (the model, the plan) to
the later ones through the context, so the site file is read once.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rigshift import paths
from rigshift.ci import plandiff
from rigshift.errors import UserError
from rigshift.lab import down as lab_down
from rigshift.lab import up as lab_up
from rigshift.paths import SiteLayout, shown
from rigshift.plan import SitePlan
from rigshift.render import render as render_site
from rigshift.run import CHECK_MODE_PHASES, ConvergeOptions, converge, prepare
from rigshift.site import Site

if TYPE_CHECKING:
    from rigshift.preview.checked import CheckedPreview


class Failed(Exception):
    """The step's check failed: `summary` says what, `details` show where."""

    def __init__(self, summary: str, details: list[str] | tuple[str, ...] = ()) -> None:
        super().__init__(summary)
        self.summary = summary
        self.details = tuple(details)


class Skipped(Exception):
    """The step could not run, or was not asked for; the message says which and why."""

    def __init__(self, reason: str, optional: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.optional = optional


@dataclass
class Context:
    """What a run knows: its inputs, and what earlier steps found."""

    site_path: Path
    base: str | None = None
    # The site's files as committed at `base`, copied into the workdir by `check_inputs`.
    base_copy: plandiff.SiteAtRef | None = None
    lab: bool = False
    # A folder of the pinned charts for the preview step (else the stack's, or the repositories).
    charts: Path | None = None
    playbooks: Path = paths.PLAYBOOKS
    workdir: Path = field(default_factory=lambda: Path(tempfile.gettempdir()))
    # The site, loaded once by step 1 and handed to every later step.
    site: Site | None = None
    rendered_fresh: bool = False
    plan: SitePlan | None = None
    plan_diff: plandiff.PlanDiff | None = None
    # The rendered stack (step 6), for the scan.
    checked: CheckedPreview | None = None
    notes: list[str] = field(default_factory=list)
    # Progress of long steps (the lab), for the terminal.
    say: Callable[[str], None] = field(default=lambda _: None)

    @property
    def layout(self) -> SiteLayout:
        return SiteLayout.of(self.site_path)

    def need_site(self) -> Site:
        """The loaded site, or Skipped when step 1 failed."""
        if self.site is None:
            raise Skipped("not run: the site file did not validate (step 1)")
        return self.site


@dataclass(frozen=True)
class Step:
    """One check of the run: its short name, what it checks, and the function that checks it."""

    name: str
    title: str
    run: Callable[[Context], str]


# -- 1. validate ---------------------------------------------------------------------------------


def validate(ctx: Context) -> str:
    """Every rule of the model, plus the checks every command makes before it uses a site."""
    try:
        ctx.site = Site.load(ctx.site_path)
    except UserError as exc:
        lines = exc.render().splitlines()
        problems = [line for line in lines if not line.startswith(" ")] or lines
        raise Failed(f"{len(problems)} problem(s): {problems[0]}", lines) from None
    model = ctx.site.model
    gpus = sum(rig.gpu_count for rig in model.fleet.rigs)
    summary = f"{shown(ctx.layout.site_file)}: {len(model.fleet.rigs)} rigs, {gpus} GPUs"
    warnings = ctx.site.warnings
    if warnings:
        ctx.notes += [f"warning: {w.render(shown(ctx.layout.site_file))}" for w in warnings]
        summary += (
            f"; {len(warnings)} warning(s), the first: {warnings[0].path}: {warnings[0].message}"
        )
    return summary


# -- 2. plan -------------------------------------------------------------------------------------


def plan(ctx: Context) -> str:
    """The conversion plan, and with --base, its difference against the site at the base ref."""
    ctx.plan = ctx.need_site().plan
    summary = plandiff.summary(ctx.plan)
    base = ctx.base_copy
    if base is None:
        return summary
    try:
        base_site = Site.load(base.copy.site_file)
    except UserError as exc:
        ctx.notes.append(f"the site at {base.ref} does not validate, so there is no diff")
        ctx.notes += base.shown(exc.render()).splitlines()
        return f"{summary}; no diff: the site at {base.ref} does not validate"
    ctx.plan_diff = plandiff.diff(base.ref, base_site.plan, ctx.plan)
    return f"{summary}. {ctx.plan_diff.headline()}"


# -- 3. render -----------------------------------------------------------------------------------


def render(ctx: Context) -> str:
    """Render's own dry run: compare what render would write with the files committed.

    A dry run writes nothing, so the check cannot disturb the tree it checks.
    """
    site = ctx.need_site()
    result = render_site(site, dry_run=True)
    stale = result.stale()
    if stale:
        raise Failed(
            f"{len(stale)} rendered file(s) are stale: run `rigshift render {site.layout.shown}` "
            f"and commit the result ({stale[0]})",
            stale,
        )
    ctx.rendered_fresh = True
    return f"{len(result.unchanged)} rendered files are up to date"


# -- 4. playbooks --------------------------------------------------------------------------------


def tool(name: str) -> str:
    """The path of a command installed beside this Python (the venv), else the one on PATH."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else name


def tool_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", NO_COLOR="1", PY_COLORS="0")
    return env


def _run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            cmd, cwd=cwd, env=tool_env(), capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        raise Skipped(f"not run: {cmd[0]} is not installed") from None


def playbooks(ctx: Context) -> str:
    """`ansible-playbook --syntax-check` of every playbook, then ansible-lint (production)."""
    books = sorted(ctx.playbooks.glob("*.yml"))
    if not books:
        raise Failed(f"no playbooks (*.yml) in {ctx.playbooks}")
    root = ctx.playbooks.parent
    syntax = [tool("ansible-playbook"), "-i", "localhost,", "--syntax-check"]
    bad: list[str] = []
    # One ansible-playbook for all of them is fast; only when it fails, find out which failed.
    if _run([*syntax, *map(str, books)], root).returncode != 0:
        for book in books:
            done = _run([*syntax, str(book)], root)
            if done.returncode != 0:
                bad.append(f"{book.relative_to(root)}: syntax check failed")
                bad += ["    " + line for line in _tool_lines(done)]
    lint = _run(
        [
            tool("ansible-lint"),
            "--offline",
            "--profile",
            "production",
            "-f",
            "pep8",
            "--nocolor",
            str(ctx.playbooks.relative_to(root)),
        ],
        root,
    )
    if lint.returncode != 0:
        violations = [line for line in lint.stdout.splitlines() if line.strip()]
        bad.append(f"ansible-lint (production profile): {len(violations)} violation(s)")
        bad += ["    " + line for line in violations or _tool_lines(lint)]
    if bad:
        problems = [line for line in bad if not line.startswith(" ")]
        raise Failed("; ".join(problems), bad)
    return f"{len(books)} playbooks pass the syntax check and ansible-lint (production profile)"


def _tool_lines(done: subprocess.CompletedProcess[str]) -> list[str]:
    """The lines of a tool's output that explain a failure, without its environment warnings."""
    text = (done.stderr + "\n" + done.stdout).splitlines()
    return [line for line in text if line.strip() and "PATH altered" not in line]


# -- 5. lab --------------------------------------------------------------------------------------

# A lab host is a whole Debian system: a 150-rig farm is rehearsed on its first rigs (in file
# order, with their names and addresses). Every phase still runs for real against them; more
# hosts of the same kind would add minutes to every pull request, not checks.
LAB_MAX_HOSTS = 4


def lab(ctx: Context) -> str:
    """A lab of the site's shape, a converge in --check --diff mode against it, then teardown."""
    if not ctx.lab:
        raise Skipped("not requested (pass --lab to rehearse on local hosts)", optional=True)
    site = ctx.need_site()
    model = site.model
    # The converge target re-renders the site; with the committed files up to date (step 3)
    # that writes nothing, and a stale tree is never rewritten behind the user's back.
    if not ctx.rendered_fresh:
        raise Skipped("not run: the rendered files are not up to date (step 3)")
    count = min(len(model.fleet.rigs), LAB_MAX_HOSTS)
    # Rigs of a site still run their mining OS when the conversion starts: rehearse that.
    seed = "hiveos" if any(r.mining_os == "hiveos" for r in model.fleet.rigs) else "none"
    name = f"ci{os.getpid()}"
    ctx.say(f"booting lab {name!r}: {count} hosts, seed {seed}")
    started = lab_up(site, hosts=count, seed=seed, name=name, say=ctx.say)
    try:
        target = prepare(site, lab=name)
        # A rehearsal's record belongs to this CI run, not to the site's history.
        target.record_dir = ctx.workdir / "runs"
        hosts = [h.name for h in started.hosts]
        ctx.say(f"converging {', '.join(hosts)} with --check --diff")
        options = ConvergeOptions(
            phases=CHECK_MODE_PHASES, limit=",".join(hosts), check=True, diff=True
        )
        result = converge(target, options)
        problems = [f"{host}: {why}" for host, why in sorted(result.failed_hosts().items())]
        problems += [f"phase {phase}: {why}" for phase, why in result.phase_errors().items()]
        if problems:
            problems += _tails(target.data_dir)
    finally:
        ctx.say(f"taking lab {name!r} down")
        lab_down(name, say=ctx.say)
    if problems:
        raise Failed(f"check-mode converge failed: {problems[0]}", problems)
    phases = ", ".join(t.phase for t in result.phases)
    return (
        f"converge --check --diff passed on {len(hosts)} lab hosts "
        f"({count} of {len(model.fleet.rigs)} rigs; phases {phases}); lab taken down"
    )


def _tails(runner_dir: Path, lines: int = 15) -> list[str]:
    """The last lines of each failed ansible-playbook run (ansible-runner keeps its output as
    artifacts), so that a phase that ended without a recap still shows why."""
    out: list[str] = []
    runs = sorted((runner_dir / "artifacts").glob("*/rc"), key=lambda p: p.stat().st_mtime)
    for rc in runs:
        if rc.read_text().strip() in ("0", ""):
            continue
        text = (rc.parent / "stdout").read_text(errors="replace").splitlines()
        # The task that broke says "fatal:" or "failed:"; without one, the end of the output
        # (a usage error, a missing file) says why.
        broken = [line for line in text if line.startswith(("fatal:", "failed:", "ERROR!"))]
        out.append(f"ansible-playbook output (rc {rc.read_text().strip()}):")
        out += ["    " + line for line in (broken or text)[-lines:] if line.strip()]
    return out


# -- 6. preview ----------------------------------------------------------------------------------


def preview(ctx: Context) -> str:
    """The offline stack preview: every chart rendered with helm, every object validated."""
    site = ctx.need_site()
    # Pulumi, helm and the Kubernetes schemas are heavy: only this step pays for them.
    from rigshift import preview as engine

    checked = engine.check_site(site, ctx.charts)
    ctx.checked = checked
    if checked.problems:
        raise Failed(
            f"{len(checked.problems)} problem(s) in the rendered stack: {checked.problems[0]}",
            checked.problems,
        )
    components = checked.preview.by_component()
    return (
        f"{len(checked.preview.resources)} resources in {len(components)} components and "
        f"{checked.objects} objects from {len(checked.releases)} chart releases; all valid for "
        f"Kubernetes {checked.schema} and the charts' CRDs"
    )


# -- 7. scan -------------------------------------------------------------------------------------


def scan(ctx: Context) -> str:
    """Checkov over every rendered object, against the reviewed accepted-findings file."""
    if ctx.checked is None:
        raise Skipped("not run: the stack was not rendered (step 6)")
    if ctx.checked.problems:
        # A scan of a stack that is not valid (a release may be missing) would pass too little.
        raise Skipped("not run: the rendered stack has problems (step 6)")
    from rigshift.charts import scan as checkov

    report = checkov.scan({ctx.layout.name: ctx.checked.releases})
    if report.problems or report.new:
        lines = report.problems + [f.line() for f in report.new]
        if report.new:
            lines.append(
                f"each finding must be fixed through the chart's values or justified in "
                f"src/rigshift/charts/{checkov.ACCEPTED_FILE}"
            )
        first = report.problems[0] if report.problems else f"new finding {report.new[0].line()}"
        raise Failed(f"{len(report.problems) + len(report.new)} problem(s): {first}", lines)
    return (
        f"checkov {report.version}: {report.scanned} objects scanned, {len(report.findings)} "
        f"findings, every one reviewed ({checkov.ACCEPTED_FILE}); none new"
    )


STEPS = (
    Step("validate", "site file validates", validate),
    Step("plan", "conversion plan (and difference against --base)", plan),
    Step("render", "committed rendered files are up to date", render),
    Step("playbooks", "playbook syntax check and ansible-lint", playbooks),
    Step("lab", "converge --check --diff on a lab of the site's shape", lab),
    Step("preview", "offline stack preview, charts rendered and validated", preview),
    Step("scan", "checkov over the rendered objects, nothing new", scan),
)
