"""The lab: real local Debian hosts (systemd-nspawn in network namespaces) to rehearse on.

    lab = up(Site.load("inventories/lab"), hosts=3, seed="hiveos", name="mine", say=print)
    lab.exec("lab-1", ["systemctl", "is-active", "hive"])
    reset(lab, "lab-1")
    down("mine")

`topology` decides the hosts, `state` is what a lab remembers, `lifecycle` brings labs up and
down, `access` reaches into them. See docs/lab.md for what a lab is made of and how tests use it.
"""

from rigshift.lab.access import DEFAULT_NAME, HostStatus, Lab
from rigshift.lab.lifecycle import down, labs, remove_leftovers, reset, stop_host, up
from rigshift.lab.processes import LabError
from rigshift.lab.state import LabState, lab_dir
from rigshift.lab.topology import LabHost, LabTopology, make_topology

__all__ = [
    "DEFAULT_NAME",
    "HostStatus",
    "Lab",
    "LabError",
    "LabHost",
    "LabState",
    "LabTopology",
    "down",
    "lab_dir",
    "labs",
    "make_topology",
    "remove_leftovers",
    "reset",
    "stop_host",
    "up",
]
