"""Each safeguard judged on hand-built evidence: what passes, what warns, what fails the gate."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from healthai_server.compliance.controls import (
    ControlResult,
    Status,
    access_control,
    audit_controls,
    authentication,
    evaluate,
    exit_code,
    integrity,
    transmission_security,
)
from healthai_server.compliance.evidence import AuditChainFact, CertificateFact, Evidence, KeyFact, TransportFact
from healthai_server.compliance.gather import gather
from healthai_server.compliance.render import to_json, to_markdown
from healthai_server.config import load_settings

from tests.pki import TestCA

KEYS = tuple(
    KeyFact(name, setting, f"/etc/healthai/keys/{name}", "abcd1234", 30.0)
    for name, setting in (
        ("token-signing public key", "HEALTHAI_JWT_PUBLIC_KEY_FILE"),
        ("audit HMAC key", "HEALTHAI_AUDIT_HMAC_KEY_FILE"),
        ("de-identification key", "HEALTHAI_DEID_KEY_FILE"),
        ("result cache key", "HEALTHAI_CACHE_KEY_FILE"),
    )
)
CERT = CertificateFact("CN=healthai", "1f", "2027-03-01T00:00:00+00:00", 90.0)


def good() -> Evidence:
    return Evidence(
        generated_at="2026-12-01T00:00:00+00:00",
        auth_enabled=True,
        rbac_methods=5,
        rbac_roles=("admin", "clinician", "service"),
        dev_credentials=False,
        jwt_issuer="https://idp/",
        jwt_audience="healthai",
        jwt_leeway_s=30.0,
        transport=TransportFact("mtls", "0.0.0.0:50051", False, CERT, CERT, 2, 8081, 9464, "0.0.0.0"),
        audit=AuditChainFact(
            ok=True,
            events_checked=120,
            tenants_checked=3,
            checkpoints_checked=4,
            latest_checkpoint="#4 at 2026-12-01T22:00:00+00:00",
        ),
        external_llm=True,
        baa_tenants=("hosp-a",),
        result_cache_ttl_s=86400.0,
        keys=KEYS,
    )


def statuses(result: ControlResult) -> dict[str, Status]:
    return {f.check: f.status for f in result.findings}


def test_a_trail_without_a_verified_signed_checkpoint_is_a_warning() -> None:
    evidence = dataclasses.replace(good(), audit=AuditChainFact(ok=True, events_checked=5, tenants_checked=1))
    warnings = [(r.section, f.check) for r in evaluate(evidence) for f in r.findings if f.status is not Status.PASS]
    assert warnings == [("164.312(b)", "signed checkpoint")]


def test_a_well_configured_deployment_passes_the_gate() -> None:
    results = evaluate(good())
    assert [r.section for r in results] == [
        "164.312(a)(1)",
        "164.312(b)",
        "164.312(c)(1)",
        "164.312(d)",
        "164.312(e)(1)",
    ]
    assert [(r.section, f.check) for r in results for f in r.findings if f.status is not Status.PASS] == []
    assert exit_code(results) == 0


def test_auth_off_fails_access_control_and_authentication() -> None:
    evidence = dataclasses.replace(good(), auth_enabled=False)
    assert access_control(evidence).status is Status.FAIL
    assert authentication(evidence).status is Status.FAIL
    assert exit_code(evaluate(evidence)) == 1


def test_phi_guard_names_the_baa_tenants() -> None:
    text = " ".join(f.evidence for f in access_control(good()).findings)
    assert "BAA tenants [hosp-a]" in text and "surrogates" in text


def test_a_broken_or_unreadable_chain_fails_audit_and_integrity() -> None:
    broken = dataclasses.replace(good(), audit=AuditChainFact(ok=False, events_checked=7, first_break="tenant a #3"))
    unreadable = dataclasses.replace(good(), audit=AuditChainFact(ok=False, error="cannot read the audit trail"))
    for evidence in (broken, unreadable):
        assert audit_controls(evidence).status is Status.FAIL
        assert integrity(evidence).status is Status.FAIL
        assert exit_code(evaluate(evidence)) == 1
    assert "BROKEN at tenant a #3" in audit_controls(broken).findings[0].evidence


def test_the_verified_event_count_is_the_evidence() -> None:
    assert "120 events in 3 tenant(s) verified" in audit_controls(good()).findings[0].evidence


@pytest.mark.parametrize(
    ("mode", "loopback", "expected"),
    [
        ("tls", False, Status.PASS),
        ("plaintext", True, Status.WARN),
        ("plaintext", False, Status.FAIL),
        ("unconfigured", True, Status.FAIL),
    ],
)
def test_transmission_security_by_transport(mode: str, loopback: bool, expected: Status) -> None:
    transport = TransportFact(mode, "x:1", loopback, CERT if mode == "tls" else None)
    result = transmission_security(dataclasses.replace(good(), transport=transport))
    assert result.status is expected


@pytest.mark.parametrize(
    ("cert", "expected"),
    [
        (CERT, Status.PASS),
        (dataclasses.replace(CERT, days_left=5.0), Status.WARN),
        (dataclasses.replace(CERT, days_left=-1.0), Status.FAIL),
        (CertificateFact(problem="the private key file /k does not match"), Status.FAIL),
    ],
)
def test_the_server_certificate_is_judged_on_its_dates_and_pair(cert: CertificateFact, expected: Status) -> None:
    transport = TransportFact("tls", "0.0.0.0:1", False, cert)
    assert statuses(transmission_security(dataclasses.replace(good(), transport=transport)))["server certificate"] is (
        expected
    )


def test_the_probe_and_metrics_ports_are_reported_as_plaintext_by_design() -> None:
    text = " ".join(f.evidence for f in transmission_security(good()).findings)
    assert "plaintext on :8081 by design" in text and "kubelet" in text
    assert "plaintext HTTP on 0.0.0.0:9464" in text


def test_old_keys_warn_and_missing_keys_fail_outside_dev() -> None:
    old = tuple(dataclasses.replace(k, age_days=400.0) if k.name == "audit HMAC key" else k for k in KEYS)
    assert statuses(audit_controls(dataclasses.replace(good(), keys=old)))["audit HMAC key"] is Status.WARN
    missing = tuple(
        dataclasses.replace(k, key_id=None, age_days=None, problem="unreadable") if k.name == "audit HMAC key" else k
        for k in KEYS
    )
    assert statuses(audit_controls(dataclasses.replace(good(), keys=missing)))["audit HMAC key"] is Status.FAIL
    dev = dataclasses.replace(good(), keys=missing, dev_credentials=True)
    assert statuses(audit_controls(dev))["audit HMAC key"] is Status.WARN


def test_dev_credentials_warn_in_authentication() -> None:
    result = authentication(dataclasses.replace(good(), dev_credentials=True))
    assert statuses(result)["identity provider"] is Status.WARN


def test_renderers_carry_every_finding_and_no_key_material(tmp_path: Path) -> None:
    evidence = good()
    results = evaluate(evidence)
    document = json.loads(to_json(evidence, results))
    assert document["ok"] is True
    assert [c["status"] for c in document["controls"]] == ["pass", "pass", "pass", "pass", "pass"]
    assert document["evidence"]["audit"]["events_checked"] == 120
    markdown = to_markdown(evidence, results)
    assert markdown.count("- **") == sum(len(r.findings) for r in results)
    assert "| §164.312(e)(1) | Transmission security | PASS |" in markdown


def test_gather_reads_certificates_and_keys_without_creating_anything(tmp_path: Path) -> None:
    ca = TestCA()
    cert, key = ca.server("healthai.example").write(tmp_path / "tls", "server")
    settings = load_settings(
        {},
        state_dir=tmp_path / "state",
        listen_addr="0.0.0.0:50051",
        tls_cert_file=cert,
        tls_key_file=key,
        tls_client_ca_file=ca.write(tmp_path / "tls"),
    )
    evidence = gather(settings, {}, audit=lambda _settings: AuditChainFact(ok=True))
    assert evidence.transport.mode == "mtls"
    assert evidence.transport.certificate is not None
    assert evidence.transport.certificate.subject == "CN=healthai.example"
    assert 0.9 < evidence.transport.certificate.days_left <= 1.0
    tls_key = evidence.key("TLS private key")
    assert tls_key is not None and tls_key.key_id and tls_key.age_days == 0.0
    jwt_key = evidence.key("token-signing public key")
    assert jwt_key is not None and jwt_key.key_id is None and "unreadable" in jwt_key.problem
    assert not (tmp_path / "state").exists(), "the report created files"
