"""Who is acting and what they may do: principals, permissions, the one authorize rule, audit."""

from __future__ import annotations

from vecron.auth.audit import AuditEntry as AuditEntry
from vecron.auth.audit import AuditFilters as AuditFilters
from vecron.auth.audit import AuditOutcome as AuditOutcome
from vecron.auth.principal import LOCAL_OPERATOR as LOCAL_OPERATOR
from vecron.auth.principal import SCHEDULER as SCHEDULER
from vecron.auth.principal import Permission as Permission
from vecron.auth.principal import Principal as Principal
from vecron.auth.principal import authorize as authorize
