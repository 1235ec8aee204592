"""Organisation names made of common words: "Music City Rehabilitation Hospital", "Camp
Whispering Pines", "Lehi Elementary Early Learning Center".

The organisation recognizer (places.py) takes a capitalised run before a head noun only when a word
of it is a place, a person's name or a coined word, so that services ("Heart Failure Clinic",
"Wound Care Center") stay. Before a head that names an institution and nothing else (a hospital,
a correctional facility, a learning centre) the run is a name whatever its words, unless a word
of it is outside the words that say only what kind of institution it is ("State Hospital",
"Children's Hospital", "Cardiac Rehabilitation Hospital" stay). Under both policies, like the
other organisation findings.
"""

from __future__ import annotations

import re

from healthai_server.domain.phi import PhiType
from healthai_server.phi.recognizers.base import EntityRecognizer, RecognizerResult
from healthai_server.phi.wordlists import word_section

_FILE = "plain_org_words.txt"
_HEADS = word_section(_FILE, "plain_orgs.HEADS")
_TAILS = word_section(_FILE, "plain_orgs.HEAD_TAILS")
_LEADS = word_section(_FILE, "plain_orgs.LEADS")
_KINDS = word_section(_FILE, "plain_orgs.KINDS")
_LEAD_STOP = word_section("recognizer_words.txt", "places.ORG_GENERIC_LEAD")
_CAP = r"(?:St\.|[A-Z][a-z'’]+(?:-[A-Z][a-z'’]+)?)"


def _alternation(words: frozenset[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=lambda w: (-len(w), w)))


# One to four capitalised words (or "&"/"of"), a head, up to two tails.
_HEADED = re.compile(
    rf"(?<![\w'’&.-])(?P<name>{_CAP}(?:[ \t](?:&[ \t]|of[ \t])?{_CAP}){{0,3}})"
    rf"[ \t](?P<head>(?:{_alternation(_HEADS)})(?:[ \t](?:{_alternation(_TAILS)})){{0,2}})(?![\w'’-])"
)
_LED = re.compile(rf"(?<![\w'’&.-])(?:{_alternation(_LEADS)})[ \t](?P<name>{_CAP}(?:[ \t]{_CAP}){{0,2}})(?![\w'’-])")
SCORE = 0.6


def _names_one(words: list[str]) -> bool:
    """Whether the words name one institution: one of them says more than its kind."""
    return any(w.lower() not in _KINDS for w in words)


class PlainOrganizationRecognizer(EntityRecognizer):
    name = "plain_organization"
    supported_types = (PhiType.ORGANIZATION,)

    def analyze(self, text: str) -> list[RecognizerResult]:
        out: list[RecognizerResult] = []
        for m in _HEADED.finditer(text):
            words = m.group("name").split()
            # The name starts after the last word that cannot be part of it ("Transferred To ...").
            cut = max((i + 1 for i, w in enumerate(words) if w.lower() in _LEAD_STOP), default=0)
            named = [w for w in words[cut:] if w not in ("&", "of")]
            if not _names_one(named):
                continue
            start = m.start("name") + len(" ".join(words[:cut])) + (1 if cut else 0)
            out.append(RecognizerResult(PhiType.ORGANIZATION, start, m.end(), SCORE, self.name))
        for m in _LED.finditer(text):
            if _names_one(m.group("name").split()):
                out.append(RecognizerResult(PhiType.ORGANIZATION, m.start(), m.end(), SCORE, self.name))
        return out
