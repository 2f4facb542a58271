"""The conversion plan: pure functions from the site model to an assessment and a plan."""

from rigshift.plan.assess import Assessment, GpuAssessment, RigAssessment, assess
from rigshift.plan.classify import CLASSES, KEPT, GpuClass, Verdict, classify

__all__ = [
    "CLASSES",
    "KEPT",
    "Assessment",
    "GpuAssessment",
    "GpuClass",
    "RigAssessment",
    "Verdict",
    "assess",
    "classify",
]
