"""Built-in pattern recognizers: everything Safe Harbor lists that has a shape.

Identifiers that are only "some digits" (MRN, account, plan, licence, device, other ids)
are taken only after a label ("MRN:", "Member ID", "S/N"); numbers with a check digit
(cards, NPI, DEA, VIN) or issuing rules (SSN) are validated.
"""

from __future__ import annotations

import re

from healthai_server.domain.phi import PhiType
from healthai_server.phi import checksums
from healthai_server.phi.recognizers.base import EntityRecognizer, Pattern, PatternRecognizer, RecognizerResult
from healthai_server.phi.recognizers.spelled import (
    CARDINAL_DAY,
    ORDINAL_DAY,
    SPELLED_YEAR,
    TWO_DIGITS,
    may_hold_ordinal_of_month,
    may_hold_spelled_date,
    may_hold_spelled_ordinal,
    ordinal_of_month_regex,
    spelled_date_ok,
    spelled_date_regex,
)
from healthai_server.phi.wordlists import foreign_month_re, street_suffix_re, unit_designator_re
from healthai_server.textmatch import word_alternation

_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
_ORD = r"(?:st|nd|rd|th)"
_STATES = (
    "AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|NC|ND|"
    "OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|PR"
)
STATE_NAMES = (
    "Alabama|Alaska|Arizona|Arkansas|California|Colorado|Connecticut|Delaware|Florida|Georgia|Hawaii|Idaho|"
    "Illinois|Indiana|Iowa|Kansas|Kentucky|Louisiana|Maine|Maryland|Massachusetts|Michigan|Minnesota|"
    "Mississippi|Missouri|Montana|Nebraska|Nevada|New Hampshire|New Jersey|New Mexico|New York|North Carolina|"
    "North Dakota|Ohio|Oklahoma|Oregon|Pennsylvania|Rhode Island|South Carolina|South Dakota|Tennessee|Texas|"
    "Utah|Vermont|Virginia|Washington|West Virginia|Wisconsin|Wyoming|Puerto Rico"
)
STATE_RE = rf"(?:{_STATES}|{STATE_NAMES})"
_STREET_SUFFIX = street_suffix_re()
_UNIT = unit_designator_re()
STREET_RE = (
    r"\d(?<![\w-]\d)\d{0,5}[A-Za-z]?(?:-\d{1,4})?[ \t]{1,2}(?:[NSEW]\.?[ \t]|North[ \t]|South[ \t]|East[ \t]|"
    r"West[ \t])?(?:(?:[A-Z][\w'.-]{0,20}|\d{1,3}(?:st|nd|rd|th))[ \t]{1,2}){1,4}"
    rf"{_STREET_SUFFIX}\b\.?(?:[ \t](?:NE|NW|SE|SW|N|S|E|W)\b\.?)?"
    rf"(?:,?[ \t]{{0,2}}{_UNIT}\.?"
    r"[ \t]{0,2}#?[ \t]{0,2}[A-Z0-9-]{1,6}(?![\w-])|,?[ \t]{0,2}\d{1,2}(?:st|nd|rd|th)[ \t](?:[Ff]loor|FLOOR)\b)?"
)
# Streets named before their number or with a Spanish/French lead word ("3307 Calle Alameda"),
# and rural routes ("Route 2 Box 118", "RR 1, Box 40", "HC 61 Box 12").
STREET_LEAD_RE = (
    r"\d(?<![\w-]\d)\d{0,5}[A-Za-z]?[ \t]{1,2}(?:Calle|Avenida|Av\.|Camino|Paseo|Rue|Via|Vía|Carretera|Callejon)"
    r"(?:[ \t]{1,2}(?:de|del|la|las|los|el)){0,2}(?:[ \t]{1,2}[A-Z][\w'.-]{0,20}){1,3}"
    r"(?:,?[ \t]{0,2}(?:Apt|Apartment|Suite|Ste|Unit|Fl|Floor|Room|Rm|Bldg|Building|Space|Spc|Lot|Trlr|#)\.?"
    r"[ \t]{0,2}#?[ \t]{0,2}[A-Z0-9-]{1,6}(?![\w-]))?"
    r"|[RH](?<![\w][RH])(?:(?<=R)(?:ural[ \t]Route|R|t\.?|te\.?|oute)|(?<=H)C)[ \t]{1,2}\d{1,4},?[ \t]{1,2}"
    r"(?:Box|Bx)[ \t]{1,2}\d{1,6}[A-Z]?(?![\w-])"
    # rural and numbered roads: "N5481 County Road K", "4410 State Hwy 61", "1719 Avenue B"
    r"|[NSEW1-9](?<![\w-][NSEW1-9])(?:(?<=[NSEW])\d{3,5}|\d{0,5})[ \t]{1,2}"
    r"(?:(?:County|State|US|U\.S\.|Farm[ \t]to[ \t]Market)[ \t]{1,2}(?:Road|Rd\.?|Highway|Hwy\.?|Route|Rte\.?|Trunk)"
    r"|Avenue|Ave\.?|Highway|Hwy\.?)[ \t]{1,2}[A-Z0-9]{1,3}(?![\w-])"
)
# A label, then optional ":" / "#" / "no." noise, then the identifier in group "id".
_SEP = (
    r"\.?[ \t]{0,3}(?:\([a-z ]{1,20}\)[ \t]{0,2})?(?:(?:numbers?|num|nos?\.?|nbr|#s?|id)[ \t]{0,2})?[:#=|(]?[ \t]{0,3}"
    r"(?:is[ \t]{1,3})?"
)


def _labelled(label: str, ident: str) -> str:
    # The look-ahead insists on a digit, so "device serial number: X1" is not consumed as "device" + "serial".
    return (
        rf"{word_alternation(label)}{_SEP}(?P<id>(?=[A-Za-z0-9:-]{{0,30}}\d|(?-i:[A-Z]{{2,4}})[ \t]\d){ident})"
        r"(?![A-Za-z0-9])"
    )


_has_digit = checksums.has_digit


def _serial_like(value: str) -> bool | None:
    """A serial after a weak label ("transmitter", "lead"): letters and digits, or six digits or more."""
    digits = sum(c.isdigit() for c in value)
    if digits == 0:
        return False
    return None if any(c.isalpha() for c in value) or digits >= 6 else False


def _upper_id(value: str) -> bool | None:
    """A printed identifier: a digit and no lower-case letter ("84-gene", "2011 buick" are text)."""
    return False if any(c.islower() for c in value) else _has_digit(value)


# Prefixes of codes and scales, not of anyone's record ("CPT-99497", "ISO-13485").
_CODE_PREFIXES = frozenset(
    {"CPT", "ICD", "HCPCS", "DRG", "NDC", "NCT", "LOINC", "SNOMED", "ISO", "IEC", "ANSI", "COVID", "SARS", "HIV",
     "HPV", "FEV", "PHQ", "GAD", "NYHA", "ASA", "ECOG", "BRCA", "HER", "CA", "IL", "CD", "GLP", "SGLT", "DPP", "PD",
     "CYP", "HLA", "TNF", "RSV", "ESI", "GCS", "SF", "EQ", "UN", "NA", "DSM", "MOCA", "MMSE", "FDA", "CMS", "IRB",
     "AJCC", "TNM", "BI", "RADS", "PI", "RVU", "UPC", "EAN", "GTIN", "Y", "FY", "Q", "H"}
)  # fmt: skip


def _coded_id(value: str) -> bool | None:
    prefix = re.match(r"[A-Z]+", value)
    if prefix is None or prefix.group() in _CODE_PREFIXES:
        return False
    return None if sum(c.isdigit() for c in value) >= 5 else False


_ssn = checksums.ssn_verdict


def _labelled_taxpayer_id(value: str) -> bool | None:
    # Behind an SSN/ITIN label the issuing rules do not apply: ITINs (and test or made-up
    # SSNs) start with 9, and a number someone labelled as a social security number is PHI.
    digits = checksums.digits_of(value)
    return None if len(digits) == 9 and digits != "0" * 9 else False


_luhn = checksums.luhn_verdict


def _license(value: str) -> bool | None:
    if checksums.dea_valid(value):
        return True
    return _has_digit(value)


_vin = checksums.vin_verdict


_NOT_STREET_WORDS = frozenset(
    [
        "mg",
        "mcg",
        "ml",
        "g",
        "kg",
        "units",
        "unit",
        "tab",
        "tabs",
        "tablet",
        "tablets",
        "cap",
        "caps",
        "po",
        "iv",
        "im",
        "sq",
        "bid",
        "tid",
        "qid",
        "qd",
        "daily",
        "times",
        "x",
        "follow",
        "up",
        "with",
        "to",
        "in",
        "on",
        "at",
        "for",
        "and",
        "or",
        "of",
        "the",
        "by",
        "per",
        "see",
        "call",
        "weeks",
        "week",
        "days",
        "day",
        "months",
        "hours",
        "minutes",
    ]
)


def street_ok(value: str) -> bool | None:
    """ "100 MCG FOLLOW UP WITH DR" is a dose and a title, not an address."""
    if re.match(r"P\.?\s?O\.?\s{0,2}Box", value, re.IGNORECASE):
        return None
    # The unit after the street ("Unit B-14") is not checked: "unit" is also a dose word.
    street = re.split(
        r",?\s(?:Apt|Apartment|Suite|Ste|Unit|Fl|Floor|Room|Rm|Bldg|Building|Space|Spc|Lot|Trlr)\b", value
    )[0]
    words = re.findall(r"[A-Za-z]+", street)
    return False if any(w.lower() in _NOT_STREET_WORDS for w in words[:-1]) else None


_CODE_RUNS = re.compile(r"\d+|[A-Za-z]+")


def _looks_like_code(value: str) -> bool | None:
    """At least 4 digits and a letter, and not a measurement, a drug strength or a range
    ("1000mg", "q12-24h", "COVID-19", "T2-weighted"): a run of 4+ digits, or letters between digits."""
    runs = _CODE_RUNS.findall(value)
    digits = sum(len(r) for r in runs if r.isdecimal())
    if digits < 4 or runs[0].upper() in _CODE_PREFIXES:
        return False
    letters = [r for r in runs if not r.isdecimal()]
    if all(r.lower() in _MEASURE_WORDS for r in letters) and runs[-1].isalpha():
        return False  # "1000mg", "2500IU": a number and its unit
    long_number = any(r.isdecimal() and len(r) >= 4 for r in runs)
    mixed = any(runs[k].isalpha() and 0 < k < len(runs) - 1 for k in range(len(runs)))
    return None if (long_number or mixed or len(runs) >= 3) else False


_MEASURE_WORDS = frozenset(
    {"mg", "mcg", "ug", "g", "kg", "ml", "l", "mm", "cm", "m", "h", "hr", "hrs", "min", "d", "x", "q", "iu", "u",
     "units", "meq", "mmol", "nm", "hz", "khz", "mhz", "s", "ms", "st", "nd", "rd", "th", "k", "bpm", "kcal"}
)  # fmt: skip


def _ip(value: str) -> bool | None:
    if ":" in value:
        return None if value.count(":") >= 2 else False
    parts = value.split(".")
    if len(parts) != 4 or any(int(p) > 255 for p in parts):
        return False
    # Version-like strings (1.2.3.4 with single digits) are more often versions than hosts.
    return None


def _numeric_date(value: str) -> bool | None:
    parts = re.split(r"[/.-]", value)
    if len(parts) < 2:
        return False
    a, b = int(parts[0]), int(parts[1])
    month_first = 1 <= a <= 12 and 1 <= b <= 31
    day_first = 1 <= b <= 12 and 1 <= a <= 31
    return None if (month_first or day_first) else False


_DAYS_IN_MONTH = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
# What a number pair without a year is when it is not a date: a blood pressure, a score, a
# fraction, a strength grade, a dose ("BP 128/7", "pain 7/10", "strength 4/5", "1/2 tab").
_MD_NOT_BEFORE = re.compile(
    r"(?:\b(?:bp|b/p|blood pressure|pressure|pain|score|scored|scale|rated|rating|strength|power|motor|grade|"
    r"graded|stage|class|gcs|apgar|phq-?\d*|gad-?\d*|ess|mmse|moca|slums|nihss|ratio|vision|acuity|va|"
    r"reflexes|dtrs?|take|takes|taking|took|give|split|murmur|g|p|gravida|para|tabs?|of|x|cultures?|bottles?|"
    r"positive|negative|sets?|reps?|out of|pulses?|nrs|vas|bims|easi|iga|harsh|soft|loud|smokes?|smoked|"
    r"smoking|drinks?)|[+/=x*])[ \t]{0,2}$",
    re.IGNORECASE,
)
_MD_NOT_AFTER = re.compile(
    r"[ \t]{0,2}(?:[/+%°]|(?:mm|cm|ml|mg|mcg|g|kg|units?|tabs?|tablets?|caps?|pills?|strength|pain|power|"
    r"of|ns|nss|normal saline|inches|ft|feet|miles?|blocks?|flights?|steps|nodes|cultures|bottles|sets|reps|"
    r"times|doses|positive|negative|murmur|systolic|diastolic|mmhg|hg|score|scale|on|ratio|split|"
    r"dilated|cm|effaced|station|ppd|packs?|pk|cigarettes?|cigs|drinks?|beers?|cups?|glasses)\b)",
    re.IGNORECASE,
)
# Scores named a little further back ("MMSE on 3/11/24 was 11/30", "pain 3/10 at rest, 5/10").
_MD_SCORE_NEAR = re.compile(
    r"\b(?:pain|nrs|vas|score|scored|mmse|moca|bims|slums|phq-?\d*|gad-?\d*|gcs|apgar|ess|easi|iga|nihss)\b",
    re.IGNORECASE,
)
# A murmur grade is n/6 (or n/4 diastolic) with the murmur named just after ("harsh 4/6 late-peaking
# systolic murmur").
_MD_MURMUR_AFTER = re.compile(r"\b(?:murmurs?|holosystolic|systolic|diastolic|ejection|sem|crescendo)\b", re.IGNORECASE)
_MONTH_DAY = re.compile(r"(?<![\w/.,:+-])(?P<m>0?[1-9]|1[0-2])/(?P<d>0?[1-9]|[12]\d|3[01])(?![\d/]|\.\d|[A-Za-z])")


def _may_hold_dictation_date(text: str) -> bool:
    """Substring checks before the dictation-date regex ("dictated nine fifteen twenty six")."""
    low = text.lower()
    return any(word in low for word in ("dictated", "transcribed", "signed", "dated", "typed"))


# An event's date named just before: the last menstrual period, "last <event>" ("last drink
# 11/29", "last dose 3/2"). A score is not "last", and an LMP is always a date.
_MD_MEASURE = re.compile(r"(?:bp|b/p|pressure|strength|power|grade|ratio|vision|acuity)$", re.IGNORECASE)
_MD_DATE_CUE = re.compile(r"\b(?:lmp|last[ \t]{1,2}([a-z]+))[ \t]{1,2}$", re.IGNORECASE)
# A whole number before the fraction: a gestational age in weeks and sevenths.
_MD_MIXED_NUMBER = re.compile(r"(?<![\d/.])\d{1,2}[ \t]$")


class MonthDayRecognizer(EntityRecognizer):
    """Dates written month/day without a year ("INR 11/28 1.4", "started 11/27", "(5/4)"): a
    real day of that month, not a pressure, score, fraction or dose by its neighbours."""

    name = "date_month_day"
    supported_types = (PhiType.DATE,)

    @staticmethod
    def _event_date_cue(text: str, start: int) -> bool:
        """ "LMP 10/30", "last drink 11/29": an event's date, whatever score is named near."""
        cue = _MD_DATE_CUE.search(text, max(0, start - 24), start)
        return cue is not None and not _MD_SCORE_NEAR.search(cue.group()) and not _MD_MEASURE.match(cue.group(1) or "")

    def analyze(self, text: str) -> list[RecognizerResult]:
        results: list[RecognizerResult] = []
        for m in _MONTH_DAY.finditer(text):
            month, day = int(m.group("m")), int(m.group("d"))
            if day > _DAYS_IN_MONTH[month]:
                continue
            start, end = m.span()
            if day in {4, 6} and _MD_MURMUR_AFTER.search(text, end, min(len(text), end + 40)):
                continue
            if _MD_NOT_AFTER.match(text, end):
                continue
            if not self._event_date_cue(text, start) and (
                _MD_NOT_BEFORE.search(text, max(0, start - 16), start)
                or (
                    _MD_SCORE_NEAR.search(text, max(0, start - 40), start)
                    and not re.search(
                        r"\b(?:on|since|dated|from|until|by|of)[ \t]{1,2}$",
                        text[max(0, start - 8) : start],
                        re.IGNORECASE,
                    )
                )
            ):
                continue
            if _MD_MIXED_NUMBER.search(text, max(0, start - 5), start):
                continue  # "GA 28 2/7 wk", "CGA 31 4/7": a whole number and a fraction
            results.append(RecognizerResult(PhiType.DATE, start, end, 0.6, self.name))
        return results


# A system user name after "user"/"login" in audit lines ("user jwhitaker2", "same user bstovall").
_USERNAME = re.compile(
    word_alternation("user|username|user name|userid|user id|login|logon|login id|uid")
    + r"[ \t]{0,2}[:#=]?[ \t]{1,2}(?P<id>[a-z][a-z0-9._-]{2,30})(?![\w@.-])"
)


class UsernameRecognizer(EntityRecognizer):
    """User names in access logs: lower-case, not an English word unless it carries a digit."""

    name = "username"
    supported_types = (PhiType.OTHER_IDENTIFIER,)

    def __init__(self, english: frozenset[str]) -> None:
        self._english = english

    def analyze(self, text: str) -> list[RecognizerResult]:
        results: list[RecognizerResult] = []
        for m in _USERNAME.finditer(text):
            value = m.group("id")
            if not any(c.isdigit() for c in value) and (
                value in self._english or value.rstrip("s") in self._english or len(value) < 5
            ):
                continue
            results.append(RecognizerResult(PhiType.OTHER_IDENTIFIER, *m.span("id"), 0.8, self.name))
        return results


# Markdown tables: a header cell names what the cells below it hold.
_TABLE_ROW = re.compile(r"(?m)^[ \t]*\|(?P<cells>[^\n]*)\|[ \t]*$")
_TABLE_RULE = re.compile(r"^[\s|:-]+$")
_HEADER_TYPES: tuple[tuple[re.Pattern[str], PhiType], ...] = (
    (re.compile(r"\b(?:mrn|medical record|med rec|chart)\b", re.I), PhiType.MEDICAL_RECORD_NUMBER),
    (re.compile(r"\b(?:acct|account|fin|csn|encounter)\b", re.I), PhiType.ACCOUNT_NUMBER),
    (re.compile(r"\b(?:member|policy|subscriber|mbi)\b", re.I), PhiType.HEALTH_PLAN_NUMBER),
    (re.compile(r"\b(?:initials|patient|pt|name|participant name)\b", re.I), PhiType.NAME),
    (
        re.compile(r"\b(?:subject|screening|screen|participant|study id|record id|case|id|#|no\.?|number)\b|#", re.I),
        PhiType.OTHER_IDENTIFIER,
    ),
    (re.compile(r"^\s*age\s*$", re.I), PhiType.AGE),
)
_NAME_CELL = re.compile(r"[A-Z]\.(?:-?[A-Z]\.){0,3}|[A-Z][A-Za-z'’-]+,? [A-Z][A-Za-z'’. -]{0,40}")


class TableColumnRecognizer(EntityRecognizer):
    """Cells of a markdown table under a header that names an identifier ("| Screening # | Initials |
    MRN | Age |"): the value is what the header says, whatever its shape."""

    name = "table_column"
    supported_types = (
        PhiType.MEDICAL_RECORD_NUMBER,
        PhiType.ACCOUNT_NUMBER,
        PhiType.HEALTH_PLAN_NUMBER,
        PhiType.NAME,
        PhiType.OTHER_IDENTIFIER,
        PhiType.AGE,
    )

    def analyze(self, text: str) -> list[RecognizerResult]:
        if "\n|" not in text and not text.lstrip().startswith("|"):
            return []
        results: list[RecognizerResult] = []
        header: list[PhiType | None] | None = None
        last_end = -1
        for row in _TABLE_ROW.finditer(text):
            if row.start() > last_end + 1:
                header = None  # a new table
            last_end = row.end()
            cells_text = row.group("cells")
            if _TABLE_RULE.match(cells_text):
                continue
            offset = row.start("cells")
            cells: list[tuple[int, int]] = []
            pos = 0
            for part in cells_text.split("|"):
                cells.append((offset + pos, offset + pos + len(part)))
                pos += len(part) + 1
            if header is None:
                header = [self._header_type(text[s:e]) for s, e in cells]
                continue
            for (s, e), phi_type in zip(cells, header, strict=False):
                if phi_type is None:
                    continue
                raw = text[s:e]
                value = raw.strip()
                if not value or value in ("-", "--", "n/a", "N/A"):
                    continue
                start = s + raw.index(value)
                if not self._fits(phi_type, value):
                    continue
                results.append(RecognizerResult(phi_type, start, start + len(value), 0.7, self.name))
        return results

    @staticmethod
    def _header_type(cell: str) -> PhiType | None:
        for pattern, phi_type in _HEADER_TYPES:
            if pattern.search(cell):
                return phi_type
        return None

    @staticmethod
    def _fits(phi_type: PhiType, value: str) -> bool:
        if phi_type is PhiType.AGE:
            return value.isdigit() and 90 <= int(value) <= 140
        if phi_type is PhiType.NAME:
            return len(value) <= 40 and _NAME_CELL.fullmatch(value) is not None
        return (
            len(value) <= 30
            and any(c.isdigit() for c in value)
            and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9-]*", value) is not None
            and _has_digit(value) is None
        )


# Public service lines are not anyone's number ("poison control 1-800-222-1222").
_PUBLIC_LINE = re.compile(r"(?:poison control|poison center|hotline|crisis line|lifeline|suicide)[^\n\d]{0,12}$", re.I)


# A public line has a national number ("1-800-273-8255", "988"); a local number is someone's.
_TOLL_FREE = re.compile(r"(?:\+?1[\s.-]{0,2})?\(?8(?:00|33|44|55|66|77|88)\b|\d{3,4}(?!\d|[\s.-]\d)")


class PhoneRecognizer(PatternRecognizer):
    """Telephone numbers; a "fax" label before it on the same line (closer than any phone label,
    with no other number in between) makes it a fax number. Public service lines are left."""

    def analyze(self, text: str) -> list[RecognizerResult]:
        return [
            r
            for r in super().analyze(text)
            if not (_PUBLIC_LINE.search(text, max(0, r.start - 40), r.start) and _TOLL_FREE.match(text, r.start))
        ]

    _KEYWORD = re.compile(
        r"(?<![a-z])(?:(?P<fax>fax(?:ed)?|facsimile|f(?=\s{0,2}[:#]))|phone|tel|telephone|cell|mobile|call(?:back)?|"
        r"ph|pager|beeper|home|work|office|voicemail|text)(?![a-z])"
    )

    def type_for(self, text: str, start: int, end: int) -> PhiType:
        line_start = text.rfind("\n", max(0, start - 80), start) + 1
        window = text[max(line_start, start - 80) : start].lower()
        last = None
        for last in self._KEYWORD.finditer(window):  # noqa: B007 - the last keyword is the nearest
            pass
        if last is None or not last.group("fax"):
            return PhiType.PHONE
        between = window[last.end() :]
        return PhiType.PHONE if re.search(r"\d{3}", between) else PhiType.FAX


def contact_recognizers() -> list[EntityRecognizer]:
    """Email, web addresses, IP addresses and telephone or fax numbers."""
    i = re.IGNORECASE
    return [
        PatternRecognizer(
            "email",
            PhiType.EMAIL,
            [
                Pattern(
                    "email",
                    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,8}"
                    r"\.[A-Za-z]{2,24}(?![A-Za-z0-9-])",
                    0.95,
                )
            ],
        ),
        PatternRecognizer(
            "url",
            PhiType.URL,
            [
                Pattern(
                    "url_scheme",
                    word_alternation("https?|ftp") + r"://[^\s<>\"'\]\[(){}]{2,2000}(?<![.,;:!?'\"])",
                    0.9,
                    0,
                    i,
                ),
                Pattern(
                    "url_bare_domain",
                    r"[A-Za-z0-9](?<![\w@./-][A-Za-z0-9])[A-Za-z0-9-]{0,62}(?:\.[A-Za-z0-9-]{1,63}){0,4}"
                    r"\.(?:com|org|net|edu|gov|health|io|us|info|biz|care|clinic)(?:/[^\s<>\"'\]\[(){}]{0,2000})?"
                    r"(?<![.,;:!?'\"])(?![\w@])",
                    0.75,
                ),
                Pattern(
                    "url_www",
                    r"(?<![\w/.@])www\.[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){1,8}(?:/[^\s<>\"'\]\[(){}]{0,2000})?"
                    r"(?<![.,;:!?'\"])",
                    0.85,
                    0,
                    i,
                ),
            ],
        ),
        PatternRecognizer(
            "ip_address",
            PhiType.IP_ADDRESS,
            [
                Pattern("ipv4", r"\d(?<![\d.]\d)\d{0,2}\.(?:\d{1,3}\.){2}\d{1,3}(?!\.?\d)", 0.75),
                Pattern(
                    "ipv6",
                    r"(?<![0-9A-Fa-f:])(?:(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}|"
                    r"(?:[0-9A-Fa-f]{1,4}:){1,6}(?::[0-9A-Fa-f]{1,4}){1,6})(?![0-9A-Fa-f:])",
                    0.6,
                ),
            ],
            context=("ip", "ip address", "host", "login from", "logged in from", "address"),
            validator=_ip,
        ),
        PhoneRecognizer(
            "phone",
            PhiType.PHONE,
            [
                Pattern(
                    "nanp",
                    r"(?<![\d+])(?:\+?1[\s.-]{0,2})?(?:\(\d{3}\)\s{0,2}|\d{3}[\s.-]{1,2})\d{3}[\s.-]{1,2}\d{4}"
                    r"(?:,?\s{0,2}(?:x|ext\.?|extension)\s{0,2}\d{1,6})?(?!\d)",
                    0.8,
                ),
                Pattern("local7", r"\d(?<![\d-]\d)\d{2}-\d{4}(?![\d-])", 0.3),
                Pattern("bare10", r"[2-9](?<![\d-][2-9])\d{9}(?!\d)", 0.3),
                Pattern(
                    "intl", r"(?<![\d+])\+(?:[2-9]\d{0,2})[\s.-]{1,2}\d{1,4}(?:[\s.-]{1,2}\d{2,5}){2,4}(?!\d)", 0.7
                ),
                Pattern("ext", word_alternation(r"ext\.?|extension|x") + r"\s{0,2}(?P<id>\d{4,6})(?!\d)", 0.3, "id", i),
                Pattern(
                    "pager",
                    word_alternation(r"pager|pgr|beeper|page") + r"\s{0,2}(?:#|no\.?|number)?\s{0,2}:?\s{0,2}"
                    r"(?P<id>\d{3,7})(?![\d/.:-])",
                    0.8,
                    "id",
                    i,
                ),
            ],
            context=(
                "phone",
                "tel",
                "telephone",
                "cell",
                "mobile",
                "call",
                "fax",
                "pager",
                "beeper",
                "voicemail",
                "contact",
                "reached at",
                "home",
                "work",
                "ph",
                "number",
                "extension",
            ),
            context_window=30,
        ),
    ]


def record_number_recognizers() -> list[EntityRecognizer]:
    """Numbers that identify a person in a record: SSN, MRN, plan, account, card, licence, vehicle, device, other."""
    i = re.IGNORECASE
    return [
        PatternRecognizer(
            "ssn",
            PhiType.SSN,
            [
                Pattern("ssn_dashed", r"\d(?<![\d-]\d)\d{2}-\d{2}-\d{4}(?![\d-])", 0.85),
                Pattern("ssn_spaced", r"\d(?<![\d-]\d)\d{2} \d{2} \d{4}(?![\d-])", 0.4),
                Pattern(
                    "ssn_bare",
                    _labelled(r"ssn|ss#|social security(?: number| no\.?| #)?|soc sec", r"\d{9}"),
                    0.5,
                    "id",
                    i,
                ),
                Pattern(
                    "ssn_labelled",
                    _labelled(
                        r"ssn|ss#|social security(?: number| no\.?| #)?|soc sec|itin|taxpayer id(?:entification)?"
                        r"(?: number| no\.?| #)?",
                        r"\d{3}[- ]?\d{2}[- ]?\d{4}",
                    ),
                    0.9,
                    "id",
                    i,
                    validator=_labelled_taxpayer_id,
                ),
            ],
            context=("ssn", "social security", "ss#", "soc sec"),
            validator=_ssn,
        ),
        PatternRecognizer(
            "medical_record_number",
            PhiType.MEDICAL_RECORD_NUMBER,
            [
                Pattern(
                    "mrn_label",
                    _labelled(
                        r"MRN|MR|medical record|med rec|record|chart|EMR|EHR|hospital number",
                        r"[A-Z]{0,4}[- ]?\d[\d-]{3,14}[A-Z]?",
                    ),
                    0.85,
                    "id",
                    i,
                ),
            ],
            validator=_has_digit,
            list_items=True,
        ),
        PatternRecognizer(
            "health_plan_number",
            PhiType.HEALTH_PLAN_NUMBER,
            [
                Pattern(
                    "plan_label",
                    _labelled(
                        r"member|subscriber|policy|medicaid|medicare|insurance|insurer|health plan|plan|group|"
                        r"beneficiary|MBI|HICN|CIN|payer|coverage|BCBS|Aetna|Cigna|Humana|United ?Healthcare",
                        r"[A-Z0-9][A-Z0-9-]{4,19}",
                    ),
                    0.85,
                    "id",
                    i,
                ),
                Pattern(
                    "mbi",
                    r"(?<![A-Z0-9])[1-9][AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9]\d-?[AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9]\d-?"
                    r"[AC-HJKMNP-RT-Y]{2}\d{2}(?![A-Z0-9])",
                    0.85,
                ),
            ],
            validator=_upper_id,
        ),
        PatternRecognizer(
            "account_number",
            PhiType.ACCOUNT_NUMBER,
            [
                Pattern(
                    "account_label",
                    _labelled(
                        r"account|acct|a/c|billing|invoice|encounter|visit|FIN|CSN|claim|bank|routing|card|client|guarantor",
                        r"[A-Z0-9][A-Z0-9-]{3,24}",
                    ),
                    0.85,
                    "id",
                    i,
                ),
            ],
            validator=_has_digit,
            list_items=True,
        ),
        PatternRecognizer(
            "card_number",
            PhiType.ACCOUNT_NUMBER,
            [Pattern("card", r"\d(?<![\d-]\d)\d{3}(?:[ -]?\d{4}){2}[ -]?\d{1,7}(?![\d-])", 0.3)],
            validator=_luhn,
        ),
        PatternRecognizer(
            "license_number",
            PhiType.LICENSE_NUMBER,
            [
                Pattern(
                    "license_label",
                    _labelled(
                        r"licen[cs]e|lic|DEA|NPI|certificate|cert|registration|board cert(?:ification)?|"
                        r"driver'?s licen[cs]e|DL|CDL|passport|permit|credential",
                        r"(?:(?-i:[A-Z]{2,4})[ \t](?=\d))?(?P<lic>[A-Z]{0,5}[-]?\d(?:[A-Z0-9-]|\.(?=\d)){3,14})",
                    ),
                    0.85,
                    "lic",
                    i,
                ),
                Pattern("dea", r"(?<![A-Za-z0-9])[A-Z]{2}\d{7}(?![A-Za-z0-9])", 0.3),
            ],
            validator=_license,
        ),
        PatternRecognizer(
            "vehicle_identifier",
            PhiType.VEHICLE_IDENTIFIER,
            [
                Pattern("vin", r"(?<![A-Za-z0-9])[A-HJ-NPR-Za-hj-npr-z0-9]{17}(?![A-Za-z0-9])", 0.4),
                Pattern(
                    "plate",
                    _labelled(
                        r"licen[cs]e plate|plate|tag|vehicle|VIN|tail number|tail no\.?|tail|aircraft|"
                        r"boat|vessel|hull|motorcycle|trailer",
                        r"[A-Z0-9]{1,4}[ -]?[A-Z0-9]{2,5}(?:[ -]?[A-Z0-9]{1,4})?",
                    ),
                    0.8,
                    "id",
                    i,
                ),
            ],
            context=("vin", "vehicle", "car", "truck", "motorcycle"),
            validator=lambda v: _vin(v) if len(v) == 17 else _upper_id(v),
        ),
        PatternRecognizer(
            "device_identifier",
            PhiType.DEVICE_IDENTIFIER,
            [
                Pattern(
                    "device_label",
                    _labelled(
                        r"serial|S/N|SN|device|UDI|lot|model/serial|pacemaker|ICD|implant|pump|defibrillator|"
                        r"stimulator|IMEI|MAC",
                        r"[A-Z0-9][A-Z0-9:-]{3,29}",
                    ),
                    0.85,
                    "id",
                    i,
                ),
                Pattern(
                    "device_part_label",
                    _labelled(
                        r"transmitter|monitor|generator|lead|leads|sensor|receiver|controller|valve|stent|prosthesis|"
                        r"CGM|hearing aid|cochlear implant|neurostimulator|LVAD|VAD|battery|catalog|cat|REF",
                        # "lead 5076-52 cm": a model and its length describe a product, not this device.
                        r"[A-Z0-9][A-Z0-9:-]{3,29}(?![A-Za-z0-9:-]|[ \t]?(?:cm|mm|Fr|F|in)\b)",
                    ),
                    0.8,
                    "id",
                    i,
                    validator=_serial_like,
                ),
                Pattern("udi_gs1", r"\(01\)\d{14}(?:\(\d{2}\)[A-Za-z0-9]{1,20}){0,4}", 0.95),
            ],
            validator=_has_digit,
            list_items=True,
        ),
        PatternRecognizer(
            "other_identifier",
            PhiType.OTHER_IDENTIFIER,
            [
                Pattern(
                    "other_label",
                    _labelled(
                        r"accession|acc|specimen|case|study|requisition|order|patient ID|pt ID|employee|badge|"
                        r"referral|report|authorization|auth|RMA|docket|"
                        r"member of staff|biometric|ID|identifier|reference|ref|ticket|confirmation|job|dictation|"
                        r"rx|prescription|"
                        r"transcription|session|tracking|incident|intake|request|booking|inmate|DOC|offender|"
                        r"path|pathology|subject|participant|enrollment|randomi[sz]ation|"
                        r"return authorization|purchase order|work order|log|file|form|certificate",
                        r"[A-Z0-9][A-Z0-9-]{3,24}",
                    ),
                    0.75,
                    "id",
                    i,
                ),
                Pattern(
                    # DICOM study/series/instance UIDs and other OIDs: "1.2.840.113619.2.55.3.6046...".
                    # Each part alone is a plain number, so only the dotted shape says what it is.
                    "oid",
                    r"(?<![\w.])[0-2](?:\.(?:0|[1-9]\d{0,15})){4,}(?![\w]|\.\d)",
                    0.9,
                ),
                Pattern(
                    # A code of letters and digits with no label: "712BT4408", "T081552934",
                    # "24D0987163", "S014-0031". Clinical codes are short ("HbA1c", "CD4", "G2P1").
                    "alnum_code",
                    r"(?<![\w-])(?=[A-Za-z0-9-]{7,24}(?![\w-]))(?=[A-Za-z-]*\d)(?=[0-9-]*[A-Za-z])"
                    r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*(?![\w-])",
                    0.6,
                    validator=_looks_like_code,
                ),
                Pattern(
                    # "Client #: CL-20918", "DOC #: 00719443", "took a report, # 24-071433": any label, then "#".
                    "hash_label",
                    r"#(?<=[A-Za-z.),] #)[ \t]{0,2}:?[ \t]{0,3}(?P<id>(?=[A-Z0-9-]{0,24}\d)[A-Z0-9][A-Z0-9-]{3,24})"
                    r"(?![A-Za-z0-9])",
                    0.7,
                    "id",
                ),
                Pattern(
                    # "APS-2025-01-00384", "CLM-24-0930-77104", "DP25-11904": a letter prefix, then digit groups.
                    "coded_id",
                    r"[A-Z](?<![\w/.-][A-Z])[A-Z]{1,4}\d{0,3}(?:-\d{2,10}){1,3}(?![\w-])",
                    0.6,
                    validator=_coded_id,
                ),
            ],
            validator=_has_digit,
            list_items=True,
        ),
    ]


def address_recognizers() -> list[EntityRecognizer]:
    """ZIP codes and street addresses."""
    i = re.IGNORECASE
    return [
        PatternRecognizer(
            "zip_code",
            PhiType.ZIP_CODE,
            [
                Pattern(
                    "zip_after_state",
                    word_alternation(STATE_RE, ignore_case=False) + r"\.?,?\s{1,3}(?P<id>\d{5}(?:-\d{4})?)(?!\d)",
                    0.95,
                    "id",
                ),
                Pattern(
                    "zip_label",
                    r"(?<![A-Za-z])(?:zip|zip code|postal code|zipcode)\s{0,3}[:#]?\s{0,3}"
                    r"(?P<id>\d{5}(?:-\d{4})?)(?!\d)",
                    0.95,
                    "id",
                    i,
                ),
                Pattern("zip_plus4", r"(?<![\d-])\d{5}-\d{4}(?![\d-])", 0.6),
            ],
        ),
        PatternRecognizer(
            "street_address",
            PhiType.STREET_ADDRESS,
            [
                Pattern("street", STREET_RE, 0.85),
                Pattern("street_lead", STREET_LEAD_RE, 0.85),
                Pattern(
                    "street_caps",
                    r"(?<![\w-])\d{1,6}\s{1,2}(?:[NSEW]\.?\s)?(?:[A-Z][A-Z'.-]{0,20}\s{1,2}){1,4}"
                    rf"{_STREET_SUFFIX}\b\.?(?:,?\s{{0,2}}{_UNIT}\.?\s{{0,2}}"
                    r"[A-Z0-9-]{1,6})?",
                    0.85,
                ),
                Pattern("po_box", r"(?<![A-Za-z])P\.?\s?O\.?\s{0,2}Box\s{1,2}\d{1,6}", 0.9, 0, i),
            ],
            validator=street_ok,
        ),
    ]


def date_and_age_recognizers() -> list[EntityRecognizer]:
    """Dates (numeric, written, month/day) and ages over 89, and names in table columns."""
    i = re.IGNORECASE
    return [
        PatternRecognizer(
            "age_over_89",
            PhiType.AGE,
            [
                Pattern(
                    "age_years",
                    r"(?<![\d.])(?P<id>9\d|1[0-4]\d)(?:\s{0,2}|-)(?:y/?o\b|yo\b|y\.o\.|years?(?:\s|-)old|year-old|"
                    r"yr\.?s?(?:\s|-)old|years? of age|yrs?\b|y\b)",
                    0.95,
                    "id",
                    i,
                ),
                Pattern(
                    "age_words",
                    r"(?<![A-Za-z])(?P<id>(?:ninety|one hundred(?: and)?)(?:[ -](?:one|two|three|four|five|six|seven|"
                    r"eight|nine|ten|eleven|twelve))?)[ -](?:year|yr)s?[ -]old",
                    0.95,
                    "id",
                    i,
                ),
                Pattern(
                    "age_sex",
                    # "HPI: 92F", "is a 94M": starts with a plain class so `re` can skip ahead.
                    r"(?P<id>[19](?:(?<=^.)|(?<=\n.)|(?<=[:;]\s.)|(?<=\ba\s.)|(?<=\ban\s.)|(?<=\bis\s.)|"
                    r"(?<=\b[Pp]t\s.)|(?<=\bPT\s.)|(?<=[A-Za-z]\s\s.)|(?<=[A-Za-z],\s.))(?:(?<=9)\d|(?<=1)[0-4]\d))\s?(?:M|F|yo[MF]?|y/o)"
                    r"(?![A-Za-z°])",
                    0.9,
                    "id",
                    re.MULTILINE,
                ),
                Pattern(
                    "age_label",
                    r"(?<![A-Za-z])(?:age|aged|age:)\s{0,2}:?\s{0,2}(?P<id>9\d|1[0-4]\d)(?!\d|\.\d)",
                    0.95,
                    "id",
                    i,
                ),
                Pattern(
                    # "turns 94 tomorrow", "lived to 96", "died at 91": only people have ages.
                    "age_verb",
                    word_alternation("turns|turned|turning|lived to|died at|passed away at|will be|aged")
                    + r"[ \t]{1,2}(?P<id>9\d|1[0-4]\d)(?!\d|[.,:/-]\d|[ \t]*(?:%|mg|kg|lb|min|mm|cm|bpm|sec|s\b))",
                    0.85,
                    "id",
                    i,
                ),
                Pattern(
                    "age_label_words",
                    word_alternation("aged|age|age of") + r"[ \t]{0,2}:?[ \t]{1,2}"
                    r"(?P<id>(?:ninety|one hundred(?: and)?)(?:[ -](?:one|two|three|four|five|six|seven|"
                    r"eight|nine|ten|eleven|twelve))?)(?![\w-])",
                    0.9,
                    "id",
                    i,
                ),
                Pattern(
                    # "sharp until her 90s", "in his late 90s": a person's decade of life.
                    "age_decade",
                    word_alternation("her|his|their|in (?:her|his|their)(?: early| mid| late)?")
                    + r"[ \t-]{1,2}(?P<id>(?:9|1[0-4])0'?s)(?![\w])",
                    0.85,
                    "id",
                    i,
                ),
            ],
        ),
        PatternRecognizer(
            "date",
            PhiType.DATE,
            [
                Pattern(
                    "numeric_mdy",
                    r"\d(?<![\d/.-]\d)\d?([/.-])\d{1,2}\1(?:\d{4}|\d{2})(?![\d/-]|\.\d)",
                    0.9,
                    validator=_numeric_date,
                ),
                Pattern(
                    "iso",
                    r"[12](?<![\d-][12])(?<=1)(?:[89]\d{2})-(?:0?[1-9]|1[0-2])-(?:0?[1-9]|[12]\d|3[01])(?!\d)|[12](?<![\d-][12])(?<=2)0\d{2}-(?:0?[1-9]|1[0-2])-(?:0?[1-9]|[12]\d|3[01])(?!\d)",
                    0.95,
                ),
                Pattern(
                    "iso_dot",
                    r"[12](?<![\d.][12])(?:(?<=1)9|(?<=2)0)\d{2}\.(?:0?[1-9]|1[0-2])\.(?:0?[1-9]|[12]\d|3[01])(?![\d.])",
                    0.9,
                ),
                Pattern(
                    "iso_slash", r"(?<![\d/])(?:1[89]|20)\d{2}/(?:0?[1-9]|1[0-2])/(?:0?[1-9]|[12]\d|3[01])(?!\d)", 0.9
                ),
                Pattern(
                    "month_day_year",
                    # "July 14-18, 2025": a range of days shares its year.
                    rf"{word_alternation(_MONTH)}\.?\s{{1,2}}\d{{1,2}}{_ORD}?(?:[-\u2013]\d{{1,2}}{_ORD}?(?=,?\s{{1,2}}\d{{4}}))?"
                    rf"(?:,?\s{{1,2}}(?:\d{{4}}|'\d{{2}}))?(?![\d:])",
                    0.9,
                    0,
                    i,
                ),
                Pattern(
                    "day_month_year",
                    rf"\d(?<![\w]\d)\d?{_ORD}?(?:\s{{1,2}}of)?\s{{1,2}}{_MONTH}(?:(?<![A-Za-z]{{5}})\.)?"
                    r"(?:,?\s{1,2}\d{4})?(?![A-Za-z])",
                    0.9,
                    0,
                    i,
                ),
                Pattern("d_mon_y", rf"\d(?<![\w-]\d)\d?[-/ ]{_MONTH}[-/ ](?:\d{{4}}|\d{{2}})(?![\w])", 0.95, 0, i),
                Pattern(
                    "month_year",
                    # "Sept '24": a year cut to two digits behind an apostrophe.
                    rf"{word_alternation(_MONTH)}\.?,?\s{{1,2}}(?:of\s{{1,2}})?(?:(?:19|20)\d{{2}}|['\u2019]\d{{2}})(?!\d)",
                    0.85,
                    0,
                    i,
                ),
                Pattern(
                    "month_alone",
                    word_alternation(
                        "since|in|until|till|during|early|late|mid|by|last|next|this|from|through|before|after"
                    )
                    + r"[ \t-]{1,2}(?-i:(?P<id>(?:January|February|March|April|May|June|July|August|September|October|"
                    r"November|December|JANUARY|FEBRUARY|MARCH|APRIL|MAY|JUNE|JULY|AUGUST|SEPTEMBER|OCTOBER|"
                    r"NOVEMBER|DECEMBER|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)))(?![\w'-])",
                    0.7,
                    "id",
                ),
                Pattern(
                    # "3 de marzo de 2025", "15 janvier 2025", "3. März 2025", "el 16 de octubre"
                    "foreign_day_month",
                    r"(?<![\w.,/])(?:[1-9]|[12]\d|3[01])(?:\.|º|°)?[ \t]{1,2}(?:(?i:de)[ \t]{1,2})?"
                    rf"{foreign_month_re()}(?![\w])(?:,?[ \t]{{1,2}}(?:(?i:del?)[ \t]{{1,2}})?(?:19|20)\d{{2}}(?!\d))?",
                    0.9,
                ),
                Pattern(
                    "foreign_month_year",
                    rf"(?<![\w]){foreign_month_re()}[ \t]{{1,2}}(?:(?i:del?)[ \t]{{1,2}})?(?:19|20)\d{{2}}(?!\d)",
                    0.85,
                ),
                Pattern("month_slash_year", r"(?<![\d/.-])(?:0?[1-9]|1[0-2])/(?:19|20)\d{2}(?![\d/])", 0.6),
                # Dictated dates: "june eleventh nineteen fifty two", "march twelfth twenty twenty five".
                Pattern(
                    "spelled_date",
                    spelled_date_regex(),
                    0.9,
                    validator=spelled_date_ok,
                    precheck=may_hold_spelled_date,
                ),
                Pattern(
                    # "the fifth of January", "the twenty-eighth of October, 2026", "december the 10th"
                    "ordinal_of_month",
                    ordinal_of_month_regex(),
                    0.9,
                    precheck=may_hold_ordinal_of_month,
                ),
                Pattern(
                    # "dictated nine fifteen twenty six": a dictation's date read as month, day
                    # and two-digit year, right after the word that dates it.
                    "spelled_numeric_date",
                    word_alternation("dictated|transcribed|signed|dated|typed")
                    + rf"(?:[ \t]{{1,2}}on)?[ \t]{{1,2}}(?P<id>(?:one|two|three|four|five|six|seven|eight|nine|ten|"
                    rf"eleven|twelve)[ \t]{{1,2}}{CARDINAL_DAY}[ \t]{{1,2}}(?:{TWO_DIGITS}|{SPELLED_YEAR}))(?![\w-])",
                    0.85,
                    "id",
                    i,
                    precheck=_may_hold_dictation_date,
                ),
                Pattern(
                    # "last eye exam was march of last year": a month of a year named relatively.
                    "month_of_relative_year",
                    rf"(?P<id>{word_alternation(_MONTH)})"
                    r"(?=[ \t]{1,2}of[ \t]{1,2}(?:last|this|next)[ \t]{1,2}year\b)",
                    0.8,
                    "id",
                    i,
                    precheck=lambda text: " year" in text or " YEAR" in text,
                ),
                Pattern(
                    # "voiding trial on the fourteenth was successful", "since friday the twelfth um":
                    # a spelled ordinal after a word of time, ending its phrase (a function word
                    # or punctuation follows, not a noun: "on the third attempt" stays).
                    "spelled_ordinal_day",
                    word_alternation(
                        "on|since|by|until|till|before|after|from|through|monday|tuesday|wednesday|"
                        "thursday|friday|saturday|sunday"
                    )
                    + rf"[ \t]{{1,2}}the[ \t]{{1,2}}(?P<id>{ORDINAL_DAY})(?=[ \t]{{0,2}}(?:[.,;:)!?]|$|\n|at\b|and\b|"
                    r"in\b|when\b|or\b|for\b|with\b|we\b|she\b|he\b|they\b|the\b|to\b|but\b|i\b|you\b|my\b|"
                    r"his\b|her\b|it\b|so\b|because\b|which\b|was\b|were\b|will\b|um\b|uh\b|please\b))",
                    0.85,
                    "id",
                    i,
                    precheck=may_hold_spelled_ordinal,
                ),
                Pattern(
                    "ordinal_day",
                    word_alternation(
                        "on|since|by|until|till|before|after|from|through|of|is|was|monday|tuesday|wednesday|"
                        "thursday|friday|saturday|sunday|mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun"
                    )
                    + rf"\s{{1,2}}the\s{{1,2}}"
                    rf"(?P<id>(?:[1-9]|[12]\d|3[01]){_ORD})(?=\s{{0,2}}(?:[.,;:)!?]|$|\n|at\b|and\b|in\b|when\b|"
                    r"of\b|or\b|for\b|with\b|we\b|she\b|he\b|they\b|the\b|to\b|but\b|i\b|you\b|my\b|his\b|her\b|"
                    r"it\b|so\b|because\b|after\b|before\b|until\b|which\b|is\b|was\b|will\b|if\b|please\b))",
                    0.85,
                    "id",
                    i,
                ),
            ],
            context=(
                "on",
                "dated",
                "date",
                "since",
                "seen",
                "visit",
                "admitted",
                "discharged",
                "dob",
                "born",
                "until",
                "from",
                "last",
                "follow",
                "surgery",
                "scheduled",
                "due",
                "effective",
            ),
            context_window=25,
        ),
        MonthDayRecognizer(),
        TableColumnRecognizer(),
    ]


def builtin_pattern_recognizers() -> list[EntityRecognizer]:
    """Every built-in pattern recognizer, one family of cues after another."""
    return [*contact_recognizers(), *record_number_recognizers(), *address_recognizers(), *date_and_age_recognizers()]
