"""GPU usage per tenant for a month, read from the site's Prometheus (`rigshift usage`)."""

from rigshift.usage.month import Month, parse_month
from rigshift.usage.queries import month_queries
from rigshift.usage.report import TenantUsage, UsageReport, collect, write_reports

__all__ = [
    "Month",
    "TenantUsage",
    "UsageReport",
    "collect",
    "month_queries",
    "parse_month",
    "write_reports",
]
