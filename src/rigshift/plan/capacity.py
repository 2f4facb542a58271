"""Capacity rules that need the assessment: tenant GPU quotas against the GPUs the site keeps."""

from __future__ import annotations

from rigshift.model.errors import Problem
from rigshift.model.schema import SiteModel
from rigshift.plan.assess import Assessment
from rigshift.plan.classify import KEPT


def usable_gpus(site: SiteModel, assessment: Assessment) -> int:
    """GPUs tenants can request: kept GPUs, times the pods per GPU under time-slicing."""
    if site.gpu.sharing == "time-slicing":
        replicas: dict[str, int] = {str(k): n for k, n in site.gpu.time_slicing_replicas.items()}
        return sum(assessment.by_class[k] * replicas.get(k, 1) for k in KEPT)
    return sum(assessment.by_class[k] for k in KEPT)


def capacity_problems(site: SiteModel, assessment: Assessment) -> list[Problem]:
    """Tenant GPU quotas that the kept GPUs cannot honour, each at `tenants[i].gpu_quota`.

    A single quota above the usable GPUs is reported at that tenant; quotas that only together
    exceed them are reported once, at the tenant whose quota first takes the sum over.
    """
    usable = usable_gpus(site, assessment)
    sharing = " (counting time-slicing replicas)" if site.gpu.sharing == "time-slicing" else ""
    problems = []
    running = 0
    sum_reported = False
    for i, tenant in enumerate(site.tenants):
        loc = ("tenants", i, "gpu_quota")
        running += tenant.gpu_quota
        if tenant.gpu_quota > usable:
            problems.append(
                Problem(
                    loc,
                    f"quota of {tenant.gpu_quota} GPUs is more than the {usable} usable GPUs "
                    f"the site keeps{sharing}",
                    f"lower it to at most {usable}, or keep more GPUs",
                )
            )
            sum_reported = True
        elif running > usable and not sum_reported:
            problems.append(
                Problem(
                    loc,
                    f"quotas of tenants[0..{i}] add up to {running} GPUs, more than the "
                    f"{usable} usable GPUs the site keeps{sharing}",
                    "lower the quotas so that they add up to the usable GPUs at most",
                )
            )
            sum_reported = True
    return problems
