"""The task form, posted by the browser, turned into decisions; problems are named per field.

Field names: `item-<i>-type` and `item-<i>-index` (which item), `item-<i>-flagged` (a decision is
required), `item-<i>-decision` (accept, reject, correct), `item-<i>-field-<path>` with
`item-<i>-was-<path>` (the value shown, so only changed fields are sent); for each added item
`add-<k>-type`, `add-<k>-start`, `add-<k>-end`, `add-<k>-text` and `add-<k>-<type>-<path>`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from healthai_server.console.model import AddedItem, Decision, ItemDecision

_ITEM = re.compile(r"^item-(\d{1,4})-type$")
_ADD = re.compile(r"^add-(\d{1,3})-type$")
MAX_ITEMS = 1000
MAX_ADDED = 50


@dataclass
class ParsedDecisions:
    decisions: list[ItemDecision] = field(default_factory=list)
    additions: list[AddedItem] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (form field, what is wrong)


def parse_decisions(form: Mapping[str, str]) -> ParsedDecisions:
    parsed = ParsedDecisions()
    indexes = sorted(int(m.group(1)) for key in form if (m := _ITEM.match(key)))
    additions = sorted(int(m.group(1)) for key in form if (m := _ADD.match(key)))
    if len(indexes) > MAX_ITEMS or len(additions) > MAX_ADDED:
        parsed.problems.append(("items", f"at most {MAX_ITEMS} items and {MAX_ADDED} added items per task"))
        return parsed
    for index in indexes:
        _parse_item(form, index, parsed)
    for index in additions:
        _parse_addition(form, index, parsed)
    if not parsed.decisions and not parsed.additions and not parsed.problems:
        parsed.problems.append(("items", "nothing to submit: decide on at least one item"))
    return parsed


def _parse_item(form: Mapping[str, str], index: int, parsed: ParsedDecisions) -> None:
    prefix = f"item-{index}-"
    item_type = form.get(prefix + "type", "")
    position = form.get(prefix + "index", "")
    raw = form.get(prefix + "decision", "")
    if not raw:
        if form.get(prefix + "flagged"):
            parsed.problems.append(
                (prefix + "decision", f"item {index + 1} has no decision (accept, reject or correct)")
            )
        return
    try:
        decision = Decision(raw)
    except ValueError:
        parsed.problems.append((prefix + "decision", f"item {index + 1}: unknown decision"))
        return
    if not position.isdigit() or len(position) > 6:
        parsed.problems.append((prefix + "index", f"item {index + 1}: the page is damaged; reload it"))
        return
    changes: dict[str, str] = {}
    if decision is Decision.CORRECT:
        field_prefix = prefix + "field-"
        for key, value in form.items():
            if key.startswith(field_prefix):
                path = key.removeprefix(field_prefix)
                if value.strip() != form.get(prefix + "was-" + path, "").strip():
                    changes[path] = value.strip()
        if not changes:
            parsed.problems.append((prefix + "decision", f"item {index + 1} is marked corrected but no field changed"))
            return
    parsed.decisions.append(ItemDecision(item_type, int(position), decision, changes))


def _parse_addition(form: Mapping[str, str], index: int, parsed: ParsedDecisions) -> None:
    prefix = f"add-{index}-"
    item_type = form.get(prefix + "type", "").strip()
    start_raw, end_raw = form.get(prefix + "start", "").strip(), form.get(prefix + "end", "").strip()
    text = form.get(prefix + "text", "")
    if not item_type and not start_raw and not end_raw and not text:
        return  # an empty slot
    problems = []
    if not item_type:
        problems.append((prefix + "type", f"added item {index + 1} needs a type"))
    spans = start_raw.isdigit() and end_raw.isdigit() and len(start_raw) <= 9 and len(end_raw) <= 9
    if not spans or int(start_raw) >= int(end_raw):
        problems.append((prefix + "start", f"added item {index + 1} needs a span: select its text in the note first"))
    if problems:
        parsed.problems.extend(problems)
        return
    field_prefix = f"{prefix}{item_type}-"
    fields = {
        key.removeprefix(field_prefix): value.strip()
        for key, value in form.items()
        if key.startswith(field_prefix) and value.strip()
    }
    parsed.additions.append(AddedItem(item_type, int(start_raw), int(end_raw), text, fields))
