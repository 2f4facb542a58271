"""Tenant GPU quotas are checked against the GPUs the site keeps."""

from __future__ import annotations

from rigshift.model import parse_site
from rigshift.plan import assess, capacity_problems, usable_gpus
from tests.unit.plan.small_site import SMALL_SITE, small_site


def test_quotas_within_the_kept_gpus_pass() -> None:
    site = small_site()
    assert usable_gpus(site, assess(site)) == 12  # 5 train + 5 infer + 2 legacy
    assert capacity_problems(site, assess(site)) == []


def test_a_single_quota_above_usable_names_that_tenant() -> None:
    site = parse_site(SMALL_SITE.replace("gpu_quota: 4", "gpu_quota: 13"))
    problems = capacity_problems(site, assess(site))
    assert [p.path for p in problems] == ["tenants[0].gpu_quota"]
    assert "13" in problems[0].message and "12 usable" in problems[0].message


def test_quotas_that_only_together_exceed_usable_are_reported_once() -> None:
    tenants = (
        "tenants:\n  - {name: a, gpu_quota: 6}\n  - {name: b, gpu_quota: 6}\n"
        "  - {name: c, gpu_quota: 1}\n  - {name: d, gpu_quota: 1}\n"
    )
    site = parse_site(SMALL_SITE.replace("tenants:\n  - {name: alpha, gpu_quota: 4}\n", tenants))
    problems = capacity_problems(site, assess(site))
    # 6 + 6 = 12 fits; adding c's 1 makes 13 > 12: reported at c, not again at d.
    assert [p.path for p in problems] == ["tenants[2].gpu_quota"]
    assert "add up to 13" in problems[0].message


def test_time_slicing_counts_the_replicas_tenants_can_request() -> None:
    site = parse_site(
        SMALL_SITE.replace("gpu_quota: 4", "gpu_quota: 27") + "gpu: {sharing: time-slicing}\n"
    )
    # Default replicas: train 1, infer 2, legacy 4 -> 5*1 + 5*2 + 2*4 = 23 schedulable GPUs.
    assert usable_gpus(site, assess(site)) == 23
    assert [p.path for p in capacity_problems(site, assess(site))] == ["tenants[0].gpu_quota"]
