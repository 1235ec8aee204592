"""`healthai deidentify --policy` through a real server: recall-first by default, precision on request."""

from __future__ import annotations

import json

from tests.e2e.server import ServerProcess

# "zorvakian" is no word and no known identifier: only the recall-first pass removes it.
NOTE = "Seen today by Dr. Ruiz; the wristband read zorvakian. Lisinopril 10 mg daily. BP 128/76.\n"


def _deidentify(server: ServerProcess, *args: str) -> dict[str, object]:
    result = server.healthai("deidentify", "-", "--format", "json", *args, stdin=NOTE)
    assert result.returncode == 0, result.stderr
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_cli_defaults_to_recall_first_and_removes_the_unknown_word(server: ServerProcess) -> None:
    data = _deidentify(server)
    assert data["policy"] == "DEIDENTIFICATION_POLICY_RECALL_FIRST"
    text = str(data["deidentified_text"])
    assert "zorvakian" not in text and "Ruiz" not in text
    assert "Lisinopril 10 mg daily" in text and "128/76" in text
    types = {f["type"] for f in data["findings"]}  # type: ignore[attr-defined]
    assert "PHI_TYPE_OTHER" in types


def test_cli_precision_policy_keeps_unknown_words(server: ServerProcess) -> None:
    data = _deidentify(server, "--policy", "precision")
    assert data["policy"] == "DEIDENTIFICATION_POLICY_PRECISION"
    text = str(data["deidentified_text"])
    assert "Ruiz" not in text and "zorvakian" in text


def test_text_output_uses_surrogates_for_other_tokens(server: ServerProcess) -> None:
    result = server.healthai("deidentify", "-", "--mode", "surrogate", stdin=NOTE)
    assert result.returncode == 0, result.stderr
    assert "zorvakian" not in result.stdout and "Lisinopril" in result.stdout
