"""Realistic, format-preserving replacements, derived with a keyed HMAC.

Every surrogate is a function of HMAC-SHA256(secret, tenant|patient_ref|type|normalised
value): the same name gives the same surrogate in every note of a patient, and nothing
(no table, no log) keeps the mapping in clear. Dates are shifted by a per-patient offset
(HMAC(secret, tenant|patient_ref|date-shift)), so intervals between dates survive.
Without a patient reference, a random per-call scope keeps surrogates consistent within
the note only, so two unrelated notes cannot be linked through their surrogates.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field

from healthai_server.domain.phi import PhiType
from healthai_server.phi.lexicon import DATA_DIR, Lexicon

# Three-digit ZIP prefixes whose area holds 20,000 people or fewer (2000 census): HIPAA
# Safe Harbor requires 000 for them.
RESTRICTED_ZIP3 = frozenset(
    {
        "036",
        "059",
        "063",
        "102",
        "203",
        "556",
        "692",
        "790",
        "821",
        "823",
        "830",
        "831",
        "878",
        "879",
        "884",
        "890",
        "893",
    }
)
_MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_MONTH_BY_PREFIX = {m[:3]: i + 1 for i, m in enumerate(_MONTHS)}
_DATE_TOKEN = re.compile(r"'\d{2}|\d+|[A-Za-z]+")
_ORDINAL = re.compile(r"(?i)(st|nd|rd|th)")
_DMY_MON = re.compile(r"\d{2}[-/ ][A-Za-z]{3}")


def safe_zip(value: str) -> str:
    """Safe Harbor ZIP: the first three digits (000 for restricted prefixes), the rest zeroed."""
    digits = "".join(c for c in value if c.isdigit())
    prefix = "000" if digits[:3] in RESTRICTED_ZIP3 else digits[:3]
    out = prefix + "00"
    if "-" in value:
        out += "-0000"
    return out


def _ordinal(day: int) -> str:
    if 11 <= day % 100 <= 13:
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")


def _like_case(template: str, word: str) -> str:
    if template.isupper() and len(template) > 1:
        return word.upper()
    if template.islower():
        return word.lower()
    if template[:1].isupper():
        return word[:1].upper() + word[1:].lower()
    return word


@dataclass
class SurrogateScope:
    """One call: the tenant, the patient (or a random per-call id) and a memo."""

    tenant: str
    patient_ref: str
    memo: dict[tuple[PhiType, str], str] = field(default_factory=dict)

    @classmethod
    def for_call(cls, tenant: str, patient_ref: str) -> SurrogateScope:
        return cls(tenant, patient_ref if patient_ref else "note:" + secrets.token_hex(12))


class SurrogateGenerator:
    def __init__(self, secret_key: bytes, lexicon: Lexicon) -> None:
        self._key = secret_key
        pools = json.loads((DATA_DIR / "surrogates.json").read_text(encoding="utf-8"))
        self._cities: list[str] = pools["cities"]
        self._counties: list[str] = pools["counties"]
        self._streets: list[str] = pools["streets"]
        self._orgs: list[str] = pools["organizations"]
        self._email_domains: list[str] = pools["email_domains"]
        self._url_hosts: list[str] = pools["url_hosts"]
        common = lexicon.common | lexicon.clinical
        self._first = [n for n, r in sorted(lexicon.first.items(), key=lambda kv: kv[1]) if n not in common][:1200]
        self._last = [n for n, r in sorted(lexicon.last.items(), key=lambda kv: kv[1]) if n not in common][:3000]
        self._lex = lexicon

    # -- keyed derivation ---------------------------------------------------------------
    def _digest(self, scope: SurrogateScope, kind: str, value: str) -> bytes:
        message = f"{scope.tenant}|{scope.patient_ref}|{kind}|{value}".encode()
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def _stream(self, seed: bytes) -> Iterator[int]:
        counter = 0
        while True:
            block = hmac.new(self._key, seed + counter.to_bytes(4, "big"), hashlib.sha256).digest()
            yield from block
            counter += 1

    def _pick(self, pool: list[str], seed: bytes, avoid: str = "") -> str:
        index = int.from_bytes(seed[:8], "big") % len(pool)
        choice = pool[index]
        if choice.lower() == avoid.lower():
            choice = pool[(index + 1) % len(pool)]
        return choice

    def date_offset_days(self, scope: SurrogateScope) -> int:
        seed = self._digest(scope, "date-shift", "")
        magnitude = 30 + int.from_bytes(seed[:4], "big") % 336
        return magnitude if seed[4] & 1 else -magnitude

    def _format_like(self, value: str, seed: bytes) -> str:
        """Same shape: digits to digits, letters to letters of the same case, the rest kept."""
        stream = self._stream(seed)
        out = []
        for ch in value:
            if ch.isdigit():
                out.append(str(next(stream) % 10))
            elif ch.isalpha() and ch.isascii():
                letter = chr(ord("A") + next(stream) % 26)
                out.append(letter if ch.isupper() else letter.lower())
            else:
                out.append(ch)
        result = "".join(out)
        if result == value:
            result = self._format_like(value, seed + b"+")
        return result

    # -- per type -----------------------------------------------------------------------
    def replace(self, phi_type: PhiType, value: str, scope: SurrogateScope) -> str:
        key = (phi_type, value)
        if key not in scope.memo:
            scope.memo[key] = self._replace(phi_type, value, scope)
        return scope.memo[key]

    def _replace(self, phi_type: PhiType, value: str, scope: SurrogateScope) -> str:
        norm = " ".join(value.lower().split())
        seed = self._digest(scope, phi_type.value, norm)
        match phi_type:
            case PhiType.NAME:
                return self._name(value, scope)
            case PhiType.DATE:
                return self._date(value, scope, seed)
            case PhiType.AGE:
                return "90"
            case PhiType.ZIP_CODE:
                return safe_zip(value)
            case PhiType.SSN:
                return self._ssn(value, seed)
            case PhiType.EMAIL:
                first = self._pick(self._first, seed)
                last = self._pick(self._last, seed[8:])
                domain = self._pick(self._email_domains, seed[16:])
                return f"{first}.{last}{seed[20] % 100:02d}@{domain}"
            case PhiType.URL:
                host = self._pick(self._url_hosts, seed)
                return f"https://{host}/r/{seed[:5].hex()}"
            case PhiType.IP_ADDRESS:
                if ":" in value:
                    return f"2001:db8::{seed[0]:02x}{seed[1]:02x}"
                return f"203.0.113.{1 + seed[0] % 254}"
            case PhiType.CITY:
                return self._city(value, seed)
            case PhiType.STREET_ADDRESS:
                return self._street(value, seed)
            case PhiType.ORGANIZATION:
                return self._organization(value, seed)
            case _:
                return self._format_like(value, seed)

    def _name(self, value: str, scope: SurrogateScope) -> str:
        """Token by token, so "John Smith", "Smith, John" and "Mr. Smith" stay consistent."""

        def one(match: re.Match[str]) -> str:
            word = match.group()
            low = word.lower()
            if len(word) == 1:
                seed = self._digest(scope, "name-initial", low)
                return _like_case(word, chr(ord("a") + seed[0] % 26))
            seed = self._digest(scope, "name", low)
            first_rank = self._lex.first.get(low, 0)
            last_rank = self._lex.last.get(low, 0)
            pool = self._first if first_rank and (not last_rank or first_rank < last_rank / 4) else self._last
            return _like_case(word, self._pick(pool, seed, avoid=word))

        return re.sub(r"[^\W\d_]+", one, value)

    def _ssn(self, value: str, seed: bytes) -> str:
        # Area 900-999 is never issued: a surrogate that cannot be a real SSN.
        digits = self._format_like("0" * 9, seed)
        fresh = "9" + digits[1:3] + digits[3:5].replace("00", "01") + digits[5:].replace("0000", "0001")
        out, k = [], 0
        for ch in value:
            if ch.isdigit() and k < 9:
                out.append(fresh[k])
                k += 1
            else:
                out.append(ch)
        return "".join(out)

    def _city(self, value: str, seed: bytes) -> str:
        for suffix in (" County", " Parish", " Borough"):
            if value.endswith(suffix):
                return self._pick(self._counties, seed, avoid=value[: -len(suffix)]) + suffix
        return (
            _like_case(value, self._pick(self._cities, seed, avoid=value))
            if value.isupper()
            else self._pick(self._cities, seed, avoid=value)
        )

    def _street(self, value: str, seed: bytes) -> str:
        if re.match(r"(?i)p\.?\s?o\.?\s*box", value):
            return re.sub(r"\d+", lambda m: self._format_like(m.group(), seed), value)
        number = re.match(r"\d+", value)
        rest = value[number.end() :] if number else value
        words = rest.split()
        suffix_index = next(
            (i for i in range(len(words) - 1, -1, -1) if words[i].strip(".,").lower() in _STREET_SUFFIXES), None
        )
        name = self._pick(self._streets, seed[8:])
        if value.isupper():
            name = name.upper()
        suffix = " ".join(words[suffix_index:]) if suffix_index is not None else ""
        unit = ""
        if suffix_index is not None and suffix_index + 1 < len(words):
            suffix = words[suffix_index]
            tail = " ".join(words[suffix_index + 1 :])
            unit = " " + re.sub(r"\d+", lambda m: self._format_like(m.group(), seed[16:]), tail)
        new_number = str(1 + int.from_bytes(seed[:4], "big") % 9899) if number else ""
        return f"{new_number} {name} {suffix}{unit}".strip()

    def _organization(self, value: str, seed: bytes) -> str:
        kind = re.search(
            r"(?i)(hospital|medical cent(?:er|re)|clinic|health\S*|memorial|center|institute|"
            r"associates|group|pharmacy|hospice|university|college|school)[\s\S]*$",
            value,
        )
        base = self._pick(self._orgs, seed, avoid=value)
        return f"{base} {kind.group()}" if kind else f"{base} Medical Center"

    def _date(self, value: str, scope: SurrogateScope, seed: bytes) -> str:
        shifted = shift_date(value, self.date_offset_days(scope))
        return shifted if shifted is not None else self._format_like(value, seed)


_STREET_SUFFIXES = frozenset(
    [
        "street",
        "st",
        "avenue",
        "ave",
        "road",
        "rd",
        "boulevard",
        "blvd",
        "lane",
        "ln",
        "drive",
        "dr",
        "court",
        "ct",
        "place",
        "pl",
        "way",
        "terrace",
        "ter",
        "circle",
        "cir",
        "parkway",
        "pkwy",
        "highway",
        "hwy",
        "trail",
        "trl",
        "square",
        "sq",
        "loop",
        "pike",
        "alley",
        "crescent",
        "path",
        "plaza",
        "ridge",
        "run",
        "hollow",
        "heights",
        "hts",
        "point",
        "pt",
        "crossing",
        "xing",
        "row",
        "walk",
        "turnpike",
        "tpke",
        "expressway",
        "commons",
        "green",
        "close",
        "bend",
        "cove",
    ]
)


def shift_date(value: str, days: int) -> str | None:
    """Shift a date by `days`, keeping its format (separators, padding, month style, case).

    Returns None when the value is not a date this function understands.
    """
    tokens = list(_DATE_TOKEN.finditer(value))
    month_tok = next(
        (
            t
            for t in tokens
            if t.group().isalpha() and t.group()[:3].lower() in _MONTH_BY_PREFIX and _is_month_word(t.group())
        ),
        None,
    )
    numbers = [t for t in tokens if t.group().lstrip("'").isdigit()]
    year_tok = day_tok = month_num_tok = None
    if month_tok is not None:
        month = _MONTH_BY_PREFIX[month_tok.group()[:3].lower()]
        for t in numbers:
            text = t.group()
            if (len(text) == 4 or text.startswith("'")) and year_tok is None:
                year_tok = t
            elif len(text) <= 2 and day_tok is None:
                day_tok = t
    elif len(numbers) == 1 and len(numbers[0].group()) <= 2:
        day_tok = numbers[0]
        month = 1
    elif len(numbers) >= 2:
        a, b = numbers[0], numbers[1]
        if len(a.group()) == 4 and len(numbers) >= 3:
            year_tok, month_num_tok, day_tok = a, b, numbers[2]
        elif len(b.group()) == 4 and len(numbers) == 2:
            month_num_tok, year_tok = a, b
        else:
            if int(a.group()) <= 12:
                month_num_tok, day_tok = a, b
            else:
                day_tok, month_num_tok = a, b
            year_tok = numbers[2] if len(numbers) >= 3 else None
        month = int(month_num_tok.group())
    else:
        return None
    year_text = year_tok.group().lstrip("'") if year_tok is not None else ""
    if len(year_text) == 4:
        year = int(year_text)
    elif len(year_text) == 2:
        year = 2000 + int(year_text) if int(year_text) <= 30 else 1900 + int(year_text)
    else:
        year = 2000
    day = int(day_tok.group()) if day_tok is not None else 15
    try:
        original = dt.date(year, month, day)
    except ValueError:
        return None
    new = original + dt.timedelta(days=days)
    edits: list[tuple[int, int, str]] = []
    if month_tok is not None:
        word = month_tok.group()
        full = _MONTHS[new.month - 1]
        text = full if len(word) > 3 and word.lower() == _MONTHS[month - 1] else full[:3]
        if word.lower() == "sept":
            text = full[:4] if new.month == 9 else full[:3]
        edits.append((month_tok.start(), month_tok.end(), _like_case(word, text)))
    if month_num_tok is not None:
        width = 2 if month_num_tok.group().startswith("0") else 1
        edits.append((month_num_tok.start(), month_num_tok.end(), f"{new.month:0{width}d}"))
    if day_tok is not None:
        two = len(day_tok.group()) == 2
        padded = day_tok.group().startswith("0") or (
            two and ((month_num_tok is not None and len(month_num_tok.group()) == 2) or _DMY_MON.match(value))
        )
        width = 2 if padded else 1
        edits.append((day_tok.start(), day_tok.end(), f"{new.day:0{width}d}"))
        suffix = _ORDINAL.match(value, day_tok.end())
        if suffix is not None:
            edits.append((suffix.start(), suffix.end(), _like_case(suffix.group(), _ordinal(new.day))))
    if year_tok is not None:
        text = year_tok.group()
        rendered = str(new.year) if len(year_text) == 4 else f"{new.year % 100:02d}"
        edits.append((year_tok.start() + (1 if text.startswith("'") else 0), year_tok.end(), rendered))
    out = value
    for start, end, text in sorted(edits, reverse=True):
        out = out[:start] + text + out[end:]
    return out


def _is_month_word(word: str) -> bool:
    low = word.lower().rstrip(".")
    return any(m == low or (m.startswith(low) and len(low) >= 3) for m in _MONTHS)
