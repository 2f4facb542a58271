"""Discovery: survey a live mining fleet into the `fleet` section of a site file.

Parsers are pure functions from a tool's text output to typed records (`records`); they
raise `SurveyFileError` (a UserError naming the file) on input that is not what they expect.
`read_host_dir` combines them for one host's saved outputs, `merge_fleet` writes the results
into a site file's text, `run_survey` gathers the outputs with `playbooks/discover.yml`.
"""

from rigshift.discover.common import SurveyFileError
from rigshift.discover.lspci import parse_lspci
from rigshift.discover.merge import MergeResult, merge_fleet
from rigshift.discover.miningos import parse_mining_os
from rigshift.discover.nvidia import parse_nvidia_smi
from rigshift.discover.playbook import SurveyRun, run_survey
from rigshift.discover.records import (
    BlockDevice,
    BoardInfo,
    CpuInfo,
    DrmCard,
    MiningOs,
    NetInterface,
    NvidiaGpu,
    PciDevice,
    PcieLink,
)
from rigshift.discover.survey import (
    FILES,
    HostSurvey,
    SurveyedGpu,
    read_host_dir,
    read_survey_dir,
    resolve_model,
)
from rigshift.discover.sysfs import parse_dmi_id, parse_drm_cards, parse_net_speeds
from rigshift.discover.system import (
    parse_cpuinfo,
    parse_dmidecode,
    parse_ip_addr,
    parse_lsblk,
    parse_meminfo,
)

__all__ = [
    "FILES",
    "BlockDevice",
    "BoardInfo",
    "CpuInfo",
    "DrmCard",
    "HostSurvey",
    "MergeResult",
    "MiningOs",
    "NetInterface",
    "NvidiaGpu",
    "PciDevice",
    "PcieLink",
    "SurveyFileError",
    "SurveyRun",
    "SurveyedGpu",
    "merge_fleet",
    "parse_cpuinfo",
    "parse_dmi_id",
    "parse_dmidecode",
    "parse_drm_cards",
    "parse_ip_addr",
    "parse_lsblk",
    "parse_lspci",
    "parse_meminfo",
    "parse_mining_os",
    "parse_net_speeds",
    "parse_nvidia_smi",
    "read_host_dir",
    "read_survey_dir",
    "resolve_model",
    "run_survey",
]
