"""Section detection: header rules from data/sections.json, one regex pass over the note."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from healthai_server.domain.clinical import NoteSection
from healthai_server.engine.resources import load_sections


@dataclass(frozen=True, slots=True)
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
        alternation = "|".join(r"[ \t]+".join(re.escape(part) for part in name.split()) for name in names)
        # Header with a colon (or dash) at line start or after a sentence end; dictation systems
        # run headers into the text ("...daily. ALLERGIES: NKDA").
        self._colon = re.compile(
            rf"(?:^|(?<=\n)|(?<=[.!?][ \t])|(?<=[.!?][ \t][ \t]))[ \t]*(?P<h>{alternation})[ \t]*(?::|[ \t]-[ \t])",
            re.IGNORECASE | re.MULTILINE,
        )
        # A header alone on its line, without colon.
        self._alone = re.compile(rf"^[ \t]*(?P<h>{alternation})[ \t]*$", re.IGNORECASE | re.MULTILINE)

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
        after_sentence: list[int] = []
        for stop in _SENTENCE_END.finditer(text):
            after_sentence.append(stop.end())
            if text.startswith((" ", "\t"), stop.end()):
                after_sentence.append(stop.end() + 1)
        colon_starts = sorted({*line_starts, *after_sentence})
        for regex, needs_caps, candidates in ((self._colon, False, colon_starts), (self._alone, True, line_starts)):
            for match in _anchored_matches(regex, text, candidates):
                header = match.group("h")
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
        span = self.span_at(offset)
        return span.section if span is not None else NoteSection.UNSPECIFIED

    def span_at(self, offset: int) -> SectionSpan | None:
        index = bisect.bisect_right(self._starts, offset) - 1
        if index < 0:
            return None
        return self.spans[index]

    def in_header(self, start: int, end: int) -> bool:
        span = self.span_at(start)
        return span is not None and start < span.header_end and end > span.header_start
