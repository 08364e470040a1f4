"""Business calendar of a regional centre, SLA due times and owner-facing due phrases."""

from api.sla.calendar import BusinessCalendar, SlaPolicy, compute_due, korean_holidays
from api.sla.promise import describe_due, describe_hours

__all__ = [
    "BusinessCalendar",
    "SlaPolicy",
    "compute_due",
    "describe_due",
    "describe_hours",
    "korean_holidays",
]
