"""The conversion plan: pure functions from the site model to an assessment and a plan."""

from rigshift.plan.assess import BLOCKER_LABELS, Assessment, GpuAssessment, RigAssessment, assess
from rigshift.plan.capacity import capacity_problems, usable_gpus
from rigshift.plan.classify import CLASSES, KEPT, GpuClass, Verdict, classify
from rigshift.plan.conversion import SCHEMA_VERSION, SitePlan, build_plan
from rigshift.plan.platform import platform_problems

__all__ = [
    "BLOCKER_LABELS",
    "CLASSES",
    "KEPT",
    "SCHEMA_VERSION",
    "Assessment",
    "GpuAssessment",
    "GpuClass",
    "RigAssessment",
    "SitePlan",
    "Verdict",
    "assess",
    "build_plan",
    "capacity_problems",
    "classify",
    "platform_problems",
    "usable_gpus",
]
