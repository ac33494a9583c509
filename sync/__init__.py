"""Qingling's sync protocol core: wire messages and reconciliation rules.

Imports only the standard library and msgspec (the client adds websockets and
sqlite-utils); never anything from server/.
"""

from sync.messages import ALL_ROLES, COMMAND_ROLES, FIELD_ROLES
from sync.rules import Clock, SlaTargets, incident_clocks, sla_clock

__all__ = [
    "ALL_ROLES",
    "COMMAND_ROLES",
    "FIELD_ROLES",
    "Clock",
    "SlaTargets",
    "incident_clocks",
    "sla_clock",
]
