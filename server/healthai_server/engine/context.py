"""ConText (Chapman et al.; medSpaCy's model): modifier rules with a direction and a scope.

Rules are data (data/context_rules.json). A modifier's scope runs from the modifier in its
direction up to the clause boundary (sentence end, ';', ':', line break), a terminate rule,
or max_scope tokens. A target gets, per category, the nearest modifier whose scope covers it.
"""

from __future__ import annotations

import bisect
import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from healthai_server.domain.clinical import (
    Assertion,
    Association,
    Certainty,
    Conditionality,
    NoteSection,
    Temporality,
)
from healthai_server.engine.matcher import PhraseMatcher
from healthai_server.engine.resources import RuleDataError, load_json
from healthai_server.engine.text import Tokens


class Category(enum.Enum):
    NEGATED_EXISTENCE = "NEGATED_EXISTENCE"
    POSSIBLE_EXISTENCE = "POSSIBLE_EXISTENCE"
    PROBABLE_EXISTENCE = "PROBABLE_EXISTENCE"
    UNLIKELY = "UNLIKELY"
    HYPOTHETICAL = "HYPOTHETICAL"
    CONDITIONAL = "CONDITIONAL"
    HISTORICAL = "HISTORICAL"
    FUTURE = "FUTURE"
    FAMILY = "FAMILY"
    TERMINATE = "TERMINATE"
    PSEUDO = "PSEUDO"

    # Members are singletons compared by identity: an identity hash is consistent with that and
    # is computed in C (Enum.__hash__ hashes the name in Python; assert_target keys dicts by it).
    __hash__ = object.__hash__


class Direction(enum.Enum):
    FORWARD = "forward"
    BACKWARD = "backward"
    BIDIRECTIONAL = "bidirectional"
    TERMINATE = "terminate"
    PSEUDO = "pseudo"


_CERTAINTY_AXIS = (
    Category.NEGATED_EXISTENCE,
    Category.POSSIBLE_EXISTENCE,
    Category.PROBABLE_EXISTENCE,
    Category.UNLIKELY,
)
_CERTAINTY = {
    Category.NEGATED_EXISTENCE: Certainty.NEGATIVE,
    Category.POSSIBLE_EXISTENCE: Certainty.NEUTRAL_POSSIBLE,
    Category.PROBABLE_EXISTENCE: Certainty.POSSIBLE_POSITIVE,
    Category.UNLIKELY: Certainty.POSSIBLE_NEGATIVE,
}

# Enum members compared per modifier and per target, read once here: reading a member off its
# class (Direction.PSEUDO) costs about 8x reading a module global in CPython 3.11.
_PSEUDO = Direction.PSEUDO
_TERMINATE = Direction.TERMINATE
_REACHES_FORWARD = (Direction.FORWARD, Direction.BIDIRECTIONAL)
_REACHES_BACKWARD = (Direction.BACKWARD, Direction.BIDIRECTIONAL)
_HYPOTHETICAL, _CONDITIONAL = Category.HYPOTHETICAL, Category.CONDITIONAL
_FUTURE, _HISTORICAL, _FAMILY = Category.FUTURE, Category.HISTORICAL, Category.FAMILY
_FAMILY_HISTORY = NoteSection.FAMILY_HISTORY
_PAST_TIME = Temporality.PAST
_PAST_SECTIONS = (NoteSection.PAST_MEDICAL_HISTORY, NoteSection.PAST_SURGICAL_HISTORY)


@dataclass(frozen=True, slots=True)
class ContextRule:
    literal: str
    category: Category
    direction: Direction
    max_scope: int | None = None
    relation: str = ""
    requires_next: frozenset[str] = frozenset()
    also: tuple[Category, ...] = ()
    resolved: bool = False  # a HISTORICAL cue that also says the condition is over ("resolved")


def parse_rules(raw: Iterable[dict[str, object]]) -> list[ContextRule]:
    rules: list[ContextRule] = []
    for index, entry in enumerate(raw):
        try:
            max_scope = entry.get("max_scope")
            requires = entry.get("requires_next", [])
            rules.append(
                ContextRule(
                    literal=str(entry["literal"]),
                    category=Category(str(entry["category"])),
                    direction=Direction(str(entry["direction"])),
                    max_scope=int(max_scope) if isinstance(max_scope, int) else None,
                    relation=str(entry.get("relation", "")),
                    requires_next=frozenset(str(t) for t in requires) if isinstance(requires, list) else frozenset(),
                    also=tuple(Category(str(c)) for c in also)
                    if isinstance(also := entry.get("also", []), list)
                    else (),
                    resolved=entry.get("resolved") is True,
                )
            )
        except (KeyError, ValueError) as exc:
            raise RuleDataError(f"context_rules.json rule {index}: {exc!r}") from exc
        if (rules[-1].category is Category.TERMINATE) != (rules[-1].direction is Direction.TERMINATE):
            raise RuleDataError(f"context_rules.json rule {index}: terminate category needs terminate direction")
    return rules


def load_rules() -> list[ContextRule]:
    return parse_rules(load_json("context_rules.json")["rules"])


@dataclass(slots=True)  # per note, never shared; a frozen __init__ costs 2x
class Modifier:
    rule: ContextRule
    start: int  # token index
    end: int  # token index, exclusive
    scope_start: int  # token index of the first covered token
    scope_end: int  # token index, exclusive


@dataclass(slots=True)  # per note, never shared; a frozen __init__ costs 2x
class Target:
    start: int  # token index
    end: int  # token index, exclusive


class ModifierIndex:
    """Modifiers near a target, by binary search: bounded work per target, so a 1 MB note with
    no sentence breaks stays linear. Only the nearest modifiers before and after a target can
    be the nearest of their category within scope (scopes stop at terminators anyway)."""

    BEFORE = 16
    AFTER = 8

    def __init__(self, modifiers: Sequence[Modifier]) -> None:
        self._modifiers = sorted(modifiers, key=lambda m: m.start)
        self._starts = [m.start for m in self._modifiers]
        # Tokens some modifier's scope covers: most targets are in no scope, one C call says so.
        # Scopes overlap (a run of "no no no ..."): each token is marked once, left to right.
        self._in_scope = bytearray(max((m.scope_end for m in modifiers), default=0))
        marked_to = 0
        for scope_start, scope_end in sorted((m.scope_start, m.scope_end) for m in modifiers):
            first = max(scope_start, marked_to)
            if scope_end > first:
                self._in_scope[first:scope_end] = b"\x01" * (scope_end - first)
                marked_to = scope_end

    def near(self, target: Target) -> Sequence[Modifier]:
        index = bisect.bisect_left(self._starts, target.start)
        return self._modifiers[max(0, index - self.BEFORE) : index + self.AFTER]

    def reaches(self, start: int, end: int) -> bool:
        """Whether some modifier's scope covers one of the tokens [start, end)."""
        return self._in_scope.find(1, start, end) >= 0


class ContextAnalyzer:
    def __init__(self, rules: Sequence[ContextRule] | None = None) -> None:
        rules = list(rules) if rules is not None else load_rules()
        self.rules = rules
        self._matcher: PhraseMatcher[ContextRule] = PhraseMatcher((rule.literal, rule) for rule in rules)

    @property
    def first_words(self) -> Iterable[str]:
        """The words a modifier can start with (lower case)."""
        return self._matcher.first_words

    def find_modifiers(
        self, tokens: Tokens, blocked: Sequence[tuple[int, int]] = (), candidates: Sequence[int] | None = None
    ) -> list[Modifier]:
        """Modifiers in token order, with their scopes. `blocked` token ranges (targets) hold none.
        `candidates`: the indices of the tokens in first_words, when the caller has them."""
        blocked_tokens = bytearray(len(tokens) + 1)
        for start, end in blocked:
            blocked_tokens[start:end] = b"\x01" * (end - start)
        raw: list[tuple[int, int, ContextRule]] = []
        for match in self._matcher.find_all(tokens, candidates):
            if blocked_tokens.find(1, match.start, match.end) >= 0:
                continue
            for rule in match.payloads:
                if rule.direction is _PSEUDO:
                    continue
                if rule.requires_next:
                    following = tokens.lower[match.end] if match.end < len(tokens) else ""
                    if following not in rule.requires_next:
                        continue
                raw.append((match.start, match.end, rule))
        raw.extend(_dated_events(tokens, blocked_tokens))
        n = len(tokens)
        terminators = sorted({start for start, _, rule in raw if rule.direction is _TERMINATE})
        modifiers: list[Modifier] = []
        for start, end, rule in raw:
            if rule.direction is _TERMINATE:
                continue
            limit = rule.max_scope if rule.max_scope is not None else n
            scope_start, scope_end = start, end
            if rule.direction in _REACHES_FORWARD and end < n:
                j = end
                if tokens.raw[j] == ":" and j + 1 < n:
                    j += 1  # "Denies: fever" and "negative for: ..." reach past their colon
                stop = min(tokens.clause_last(j) + 1, j + limit)
                # a terminator right after the cue is part of it: "a brother who has diabetes"
                t = bisect.bisect_left(terminators, j + 1)
                if t < len(terminators):
                    stop = min(stop, terminators[t])
                scope_end = max(stop, end)
            if rule.direction in _REACHES_BACKWARD and start > 0:
                first = max(tokens.clause_first(start - 1), start - limit)
                t = bisect.bisect_left(terminators, start) - 1
                if t >= 0 and terminators[t] >= first:
                    first = terminators[t] + 1
                scope_start = min(first, start)
            modifiers.append(Modifier(rule, start, end, scope_start, scope_end))
        return modifiers

    def assert_tokens(
        self, tokens: Tokens, modifiers: ModifierIndex, start: int, end: int, section: NoteSection
    ) -> Assertion:
        """assert_target for the tokens [start, end) and the modifiers near them."""
        if section is not _FAMILY_HISTORY and modifiers._in_scope.find(1, start, end) < 0:  # reaches(), inlined
            # what assert_target gives when no modifier's scope reaches the target (most targets;
            # _unmodified, inlined)
            return _PAST if section in _PAST_SECTIONS else _CURRENT
        target = Target(start, end)
        return self.assert_target(tokens, target, modifiers.near(target), section)

    @staticmethod
    def is_resolved(modifiers: ModifierIndex, start: int, end: int) -> bool:
        """Whether a "resolved" cue's scope covers the tokens [start, end) from outside them."""
        if not modifiers.reaches(start, end):
            return False
        for modifier in modifiers.near(Target(start, end)):
            if not modifier.rule.resolved:
                continue
            forward_ok = modifier.end <= start and end <= modifier.scope_end
            backward_ok = modifier.start >= end and start >= modifier.scope_start
            if forward_ok or backward_ok:
                return True
        return False

    @staticmethod
    def assert_target(
        tokens: Tokens,
        target: Target,
        modifiers: Sequence[Modifier],
        section: NoteSection,
    ) -> Assertion:
        start, end = target.start, target.end
        # the caller passes the modifiers near the target; most targets are in none's scope
        in_scope = [m for m in modifiers if m.scope_end > start and m.scope_start < end]
        if not in_scope and section is not _FAMILY_HISTORY:
            return _unmodified(section)
        best: dict[Category, tuple[int, Modifier]] = {}
        for modifier in in_scope:
            if modifier.start < end and modifier.end > start:
                continue  # overlapping the target itself
            forward_ok = modifier.end <= start and end <= modifier.scope_end
            backward_ok = modifier.start >= end and start >= modifier.scope_start
            if not (forward_ok or backward_ok):
                continue
            distance = start - modifier.end if forward_ok else modifier.start - end
            for category in (modifier.rule.category, *modifier.rule.also):
                current = best.get(category)
                if current is None or distance < current[0]:
                    best[category] = (distance, modifier)
        if not best and section is not _FAMILY_HISTORY:
            return _unmodified(section)

        certainty = Certainty.POSITIVE  # the nearest certainty modifier's (the first on ties)
        nearest = -1
        for category in _CERTAINTY_AXIS:
            found = best.get(category)
            if found is not None and (nearest < 0 or found[0] < nearest):
                nearest, certainty = found[0], _CERTAINTY[category]

        conditionality = Conditionality.NONE
        if _HYPOTHETICAL in best:
            conditionality = Conditionality.HYPOTHETICAL
        elif _CONDITIONAL in best:
            conditionality = Conditionality.CONDITIONAL

        temporality = Temporality.CURRENT
        if _FUTURE in best:
            temporality = Temporality.FUTURE
        elif _HISTORICAL in best or section in _PAST_SECTIONS:
            temporality = Temporality.PAST

        association = Association.SUBJECT
        relation = ""
        if _FAMILY in best or section is _FAMILY_HISTORY:
            association = Association.OTHER
            if temporality is _PAST_TIME:
                temporality = Temporality.CURRENT  # a relative's "history of X" is not the patient's past
            family = best.get(_FAMILY)
            relation = family[1].rule.relation if family is not None else ""
            if not relation:
                relation = _nearest_relation(target, modifiers, tokens)
        return Assertion(
            certainty=certainty,
            conditionality=conditionality,
            association=association,
            relation=relation,
            temporality=temporality,
        )


# A past date written as "in <year>", "in <month>/<year>" or "in <Month> (of) <year>" ("headaches
# returned in 2004", "breast cancer in 1992") places the events near it in the past: a HISTORICAL
# modifier both ways, over a few tokens. "on 10/24/08" only after "had" in its clause ("had a stroke on
# 9/19/08"): a day's date is otherwise usually this encounter's (admitted on, a scan done on), whose
# findings are current. Each scoped cue was kept only when no part of the real set nor the golden set lost.
_DATED = ContextRule("<date>", Category.HISTORICAL, Direction.BIDIRECTIONAL, max_scope=8)
_DATE_PREPOSITIONS = frozenset({"in"})
_MONTHS = frozenset(
    {"january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
     "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"}
)  # fmt: skip


def _is_year(token: str) -> bool:
    return len(token) == 4 and token.isdigit() and token[:2] in ("19", "20")


def _date_end(lower: Sequence[str], k: int) -> int:
    """The end (exclusive) of a date starting at token k, or k when none starts there."""
    n = len(lower)
    if k >= n:
        return k
    word = lower[k]
    if _is_year(word):
        return k + 1
    if word.isdigit() and len(word) <= 2 and k + 2 < n and lower[k + 1] == "/" and lower[k + 2].isdigit():
        end = k + 3  # 9/91, 05/08 (month/year; a full day's date is not taken)
        return k if end < n and lower[end] == "/" else end
    if word in _MONTHS:
        j = k + 1
        if j < n and lower[j] == "of":
            j += 1
        if j < n and lower[j] == ",":
            j += 1
        if j < n and _is_year(lower[j]):
            return j + 1
    return k


def _dated_events(tokens: Tokens, blocked: bytearray) -> list[tuple[int, int, ContextRule]]:
    lower = tokens.lower
    found: list[tuple[int, int, ContextRule]] = []
    for k in [i for i, word in enumerate(lower) if word in _DATE_PREPOSITIONS or word == "on"]:
        if lower[k] == "on":
            end = _day_date_end(lower, k + 1)
            # a day's date is this encounter's unless the clause tells an event as over: "had a stroke on 9/19/08"
            first = max(tokens.clause_first(k), k - 8)
            if end == k + 1 or "had" not in lower[first:k]:
                continue
        else:
            end = _date_end(lower, k + 1)
        if end > k + 1 and blocked.find(1, k, end) < 0:
            found.append((k, end, _DATED))
    return found


def _day_date_end(lower: Sequence[str], k: int) -> int:
    """The end (exclusive) of a day's date m/d/y starting at token k, or k."""
    shaped = k + 4 < len(lower) and lower[k + 1] == "/" and lower[k + 3] == "/"
    if shaped and lower[k].isdigit() and lower[k + 2].isdigit() and lower[k + 4].isdigit():
        return k + 5
    return k


# Built once and shared (Assertion is immutable): most targets get one of these.
_CURRENT = Assertion()
_PAST = Assertion(temporality=Temporality.PAST)


def _unmodified(section: NoteSection) -> Assertion:
    """The assertion of a target no modifier reaches, outside the family history."""
    return _PAST if section in _PAST_SECTIONS else _CURRENT


_RELATIONS = {
    "mother": "mother", "mom": "mother", "father": "father", "dad": "father", "brother": "brother",
    "sister": "sister", "son": "son", "daughter": "daughter", "grandmother": "grandmother",
    "grandfather": "grandfather", "aunt": "aunt", "uncle": "uncle", "cousin": "cousin", "sibling": "sibling",
    "siblings": "sibling", "parents": "parent", "parent": "parent", "brothers": "brother", "sisters": "sister",
    "grandparents": "grandparent", "twin": "sibling",
}  # fmt: skip


def _nearest_relation(target: Target, modifiers: Sequence[Modifier], tokens: Tokens) -> str:
    """The family member nearest the target within its sentence, preferring the same clause."""
    del modifiers
    sentence_first, sentence_last = tokens.sentence_first(target.start), tokens.sentence_last(target.start)
    clause_first, clause_last = tokens.clause_first(target.start), tokens.clause_last(target.start)
    best: tuple[int, str] | None = None
    for direction in (-1, 1):
        k = target.start - 1 if direction < 0 else target.end
        steps = 0
        while sentence_first <= k <= sentence_last and steps < 40:
            relation = _RELATIONS.get(tokens.lower[k])
            if relation is not None:
                penalty = 0 if clause_first <= k <= clause_last else 100
                # prefer a relation just before ("mother with X") over one after
                score = steps + penalty + (0 if direction < 0 else 1)
                if best is None or score < best[0]:
                    prefix = tokens.lower[k - 1] if k > 0 else ""
                    if prefix in ("maternal", "paternal"):
                        relation = f"{prefix} {relation}"
                    best = (score, relation)
                break
            k += direction
            steps += 1
    return best[1] if best is not None else ""
