"""Section detection: header rules from data/sections.json, one regex pass over the note."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from healthai_server.domain.clinical import NoteSection
from healthai_server.engine.resources import load_sections
from healthai_server.engine.text import first_char_alternation


@dataclass(slots=True)  # per note, never shared; a frozen __init__ costs 2x
class SectionSpan:
    section: NoteSection
    header_start: int
    header_end: int  # end of the header including its colon
    start: int  # body start (= header_end)
    end: int  # body end (next header or end of note)


class SectionDetector:
    def __init__(self, rules: list[tuple[str, NoteSection]] | None = None) -> None:
        rules = rules if rules is not None else load_sections()
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
        headers = sorted(found.values())
        spans: list[SectionSpan] = []
        for index, (start, end, section) in enumerate(headers):
            body_end = headers[index + 1][0] if index + 1 < len(headers) else len(text)
            spans.append(SectionSpan(section, start, end, end, body_end))
        return spans


_SENTENCE_END = re.compile(r"[.!?][ \t]")


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
