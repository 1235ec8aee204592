"""The report as Markdown (for people) or JSON (for pipelines)."""

from __future__ import annotations

import dataclasses
import json

from healthai_server.compliance.controls import ControlResult, Status, exit_code
from healthai_server.compliance.evidence import Evidence

_MARK = {Status.PASS: "PASS", Status.WARN: "WARN", Status.FAIL: "FAIL"}


def to_json(evidence: Evidence, results: list[ControlResult]) -> str:
    return json.dumps(
        {
            "generated_at": evidence.generated_at,
            "ok": exit_code(results) == 0,
            "controls": [
                {
                    "section": r.section,
                    "title": r.title,
                    "status": r.status.label,
                    "findings": [
                        {"check": f.check, "status": f.status.label, "evidence": f.evidence} for f in r.findings
                    ],
                }
                for r in results
            ],
            "evidence": dataclasses.asdict(evidence),
        },
        indent=2,
    )


def to_markdown(evidence: Evidence, results: list[ControlResult]) -> str:
    verdict = "all required controls on" if exit_code(results) == 0 else "REQUIRED CONTROLS OFF"
    lines = [
        "# HIPAA §164.312 technical safeguards — healthai",
        "",
        f"Generated {evidence.generated_at} from the live configuration, key files and database: **{verdict}**.",
        "",
        "| section | safeguard | status |",
        "|---|---|---|",
        *(f"| §{r.section} | {r.title} | {_MARK[r.status]} |" for r in results),
    ]
    for r in results:
        lines += ["", f"## §{r.section} {r.title}: {_MARK[r.status]}", ""]
        lines += [f"- **{_MARK[f.status]}** {f.check}: {f.evidence}" for f in r.findings]
    return "\n".join(lines) + "\n"
