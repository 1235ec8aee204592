"""The recall-first pass: every token the typed recognizers left is removed unless it is
provably not an identifier (a known word, clinical vocabulary, a clinical number, punctuation).

After Philter (Norgeot et al., npj Digital Medicine 2020): keep by safe list, not remove by
block list. What is removed is typed PhiType.OTHER, with a confidence by token shape.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence

from healthai_server.domain.phi import PhiType
from healthai_server.phi.recognizers.base import RecognizerResult
from healthai_server.phi.safe.numbers import (
    MAX_PLAIN_INT,
    NUMBER,
    is_clinical_code,
    is_clinical_number,
    label_before,
    unit_after,
)
from healthai_server.phi.safe.spans import Shape, shaped_spans, street_tail
from healthai_server.phi.safe.vocabulary import SafeVocabulary

_TOKEN = re.compile(r"[^\W_]+")
NAME = "recall_first"
# Confidence that a removed token is an identifier, by shape.
SCORE_CODE = 0.8  # letters and digits: "A7-5521", "FYF831"
SCORE_NUMBER = 0.7  # an unexplained number: a street, a room, an id
SCORE_CAPITALISED = 0.75  # an unknown capitalised word: most often a name or a place
SCORE_WORD = 0.6  # an unknown lower-case or all-caps word
SCORE_STREET_TAIL = 0.7  # "Suite 310" after a street
WORD_CACHE_SIZE = 100_000
_MISSING = object()
SCORE_NAME_LIKE = 0.55  # an English word that is also a common name, capitalised mid-sentence
_SENTENCE_START = frozenset(".!?:;\n\t\"'([-*•>|")


# Identifiers a letter may prefix ("License A 118204"); not phones, faxes or device serials,
# whose letters are labels or sides ("F 775-555-0116", "L 2219A4471").
_NUMBER_ID_TYPES = frozenset(
    {PhiType.OTHER, PhiType.MEDICAL_RECORD_NUMBER, PhiType.LICENSE_NUMBER, PhiType.HEALTH_PLAN_NUMBER,
     PhiType.ACCOUNT_NUMBER, PhiType.OTHER_IDENTIFIER}
)  # fmt: skip
_PROPER_TYPES = frozenset({PhiType.OTHER, PhiType.NAME, PhiType.CITY, PhiType.ORGANIZATION})
# Words that cannot be inside an informal street ("2 weeks of rest" is no street).
_NOT_STREET = frozenset(
    {"of", "the", "a", "an", "and", "or", "to", "in", "on", "at", "for", "with", "by", "from", "per"}
)
# Letters and digits joined by "-" or "." ("S014-0031", "K-88410", "24-CI-008817"): one code.
_COMPOUND = re.compile(r"[^\W_]+(?:[-.][^\W_]+)+")
# Name particles ("María de los Ángeles", "Ludwig van Beethoven") and generational suffixes:
# between two removed name words, or after one, they are part of the name.
_PARTICLES = frozenset(
    {"de", "del", "della", "la", "las", "los", "le", "da", "das", "do", "dos", "di", "du", "van", "von", "der",
     "den", "ter", "ten", "bin", "bint", "ibn", "abu", "abd", "al", "el", "y", "e", "st", "mac", "mc"}
)  # fmt: skip
_LAST_WORD = re.compile(r"[^\W_]+$")
_QUOTED = re.compile(r'"[A-Z][^"\n]{0,28}"')
_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv"})
# Words that end a place name ("Fall River Junction", "Québec City", "Mountain Home"): after a
# removed capitalised word they are part of it, though each is clinical or common alone.
_PLACE_ENDS = frozenset(
    {"city", "junction", "springs", "falls", "heights", "beach", "harbor", "harbour", "valley", "village", "town",
     "township", "county", "parish", "park", "hills", "lake", "lakes", "home", "center", "centre", "station",
     "crossing", "landing", "ridge", "point", "bay", "island", "grove", "mills", "creek", "river"}
)  # fmt: skip


def _covered(starts: Sequence[int], ends: Sequence[int], start: int, end: int) -> bool:
    i = bisect.bisect_right(starts, start) - 1
    return (i >= 0 and ends[i] > start) or (i + 1 < len(starts) and starts[i + 1] < end)


def _particle_then_capital(text: str, end: int) -> bool:
    """Whether the particle ending at `end` is followed, one space apart, by more particles and
    then a capitalised word ("de los Ángeles", "Abd al-Karim")."""
    for _ in range(3):
        # A space, or a hyphen after a particle ("Abd al-Karim", "bin al-Hamwi").
        m = _TOKEN.match(text, end + 1) if text[end : end + 1] in (" ", "-") else None
        if m is None:
            return False
        if m.group()[0].isupper():
            return True
        if m.group().lower() not in _PARTICLES:
            return False
        end = m.end()
    return False


class SafeListPass:
    def __init__(self, vocabulary: SafeVocabulary) -> None:
        self.vocabulary = vocabulary
        # Word -> verdict: notes repeat their words, and a word's verdict needs up to a few
        # dozen set lookups (inflections, word parts, compounds). Bounded: cleared when full.
        self._word_cache: dict[str, float | None] = {}

    def shapes(self, text: str, typed: Sequence[RecognizerResult]) -> list[Shape]:
        """Multi-token shapes (spans.py), and the direction and units that continue a typed
        street ("..., Unit 3", "18th Floor"), sorted. Typed: both policies take them."""
        shaped = shaped_spans(text, self.vocabulary.units, _NOT_STREET)
        for r in typed:
            if r.type is PhiType.STREET_ADDRESS:
                tail = street_tail(text, r.end)
                if tail > r.end:
                    shaped.append((r.end, tail, SCORE_STREET_TAIL, r.type))
        shaped.sort()
        return shaped

    def find(
        self, text: str, typed: Sequence[RecognizerResult], shaped: Sequence[Shape] | None = None
    ) -> list[RecognizerResult]:
        """OTHER results for the tokens outside `typed` (disjoint, in text order) that are not safe.
        `shaped`: self.shapes(text, typed) when the caller has it already."""
        starts = [r.start for r in typed]
        ends = [r.end for r in typed]
        verdicts = self._number_verdicts(text)
        if shaped is None:
            shaped = self.shapes(text, typed)
        shaped_starts = [s for s, _, _, _ in shaped]
        # Spans may nest and overlap: the farthest end (and its score) among those that start
        # at or before each one says whether a token is inside one.
        reach: list[tuple[int, float]] = []
        for _, s_end, s_score, _ in shaped:
            reach.append(max(reach[-1], (s_end, s_score)) if reach else (s_end, s_score))
        out: list[RecognizerResult] = []
        kept: list[re.Match[str]] = []  # words judged safe: the candidates for widening
        small: list[re.Match[str]] = []  # small numbers judged safe: maybe a group of an id
        j, n = 0, len(starts)
        for m in _TOKEN.finditer(text):
            start, end = m.span()
            # typed is disjoint and sorted, tokens come in order: one forward walk, no search.
            while j < n and ends[j] <= start:
                j += 1
            if j < n and starts[j] < end:
                continue
            word = m.group()
            score = self._score(word, start, verdicts)
            i = bisect.bisect_right(shaped_starts, start) - 1
            if i >= 0 and reach[i][0] >= end:
                score = max(score or 0.0, reach[i][1])
            if score is None and self._name_inside_sentence(text, word, start):
                score = SCORE_NAME_LIKE
            if score is not None:
                out.append(RecognizerResult(PhiType.OTHER, start, end, score, NAME))
            elif word.isalpha():
                kept.append(m)
            elif word.isdecimal() and len(word) <= 3:
                small.append(m)
        if small and out:
            out = self._widen_number_groups(text, out, small)
        if kept:
            out = self._letter_prefixes(text, typed, out, kept)
        widened = self._widen_codes(text, typed, out)
        if len(widened) != len(out):
            code_parts = {r.start for r in widened}
            kept = [m for m in kept if m.start() not in code_parts]
        return self._widen_proper_names(text, typed, widened, kept=kept)

    def widen_names(self, text: str, typed: Sequence[RecognizerResult]) -> list[RecognizerResult]:
        """The words a typed name or place takes beside it (see _widen_proper_names), typed as
        the name's type, for the PRECISION policy."""
        found = self._widen_proper_names(text, typed, [], any_capitalised=False)
        if not found:
            return []
        ordered = sorted(typed, key=lambda r: r.start)
        starts = [r.start for r in ordered]
        out = []
        for r in found:
            i = bisect.bisect_right(starts, r.start) - 1
            near = ordered[i] if i >= 0 else ordered[0]
            kind = near.type if near.type in (PhiType.NAME, PhiType.CITY) else PhiType.NAME
            out.append(RecognizerResult(kind, r.start, r.end, r.score, NAME))
        return out

    def _widen_number_groups(
        self, text: str, found: list[RecognizerResult], small: Sequence[re.Match[str]]
    ) -> list[RecognizerResult]:
        """ "member AMH 5520 9184 03", "case no. 24 WC 031877": an identifier printed in groups
        one space apart. A small number with no unit or label, one space from a group this pass
        removed (digits, or capitals like "WC"), is a group of the same identifier."""
        by_end = {r.end: r for r in found}
        by_start = {r.start: r for r in found}
        extra: list[RecognizerResult] = []
        for m in small:
            start, end = m.span()
            if text[start - 1 : start] not in (" ", "") or (
                text[end : end + 1] not in (" ", ";", ",", "\n", "")
                and not (text[end : end + 1] == "." and not text[end + 1 : end + 2].isdecimal())
            ):
                continue  # "81.5", "13:02", "-4": part of a number, not a group ("... 1193 04." is)
            before = by_end.get(start - 1) if start else None
            after = by_start.get(end + 1) if text[end : end + 1] == " " else None
            nxt = by_start.get(after.end + 1) if after is not None and text[after.end : after.end + 1] == " " else None
            if before is not None and text[before.start : before.end].isdecimal() and before.end - before.start >= 4:
                pass  # "5520 9184 03"
            elif (
                after is not None
                and nxt is not None
                and text[after.start : after.end].isdecimal()
                and text[nxt.start : nxt.end].isdecimal()
                and after.end - after.start >= 3
            ):
                # "file number C 28 447 193": the first of three groups; whatever the word before
                # is ("C" is also a lab label), three groups in a row are no measurement.
                extra.append(RecognizerResult(PhiType.OTHER, start, end, SCORE_NUMBER, NAME))
                continue
            elif (
                after is not None
                and text[after.start : after.end].isalpha()
                and text[after.start : after.end].isupper()
            ):
                # "24 WC 031877": the capitals are followed by a removed group of digits.
                nxt = by_start.get(after.end + 1)
                if nxt is None or not text[nxt.start : nxt.end].isdecimal() or text[after.end] != " ":
                    continue
            else:
                continue
            vocab = self.vocabulary
            if unit_after(text, end, vocab) is not None or label_before(text, start, vocab):
                continue
            extra.append(RecognizerResult(PhiType.OTHER, start, end, SCORE_NUMBER, NAME))
        return sorted([*found, *extra], key=lambda r: r.start) if extra else found

    def _letter_prefixes(
        self,
        text: str,
        typed: Sequence[RecognizerResult],
        found: list[RecognizerResult],
        kept: Sequence[re.Match[str]],
    ) -> list[RecognizerResult]:
        """ "License A 118204", "file number: C 28 447 193": a single capital letter one space
        before a removed number of four digits or more (or the first of its groups) is the
        number's prefix. A letter alone is safe anywhere else ("vitamin D", "hepatitis B")."""
        removed = {r.start: r for r in (*typed, *found)}
        extra: list[RecognizerResult] = []
        for m in kept:
            start, end = m.span()
            if end - start != 1 or not text[start].isupper() or text[start] == "I" or text[end : end + 1] != " ":
                continue
            if start and text[start - 1].isalnum():
                continue
            after = removed.get(end + 1)
            if after is None or after.type not in _NUMBER_ID_TYPES or not text[after.start : after.end].isdecimal():
                continue  # "T 775-555-0115", "L 2219A4471 / R ...": a label or a side, not a prefix
            digits = sum(ch.isdecimal() for ch in text[after.start : after.end])
            grouped = after.end + 1 in removed and text[after.end : after.end + 1] == " "
            if digits >= 4 or grouped:
                extra.append(RecognizerResult(PhiType.OTHER, start, end, SCORE_CODE, NAME))
        return sorted([*found, *extra], key=lambda r: r.start) if extra else found

    def _widen_codes(
        self, text: str, typed: Sequence[RecognizerResult], found: list[RecognizerResult]
    ) -> list[RecognizerResult]:
        """ "K-88410", "S014-0031": when one part of a code with digits is removed, all are."""
        # Triggered by a part this pass removed that holds a digit ("88410", "S014"), not by a
        # typed finding ("92-year-old" is an age; its words stay).
        triggers = [r for r in found if any(ch.isdecimal() for ch in text[r.start : r.end])]
        if not triggers:
            return found
        t_starts = [r.start for r in triggers]
        t_ends = [r.end for r in triggers]
        removed = sorted([*typed, *found], key=lambda r: r.start)
        starts = [r.start for r in removed]
        ends = [r.end for r in removed]
        extra: list[RecognizerResult] = []
        for m in _COMPOUND.finditer(text):
            if not any(ch.isalpha() for ch in m.group()) or not _covered(t_starts, t_ends, *m.span()):
                continue
            for part in _TOKEN.finditer(text, m.start(), m.end()):
                if not _covered(starts, ends, *part.span()):
                    extra.append(RecognizerResult(PhiType.OTHER, part.start(), part.end(), SCORE_CODE, NAME))
        return sorted([*found, *extra], key=lambda r: r.start) if extra else found

    def _widen_proper_names(
        self,
        text: str,
        typed: Sequence[RecognizerResult],
        found: list[RecognizerResult],
        *,
        any_capitalised: bool = True,
        kept: Sequence[re.Match[str]] | None = None,
    ) -> list[RecognizerResult]:
        """ "Breaux Bridge", "Aspen Whitley", "Quellton Family Practice": a capitalised word right
        next to a removed capitalised one is part of the same name, unless it is clinical
        vocabulary, a unit, a label or a function word. So are, whatever the lists say: initials
        ("K. Morales", "rosa m delgado"), particles ("María de los Ángeles"), "Jr."/"III", words
        that end a place ("Fall River Junction"), the surname before ", Given" ("Ho, Jennifer")
        and a quoted nickname beside a name (Wendell "Buck" Harrow). `any_capitalised=False`
        keeps only these cues, not the first rule. `kept`: the words outside every removed span,
        when the caller has them."""
        removed = sorted([*typed, *found], key=lambda r: r.start)
        proper = [r for r in removed if r.type in _PROPER_TYPES and text[r.start].isalpha()]
        if not proper:
            return found
        edges = {e for r in proper if text[r.start].isupper() for e in (r.start, r.end)}
        # Lower-case names ("j fitzgerald") take initials too.
        letter_edges = {e for r in proper for e in (r.start, r.end)}
        # Given names after "Surname, ": typed names, and removed capitalised words in ALL CAPS.
        name_starts = {r.start for r in typed if r.type is PhiType.NAME}
        caps_starts = {r.start for r in proper if text[r.start : r.end].isupper() and r.end - r.start > 1}
        vocabulary = self.vocabulary
        starts = [r.start for r in removed]
        ends = [r.end for r in removed]
        never = self.vocabulary.never_names
        if kept is None:
            kept = [m for m in _TOKEN.finditer(text) if m.group().isalpha() and not _covered(starts, ends, *m.span())]
        tokens = kept
        joined: set[tuple[int, int]] = set()

        def after_edge(start: int, gaps: tuple[str, ...], at: set[int]) -> bool:
            return any(text[start - len(g) : start] == g and start - len(g) in at for g in gaps)

        def before_edge(end: int, gaps: tuple[str, ...], at: set[int]) -> bool:
            return any(text[end : end + len(g)] == g and end + len(g) in at for g in gaps)

        # One sweep rightwards, one leftwards: a run of words joins its removed neighbour whole
        # in a single pass each way (linear, however long the run).
        for m in tokens:
            start, end = m.span()
            word = m.group()
            lower = word.lower()
            join = False
            if len(word) == 1:
                join = self._initial_after(text, start, end, letter_edges)
            elif word[0].isupper() and lower in _SUFFIXES:
                join = after_edge(start, (" ", ", ", ". ", "., "), edges)
            elif lower in _PARTICLES and after_edge(start, (" ",), edges) and _particle_then_capital(text, end):
                join = True
            elif word[0].isupper() and not word.isupper():
                allowed = (any_capitalised and lower not in never) or lower in _PLACE_ENDS
                # "Okamura-Reyes": the second half of a double-barrelled name, too.
                join = allowed and after_edge(start, (" ", "-"), edges)
            if join:
                joined.add((start, end))
                edges.add(end)
                letter_edges.add(end)
        for m in reversed(tokens):
            start, end = m.span()
            word = m.group()
            lower = word.lower()
            join = False
            if len(word) == 1:
                join = self._initial_before(text, start, end, letter_edges)
            elif any_capitalised and word[0].isupper() and not word.isupper():
                join = lower not in never and before_edge(end, (" ",), edges)
            nxt = end + 2
            if not join and word[0].isupper() and text[end:nxt] == ", " and (nxt in name_starts or nxt in caps_starts):
                # "Ho, Jennifer MD", "PRICE, JOLENE R": a surname before ", " and a given name
                # (a typed one, or an unknown word in ALL CAPS beside a word in ALL CAPS; "RN,
                # CDCES" is a credential).
                shaped_like = lower in vocabulary.name_like or len(word) <= 3 or word.isupper()
                same_case = not word.isupper() or text[nxt : nxt + 2].isupper()
                allowed = (
                    lower not in vocabulary.clinical
                    if nxt not in name_starts
                    else (lower not in vocabulary.labels and lower not in vocabulary.units)
                )
                join = shaped_like and same_case and allowed
            if join:
                joined.add((start, end))
                edges.add(start)
                letter_edges.add(start)
        joined |= self._quoted_nicknames(text, tokens, edges)
        extra = [RecognizerResult(PhiType.OTHER, s, e, SCORE_NAME_LIKE, NAME) for s, e in joined]
        return sorted([*found, *extra], key=lambda r: r.start)

    @staticmethod
    def _initial_after(text: str, start: int, end: int, edges: set[int]) -> bool:
        """ "ROSALIND P", "Theodore J. Jr.": a capital letter after a removed name, not followed
        by a lower-case word or a number ("Kerley B lines", "PTA R 58")."""
        letter = text[start]
        if not letter.isupper() or (letter == "I" and text[end : end + 1] != "."):
            return False
        if not any(text[start - len(g) : start] == g and start - len(g) in edges for g in (" ", ". ")):
            return False
        rest = text[end : end + 3].lstrip(" .")
        return not rest or not (rest[0].islower() or rest[0].isdecimal())

    @staticmethod
    def _initial_before(text: str, start: int, end: int, edges: set[int]) -> bool:
        """ "K. Morales", "Harold Y. Benitez"; in lower case only between two removed name words
        of the same case ("rosa m delgado", "denise a. moreau") or after a title ("dr j fitzgerald")."""
        gaps = (" ", ". ", "'", "\u2019")
        gap = next((g for g in gaps if text[end : end + len(g)] == g and end + len(g) in edges), None)
        if gap is None:
            return False
        if gap in ("'", "\u2019"):  # "Coeur d'Alene", "O'Brien": an elided particle
            return start - 1 in edges
        right = text[end + len(gap)]
        if text[start].isupper():
            return text[start] != "I" or gap == ". "
        if right.isupper() or (text[start] == "a" and gap != ". "):
            return False
        title = re.search(r"\b(?:dr|mr|mrs|ms|miss)\.? $", text[max(0, start - 6) : start], re.IGNORECASE)
        left_word = _LAST_WORD.search(text, max(0, start - 40), start - 1)
        return title is not None or (start - 1 in edges and left_word is not None and left_word.group().islower())

    @staticmethod
    def _quoted_nicknames(text: str, tokens: Sequence[re.Match[str]], edges: set[int]) -> set[tuple[int, int]]:
        """'Wendell "Buck" Harrow', 'sponsor "Big Mike"': capitalised words in short double
        quotes that touch a removed name, or hold one, are a nickname."""
        out: set[tuple[int, int]] = set()
        sorted_edges = sorted(edges)
        token_starts = [m.start() for m in tokens]
        for q in _QUOTED.finditer(text):
            inner_start, inner_end = q.start() + 1, q.end() - 1
            touches = (q.start() - 1 in edges and text[q.start() - 1] == " ") or (
                q.end() + 1 in edges and text[q.end() : q.end() + 1] == " "
            )
            k = bisect.bisect_left(sorted_edges, inner_start)
            holds = k < len(sorted_edges) and sorted_edges[k] <= inner_end
            if not (touches or holds):
                continue
            for m in tokens[bisect.bisect_left(token_starts, inner_start) :]:
                if m.end() > inner_end:
                    break
                if m.group()[0].isupper():
                    out.add(m.span())
        return out

    def _number_verdicts(self, text: str) -> dict[int, bool]:
        """Start of every digit run -> whether its number is clinical."""
        verdicts: dict[int, bool] = {}
        for m in NUMBER.finditer(text):
            if m.start() > 0 and text[m.start() - 1].isalpha():
                continue  # the digits of a code ("A12"): judged as a token
            ok = is_clinical_number(text, m.start(), m.end(), self.vocabulary)
            for run in re.finditer(r"\d+", m.group()):
                verdicts[m.start() + run.start()] = ok
        return verdicts

    def _name_inside_sentence(self, text: str, token: str, start: int) -> bool:
        """ "seen with Barb today": a name-like word, Title case, not the first word of a sentence,
        a line or a heading."""
        if not (token[0].isupper() and token[1:].islower()) or token.lower() not in self.vocabulary.name_like:
            return False
        before = text[max(0, start - 3) : start].rstrip(" ")
        return bool(before) and before[-1] not in _SENTENCE_START and not before[-1].isdecimal()

    def _score(self, token: str, start: int, verdicts: dict[int, bool]) -> float | None:
        """None when the token is safe, else the confidence that it identifies someone."""
        if token.isdecimal():
            verdict = verdicts.get(start)
            if verdict is None:  # digits right after letters ("x 2" written "x2" is one token)
                verdict = len(token) <= 2 and int(token) <= MAX_PLAIN_INT
            return None if verdict else SCORE_NUMBER
        if token.isalpha():
            cached = self._word_cache.get(token, _MISSING)
            if cached is not _MISSING:
                return cached  # type: ignore[return-value]
            if len(self._word_cache) >= WORD_CACHE_SIZE:
                self._word_cache.clear()
            score = self._word_score(token)
            self._word_cache[token] = score
            return score
        return None if is_clinical_code(token, self.vocabulary) else SCORE_CODE

    def _word_score(self, token: str) -> float | None:
        """The verdict on a word of letters: safe (None) or the confidence that it identifies."""
        vocabulary = self.vocabulary
        if len(token) == 1 or vocabulary.knows(token) or vocabulary.clinical_form(token) or vocabulary.compound(token):
            return None
        return SCORE_CAPITALISED if token[0].isupper() and not token.isupper() else SCORE_WORD
