"""The site model: typed, validated, with errors that name the file and field."""

from rigshift.model.errors import Problem, SiteError, field_path
from rigshift.model.load import parse_site, read_site
from rigshift.model.schema import GpuEntry, Rig, SiteModel, Tenant

__all__ = [
    "GpuEntry",
    "Problem",
    "Rig",
    "SiteError",
    "SiteModel",
    "Tenant",
    "field_path",
    "parse_site",
    "read_site",
]
