"""Cities, towns, counties (a gazetteer plus cues) and organisation names."""

from __future__ import annotations

import re

from healthai_server.domain.phi import PhiType
from healthai_server.phi.lexicon import Lexicon
from healthai_server.phi.recognizers.base import EntityRecognizer, RecognizerResult
from healthai_server.phi.recognizers.patterns import STATE_NAMES

_STATE_ABBR = (
    "AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|NC|ND|"
    "OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|PR"
)
# State abbreviations that are also credentials ("Ana Ruiz, MD"): need more evidence.
_AMBIGUOUS_STATES = frozenset({"MD", "PA", "MA", "DE", "ME", "OR", "IN", "OK", "NP", "CO", "DO"})
_PLACE_WORD = r"(?:St\.|Ft\.|Mt\.|[A-Z][a-z'’]+(?:-[A-Z][a-z'’]+)?)"
# The same word, not preceded by a word character, written to start with a plain class (fast scan).
_PLACE_WORD_START = r"[A-Z](?<![\w'’.-][A-Z])(?:(?<=[SFM])t\.|[a-z'’]+(?:-[A-Z][a-z'’]+)?)"
_CITY_STATE = re.compile(
    rf"(?P<city>{_PLACE_WORD_START}(?:[ \t]{_PLACE_WORD}){{0,3}}),[ \t]{{1,2}}"
    rf"(?P<state>{_STATE_ABBR}|{STATE_NAMES})(?![\w])(?P<zip>\.?,?[ \t]{{1,2}}\d{{5}})?"
)
_COUNTY = re.compile(rf"{_PLACE_WORD_START}(?:[ \t]{_PLACE_WORD}){{0,2}}[ \t](?:County|Parish|Borough)\b")
_CITY_LABEL = re.compile(
    r"(?<![A-Za-z])(?:city|town|county|hometown|birthplace|place of birth|city of residence)[ \t]{0,2}:[ \t]{0,3}"
    r"(?P<city>[A-Z][A-Za-z'’.-]{1,30}(?:[ \t][A-Z][A-Za-z'’.-]{1,30}){0,3})",
    re.IGNORECASE,
)
_PLACE_CUE = re.compile(
    r"(?<![A-Za-z])(?:lives in|living in|resides in|residing in|moved to|moved from|born in|from|to|in|near|"
    r"visiting|visited|travel(?:l?ed)? to|returned from|native of|resident of|relocated to|grew up in|"
    r"transferred from|works in|home in)[ \t]{1,2}$",
    re.IGNORECASE,
)
_STRONG_CUE = re.compile(
    r"(?<![A-Za-z])(?:lives in|living in|resides in|residing in|moved to|moved from|born in|native of|"
    r"resident of|relocated to|grew up in|home in|hometown of)[ \t]{1,2}$",
    re.IGNORECASE,
)
# "in Wilson disease" is not the town of Wilson.
_CLINICAL_NEXT = re.compile(
    r"[ \t]+(?:disease|syndrome|sign|palsy|procedure|maneuver|test|score|scale|drain|"
    r"catheter|lymphoma|criteria|classification)\b",
    re.IGNORECASE,
)
_TOWN_ENDINGS = frozenset(
    [
        "Bay",
        "Falls",
        "Hollow",
        "Mill",
        "Mills",
        "Springs",
        "Heights",
        "Beach",
        "City",
        "Creek",
        "Valley",
        "Harbor",
        "Harbour",
        "Ridge",
        "Grove",
        "Junction",
        "Lake",
        "Hills",
        "Landing",
        "Point",
        "Port",
        "Village",
        "Township",
        "Station",
        "Crossing",
        "Ferry",
        "Bluff",
        "Bluffs",
        "Glen",
        "Corners",
        "Hamlet",
    ]
)
_CAP_RUN = re.compile(rf"{_PLACE_WORD_START}(?:[ \t]{_PLACE_WORD}){{0,3}}")
_ORG_KIND = (
    r"Hospital|Medical Center|Medical Centre|Health Center|Health Centre|Health System|Healthcare|Health|Clinic|"
    r"Memorial|Infirmary|Hospice|Nursing Home|Nursing Center|Rehabilitation Center|Rehabilitation Hospital|"
    r"Rehab Center|Urgent Care|Pharmacy|Laboratories|Laboratory|Institute|Cancer Center|Surgery Center|"
    r"Surgical Center|Family Practice|Family Medicine|Associates|Medical Group|Physicians|Dialysis Center|"
    r"Care Center|Senior Living|Assisted Living|Home Health|Pediatrics|Cardiology Associates|Sanatorium|"
    r"Foundation|University|College|School|Elementary|Academy|Church|Corporation|Inc\.?|LLC|Company|Co\."
)
_ORG = re.compile(
    rf"(?<![\w'’&.-])(?:(?:St\.|Saint|Mount|Mt\.|[A-Z][\w'’&-]{{0,30}})[ \t]){{1,5}}(?:{_ORG_KIND})(?![A-Za-z])"
    rf"|(?<![\w'’&.-])(?:University|Hospital|Clinic|College|Bank|Church) of (?:the )?[A-Z][\w'’-]{{1,30}}"
    rf"(?:[ \t][A-Z][\w'’-]{{1,30}}){{0,3}}"
)
_ORG_GENERIC_LEAD = frozenset(
    {
        "the",
        "a",
        "an",
        "our",
        "this",
        "outside",
        "local",
        "his",
        "her",
        "their",
        "at",
        "to",
        "attends",
        "attended",
        "visits",
        "visited",
        "seen",
        "saw",
        "called",
        "contacted",
        "transferred",
        "admitted",
        "discharged",
        "presents",
        "presented",
        "follows",
        "followed",
        "referred",
        "works",
        "worked",
        "lives",
        "lived",
        "from",
        "via",
        "per",
    }
)
# Words that make "X Clinic" a service rather than a named place ("Heart Failure Clinic").
_GENERIC_SUFFIXES = ("ology", "tion", "sion", "ics", "ure", "ive", "ary", "ery", "ment", "ism", "itis", "emia")
_GENERIC_WORDS = frozenset(
    {
        "heart",
        "failure",
        "wound",
        "infusion",
        "transplant",
        "sleep",
        "pain",
        "memory",
        "vascular",
        "vein",
        "spine",
        "joint",
        "bone",
        "breast",
        "eye",
        "dental",
        "hearing",
        "wellness",
        "women's",
        "men's",
        "children's",
        "cancer",
        "diabetes",
        "weight",
        "lipid",
        "travel",
        "walk-in",
        "urgent",
        "primary",
        "specialty",
        "general",
        "community",
        "county",
        "state",
        "family",
        "internal",
        "medical",
        "surgical",
        "outpatient",
        "inpatient",
        "behavioral",
        "mental",
        "health",
        "care",
        "fertility",
        "allergy",
        "asthma",
        "kidney",
        "liver",
        "lung",
        "stroke",
        "trauma",
        "burn",
        "rehab",
        "rehabilitation",
        "physical",
        "occupational",
        "speech",
        "hand",
        "foot",
        "skin",
    }
)


class CityRecognizer(EntityRecognizer):
    name = "city"
    supported_types = (PhiType.CITY,)

    def __init__(self, lexicon: Lexicon) -> None:
        self._lex = lexicon

    def _in_gazetteer(self, name: str) -> bool:
        return name.lower().replace("’", "'") in self._lex.places

    def _strip_lead(self, text: str, start: int, end: int) -> int:
        """Drop leading note words ("Seen Today Boston, MA" -> "Boston"); the new start."""
        lex = self._lex
        for word in re.finditer(r"\S+", text[start:end]):
            low = word.group().lower()
            if low not in lex.clinical and low not in lex.common and low not in lex.first:
                return start + word.start()
            if text[start + word.start() : end].lower() in lex.places:
                return start + word.start()
        return end

    def analyze(self, text: str) -> list[RecognizerResult]:
        results: list[RecognizerResult] = []
        lex = self._lex
        for m in _CITY_STATE.finditer(text):
            end = m.end("city")
            start = self._strip_lead(text, m.start("city"), end)
            if start >= end:
                continue
            known = self._in_gazetteer(text[start:end])
            cue = _STRONG_CUE.search(text, max(0, start - 24), start) is not None or (
                _PLACE_CUE.search(text, max(0, start - 24), start) is not None
            )
            if m.group("state") in _AMBIGUOUS_STATES and not (
                m.group("zip") or cue or (known and " " in text[start:end])
            ):
                continue
            score = 0.95 if (known or m.group("zip")) else 0.8 if cue else 0.7
            results.append(RecognizerResult(PhiType.CITY, start, end, score, self.name))
        for m in _COUNTY.finditer(text):
            results.append(RecognizerResult(PhiType.CITY, m.start(), m.end(), 0.9, self.name))
        for m in _CITY_LABEL.finditer(text):
            results.append(RecognizerResult(PhiType.CITY, *m.span("city"), 0.9, self.name))
        for m in _CAP_RUN.finditer(text):
            words = m.group().split()
            cue = _PLACE_CUE.search(text, max(0, m.start() - 24), m.start()) is not None
            handled = False
            for n in range(len(words), 0, -1):
                candidate = " ".join(words[:n])
                low = candidate.lower()
                if low not in lex.places:
                    continue
                end = m.start() + len(candidate)
                if n >= 2 and (cue or not any(w.lower() in lex.clinical for w in words[:n])):
                    results.append(RecognizerResult(PhiType.CITY, m.start(), end, 0.85 if cue else 0.7, self.name))
                    handled = True
                elif n == 1 == len(words) and cue and low not in lex.common and not _CLINICAL_NEXT.match(text, end):
                    results.append(RecognizerResult(PhiType.CITY, m.start(), end, 0.75, self.name))
                    handled = True
                break
            if handled:
                continue
            # Unknown town after a strong cue: "born in Quarryville", "moved to Pine Hollow"; or
            # after "in/near/from" when it ends like a town ("Tuckerton Bay", "Greer Mill").
            weak = 2 <= len(words) <= 3 and words[-1] in _TOWN_ENDINGS and cue
            if weak or _STRONG_CUE.search(text, max(0, m.start() - 24), m.start()) is not None:
                end = m.start() + len(" ".join(words[:3]))
                low_words = [w.lower() for w in words[:3]]
                if weak:
                    low_words = low_words[:-1]
                if not any(w in lex.clinical or w in lex.common for w in low_words):
                    results.append(RecognizerResult(PhiType.CITY, m.start(), end, 0.8, self.name))
        return results


class OrganizationRecognizer(EntityRecognizer):
    name = "organization"
    supported_types = (PhiType.ORGANIZATION,)

    def __init__(self, lexicon: Lexicon) -> None:
        self._lex = lexicon

    def _generic(self, word: str) -> bool:
        low = word.lower().strip(".,")
        if low in ("st", "saint", "mount", "mt"):
            return False
        return (
            low in _GENERIC_WORDS
            or low in self._lex.clinical
            or (low.endswith(_GENERIC_SUFFIXES) and low not in self._lex.places and low not in self._lex.last)
        )

    def analyze(self, text: str) -> list[RecognizerResult]:
        results: list[RecognizerResult] = []
        for m in _ORG.finditer(text):
            start, end = m.span()
            value = m.group()
            first = value.split()[0].lower()
            while first in _ORG_GENERIC_LEAD and " " in value:
                cut = value.index(" ") + 1
                start += cut
                value = value[cut:]
                first = value.split()[0].lower()
            words = value.split()
            if len(words) < 2:
                continue
            # "Emergency Clinic", "Heart Failure Clinic": a service, not a named organisation.
            if all(self._generic(w) for w in words[:-1]):
                continue
            results.append(RecognizerResult(PhiType.ORGANIZATION, start, end, 0.8, self.name))
        return results
