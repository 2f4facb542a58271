"""The conversion plan: pure functions from the site model to an assessment and a plan."""

from rigshift.plan.assess import BLOCKER_LABELS, Assessment, GpuAssessment, RigAssessment, assess
from rigshift.plan.capacity import (
    SHARED_POOL,
    TenantShare,
    capacity_problems,
    tenant_shares,
    usable_gpus,
)
from rigshift.plan.classify import CLASSES, KEPT, GpuClass, Verdict, classify
from rigshift.plan.conversion import SCHEMA_VERSION, SitePlan, build_plan
from rigshift.plan.platform import platform_problems

__all__ = [
    "BLOCKER_LABELS",
    "CLASSES",
    "KEPT",
    "SCHEMA_VERSION",
    "SHARED_POOL",
    "Assessment",
    "GpuAssessment",
    "GpuClass",
    "RigAssessment",
    "SitePlan",
    "TenantShare",
    "Verdict",
    "assess",
    "build_plan",
    "capacity_problems",
    "classify",
    "platform_problems",
    "tenant_shares",
    "usable_gpus",
]
