"""Plain-text tables for the CLI's default output."""

from __future__ import annotations

from collections.abc import Sequence

from healthai.v1 import analysis_service_pb2, clinical_pb2, common_pb2, extraction_service_pb2


def _table(title: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    if not rows:
        return f"{title}: none"
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=False)]
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))
    body = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join([f"{title} ({len(rows)})", line, "  ".join("-" * w for w in widths), *body])


def _enum(enum_type: object, value: int, prefix: str) -> str:
    name: str = enum_type.Name(value)  # type: ignore[attr-defined]
    return "" if name.endswith("_UNSPECIFIED") else name.removeprefix(prefix).lower()


def _assertion(a: clinical_pb2.Assertion) -> str:
    parts = [_enum(clinical_pb2.Certainty, a.certainty, "CERTAINTY_")]
    if a.conditionality not in (0, clinical_pb2.CONDITIONALITY_NONE):
        parts.append(_enum(clinical_pb2.Conditionality, a.conditionality, "CONDITIONALITY_"))
    if a.association == clinical_pb2.ASSOCIATION_OTHER:
        parts.append(f"other:{a.relation}" if a.relation else "other")
    if a.temporality not in (0, clinical_pb2.TEMPORALITY_CURRENT):
        parts.append(_enum(clinical_pb2.Temporality, a.temporality, "TEMPORALITY_"))
    return ",".join(p for p in parts if p)


def _qty(q: common_pb2.Quantity) -> str:
    return f"{q.value:g} {q.unit}".strip() if q.value or q.unit else ""


def _code(codings: Sequence[common_pb2.Coding]) -> str:
    return codings[0].code if codings else ""


def render_extraction(response: extraction_service_pb2.ExtractClinicalDataResponse) -> str:
    d = response.data
    p = response.provenance
    sections = [
        _table(
            "Conditions",
            ["span", "text", "name", "ICD-10-CM", "assertion", "conf"],
            [
                (
                    f"{c.span.start}-{c.span.end}",
                    c.span.text,
                    c.name,
                    _code(c.codings),
                    _assertion(c.assertion),
                    f"{c.confidence:.2f}",
                )
                for c in d.conditions
            ],
        ),
        _table(
            "Medications",
            ["span", "name", "dose", "route", "frequency", "status", "conf"],
            [
                (
                    f"{m.span.start}-{m.span.end}",
                    m.name,
                    _qty(m.dose),
                    _enum(clinical_pb2.Route, m.route, "ROUTE_"),
                    m.frequency.code or m.frequency.text,
                    _enum(clinical_pb2.MedicationStatus, m.status, "MEDICATION_STATUS_"),
                    f"{m.confidence:.2f}",
                )
                for m in d.medications
            ],
        ),
        _table(
            "Vital signs",
            ["span", "kind", "value", "LOINC", "interpretation"],
            [
                (
                    f"{v.span.start}-{v.span.end}",
                    _enum(clinical_pb2.VitalKind, v.kind, "VITAL_KIND_"),
                    _qty(v.quantity),
                    v.loinc.code,
                    _enum(clinical_pb2.VitalInterpretation, v.interpretation, "VITAL_INTERPRETATION_"),
                )
                for v in d.vital_signs
            ],
        ),
        _table(
            "Allergies",
            ["span", "substance", "reaction", "severity", "assertion"],
            [
                (
                    f"{a.span.start}-{a.span.end}",
                    a.substance,
                    a.reaction,
                    _enum(clinical_pb2.AllergySeverity, a.severity, "ALLERGY_SEVERITY_"),
                    _assertion(a.assertion),
                )
                for a in d.allergies
            ],
        ),
        _table(
            "Problem list",
            ["rank", "problem", "ICD-10-CM", "mentions"],
            [(str(e.rank), e.name, _code(e.codings), str(len(e.evidence))) for e in d.problem_list],
        ),
    ]
    if d.no_known_allergies:
        sections.append("No known drug allergies (stated).")
    degraded = (
        f", degraded: {_enum(common_pb2.DegradedReason, p.degraded_reason, 'DEGRADED_REASON_')}" if p.degraded else ""
    )
    sections.append(
        f"backend {p.backend} ({p.model}), {p.latency.ToMilliseconds()} ms{degraded}; audit id {response.audit_id}"
    )
    return "\n\n".join(sections)


def render_analysis(response: analysis_service_pb2.AnalyzeNoteResponse) -> str:
    alerts = _table(
        "Alerts",
        ["severity", "kind", "message"],
        [
            (
                _enum(analysis_service_pb2.AlertSeverity, a.severity, "ALERT_SEVERITY_"),
                _enum(analysis_service_pb2.AlertKind, a.kind, "ALERT_KIND_"),
                a.message,
            )
            for a in response.alerts
        ],
    )
    problems = _table(
        "Problem list",
        ["rank", "problem", "ICD-10-CM"],
        [(str(e.rank), e.name, _code(e.codings)) for e in response.problem_list],
    )
    parts = [problems, alerts]
    if response.summary:
        parts.append(f"Summary: {response.summary}")
    parts.append(f"audit id {response.audit_id}")
    return "\n\n".join(parts)
