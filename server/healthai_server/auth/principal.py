"""Who is calling: the result of authentication, carried through the request scope."""

from __future__ import annotations

import re
from dataclasses import dataclass

# The tenant recorded for calls that never authenticated. It is not a valid tenant id, so no
# token can claim it and write into (or read from) that audit chain as a tenant.
ANONYMOUS_TENANT = "-"

# A tenant id: 1-128 letters, digits, '.', '_' or '-', beginning and ending with a letter or digit.
_TENANT_ID = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,126}[A-Za-z0-9])?$")


def is_valid_tenant_id(tenant: str) -> bool:
    return bool(_TENANT_ID.match(tenant)) and tenant != ANONYMOUS_TENANT


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str
    tenant: str
    roles: frozenset[str]

    @classmethod
    def anonymous(cls) -> Principal:
        return cls(subject="anonymous", tenant=ANONYMOUS_TENANT, roles=frozenset())

    @property
    def is_anonymous(self) -> bool:
        return self.tenant == ANONYMOUS_TENANT
