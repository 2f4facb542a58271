"""Tenant GPU quotas are checked against the GPUs the site keeps."""

from __future__ import annotations

from rigshift.model import parse_site
from rigshift.plan import assess, capacity_problems, tenant_shares, usable_gpus
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


TIME_SLICED = "gpu: {sharing: time-slicing}\n"


def test_time_sliced_gpus_are_never_drawn_from_a_shared_pool() -> None:
    site = parse_site(SMALL_SITE + TIME_SLICED)
    problems = capacity_problems(site, assess(site))
    assert [p.path for p in problems] == ["tenants[0].gpu_quota"]
    assert "cannot be shared between tenants" in problems[0].message


def test_a_tenants_quota_is_what_its_own_nodes_hold() -> None:
    tenants = (
        "tenants:\n  - {name: alpha, nodes: [r1]}\n  - {name: beta, nodes_by_class: {infer: 1}}\n"
    )
    site = parse_site(
        SMALL_SITE.replace("tenants:\n  - {name: alpha, gpu_quota: 4}\n", tenants) + TIME_SLICED
    )
    assessment = assess(site)
    assert capacity_problems(site, assessment) == []
    shares = tenant_shares(site, assessment)
    r1, r4 = assessment.rig("r1"), assessment.rig("r4")
    # r1's best class is train (1 replica); beta gets r4, the first infer agent (r3 is the
    # control-plane server, never a tenant's), at 2 replicas per GPU.
    assert (r1.best_class, r4.best_class) == ("train", "infer")
    assert shares["alpha"].nodes == ("r1",) and shares["alpha"].gpus == r1.kept_gpus
    assert shares["beta"].nodes == ("r4",)
    assert shares["beta"].gpus == 2 * r4.kept_gpus == 2 * shares["beta"].physical_gpus
    assert shares["alpha"].pool == "alpha"


def test_owned_nodes_leave_the_shared_pool() -> None:
    site = small_site()
    all_kept = usable_gpus(site, assess(site))
    tenants = (
        f"tenants:\n  - {{name: alpha, nodes: [r1]}}\n  - {{name: beta, gpu_quota: {all_kept}}}\n"
    )
    site = parse_site(SMALL_SITE.replace("tenants:\n  - {name: alpha, gpu_quota: 4}\n", tenants))
    problems = capacity_problems(site, assess(site))
    assert [p.path for p in problems] == ["tenants[1].gpu_quota"]
    assert "in the shared pool" in problems[0].message
    assert tenant_shares(site, assess(site))["beta"].pool == "shared"
