"""The lab: real local Debian hosts (systemd-nspawn in network namespaces) to rehearse on.

    lab = up("inventories/lab", hosts=3, seed="hiveos", name="mine", say=print)
    lab.exec("lab-1", ["systemctl", "is-active", "hive"])
    down("mine")

See docs/lab.md for what a lab is made of and how tests use it.
"""

from rigshift.lab.core import DEFAULT_NAME, HostStatus, Lab, down, labs, up
from rigshift.lab.plan import LabHost, LabPlan, make_plan
from rigshift.lab.system import LabError

__all__ = [
    "DEFAULT_NAME",
    "HostStatus",
    "Lab",
    "LabError",
    "LabHost",
    "LabPlan",
    "down",
    "labs",
    "make_plan",
    "up",
]
