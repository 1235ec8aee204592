"""Deterministic arm assignment: the same tenant and note always get the same arm.

The bucket is HMAC-SHA256(key, tenant, note fingerprint) read as a number in [0, 1) and
placed on the cumulative weights of the arms that apply to the tenant. Keyed, so neither a
caller nor someone reading the ledger can steer or predict a note's arm; by fingerprint, so
a resent note (a retry, a duplicate) is answered by the same arm and comparisons stay paired.
"""

from __future__ import annotations

import bisect
import hashlib
import hmac
from collections.abc import Sequence
from itertools import accumulate

from healthai_server.experiments.arms import Arm

_SCALE = float(1 << 64)


class ArmAssigner:
    def __init__(self, key: bytes, arms: Sequence[Arm]) -> None:
        if len(key) < 16:
            raise ValueError("the experiment HMAC key must be at least 16 bytes")
        self._key = key
        self._arms = tuple(arms)
        self._by_tenant: dict[str, tuple[tuple[Arm, ...], list[float]]] = {}

    @property
    def arms(self) -> tuple[Arm, ...]:
        return self._arms

    def bucket(self, tenant: str, fingerprint: str) -> float:
        """A uniform number in [0, 1) fixed by the key, the tenant and the note."""
        message = tenant.encode("utf-8") + b"\x1f" + fingerprint.encode("ascii")
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        return int.from_bytes(digest[:8], "big") / _SCALE

    def assign(self, tenant: str, fingerprint: str) -> Arm | None:
        """The arm for this note, or None when no arm applies to the tenant."""
        arms, bounds = self._eligible(tenant)
        if not arms:
            return None
        point = self.bucket(tenant, fingerprint) * bounds[-1]
        return arms[min(bisect.bisect_right(bounds, point), len(arms) - 1)]

    def _eligible(self, tenant: str) -> tuple[tuple[Arm, ...], list[float]]:
        cached = self._by_tenant.get(tenant)
        if cached is None:
            arms = tuple(arm for arm in self._arms if arm.applies_to(tenant) and arm.weight > 0)
            cached = (arms, list(accumulate(arm.weight for arm in arms)))
            if len(self._by_tenant) < 4096:  # tenants are few; never let a cache grow unbounded
                self._by_tenant[tenant] = cached
        return cached
