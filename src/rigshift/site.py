"""The one way every command loads a site: parse, validate, cross-check, assess."""

from __future__ import annotations

from pathlib import Path

from rigshift.model import SiteError, SiteModel, load_site, site_file
from rigshift.plan import Assessment, assess, capacity_problems


def load_checked(path: Path | str) -> tuple[SiteModel, Assessment]:
    """Load the site at `path` and assess it.

    Raises SiteError naming every problem: the model's own rules first, then the rules that
    need the assessment (tenant quotas against the GPUs the site keeps).
    """
    site = load_site(path)
    assessment = assess(site)
    problems = capacity_problems(site, assessment)
    if problems:
        raise SiteError(site_file(path), problems)
    return site, assessment
