"""Section detection: header rules from data/sections.json, one regex pass over the note."""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from dataclasses import dataclass

from healthai_server.domain.clinical import NoteSection
from healthai_server.engine.resources import Subsection, load_section_keywords, load_sections, load_subsections
from healthai_server.textmatch import first_char_alternation


@dataclass(slots=True)  # per note, never shared; a frozen __init__ costs 2x
class SectionSpan:
    section: NoteSection
    header_start: int
    header_end: int  # end of the header including its colon
    start: int  # body start (= header_end)
    end: int  # body end (next header or end of note)


class SectionDetector:
    """Known headers (the vocabulary of sections.json) and any other header-shaped text.

    `is_entity(header)`: whether a header-shaped text is really a clinical entity written as a
    heading ("HYPERTENSION: controlled."), which then stays text; the engine passes its lexicons.
    """

    def __init__(
        self,
        rules: list[tuple[str, NoteSection]] | None = None,
        is_entity: Callable[[str], bool] | None = None,
    ) -> None:
        rules = rules if rules is not None else load_sections()
        self._keywords = load_section_keywords()
        self._subsections: dict[str, Subsection] = {}
        for subsection in load_subsections():
            for name in subsection.names:
                self._subsections[name] = subsection
        self._is_entity = is_entity
        self._by_name: dict[str, NoteSection] = {}
        for header, section in rules:
            self._by_name[self._key(header)] = section
        names = sorted(self._by_name, key=len, reverse=True)
        sources = [r"[ \t]+".join(re.escape(part) for part in name.split()) for name in names]
        alternation = "|".join(sources)
        # Header with a colon (or dash) at line start or after a sentence end; dictation systems
        # run headers into the text ("...daily. ALLERGIES: NKDA").
        colon = rf"(?:^|(?<=\n)|(?<=[.!?][ \t])|(?<=[.!?][ \t][ \t]))[ \t]*(?P<h>{alternation})[ \t]*(?::|[ \t]-[ \t])"
        # A header alone on its line, without colon.
        alone = rf"^[ \t]*(?P<h>{alternation})[ \t]*$"
        self._colon = re.compile(colon, re.IGNORECASE | re.MULTILINE)
        self._alone = re.compile(alone, re.IGNORECASE | re.MULTILINE)
        # The same patterns, case-sensitive, for the lower-cased text of an ASCII note: the header
        # names are lower case and nothing else in the patterns is a letter, so they match
        # exactly where the patterns above do, and re can reject a header name on its first
        # character (it cannot when ignoring case); names grouped by first character on top.
        # About 10x faster.
        self._colon_lower: re.Pattern[str] | None = None
        self._alone_lower: re.Pattern[str] | None = None
        if all(name.isascii() for name in names):
            grouped = first_char_alternation(
                (name[0], source[len(re.escape(name[0])) :]) for name, source in zip(names, sources, strict=True)
            )
            self._colon_lower = re.compile(colon.replace(alternation, grouped), re.MULTILINE)
            self._alone_lower = re.compile(alone.replace(alternation, grouped), re.MULTILINE)

    @staticmethod
    def _key(header: str) -> str:
        return " ".join(header.lower().split())

    def detect(self, text: str) -> list[SectionSpan]:
        found: dict[int, tuple[int, int, NoteSection]] = {}
        # Headers start only at a line start or 1-2 blanks after a sentence end: try the
        # patterns there (anchored) instead of at every character of the note.
        line_starts = [0]
        newline = text.find("\n")
        while newline >= 0:
            line_starts.append(newline + 1)
            newline = text.find("\n", newline + 1)
        # After "[.!?][ \t]" only: a header 2 blanks after a sentence end matches from 1 blank
        # after too (the pattern's "[ \t]*" takes the second blank), so that offset is enough.
        after_sentence = list(map(re.Match.end, _SENTENCE_END.finditer(text)))
        colon_starts = sorted({*line_starts, *after_sentence})
        # ASCII lower-casing keeps every offset, so the lower-cased text's matches are the note's
        haystack, colon, alone = text, self._colon, self._alone
        if self._colon_lower is not None and self._alone_lower is not None and text.isascii():
            haystack, colon, alone = text.lower(), self._colon_lower, self._alone_lower
        for regex, needs_caps, candidates in ((colon, False, colon_starts), (alone, True, line_starts)):
            for match in _anchored_matches(regex, haystack, candidates):
                header = text[match.start("h") : match.end("h")]
                if needs_caps and not (header.isupper() or len(header.split()) > 1):
                    continue
                if len(header) <= 2 and not header.isupper():
                    continue  # "s:" / "a:" only as upper-case SOAP headers
                section = self._by_name.get(self._key(header))
                if section is None:
                    continue
                start = match.start("h")
                if start not in found:
                    found[start] = (start, match.end(), section)
        events: list[tuple[int, int, NoteSection | Subsection]] = list(found.values())
        events += self._generic_headers(text, line_starts, after_sentence, found)
        events.sort(key=_event_start)
        headers: list[tuple[int, int, NoteSection]] = []
        current = NoteSection.UNSPECIFIED
        for start, end, kind in events:
            if isinstance(kind, Subsection):
                if current in kind.within:
                    continue  # "Neck:" inside the exam: the exam goes on
                opened = kind.default
            else:
                opened = kind
            headers.append((start, end, opened))
            current = opened
        spans: list[SectionSpan] = []
        for index, (start, end, section) in enumerate(headers):
            body_end = headers[index + 1][0] if index + 1 < len(headers) else len(text)
            spans.append(SectionSpan(section, start, end, end, body_end))
        return spans

    def _generic_headers(
        self,
        text: str,
        line_starts: list[int],
        after_sentence: list[int],
        known: dict[int, tuple[int, int, NoteSection]],
    ) -> list[tuple[int, int, NoteSection | Subsection]]:
        """Header-shaped text the vocabulary does not name: UPPER or Title Case words and a colon.
        At a line start any such header counts; after a sentence end (dictation) only UPPER case
        ones and known sub-headings, and not after a list number ("1. DIABETES: ...")."""
        out: list[tuple[int, int, NoteSection | Subsection]] = []
        covered_to = -1
        mid_line = set(after_sentence) - set(line_starts)
        for position in sorted({*line_starts, *after_sentence}):
            if position < covered_to:
                continue
            match = _GENERIC.match(text, position)
            if match is None:
                continue
            start = match.start("h")
            if start in known:
                covered_to = known[start][1]
                continue
            header = match.group("h")
            kind = self._classify(header, after_number=position in mid_line and _after_list_number(text, position))
            if kind is None:
                continue
            if position in mid_line and not isinstance(kind, Subsection) and not _upper(header):
                continue
            out.append((start, match.end(), kind))
            covered_to = match.end()
        return out

    def _classify(self, header: str, *, after_number: bool) -> NoteSection | Subsection | None:
        key = self._key(header.strip(" .,"))
        subsection = self._subsections.get(key)
        upper, title = _upper(header), _title(header)
        if subsection is not None and (upper or title):
            return subsection
        if after_number or not (upper or title):
            return None
        words = _WORD.findall(key)
        if not words or (not upper and len(words) < 2):  # "Lisinopril: 10 mg" is a list line
            return None
        if self._is_entity is not None and self._is_entity(header):
            return None
        for keywords, section in self._keywords:
            if all(any(word.startswith(keyword) for word in words) for keyword in keywords):
                return section
        return NoteSection.OTHER


_SENTENCE_END = re.compile(r"[.!?][ \t]")
# Up to 8 words of letters, digits and the punctuation of headers, then a colon (not "http://").
# Words are capped in length so that a megabyte without blanks costs one bounded scan.
_GENERIC = re.compile(
    r"[ \t]*(?P<h>[A-Za-z][\w'’/&().,+-]{0,39}(?:[ \t]{1,3}[\w(&/][\w'’/&().,+-]{0,39}){0,7}?)[ \t]*:(?!//)"
)
_WORD = re.compile(r"[a-z0-9]+")
_SMALL_WORDS = frozenset({"of", "and", "or", "to", "for", "the", "on", "at", "in", "with", "a", "an", "by", "from"})


def _upper(header: str) -> bool:
    letters = [c for c in header if c.isalpha()]
    return len(letters) >= 2 and all(c.isupper() for c in letters)


def _title(header: str) -> bool:
    words = header.split()
    return (
        bool(words)
        and words[0][:1].isupper()
        and all(not w[:1].isalpha() or w[:1].isupper() or w.lower() in _SMALL_WORDS for w in words)
    )


def _after_list_number(text: str, position: int) -> bool:
    """Whether the sentence end before `position` closes a list number ("1. ", "12. ")."""
    k = position - 2
    while k >= 0 and text[k] in " \t":
        k -= 1
    return k >= 1 and text[k] == "." and text[k - 1].isdigit()


def _event_start(event: tuple[int, int, object]) -> int:
    return event[0]


def _anchored_matches(regex: re.Pattern[str], text: str, candidates: list[int]) -> list[re.Match[str]]:
    """regex.finditer(text) when every match starts at one of the sorted candidate offsets."""
    out: list[re.Match[str]] = []
    resume = 0
    for position in candidates:
        if position < resume:
            continue
        match = regex.match(text, position)
        if match is not None:
            out.append(match)
            resume = match.end()
    return out


class SectionIndex:
    """Section at a character offset, by binary search over header starts."""

    def __init__(self, spans: list[SectionSpan]) -> None:
        self.spans = spans
        self._starts = [span.header_start for span in spans]

    def at(self, offset: int) -> NoteSection:
        index = bisect.bisect_right(self._starts, offset) - 1  # span_at, inlined: called per item
        return self.spans[index].section if index >= 0 else NoteSection.UNSPECIFIED

    def span_at(self, offset: int) -> SectionSpan | None:
        index = bisect.bisect_right(self._starts, offset) - 1
        if index < 0:
            return None
        return self.spans[index]

    def in_header(self, start: int, end: int) -> bool:
        span = self.span_at(start)
        return span is not None and start < span.header_end and end > span.header_start

    def header_tokens(self, starts: list[int]) -> set[int]:
        """The tokens (of sorted start offsets `starts`) whose start s makes in_header(s, end)
        hold with any end > s: one set lookup per item instead of a binary search. They are
        the tokens starting in a header, each header cut at the next one."""
        out: set[int] = set()
        for index, span in enumerate(self.spans):
            end = span.header_end
            if index + 1 < len(self.spans):
                end = min(end, self.spans[index + 1].header_start)
            out.update(range(bisect.bisect_left(starts, span.header_start), bisect.bisect_left(starts, end)))
        return out
