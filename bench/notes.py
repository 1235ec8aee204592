"""Benchmark inputs shared by the RPC and load benchmarks."""

from __future__ import annotations

from pathlib import Path

GOLDEN_NOTES = Path(__file__).resolve().parents[1] / "data" / "golden" / "clinical" / "notes"


def three_kb_note() -> str:
    """~3 KB of realistic text: golden notes of different specialties, run together."""
    note = ""
    for path in sorted(GOLDEN_NOTES.glob("*.txt")):
        note += path.read_text() + "\n"
        if len(note.encode()) >= 3072:
            break
    return note.encode()[:3072].decode(errors="ignore")
