"""Vital signs: labelled values (one compiled pattern per kind), LOINC + UCUM, interpretation.

Blood pressure gives two VitalSign items (systolic, diastolic); both carry the span of the
whole reading ("142/91"), as the contract's VitalSign.span comment says. Every other vital's
span is its value with the unit as written ("38.2 C", "94%", "82 kg").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from healthai_server.domain.clinical import (
    LOINC_SYSTEM,
    Coding,
    NoteSection,
    Quantity,
    Span,
    VitalInterpretation,
    VitalKind,
    VitalSign,
)
from healthai_server.engine.resources import VitalDefinition
from healthai_server.engine.sections import SectionIndex
from healthai_server.engine.text import CharMask, Tokens, tokenize
from healthai_server.engine.vital_ranges import VitalRanges, stated_age_years

# Between a label and its value: dictated notes put words there ("heart rate went down to 50s",
# "respirations are 16", "saturations on room air are 80", "BP standing: 116/68", "blood pressure
# today and it was 130/70"). Bounded: at most 4 filler words, then at most 2 linking words.
_FILLER = (
    r"(?:today|now|currently|initially|then|at[ \t]+that[ \t]+time|at[ \t]+rest|in[ \t]+clinic|on[ \t]+admission"
    r"|on[ \t]+arrival|this[ \t]+morning|on[ \t]+room[ \t]+air|standing|sitting|supine|lying|orthostatic"
    r"|documented|recorded|measured|noted|went|dropped|increased|decreased|improved|came|down|up|briefly|reached"
    r"|remained|stayed|ranged|between|achieved|about|approximately|around|roughly|markedly"
    r"|fell|rose|climbed|yesterday|overnight|last[ \t]+night|normal|elevated"
    r"|and[ \t]+it|it|still|again|max|maximum|only|the)"
)
# Fillers and linking words interleave ("sats were down at 89%", "pulse is down to 90"),
# at most 5 words in all.
_SEP = (
    rf"\.?[ \t]*(?:(?:{_FILLER}|of|was|is|are|at|were|to|in)\b[ \t,]*){{0,5}}"
    r"(?:[:=]|-|of|was|is|are|at|were|to)?[ \t]*(?:(?:of|was|is|are|at|to|in)[ \t]+){0,2}"
)
_NUM = r"\d{1,4}(?:\.\d{1,2})?"
_O2 = (
    r"(?P<ctx>(?:(?:on|via|w/|with)[ \t]+)?(?:room[ \t]+air|RA\b|(?:\d{1,2}(?:\.\d)?|one|two|three|four|five|six)[ \t]*"
    r"(?:L|LPM|liters?)(?:[ \t]*(?:/min|per[ \t]+minute))?(?:[ \t]*(?:of[ \t]+)?(?:O2|oxygen))?(?:[ \t]*(?:via|by|per)?[ \t]*"  # noqa: E501
    r"(?:NC|nasal[ \t]+cannula|face[ \t]*mask|FM|NRB|mask))?|NRB|non-?rebreather|BiPAP|CPAP|HFNC|high[ \t]+flow"
    r"(?:[ \t]+nasal[ \t]+cannula)?|venti[ \t]*mask|nasal[ \t]+cannula|the[ \t]+ventilator|vent))"
)

_PATTERNS: dict[str, re.Pattern[str]] = {
    "bp": re.compile(
        rf"\b(?:BP|B/P|blood[ \t]+pressures?|NIBP|SBP/DBP){_SEP}(?P<v>(?P<s>\d{{1,4}})[ \t]*/[ \t]*(?P<d>\d{{1,4}}))"
        r"(?:[ \t]*mm[ \t]*Hg)?",
        re.IGNORECASE,
    ),
    # A systolic pressure written alone: "systolic pressure fell to 88", "SBP of 85".
    "sbp": re.compile(
        rf"\b(?:systolic(?:[ \t]+blood)?[ \t]+pressures?|systolics?|SBP){_SEP}(?P<v>(?P<n>\d{{2,3}}))(?![\d/])"
        r"|\b(?:BP|blood[ \t]+pressures?)" + _SEP + r"(?P<v2>(?P<n2>\d{2,3})[ \t]+systolic)\b",
        re.IGNORECASE,
    ),
    "hr": re.compile(
        rf"\b(?:HR|heart[ \t]+rate|pulse(?:[ \t]+rate)?|P|pulse[ \t]+of){_SEP}(?P<v>(?P<n>{_NUM})(?:[ \t]*(?:bpm|beats/min|/min))?)(?![\d/])",  # noqa: E501
        re.IGNORECASE,
    ),
    "rr": re.compile(
        rf"\b(?:RR|resp(?:iratory)?(?:[ \t]+rate)?|respirations|respiration|R){_SEP}(?P<v>(?P<n>{_NUM})(?:[ \t]*(?:breaths/min|/min|bpm))?)(?![\d/])",  # noqa: E501
        re.IGNORECASE,
    ),
    "temp": re.compile(
        rf"\b(?:T|temp|temps|temperature|temperatures|Tmax|T[ \t-]*max|Tm|Tcurrent|febrile[ \t]+to|fever[ \t]+of){_SEP}"
        r"(?:(?:of[ \t]+)?up[ \t]+to[ \t]+)?"
        r"(?P<v>(?P<n>\d{2,3}(?:\.\d{1,2})?)[ \t]*(?:°|deg(?:rees|\.)?)?[ \t]*(?P<u>F\b|C\b|Fahrenheit|Celsius)?)",
        re.IGNORECASE,
    ),
    # Unlabelled temperatures: "96 degrees Fahrenheit", "98.6 °F", "36.1C" (a decimal then C or F).
    "temp_bare": re.compile(
        r"(?<![\w./])(?P<v>(?P<n>\d{2,3}(?:\.\d{1,2})?)[ \t]*(?:°|deg(?:rees|\.)?)[ \t]*(?P<u>F|C|Fahrenheit|Celsius)\b"
        r"|(?P<n2>\d{2,3}\.\d)[ \t]*(?P<u2>F|C)\b)",
        re.IGNORECASE,
    ),
    "spo2": re.compile(
        rf"\b(?:SpO2|SaO2|O2[ \t]*sats?|O2[ \t]+saturation|sat(?:uration)?s?|pulse[ \t]+ox(?:imetry)?|POx|oxygen[ \t]+saturation"  # noqa: E501
        rf"|satting|saturating|O2){_SEP}(?P<v>(?P<n>{_NUM})[ \t]*%?)(?:[ \t]*,?[ \t]*{_O2})?",
        re.IGNORECASE,
    ),
    "spo2_bare": re.compile(rf"(?<![\w.])(?P<v>(?P<n>\d{{2,3}})[ \t]*%)[ \t]*{_O2}", re.IGNORECASE),
    "weight": re.compile(
        rf"\b(?:wt|wgt|weight|weighs|weighed|weighing|body[ \t]+weight|birth[ \t]+weight){_SEP}(?P<v>(?P<n>\d{{1,4}}(?:\.\d{{1,3}})?)[ \t]*"  # noqa: E501
        r"(?P<u>kg|kgs|kilograms?|lbs?|pounds?|#|g|grams|oz|ounces?)?"
        r"(?:[ \t,]*(?:and[ \t]+)?(?P<oz>\d{1,2}(?:\.\d)?)[ \t]*(?:oz|ounces?))?)\b",
        re.IGNORECASE,
    ),
    # "7 pounds 8 ounces" without a label: the pair of units is the cue.
    "weight_lb_oz": re.compile(
        r"(?<![\w.])(?P<v>(?P<n>\d{1,2})[ \t]*(?P<u>lbs?|pounds?)[ \t,]*(?:and[ \t]+)?(?P<oz>\d{1,2}(?:\.\d)?)[ \t]*(?:oz|ounces?))\b",  # noqa: E501
        re.IGNORECASE,
    ),
    # A height whose unit is written may sit a few words after its label ("height is near the 50th
    # percentile at 58-1/2 inches"); half and quarter inches are read.
    "height": re.compile(
        rf"\b(?:ht|hgt|height)(?:{_SEP}|[^.\n\d]{{0,40}}?(?:\d{{1,2}}(?:st|nd|rd|th)[ \t]+percentile[^.\n\d]{{0,12}}?)?(?=\d[\d.]*[ \t]*(?:-[ \t]*[13]/[24][ \t]*)?(?:cm|in|inches)\b))"  # noqa: E501
        r"(?P<v>(?:(?P<ft>\d)[ \t]*(?:'|ft|feet|foot)[ \t]*(?P<inch>\d{1,2})?[ \t]*(?:\"|''|in\b|inches)?)"
        r"|(?:(?P<n>\d{1,3}(?:\.\d{1,2})?)(?:[ \t]*-[ \t]*(?P<frac>[13]/[24]))?[ \t]*(?P<u>cm|in|inches|m)\b))",
        re.IGNORECASE,
    ),
    # "5 feet 4 inches", "5 foot, 2 inches tall", "6 feet 1 inch tall", "178 cm tall" without a label.
    "height_bare": re.compile(
        r"(?<![\w.])(?P<v>(?:(?P<ft>[3-7])[ \t]*(?:feet|foot|ft)[ \t,]*(?:and[ \t]+)?(?P<inch>\d{1,2})[ \t]*(?:inches|inch|in)\b)"  # noqa: E501
        r"|(?:(?P<n>\d{2,3}(?:\.\d)?)[ \t]*(?P<u>cm|inches)(?=[ \t]+tall\b)))",
        re.IGNORECASE,
    ),
    "bmi": re.compile(
        rf"\b(?:BMI|body[ \t]+mass[ \t]+index){_SEP}(?:(?:elevated|above|over)[ \t]+){{0,2}}"
        r"(?P<v>(?P<n>\d{1,3}(?:\.\d{1,2})?)(?:[ \t]*kg/m2|[ \t]*kg/m\^2|[ \t]*kg/m²)?)",
        re.IGNORECASE,
    ),
    # "pain 6/10", "knee pain level is down to roughly 3-4/10", "rates his shoulder pain as 9":
    # up to 6 words between the label and the score; a score without "/10" is checked by _pain.
    "pain": re.compile(
        r"\b(?P<label>pain(?:[ \t]+(?:score|scale|level|rating|intensity))?"
        r"|rat(?:es|ed|ing)(?:[ \t]+(?:his|her|the|their|it|this|its))?(?:[ \t]+[a-z]+){0,2}?(?:[ \t]+pain)?)\b"
        r"(?P<gap>[ \t]*[:=]?(?:[ \t,]*[a-z]+\b){0,6}?)[ \t,]*[:=]?[ \t]*"
        r"(?P<v>(?P<n>\d{1,2})(?:[ \t]*(?:-|to)[ \t]*\d{1,2})?(?P<scale>[ \t]*(?:/[ \t]*10|out[ \t]+of[ \t]+10))?)"
        r"(?!\.?\d|[ \t]*/)",
        re.IGNORECASE,
    ),
    # "a 7 on a scale of 1-10", "5 to 6 on a scale of 1 to 10" (the scale's top is the cue)
    "pain_scale": re.compile(
        r"(?<![\w./])(?P<v>(?P<n>\d{1,2})(?:[ \t]*(?:-|to)[ \t]*\d{1,2})?)"
        r"[ \t]+on[ \t]+a[ \t]+(?:pain[ \t]+)?scale[ \t]+"
        r"(?:of|from)[ \t]+(?:0|1|zero|one)[ \t]*(?:-|to)[ \t]*10\b",
        re.IGNORECASE,
    ),
    # "at the rate of 51 beats per minute", "36 breaths per minute": the unit is the cue
    "hr_bare": re.compile(
        r"(?<![\w./])(?P<v>(?P<n>\d{2,3})[ \t]*(?:beats[ \t]+per[ \t]+minute|beats/min|bpm))\b", re.IGNORECASE
    ),
    "rr_bare": re.compile(
        r"(?<![\w./])(?P<v>(?P<n>\d{1,2})[ \t]*(?:breaths[ \t]+per[ \t]+minute|breaths/min))", re.IGNORECASE
    ),
    "pain_before": re.compile(
        r"(?<![\w/.])(?P<v>(?P<n>\d{1,2})[ \t]*/[ \t]*10)[ \t]+(?:\w+[ \t]+){0,2}?pain\b",
        re.IGNORECASE,
    ),
    "bp_bare": re.compile(r"(?<![\w/.])(?P<v>(?P<s>\d{2,3})[ \t]*/[ \t]*(?P<d>\d{2,3}))(?![\w/])"),
}


# First token (lower case) of each pattern's label: patterns are tried only where a label
# starts (anchored match), instead of scanning the whole note once per pattern.
_TRIGGERS: dict[str, frozenset[str]] = {
    "bp": frozenset({"bp", "b", "blood", "nibp", "sbp"}),
    "sbp": frozenset({"systolic", "systolics", "sbp", "bp", "blood"}),
    "hr": frozenset({"hr", "heart", "pulse", "p"}),
    "rr": frozenset({"rr", "resp", "respiratory", "respirations", "respiration", "r"}),
    "temp": frozenset({"t", "temp", "temps", "temperature", "temperatures", "tmax", "tm", "tcurrent", "febrile",
                       "fever"}),
    "spo2": frozenset({"spo2", "sao2", "o2", "sat", "sats", "saturation", "saturations", "pulse", "pox", "oxygen",
                       "satting", "saturating"}),
    "weight": frozenset({"wt", "wgt", "weight", "weighs", "weighed", "weighing", "body", "birth"}),
    "height": frozenset({"ht", "hgt", "height"}),
    "bmi": frozenset({"bmi", "body"}),
    "pain": frozenset({"pain", "rates", "rated", "rating"}),
}  # fmt: skip
_GLUED_LABEL = re.compile(r"\b(?:BP|HR|RR|P|T|Wt|Ht)(?=\d)", re.IGNORECASE)
_AFTER_NUMBER: dict[str, tuple[str, ...]] = {
    "%": ("spo2_bare",),
    "/": ("bp_bare", "pain_before"),
    "pounds": ("weight_lb_oz",),
    "pound": ("weight_lb_oz",),
    "lbs": ("weight_lb_oz",),
    "lb": ("weight_lb_oz",),
    "feet": ("height_bare",),
    "foot": ("height_bare",),
    "ft": ("height_bare",),
    "cm": ("height_bare",),
    "inches": ("height_bare",),
    "on": ("pain_scale",),
    "beats": ("hr_bare",),
    "bpm": ("hr_bare",),
    "breaths": ("rr_bare",),
}
# word -> the patterns it can start, in _TRIGGERS order; "%" and "/" mark the number before them
_TRIGGER_INDEX: dict[str, tuple[str, ...]] = {
    **{
        word: tuple(name for name, triggers in _TRIGGERS.items() if word in triggers)
        for word in frozenset().union(*_TRIGGERS.values())
    },
    **_AFTER_NUMBER,
}


@dataclass(slots=True)  # per note, never shared; a frozen __init__ costs 2x
class _Found:
    kind: VitalKind
    value: float
    unit: str
    start: int
    end: int
    context: str = ""
    confidence: float = 0.95


# Enum members compared per reading, read once here: reading a member off its class costs
# about 8x reading a module global in CPython 3.11.
_SYSTOLIC = VitalKind.SYSTOLIC_BLOOD_PRESSURE
_IMPLAUSIBLE = VitalInterpretation.IMPLAUSIBLE
_VITAL_SIGNS = NoteSection.VITAL_SIGNS


_POSITION = re.compile(
    r"\b(?:sitting|seated|standing|supine|lying(?:[ \t]+down)?|recumbent|orthostatic)\b", re.IGNORECASE
)
_ARM = re.compile(r"\b(?:left|right)[ \t]+arm\b", re.IGNORECASE)
_POSITION_REACH = 30  # characters either side of a reading, within its line and sentence


def _bp_position(text: str, start: int, end: int) -> str:
    """The body position and arm written beside a blood pressure ("sitting BP 112/84", "105/68
    in the left arm sitting"), as the reading's context; "" when none is."""
    before = max(text.rfind("\n", 0, start), text.rfind(". ", 0, start), start - _POSITION_REACH)
    after = min(end + _POSITION_REACH, len(text))
    for stop in (text.find("\n", end, after), text.find(". ", end, after), text.find(";", end, after)):
        if stop >= 0:
            after = min(after, stop)
    found: list[str] = []
    for pattern in (_POSITION, _ARM):
        # the nearest mention, before the label or after the reading
        following = pattern.search(text, end, after)
        preceding = list(pattern.finditer(text, before + 1, start))
        candidates = [(m.start() - end, m) for m in ([following] if following else [])]
        candidates += [(start - m.end(), m) for m in preceding[-1:]]
        if candidates:
            found.append(" ".join(min(candidates, key=lambda c: c[0])[1].group().lower().split()))
    return ", ".join(found)


def _plausible_bare_bp(match: re.Match[str]) -> bool:
    """An unlabelled fraction is a blood pressure only when it reads as one: a systolic of 50-300
    above a diastolic of 20-200. Visual acuity ("20/20"), test scores ("14/30") and other
    fractions in an exam section are not."""
    systolic, diastolic = int(match.group("s")), int(match.group("d"))
    return 50 <= systolic <= 300 and 20 <= diastolic <= 200 and systolic > diastolic


# Before a "P" or "Pulse" that is no heart rate: obstetric "G2, P1" and the "P" of "A/P:".
_NOT_PULSE_BEFORE = re.compile(r"(?:\bG\d{1,2}[ \t]*,?[ \t]*|/)$")
# After a number that is no rate: a pulse grade ("Pulse 2+"), a gestational age ("32w4d").
_NOT_RATE_AFTER = re.compile(r"[ \t]*(?:\+|w\d|wk|weeks?\b)", re.IGNORECASE)
# Before a systolic pressure that is no vital sign: a chamber or vessel pressure from an echo.
_NOT_SYSTEMIC = re.compile(r"\b(?:pulmonary|PA|RV|ventricular|arterial|artery|PASP|RVSP)[ \t]*$", re.IGNORECASE)
# Before "weighs": an organ or specimen at autopsy or pathology, not the patient.
_NOT_PATIENT_WEIGHT = re.compile(
    r"\b(?:heart|brain|liver|spleen|kidneys?|lungs?|uterus|gland|specimen|mass|tumou?r|placenta|organ)[ \t]+$",
    re.IGNORECASE,
)
# Before "height" that is no body height: the uterine fundus in pregnancy.
_NOT_BODY_HEIGHT = re.compile(r"\b(?:fundal|fundus|uterine)[ \t]+$", re.IGNORECASE)
# The second number of a range ("30 to 36 breaths per minute"): the reading is the first.
_RANGE_BEFORE = re.compile(r"\d[ \t]*(?:-|to)[ \t]*$")


# Words allowed between a pain label and a score written without its scale.
_PAIN_LINKING = frozenset(
    {
        *("is", "was", "as", "at", "of", "to", "a", "an", "about", "approximately", "around", "roughly"),
        *("now", "currently", "today", "has", "have", "been", "decreased", "increased", "improved"),
        *("down", "up", "markedly", "still"),
    }
)
# What may follow a score written without its scale: the end of a clause.
_BARE_SCORE_END = re.compile(r"[ \t]*(?:[.,;)\n]|$|(?:and|with|but|at)\b)", re.IGNORECASE)
# A sentence that says its bare number is a rating: "rates", "scale", "0 being no pain".
_RATING_CUE = re.compile(r"\brat(?:e|es|ed|ing)\b|\bscale\b|\b(?:0|1|10)[ \t]+being\b", re.IGNORECASE)


# A repeated reading's shape per kind (a blood pressure repeats as its systolic item).
_REPEATABLE: dict[VitalKind, re.Pattern[str]] = {
    VitalKind.SYSTOLIC_BLOOD_PRESSURE: re.compile(r"(?P<v>(?P<s>\d{2,3})[ \t]*/[ \t]*(?P<d>\d{2,3}))(?![\w/])"),
    VitalKind.OXYGEN_SATURATION: re.compile(r"(?P<v>(?P<n>\d{2,3})[ \t]*%)(?P<ctx>)"),
    VitalKind.BODY_WEIGHT: re.compile(
        r"(?P<v>(?P<n>\d{1,3}(?:\.\d{1,2})?)[ \t]*(?P<u>kg|kgs|lbs?|pounds)(?P<oz>)\b)", re.IGNORECASE
    ),
}
_REPEAT_REACH = 40
_CHANGE = re.compile(
    r"\b(?:down|up|gain(?:ed|s)?|los[st]|loss|increased?|decreased?|change[ds]?|more|less|over|under|by|from)\b",
    re.IGNORECASE,
)
# Between a reading and its repeat: words, commas and brackets, no number and no sentence end.
_REPEAT_GAP = re.compile(r"[^\d.;:\n%/]{0,36}?(?:\(|,|\band\b|\bthen\b)[^\d.;:\n%/]{0,24}?(?=\d)")


def _float(text: str) -> float:
    return float(text)


class VitalExtractor:
    # The tokens extract() tries patterns at: a label's first word, "%" or "/".
    trigger_words: frozenset[str] = frozenset(_TRIGGER_INDEX)

    def __init__(self, definitions: dict[VitalKind, VitalDefinition] | None = None) -> None:
        self.ranges = VitalRanges(definitions)
        self.definitions = self.ranges.definitions
        # Per kind, its definition and LOINC coding (the same for every reading: built once,
        # shared, immutable), in one lookup: hashing an Enum member runs Python code.
        self._by_kind = {
            kind: Coding(LOINC_SYSTEM, definition.loinc, definition.display)
            for kind, definition in self.definitions.items()
        }
        # pattern name -> parser, in the order patterns claim text
        self._handlers: list[tuple[str, Callable[[re.Match[str]], list[_Found]]]] = [
            ("bp", self._bp),
            ("sbp", self._systolic),
            ("temp", self._temp),
            ("temp_bare", self._temp),
            ("spo2", self._spo2),
            ("spo2_bare", self._spo2),
            ("hr", self._rate(VitalKind.HEART_RATE)),
            ("hr_bare", self._rate(VitalKind.HEART_RATE)),
            ("rr", self._rate(VitalKind.RESPIRATORY_RATE)),
            ("rr_bare", self._rate(VitalKind.RESPIRATORY_RATE)),
            ("weight", self._weight),
            ("weight_lb_oz", self._weight),
            ("height", self._height),
            ("height_bare", self._height),
            ("bmi", self._simple(VitalKind.BODY_MASS_INDEX, "kg/m2")),
            ("pain", self._pain),
            ("pain_before", self._simple(VitalKind.PAIN_SCORE, "{score}")),
            ("pain_scale", self._simple(VitalKind.PAIN_SCORE, "{score}")),
        ]

    def extract(
        self, text: str, sections: SectionIndex, tokens: Tokens | None = None, triggers: Sequence[int] | None = None
    ) -> list[VitalSign]:
        """`triggers`: the indices of the tokens in trigger_words, when the caller has them."""
        tokens = tokens if tokens is not None else tokenize(text)
        candidates: dict[str, list[int]] = {name: [] for name in _PATTERNS}
        lower = tokens.lower
        starts = tokens.starts
        if triggers is None:
            triggers = [k for k, word in enumerate(lower) if word in _TRIGGER_INDEX]
        for i in triggers:
            word = lower[i]
            if word in _AFTER_NUMBER:
                # "94 %" / "142 / 91": the number before is the candidate
                if i and lower[i - 1][0].isdigit():
                    for name in _TRIGGER_INDEX[word]:
                        candidates[name].append(starts[i - 1])
                        if i >= 3 and lower[i - 2] in ("to", "-") and lower[i - 3][0].isdigit():
                            candidates[name].append(starts[i - 3])  # a range: "5 to 6 on a scale"
                continue
            for name in _TRIGGER_INDEX[word]:
                candidates[name].append(starts[i])
        # Labels glued to their number ("BP138/63 HR65 RR15") and unlabelled temperatures: found by
        # one regex pass each over the note (C speed), not per token.
        for glued in _GLUED_LABEL.finditer(text):
            for name in _TRIGGER_INDEX.get(glued.group().lower(), ()):
                candidates[name].append(glued.start())
        candidates["temp_bare"] = [bare.start() for bare in _PATTERNS["temp_bare"].finditer(text)]
        for positions in candidates.values():
            positions.sort()
        found: list[_Found] = []
        taken = CharMask(len(text))
        for name, handler in self._handlers:
            pattern = _PATTERNS[name]
            for position in candidates[name]:
                match = pattern.match(text, position)
                if match is None:
                    continue
                start, end = match.span("v")
                if start < 0:  # the pattern's second form ("92 systolic")
                    start, end = match.span("v2")
                if taken.overlaps(start, end):
                    continue
                items = handler(match)
                if items:
                    found.extend(items)
                    taken.mark(start, end)
        for position in candidates["bp_bare"]:
            match = _PATTERNS["bp_bare"].match(text, position)
            if match is None:
                continue
            start, end = match.span("v")
            if taken.overlaps(start, end):
                continue
            if sections.at(start) is not _VITAL_SIGNS or not _plausible_bare_bp(match):
                continue
            items = self._bp(match)
            found.extend(_Found(f.kind, f.value, f.unit, f.start, f.end, f.context, 0.8) for f in items)
            taken.mark(start, end)
        found.extend(self._repeats(text, found, taken))
        found.sort(key=lambda f: (f.start, f.kind is not _SYSTOLIC))
        age = stated_age_years(text) if found else None
        interpret = self.ranges.interpret
        out: list[VitalSign] = []
        span = Span(-1, -1, "")
        section = NoteSection.UNSPECIFIED
        for item in found:
            loinc = self._by_kind[item.kind]
            interpretation = interpret(item.kind, item.value, item.unit, age)
            confidence = item.confidence if interpretation is not _IMPLAUSIBLE else 0.5
            if item.start != span.start or item.end != span.end:  # (a blood pressure's two share it)
                span = Span(item.start, item.end, text[item.start : item.end])
                section = sections.at(item.start)
            out.append(
                VitalSign(
                    kind=item.kind,
                    quantity=Quantity(item.value, item.unit),
                    loinc=loinc,
                    span=span,
                    interpretation=interpretation,
                    context=item.context,
                    confidence=confidence,
                    section=section,
                )
            )
        return out

    def _repeats(self, text: str, found: list[_Found], taken: CharMask) -> list[_Found]:
        """A second reading of the same kind written right after the first, in the same clause,
        without its label: "weight 80.1 kg (last visit 82.4 kg)", "BP 150/90, recheck 138/84",
        "SpO2 93% at rest, 90% walking"."""
        out: list[_Found] = []
        queue = [item for item in found if item.kind in _REPEATABLE]
        while queue:
            item = queue.pop()
            window = text[item.end : item.end + _REPEAT_REACH]
            match = _REPEAT_GAP.match(window)
            if match is None or _CHANGE.search(match.group()):
                continue  # "up 4 pounds", "lost 10 pounds": a change, not a reading
            shape = _REPEATABLE[item.kind]
            value = shape.match(text, item.end + match.end())
            if value is None:
                continue
            start, end = value.span("v")
            if taken.overlaps(start, end):
                continue
            if item.kind is _SYSTOLIC:
                if not _plausible_bare_bp(value):
                    continue
                items = self._bp(value)
            elif item.kind is VitalKind.OXYGEN_SATURATION:
                items = self._spo2(value)
            else:
                items = self._weight(value)
            taken.mark(start, end)
            out.extend(items)
            queue.extend(new for new in items if new.kind in _REPEATABLE)
        return out

    # --- per-kind parsers -------------------------------------------------------------------

    @staticmethod
    def _bp(match: re.Match[str]) -> list[_Found]:
        start, end = match.span("v")
        context = _bp_position(match.string, match.start(), end)
        return [
            _Found(VitalKind.SYSTOLIC_BLOOD_PRESSURE, _float(match.group("s")), "mm[Hg]", start, end, context),
            _Found(VitalKind.DIASTOLIC_BLOOD_PRESSURE, _float(match.group("d")), "mm[Hg]", start, end, context),
        ]

    @staticmethod
    def _simple(kind: VitalKind, unit: str) -> Callable[[re.Match[str]], list[_Found]]:
        def parse(match: re.Match[str]) -> list[_Found]:
            start, end = match.span("v")
            return [_Found(kind, _float(match.group("n")), unit, start, end)]

        return parse

    @staticmethod
    def _systolic(match: re.Match[str]) -> list[_Found]:
        if _NOT_SYSTEMIC.search(match.string, max(0, match.start() - 30), match.start()):
            return []  # an echo measurement ("pulmonary artery systolic pressure 38"), not a vital
        group = "v" if match.group("v") is not None else "v2"
        start, end = match.span(group)
        value = _float(match.group("n") if group == "v" else match.group("n2"))
        return [_Found(VitalKind.SYSTOLIC_BLOOD_PRESSURE, value, "mm[Hg]", start, end)]

    @staticmethod
    def _rate(kind: VitalKind) -> Callable[[re.Match[str]], list[_Found]]:
        def parse(match: re.Match[str]) -> list[_Found]:
            text = match.string
            start, end = match.span("v")
            head = text[max(0, match.start() - 6) : match.start()]
            if _NOT_PULSE_BEFORE.search(head) or _NOT_RATE_AFTER.match(text, match.end("n")):
                return []
            if _RANGE_BEFORE.search(text[max(0, start - 8) : start]):
                return []
            return [_Found(kind, _float(match.group("n")), "/min", start, end)]

        return parse

    @staticmethod
    def _pain(match: re.Match[str]) -> list[_Found]:
        """A score written with its scale ("6/10") may sit a few words after the label; a bare
        number only after linking words ("pain scale is 6", "rates his pain as 9") and where
        the sentence says it is a rating."""
        start, end = match.span("v")
        if not match.group("scale"):
            value = _float(match.group("n"))
            gap_words = match.group("gap").replace(",", " ").replace(":", " ").replace("=", " ").lower().split()
            if value > 10 or any(word not in _PAIN_LINKING for word in gap_words):
                return []
            if not _BARE_SCORE_END.match(match.string, end):  # "pain for 3 days", "pain 2+"
                return []
            label = match.group("label").lower()
            text = match.string
            sentence_start = max(text.rfind(". ", 0, match.start()), text.rfind("\n", 0, match.start()), 0)
            sentence = text[sentence_start : min(len(text), end + 120)]
            if not label.startswith(("pain scale", "pain score", "pain rating", "pain level", "rat")) and not (
                _RATING_CUE.search(sentence)
            ):
                return []
            if label.startswith("rat") and "pain" not in text[max(0, start - 200) : end].lower():
                return []
        return [_Found(VitalKind.PAIN_SCORE, _float(match.group("n")), "{score}", start, end)]

    @staticmethod
    def _temp(match: re.Match[str]) -> list[_Found]:
        groups = match.groupdict()
        number, written_unit = groups.get("n") or groups.get("n2"), groups.get("u") or groups.get("u2")
        if number is None:
            return []
        value = _float(number)
        written = (written_unit or "").lower()
        if not written and "." not in number and value < 25:
            return []  # "T10 through L2", "T2 signal": a vertebra or MRI sequence, not a temperature
        if "n2" in groups and not (30 <= value <= 45 if written.startswith("c") else 85 <= value <= 110):
            return []  # an unlabelled number with a C or F must look like a body temperature
        if written.startswith("f"):
            unit = "[degF]"
        elif written.startswith("c"):
            unit = "Cel"
        else:
            unit = "[degF]" if value > 50 else "Cel"
        start, end = match.span("v")
        end = start + len(match.group("v").rstrip())
        return [_Found(VitalKind.BODY_TEMPERATURE, value, unit, start, end)]

    @staticmethod
    def _spo2(match: re.Match[str]) -> list[_Found]:
        start, end = match.span("v")
        if _RANGE_BEFORE.search(match.string, max(0, start - 8), start):
            return []  # "90-95%": the reading is the range's first number
        end = start + len(match.group("v").rstrip())
        context = (match.group("ctx") or "").strip()
        return [_Found(VitalKind.OXYGEN_SATURATION, _float(match.group("n")), "%", start, end, context)]

    @staticmethod
    def _weight(match: re.Match[str]) -> list[_Found]:
        if _NOT_PATIENT_WEIGHT.search(match.string, max(0, match.start() - 20), match.start()):
            return []
        written = (match.group("u") or "").lower()
        value = _float(match.group("n"))
        ounces = match.group("oz")
        if written.startswith(("lb", "pound")) or written == "#":
            unit = "[lb_av]"
            if ounces:  # "7 lb 8 oz" = 7.5 [lb_av]
                value = round(value + _float(ounces) / 16.0, 3)
        elif written.startswith(("oz", "ounce")):
            unit = "[oz_av]"
        elif written in ("g", "grams") or (not written and value >= 500):  # "birth weight 1102": grams
            unit = "g"
        else:
            unit = "kg"
        start, end = match.span("v")
        end = start + len(match.group("v").rstrip())
        return [_Found(VitalKind.BODY_WEIGHT, value, unit, start, end)]

    @staticmethod
    def _height(match: re.Match[str]) -> list[_Found]:
        if _NOT_BODY_HEIGHT.search(match.string, max(0, match.start() - 12), match.start()):
            return []
        start, end = match.span("v")
        end = start + len(match.group("v").rstrip())
        if match.group("ft"):
            inches = int(match.group("ft")) * 12 + int(match.group("inch") or 0)
            return [_Found(VitalKind.BODY_HEIGHT, float(inches), "[in_i]", start, end)]
        written = (match.group("u") or "").lower()
        value = _float(match.group("n"))
        if written == "m":
            return [_Found(VitalKind.BODY_HEIGHT, round(value * 100, 1), "cm", start, end)]
        unit = "[in_i]" if written.startswith("in") else "cm"
        fraction = match.groupdict().get("frac")
        if fraction:  # "64-1/2 inches" = 64.5
            numerator, denominator = fraction.split("/")
            value += int(numerator) / int(denominator)
        return [_Found(VitalKind.BODY_HEIGHT, value, unit, start, end)]

    # --- interpretation ------------------------------------------------------------------------

    def interpret(
        self, kind: VitalKind, value: float, unit: str, age_years: float | None = None
    ) -> VitalInterpretation:
        return self.ranges.interpret(kind, value, unit, age_years)
