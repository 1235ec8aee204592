"""Identifiers read out loud: speech-recognised dictations write them as words, in lower case.

"his cell is seven one four five five five zero one nine three", "member number c o eight eight
four", "spelled n g u y e n", "twenty two forty palm view drive", "at northside family health
center". The pattern and name recognizers look for digits and capitals, and the recall-first
safe list keeps every English word, so these pass both. The recognizers here work on the
structure of the words (runs of digit words, runs of single letters, number words + name +
street suffix, a lower-case run that ends in an organisation's head noun) and are guarded so
that clinical quantities said as words ("five milligrams", "one to two tablets", "one twenty
over eighty", "twenty two gauge") never match: a run needs several single digits in a row, or
an identifier cue right before it, and a street needs a suffix after a name.

Policies. Both (score >= 0.5): digit runs (an identifier cue within eight words and three digits,
or seven digits of which five single), letters after "spelled" with every mention of the word
they spell, spoken streets and the town after them, a lower-case gazetteer town after a place cue
("from sarasota"), and lower-case organisation names (with HEALTHAI_PHI_ORGANIZATIONS, as the
organisation recognizer). RECALL_FIRST only (0.4, below the PRECISION threshold, above
RECALL_FIRST's 0.3): four or more lower-case single letters without a cue.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from healthai_server.domain.phi import PhiType
from healthai_server.phi.lexicon import Lexicon
from healthai_server.phi.recognizers.base import EntityRecognizer, RecognizerResult
from healthai_server.phi.wordlists import word_section

_FILE = "spoken_words.txt"
# Not the "st" of "1st" or the "mg" of "40mg".
_WORD = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]+(?:['’][A-Za-z]+)?")
# Words of one spoken run are separated by blanks, a comma or a hyphen, never a line break or a
# full stop (the next sentence is something else).
_JOIN = re.compile(r"[ \t]{1,3}|[ \t]?[,-][ \t]{0,2}")
# Spelled letters are one blank or a hyphen apart ("n g u y e n", "b-e-n"); wider gaps are
# letter-spaced headings ("F A X   T R A N S M I T T A L").
_LETTER_JOIN = re.compile(r"[ \t]|-")


def _word_alternation(words: frozenset[str] | set[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=lambda w: (-len(w), w)))


_DIGITS = {
    "zero": "0", "oh": "0", "o": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
    "seven": "7", "eight": "8", "nine": "9",
}  # fmt: skip
# Crisis and service lines ("called nine one one") are no one's number.
_SERVICE_NUMBERS = frozenset({"911", "988", "211", "311", "411", "511", "711", "811"})
_TEENS = frozenset(
    {"ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"}
)
_TENS = frozenset({"twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"})
_REPEATS = {"double": 2, "triple": 3}
_DIRECTIONS = frozenset({"east", "west", "north", "south"})
_NUMBER_WORDS = frozenset(_DIGITS) | _TEENS | _TENS | {"hundred", "thousand"}
_RUN_WORD = rf"(?:{_word_alternation(set(_DIGITS) | _TEENS | _TENS | set(_REPEATS))})"
# Two or more number words in a row: where a digit run may be.
_NUMBER_RUN = re.compile(
    rf"(?<![A-Za-z0-9]){_RUN_WORD}(?:(?:{_JOIN.pattern}){_RUN_WORD})+(?![A-Za-z0-9'’])", re.IGNORECASE
)
# Three or more single letters a blank or a hyphen apart.
_LETTER_RUN = re.compile(r"(?<![\w'’])[A-Za-z](?:[ \t-][A-Za-z]){2,}(?![\w'’])")

_FAX = word_section(_FILE, "spoken.FAX_CUES")
_PHONE = word_section(_FILE, "spoken.PHONE_CUES")
_RECORD = word_section(_FILE, "spoken.RECORD_CUES")
_PLAN = word_section(_FILE, "spoken.PLAN_CUES")
_ACCOUNT = word_section(_FILE, "spoken.ACCOUNT_CUES")
_ID = word_section(_FILE, "spoken.ID_CUES")
_NUMBER_CUES = word_section(_FILE, "spoken.NUMBER_CUES")
_SPELL_CUES = word_section(_FILE, "spoken.SPELL_CUES")
_STREET_SUFFIXES = word_section(_FILE, "spoken.STREET_SUFFIXES")
_UNIT_WORDS = word_section(_FILE, "spoken.UNIT_WORDS")
_NOT_NAME = word_section(_FILE, "spoken.NOT_NAME_WORDS")
_ORG_HEADS = word_section(_FILE, "spoken.ORG_HEADS")
_PLACE_WORDS = word_section(_FILE, "spoken.PLACE_WORDS")
_SAINT_WORDS = word_section(_FILE, "spoken.SAINT_WORDS")
_CARE_KINDS = word_section(_FILE, "spoken.CARE_KINDS")
_NOT_COINED = word_section(_FILE, "spoken.NOT_COINED")
_SUFFIX_ANCHOR = re.compile(rf"(?<![A-Za-z0-9])(?:{_word_alternation(_STREET_SUFFIXES)})(?![A-Za-z'’])", re.IGNORECASE)
# Lower case only: capitalised names are the organisation recognizer's (places.py).
_ORG_ANCHOR = re.compile(
    rf"(?<![A-Za-z0-9])(?:{_word_alternation(_ORG_HEADS | {'care', 'saint', 'st'})})(?![A-Za-z'’])"
)
_TYPED_CUES: tuple[tuple[frozenset[str], PhiType], ...] = (
    (_FAX, PhiType.FAX),
    (_RECORD, PhiType.MEDICAL_RECORD_NUMBER),
    (_PLAN, PhiType.HEALTH_PLAN_NUMBER),
    (_ACCOUNT, PhiType.ACCOUNT_NUMBER),
    (_ID, PhiType.OTHER_IDENTIFIER),
    (_PHONE, PhiType.PHONE),
)
CUE_LOOKBACK = 8  # words
WINDOW = 150  # characters before a candidate that its cues and name words may take
MIN_DIGITS_UNCUED = 7  # a phone number without its area code
MIN_SINGLES_UNCUED = 5  # "five five five oh one two three": most words single digits
MIN_DIGITS_CUED = 3  # "area code nine seven oh"
MAX_PREFIX_LETTERS = 3  # "c o eight eight four...", "l v six six zero..."
MIN_SPELLED = 3
MIN_SPELLED_UNCUED = 4
MAX_SPELLED_WORDS = 16  # distinct spelled words per note whose other mentions are searched for
SCORE_RUN = 0.85
SCORE_SPELLED = 0.85
SCORE_LETTERS = 0.4  # letters in a row without a cue: recall-first only
SCORE_STREET = 0.8
SCORE_TOWN = 0.6
SCORE_ORG = 0.6


# Whether a lower-case word is a known English or clinical word (inflections included): the
# recall-first safe vocabulary's `knows` when the caller has it, else the lexicon's word lists.
KnownWord = Callable[[str], bool]


def _lexicon_knows(lexicon: Lexicon) -> KnownWord:
    english, clinical = lexicon.english, lexicon.clinical
    return lambda word: word in english or word in clinical


@dataclass(frozen=True, slots=True)
class _Token:
    start: int
    end: int
    word: str  # lower case


@dataclass(frozen=True, slots=True)
class _Run:
    """A run of digit words: tokens[first:end], the digits it spells and how many were single."""

    first: int
    end: int
    digits: int
    singles: int


def _tokens(text: str, lo: int = 0, hi: int | None = None) -> list[_Token]:
    """The words of text[lo:hi], widened to whole words."""
    hi = len(text) if hi is None else min(len(text), hi)
    while hi < len(text) and text[hi].isalpha():
        hi += 1
    return [_Token(m.start(), m.end(), m.group().lower()) for m in _WORD.finditer(text, max(0, lo), hi)]


def _windows(text: str, anchor: re.Pattern[str], before: int, after: int) -> Iterator[tuple[list[_Token], int]]:
    """The words around each match of `anchor` (`before`/`after` characters) and the index of the
    match's first word. A recognizer reads the neighbourhood of a candidate, not every word of the
    note: most notes hold no spoken identifier, and a word-by-word walk in Python cost ~20%."""
    for m in anchor.finditer(text):
        tokens = _tokens(text, m.start() - before, m.end() + after)
        k = next((i for i, t in enumerate(tokens) if t.start >= m.start()), None)
        if k is not None:
            yield tokens, k


def _joined(text: str, left: _Token, right: _Token) -> bool:
    """Whether two neighbouring tokens belong to one spoken run (see _JOIN)."""
    return _JOIN.fullmatch(text, left.end, right.start) is not None


def _digit_count(tokens: Sequence[_Token], i: int) -> tuple[int, str, int]:
    """(tokens taken, the digits as far as they are single, single digits) for the digit
    word(s) at i, or (0, "", 0). A teen or a tens word stands for two digits ("xx")."""
    word = tokens[i].word
    if word in _REPEATS and i + 1 < len(tokens) and tokens[i + 1].word in _DIGITS:
        return 2, _DIGITS[tokens[i + 1].word] * _REPEATS[word], _REPEATS[word]
    if word in _DIGITS:
        return 1, _DIGITS[word], 1
    if word in _TEENS or word in _TENS:
        return 1, "xx", 0
    return 0, "", 0


class SpokenNumberRecognizer(EntityRecognizer):
    """Phone, fax, record, plan and job numbers read digit by digit ("five five five oh one two
    three", "double four", "area code nine seven oh"), with spelled letters before them after an
    identifier cue ("member number c o eight eight four ...")."""

    name = "spoken_number"
    supported_types = (
        PhiType.PHONE,
        PhiType.FAX,
        PhiType.MEDICAL_RECORD_NUMBER,
        PhiType.HEALTH_PLAN_NUMBER,
        PhiType.ACCOUNT_NUMBER,
        PhiType.OTHER_IDENTIFIER,
    )

    def analyze(self, text: str) -> list[RecognizerResult]:
        out: list[RecognizerResult] = []
        for tokens, first in _windows(text, _NUMBER_RUN, WINDOW, 0):
            out.extend(self._runs(text, tokens, first))
        return out

    def _runs(self, text: str, tokens: Sequence[_Token], first: int) -> list[RecognizerResult]:
        out: list[RecognizerResult] = []
        i = first
        while i < len(tokens):
            taken, _, singles = _digit_count(tokens, i)
            if singles == 0:  # a run starts with a single digit ("twenty two gauge" never does)
                i += 1
                continue
            j, digits, singles_total = i, "", 0
            while j < len(tokens):
                taken, n, s = _digit_count(tokens, j)
                if taken == 0 or (j > i and not _joined(text, tokens[j - 1], tokens[j])):
                    break
                j, digits, singles_total = j + taken, digits + n, singles_total + s
            # The run ends on a single digit: a trailing "twenty" is more often the start of the
            # next quantity.
            while j > i and tokens[j - 1].word in _TENS | _TEENS:
                j, digits = j - 1, digits[:-2]
            run = _Run(i, j, len(digits), singles_total)
            found = None if digits in _SERVICE_NUMBERS else self._judge(text, tokens, run)
            if found is not None:
                out.append(found)
            i = max(j, i + 1)
        return out

    def _judge(self, text: str, tokens: Sequence[_Token], run: _Run) -> RecognizerResult | None:
        i, j, digits, singles = run.first, run.end, run.digits, run.singles
        start = i
        # Spelled letters right before the digits, after a cue: "number c o eight eight four".
        while (
            i - start < MAX_PREFIX_LETTERS
            and start > 0
            and len(tokens[start - 1].word) == 1
            and tokens[start - 1].word not in ("a", "i")
            and _joined(text, tokens[start - 1], tokens[start])
        ):
            start -= 1
        cue, cued = self._cue(tokens, start)
        if not cued and start != i:
            start = i  # letters are part of the identifier only when a cue says one follows
            cue, cued = self._cue(tokens, start)
        enough = digits >= MIN_DIGITS_CUED if cued else (digits >= MIN_DIGITS_UNCUED and singles >= MIN_SINGLES_UNCUED)
        if not enough:
            return None
        phi_type = cue or (PhiType.PHONE if digits in (7, 10, 11) else PhiType.OTHER_IDENTIFIER)
        return RecognizerResult(phi_type, tokens[start].start, tokens[j - 1].end, SCORE_RUN, self.name)

    @staticmethod
    def _cue(tokens: Sequence[_Token], start: int) -> tuple[PhiType | None, bool]:
        """The type the nearest cue word gives, and whether any identifier cue is near."""
        cued = False
        for k in range(start - 1, max(-1, start - 1 - CUE_LOOKBACK), -1):
            word = tokens[k].word
            for words, phi_type in _TYPED_CUES:
                if word in words:
                    return phi_type, True
            if word in _NUMBER_CUES:
                cued = True
        return None, cued


class SpelledLettersRecognizer(EntityRecognizer):
    """A word spelled out letter by letter ("spelled b e n a v i d e s"): the letters and every
    mention of the word they spell are a name. Letters in a row without the cue are removed
    only under RECALL_FIRST."""

    name = "spelled_letters"
    supported_types = (PhiType.NAME,)

    def __init__(self, lexicon: Lexicon, known_word: KnownWord | None = None) -> None:
        self._clinical = lexicon.clinical
        self._known = known_word or _lexicon_knows(lexicon)

    def analyze(self, text: str) -> list[RecognizerResult]:
        out: list[RecognizerResult] = []
        searched: set[str] = set()  # each spelled word's mentions are searched for once
        for tokens, i in _windows(text, _LETTER_RUN, WINDOW, 0):
            j = len(tokens)  # the window ends with the run
            n = j - i
            letters = "".join(t.word for t in tokens[i:j])
            cued = any(t.word in _SPELL_CUES for t in tokens[max(0, i - 3) : i])
            # "n y h a", "c o p d": a clinical abbreviation read letter by letter is no name.
            # Uncued, capitals are a letter-spaced heading ("T R A N S M I T T A L"), and an
            # English word spaced for emphasis is no name either.
            heading = not cued and (text[tokens[i].start].isupper() or self._known(letters))
            known = letters in self._clinical or heading
            if not known and ((cued and n >= MIN_SPELLED) or (n >= MIN_SPELLED_UNCUED and letters.strip("ai"))):
                score = SCORE_SPELLED if cued else SCORE_LETTERS
                out.append(RecognizerResult(PhiType.NAME, tokens[i].start, tokens[j - 1].end, score, self.name))
                if cued and (letters not in searched and len(searched) < MAX_SPELLED_WORDS):
                    searched.add(letters)  # bounded: a whole-text search per word stays linear
                    out.extend(self._mentions(text, tokens, i, letters, score))
        return out

    def _mentions(
        self, text: str, tokens: Sequence[_Token], at: int, letters: str, score: float
    ) -> list[RecognizerResult]:
        """Every mention of the spelled word, and the words between its last mention before the
        letters and the cue ("nguyen van hung spelled n g u y e n": the rest of the name)."""
        mention = re.compile(rf"(?<![A-Za-z0-9]){re.escape(letters)}(?![A-Za-z0-9'’])", re.IGNORECASE)
        out = [RecognizerResult(PhiType.NAME, m.start(), m.end(), score, self.name) for m in mention.finditer(text)]
        cue = at - 1
        while cue > 0 and tokens[cue].word not in _SPELL_CUES:
            cue -= 1
        between = range(cue - 1, max(-1, cue - 4), -1)
        for k in between:
            if tokens[k].word == letters:
                out.extend(
                    RecognizerResult(PhiType.NAME, t.start, t.end, score, self.name)
                    for t in tokens[k + 1 : cue]
                    if t.word not in _NOT_NAME and t.word not in self._clinical
                )
                break
        return out


class SpokenStreetRecognizer(EntityRecognizer):
    """A street address said in words: number words, an optional direction, one to three name
    words, a street suffix, an optional unit ("one fourteen east grand river avenue apartment
    six"), and the town after it ("... lane in loveland")."""

    name = "spoken_street"
    supported_types = (PhiType.STREET_ADDRESS, PhiType.CITY)

    def __init__(self, lexicon: Lexicon, known_word: KnownWord | None = None) -> None:
        self._clinical = lexicon.clinical
        self._known = known_word or _lexicon_knows(lexicon)

    def analyze(self, text: str) -> list[RecognizerResult]:
        out: list[RecognizerResult] = []
        for tokens, k in _windows(text, _SUFFIX_ANCHOR, WINDOW, 60):
            if k < 2:
                continue
            start = self._start(text, tokens, k)
            if start is None:
                continue
            end = k
            # "apartment six", "unit four b"
            if (
                end + 2 < len(tokens)
                and tokens[end + 1].word in _UNIT_WORDS
                and _joined(text, tokens[end], tokens[end + 1])
            ):
                m = end + 2
                while (
                    m < len(tokens)
                    and m - end <= 4
                    and (tokens[m].word in _NUMBER_WORDS or len(tokens[m].word) == 1)
                    and _joined(text, tokens[m - 1], tokens[m])
                ):
                    m += 1
                if m > end + 2:
                    end = m - 1
            out.append(
                RecognizerResult(PhiType.STREET_ADDRESS, tokens[start].start, tokens[end].end, SCORE_STREET, self.name)
            )
            town = end + 2
            if town < len(tokens) and tokens[end + 1].word == "in" and self._name_word(tokens[town].word):
                out.append(RecognizerResult(PhiType.CITY, tokens[town].start, tokens[town].end, SCORE_TOWN, self.name))
        return out

    def _name_word(self, word: str) -> bool:
        return word not in _NOT_NAME and word not in _NUMBER_WORDS and word not in self._clinical and len(word) > 1

    def _start(self, text: str, tokens: Sequence[_Token], k: int) -> int | None:
        """The first number word of the address whose suffix is tokens[k], or None."""
        m = k - 1
        names = 0
        while m >= 0 and names < 3 and self._name_word(tokens[m].word) and _joined(text, tokens[m], tokens[m + 1]):
            m, names = m - 1, names + 1
        if names == 0 or m < 0:
            return None
        if tokens[m].word in ("on", "off") and all(
            not self._known(t.word) and len(t.word) > 3 for t in tokens[m + 1 : k]
        ):
            return m + 1  # "on bolsa avenue": a street without its number, its name no English word
        if tokens[m].word in _DIRECTIONS and m > 0 and _joined(text, tokens[m], tokens[m + 1]):
            m -= 1  # a direction before three name words: "one fourteen east grand river avenue"
        numbers = 0
        while m >= 0 and numbers < 5 and tokens[m].word in _NUMBER_WORDS and _joined(text, tokens[m], tokens[m + 1]):
            m, numbers = m - 1, numbers + 1
        return m + 1 if numbers else None


class SpokenOrganizationRecognizer(EntityRecognizer):
    """Organisation names in lower case: a run of words ending in a head noun with a place word
    or a coined word in it ("northside family health center", "valley heart and lung rehab"),
    and names that begin with "saint" ("saint joseph mercy livingston", "saint luke's of the
    valley"). Generic services ("the cardiology clinic", "cardiac rehab") have no such word."""

    name = "spoken_organization"
    supported_types = (PhiType.ORGANIZATION,)
    MAX_WORDS = 5

    def __init__(self, lexicon: Lexicon, known_word: KnownWord | None = None) -> None:
        self._known = known_word or _lexicon_knows(lexicon)

    def _coined(self, word: str) -> bool:
        """A word no list knows ("northside", "suncoast"): a proper name, not a service."""
        return (
            word.isalpha()
            and len(word) > 3
            and not self._known(word)
            and word not in _NOT_COINED
            and word not in _ORG_HEADS
        )

    def _name_word(self, word: str) -> bool:
        return word not in _NOT_NAME and word not in _NUMBER_WORDS

    def analyze(self, text: str) -> list[RecognizerResult]:
        out: list[RecognizerResult] = []
        for tokens, k in _windows(text, _ORG_ANCHOR, WINDOW, WINDOW):
            token = tokens[k]
            care = token.word == "care" and k > 0 and tokens[k - 1].word in _CARE_KINDS
            if (token.word in _ORG_HEADS or care) and text[token.start].islower():
                found = self._headed(text, tokens, k)
                if found is not None:
                    out.append(found)
            elif token.word in ("saint", "st") and text[token.start].islower():
                found = self._saint(text, tokens, k)
                if found is not None:
                    out.append(found)
        return out

    def _headed(self, text: str, tokens: Sequence[_Token], k: int) -> RecognizerResult | None:
        m = k
        while (
            m > 0
            and k - m < self.MAX_WORDS
            and text[tokens[m - 1].start].islower()
            and (self._name_word(tokens[m - 1].word) or (tokens[m - 1].word == "and" and m < k))
            and _joined(text, tokens[m - 1], tokens[m])
        ):
            m -= 1
        while m < k and tokens[m].word == "and":
            m += 1
        words = [t.word for t in tokens[m:k]]
        if not any(w in _PLACE_WORDS or self._coined(w) for w in words):
            return None
        return RecognizerResult(PhiType.ORGANIZATION, tokens[m].start, tokens[k].end, SCORE_ORG, self.name)

    def _saint(self, text: str, tokens: Sequence[_Token], k: int) -> RecognizerResult | None:
        m = k + 1
        if m >= len(tokens) or not _joined(text, tokens[k], tokens[m]) or not self._name_word(tokens[m].word):
            return None
        if m + 1 < len(tokens) and tokens[m + 1].word == "wort":
            return None  # st john's wort, a supplement
        end = m
        while end + 1 < len(tokens) and end - k < self.MAX_WORDS and _joined(text, tokens[end], tokens[end + 1]):
            nxt = tokens[end + 1].word
            if nxt in _SAINT_WORDS or nxt in _ORG_HEADS or self._coined(nxt):
                end += 1
            elif (
                nxt == "of"
                and end + 3 < len(tokens)
                and tokens[end + 2].word == "the"
                and self._name_word(tokens[end + 3].word)
            ):
                end += 3
            else:
                break
        return RecognizerResult(PhiType.ORGANIZATION, tokens[k].start, tokens[end].end, SCORE_ORG, self.name)


# A lower-case word after these may be a town ("a ninety one year old man from sarasota").
_PLACE_CUE = re.compile(r"(?<![A-Za-z])(?:from|in|near|to|of)[ \t]{1,2}(?P<place>[a-z]{3,}(?:[ \t][a-z]{3,})?)")


class SpokenPlaceRecognizer(EntityRecognizer):
    """Towns in lower case after "from", "in", "near", "to", "of": a gazetteer place that is no
    English or clinical word ("from sarasota"; not "from texas", which is a state, nor "in mobile",
    which is a word)."""

    name = "spoken_place"
    supported_types = (PhiType.CITY,)

    def __init__(self, lexicon: Lexicon, known_word: KnownWord | None = None) -> None:
        self._places = lexicon.places
        self._known = known_word or _lexicon_knows(lexicon)

    def analyze(self, text: str) -> list[RecognizerResult]:
        out: list[RecognizerResult] = []
        for m in _PLACE_CUE.finditer(text):
            place = m.group("place")
            first = place.split()[0]
            if place in self._places and not any(self._known(w) for w in place.split()):
                out.append(RecognizerResult(PhiType.CITY, m.start("place"), m.end("place"), SCORE_TOWN, self.name))
            elif first in self._places and not self._known(first):
                start = m.start("place")
                out.append(RecognizerResult(PhiType.CITY, start, start + len(first), SCORE_TOWN, self.name))
        return out


def spoken_recognizers(
    lexicon: Lexicon, include_organizations: bool, known_word: KnownWord | None = None
) -> list[EntityRecognizer]:
    """The recognizers of this module, as default_registry adds them."""
    found: list[EntityRecognizer] = [
        SpokenNumberRecognizer(),
        SpelledLettersRecognizer(lexicon, known_word),
        SpokenStreetRecognizer(lexicon, known_word),
        SpokenPlaceRecognizer(lexicon, known_word),
    ]
    if include_organizations:
        found.append(SpokenOrganizationRecognizer(lexicon, known_word))
    return found
