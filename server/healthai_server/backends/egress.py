"""What may leave the process, and in what form: the mechanism behind the pipeline's PHI guard stage.

`EgressGuard` is the policy: a tenant covered by a BAA sends its note as is ("clear");
otherwise the note goes through the PHI guard ("surrogates") and spans in the answer are
mapped back to the original note; without a guard nothing is sent. `OutboundGate` is one
request's view of it: the guarded text is computed at most once (retries and repair calls
reuse it), and every release is written to the request's EgressLog at the moment a backend
is about to send, so the audit trail records what actually left, not a guess.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from healthai_server.backends.base import EgressLog
from healthai_server.backends.errors import PhiTransferRefused
from healthai_server.domain.clinical import Span


class GuardedText(Protocol):
    """What the PHI guard returns: text safe to send, and a way back to original offsets."""

    @property
    def text(self) -> str: ...

    def to_original(self, start: int, end: int) -> tuple[int, int]: ...


class PhiGuard(Protocol):
    async def protect(self, text: str, *, tenant: str, patient_ref: str) -> GuardedText: ...


@dataclass(frozen=True, slots=True)
class Outbound:
    text: str  # what is sent
    to_original: Callable[[int, int], Span | None]
    form: str  # "clear" (BAA tenant) or "surrogates" (through the PHI guard)


class EgressGuard:
    def __init__(self, baa_tenants: frozenset[str] = frozenset(), phi_guard: PhiGuard | None = None) -> None:
        self._baa_tenants = baa_tenants
        self._phi_guard = phi_guard

    def permits(self, tenant: str) -> bool:
        """False when no form of the note may leave for this tenant."""
        return tenant in self._baa_tenants or self._phi_guard is not None

    def gate(self, text: str, tenant: str, egress: EgressLog) -> OutboundGate:
        return OutboundGate(self, text, tenant, egress)

    async def outbound(self, text: str, tenant: str) -> Outbound:
        if tenant in self._baa_tenants:
            return Outbound(text, lambda start, end: Span(start, end, text[start:end]), "clear")
        if self._phi_guard is None:
            raise PhiTransferRefused(
                "the tenant is not covered by a BAA and no PHI guard is configured: the note was not sent"
            )
        guarded = await self._phi_guard.protect(text, tenant=tenant, patient_ref="")

        def to_original(start: int, end: int) -> Span | None:
            try:
                o_start, o_end = guarded.to_original(start, end)
            except (ValueError, IndexError):
                return None
            if not 0 <= o_start < o_end <= len(text):
                return None
            return Span(o_start, o_end, text[o_start:o_end])

        return Outbound(guarded.text, to_original, "surrogates")


class OutboundGate:
    """One request's outbound text: guarded once, every release recorded."""

    def __init__(self, guard: EgressGuard, text: str, tenant: str, egress: EgressLog) -> None:
        self._guard = guard
        self._text = text
        self._tenant = tenant
        self._egress = egress
        self._outbound: Outbound | None = None

    def permits(self) -> bool:
        return self._guard.permits(self._tenant)

    async def prepare(self) -> Outbound:
        """The text a backend would send (nothing is recorded: nothing has left yet)."""
        if self._outbound is None:
            self._outbound = await self._guard.outbound(self._text, self._tenant)
        return self._outbound

    def release(self, destination: str) -> None:
        """Call immediately before sending: once the request is on the wire the text has left."""
        if self._outbound is None:
            raise RuntimeError("release before prepare")
        self._egress.record(destination, self._outbound.form)
