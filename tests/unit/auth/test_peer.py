"""Peer identity from gRPC's auth context, and the configured mapping to principals."""

from __future__ import annotations

from typing import Any

import pytest
from healthai_server.auth.peer import parse_peer_principals, peer_identity

SPIFFE = "spiffe://healthai.example/ns/billing/sa/reporter"


def test_the_spiffe_id_wins_over_the_common_name() -> None:
    context = {
        "peer_spiffe_id": [SPIFFE.encode()],
        "x509_common_name": [b"reporter"],
        "transport_security_type": [b"ssl"],
    }
    assert peer_identity(context) == SPIFFE


def test_the_common_name_when_there_is_no_spiffe_id() -> None:
    assert peer_identity({"x509_common_name": [b"batch-coder"]}) == "batch-coder"


def test_a_common_name_dressed_as_a_spiffe_id_is_not_one() -> None:
    assert peer_identity({"x509_common_name": [SPIFFE.encode()]}) is None


def test_no_certificate_no_identity() -> None:
    assert peer_identity({"transport_security_type": [b"ssl"]}) is None
    assert peer_identity({}) is None


def test_a_mapped_identity_becomes_a_principal_and_others_do_not() -> None:
    peers = parse_peer_principals({SPIFFE: {"tenant": "hosp-a", "roles": ["service"]}})
    principal = peers.principal_for(SPIFFE)
    assert principal is not None
    assert (principal.subject, principal.tenant, principal.roles) == (SPIFFE, "hosp-a", frozenset({"service"}))
    assert peers.principal_for("spiffe://healthai.example/ns/other/sa/x") is None
    assert peers.principal_for(None) is None


@pytest.mark.parametrize(
    "raw",
    [
        {SPIFFE: {"tenant": "-", "roles": ["service"]}},  # the anonymous placeholder
        {SPIFFE: {"tenant": "a b", "roles": ["service"]}},
        {SPIFFE: {"tenant": "a", "roles": []}},
        {SPIFFE: {"tenant": "a", "roles": "service"}},
        {SPIFFE: {"tenant": "a"}},
        {SPIFFE: {"tenant": "a", "roles": ["service"], "admin": True}},
        {"": {"tenant": "a", "roles": ["service"]}},
        {"x" * 300: {"tenant": "a", "roles": ["service"]}},
    ],
)
def test_bad_mappings_are_refused(raw: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        parse_peer_principals(raw)
