"""Cities, towns, counties (a gazetteer plus cues) and organisation names."""

from __future__ import annotations

import bisect
import re

from healthai_server.domain.phi import PhiType
from healthai_server.phi.lexicon import Lexicon
from healthai_server.phi.recognizers.base import EntityRecognizer, RecognizerResult
from healthai_server.phi.recognizers.patterns import STATE_NAMES, STREET_RE
from healthai_server.phi.wordlists import word_section
from healthai_server.textmatch import split_top_level, word_alternation, word_branches

_STATE_ABBR = (
    "AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|NC|ND|"
    "OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|PR"
)
# State abbreviations that are also credentials ("Ana Ruiz, MD"): need more evidence.
_AMBIGUOUS_STATES = word_section("recognizer_words.txt", "places.AMBIGUOUS_STATES")
_PLACE_WORD = r"(?:St\.|Ft\.|Mt\.|[A-Z][a-zß-ÿ'’]+(?:-[A-Z][a-zß-ÿ'’]+)?)"
# The same word, not preceded by a word character, written to start with a plain class (fast scan).
_PLACE_WORD_START = r"[A-Z](?<![\w'’.-][A-Z])(?:(?<=[SFM])t\.|[a-zß-ÿ'’]+(?:-[A-Z][a-zß-ÿ'’]+)?)"
_CITY_STATE = re.compile(
    rf"(?P<city>{_PLACE_WORD_START}(?:[ \t]{_PLACE_WORD}){{0,3}}),[ \t]{{1,2}}"
    rf"(?P<state>{_STATE_ABBR}|{STATE_NAMES})(?![\w]|[ \t]{{1,2}}[A-Z][a-z]+,)(?P<zip>\.?,?[ \t]{{1,2}}\d{{5}})?"
)
# An ALL-CAPS town before a state and ZIP ("4519 Brennan Avenue Apt 12C, COLUMBUS, OH 43214").
_CAPS_CITY_STATE = re.compile(
    rf"[A-Z](?<![\w'’.-][A-Z])[A-Z'’.-]{{2,}}(?:[ \t][A-Z][A-Z'’.-]{{1,}}){{0,2}}(?=,?[ \t]{{1,2}}(?:{_STATE_ABBR}),?"
    r"[ \t]{1,2}\d{5})"
)
# Words that begin town names ("East Windsor", "Port Ellison", "La Pine"): never dropped as note words.
_TOWN_LEADS = word_section("recognizer_words.txt", "places.TOWN_LEADS")
# A city of another country named with its country: "Enugu and Lagos, Nigeria".
_COUNTRY_AFTER = re.compile(r",[ \t]{1,2}(?P<country>[A-Z][a-z]+(?:[ \t][A-Z][a-z]+){0,2})")
# A town in a dictation, any case, before a state's name and a ZIP code ("in cottondale alabama
# 35453"): the ZIP makes it an address whatever the case.
_TOWN_STATE_ZIP = re.compile(
    rf"(?<![A-Za-z'’.-])(?P<city>[A-Za-z][A-Za-z'’.-]{{1,25}}(?:[ \t][A-Za-z][A-Za-z'’.-]{{1,25}})?),?[ \t]{{1,2}}"
    rf"(?i:{STATE_NAMES}),?[ \t]{{1,2}}\d{{5}}(?:-\d{{4}})?(?!\d)"
)
# The ZIP code the pattern ends with: the pattern runs only in a short window before each one.
_TOWN_STATE_ANCHOR = re.compile(r"(?<=[ \t,])\d{5}(?!\d)")
# "Isle of Wight", "Isle of Palms": "Isle of" begins a county or town name.
_COUNTY = re.compile(
    rf"{_PLACE_WORD_START}(?:[ \t]{_PLACE_WORD}){{0,2}}[ \t](?:County|Parish|Borough)\b"
    rf"|Isle[ \t]of[ \t]{_PLACE_WORD}(?:[ \t](?:County|Parish))?"
)
_CITY_LABEL = re.compile(
    r"(?<![A-Za-z])(?:city|town|county|hometown|birthplace|place of birth|city of residence)"
    r"(?:[ \t]{0,2}:|[ \t]{1,2}\.{3,})[ \t]{0,3}"  # "County:" or a face sheet's dot leader
    r"(?P<city>[A-Z][A-Za-z'’.-]{1,30}(?:[ \t](?:(?-i:of|de|la|du|the)[ \t])?[A-Z][A-Za-z'’.-]{1,30}){0,3})",
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
_TOWN_ENDINGS = word_section("recognizer_words.txt", "places.TOWN_ENDINGS")
_CAP_RUN = re.compile(rf"{_PLACE_WORD_START}(?:[ \t]{_PLACE_WORD}){{0,3}}")
# Head nouns that end an organisation's name: care, schools, faith, funeral, employers.
_ORG_KIND = (
    r"Hospitals?|Medical Cent(?:er|re)|Health Cent(?:er|re)|Health System|Health Services|Healthcare|Health Care|"
    r"Health|Clinics?|Memorial|Infirmary|Hospice|Nursing Home|Nursing Cent(?:er|re)|Nursing Facility|"
    r"Skilled Nursing(?: Facility)?|Care Facility|Rehabilitation Cent(?:er|re)|Rehabilitation Hospital|Rehab|"
    r"Urgent Care|Home Care|Home Health(?: Care| Services| Agency)?|Adult Day(?: Services| Center| Care)?|"
    r"Pharmacy|Apothecary|Laboratories|Laboratory|Imaging|Diagnostics|Radiology|Institute|"
    r"Cent(?:er|re)|Family Practice|Practice|Associates|Partners|Medical Group|Physicians|Specialists|"
    r"Consultants|Senior Living|Assisted Living|Retirement Community|Retirement Home|Manor|Pavilion|"
    r"Medicine|Surgery|Dental|Dentistry|Orthodontics|Optometry|Eye Care|Audiology|Chiropractic|"
    r"Podiatry|Pediatrics|Neurology|Cardiology|Rheumatology|Dermatology|Oncology|Urology|Orthopaedics|"
    r"Orthopedics|Gastroenterology|Pulmonology|Nephrology|Endocrinology|Psychiatry|Counseling|Behavioral Health|"
    r"Sanatorium|Health Plans?|Dental Plan|Mutual|Insurance|Assurance|Credit Union|Bank|"
    r"Group Home|Care Home|Adult Home|Foster Home|Rest Home|Children's Home|Boarding Home|Correctional Facility|"
    r"Correctional Center|Jail|Prison|Shelter|Kidney Care|Dialysis|Funeral Home|Funeral Chapel|Funeral Services|"
    r"Mortuary|Crematory|Cemetery|Chapel|Church|Temple|Mosque|"
    r"Synagogue|Cathedral|Ministries|Congregation|Foundation|Trust|Society|Association|"
    r"University|College|School|Elementary|Academy|Preschool|Daycare|Day Care|Child Care|Childcare|Montessori|"
    r"Kindergarten|School District|Public Schools|Library|Police Department|Fire Department|Fire Rescue|"
    r"Sheriff's Office|Ambulance|EMS|Freight|Logistics|Trucking|Transport|Transportation|Airlines?|Motors|"
    r"Industries|Manufacturing|Construction|Enterprises|Holdings|Corporation|Corp\.?|Inc\.?|LLC|Llc|LLP|PLLC|"
    r"Ltd\.?|Company|Co\.|Services|Solutions|Technologies|Staffing|Foods|Farms?|Markets?|Stores?|"
    r"Restaurant|Bakery|Grocery|Supermarket|Realty|Properties|Shipping|Warehouse|Railroad|Railway|Transit|"
    # businesses, public bodies and programmes
    r"Supply|Supplies|Systems|Program|Programs|Group|Authority|Court|Schools|Casino|Spa|Salon|Grill|Cafe|Café|"
    r"Diner|Tavern|Pub|Arcade|Shipyard|Shipyards|Works|Steelworks|Mills|Plant|Lines|Gear|Outfitters|Towing|"
    r"Garage|Auto Body|Feed & Seed|Hardware|Lumber|Nurses|Visiting Nurses|Benefits|Welfare|Parish|Drug|Drugs|"
    r"Annex|Genomics|Genetics|Learning|Mercado|Tienda|Hotel|Motel|Resort|Casino|Club|Fitness|Studio|Cleaners|"
    r"Laundry|Lanes|Theater|Theatre|Cinema|Marina|Depot|Outlet|Cooperative|Co-op|Agency|Bureau|Commission|"
    r"Council|Ranch|Dairy|Vineyard|Winery|Brewery|Distillery|Publishing|Wireless|Utilities|Energy|Distributors|"
    r"Wholesale|Consulting|Landscaping|Plumbing|Roofing|Primary Care|Allergy & Asthma|Allergy and Asthma|"
    r"Rehabilitation & Care|Llc|Llp|Pllc|Dermatopathology|Pathology|Hematology|Immunology|Otolaryngology|"
    r"Obstetrics|Gynecology|Physical Therapy|Sports Medicine|Vein Center|Wound Care|"
    # weak heads: taken only when a word of the name is a place, a person's name or a coined word
    r"District|Health District|Ambulance District|Transit District|YMCA|YWCA|Mission|Respite|Memory Care|Care|"
    r"Advantage|Advantage Plan|Research|Clinical Research|Medical Examiner's Office|Examiner's Office|"
    r"Coroner's Office|District Attorney's Office|Public Defender's Office|Probation Department|"
    r"Parole Department|Probation and Parole(?: Department)?|Health Department|Sheriff's Department|"
    r"Corrections Department|Rehabilitation|"
    r"Electric|Storage|Cold Storage|Roasters|Coffee|Adventures|Tours|Haven|Kitchen|Brewing|Geriatrics|"
    r"Periodontics|Endodontics|Prosthodontics|Oral Surgery|Sleep Center|Medical Supply|Respiratory"
)
# A site after an organisation's name, set off by a dash and ending the line or field.
_BRANCH_AFTER = re.compile(
    r"[ \t][-–][ \t](?P<branch>[A-Z][a-z]+(?:[ \t][A-Z][a-z]+)?)(?=[ \t]{2}|[ \t]*(?:\n|$|,|;|\)|\|))"
)
_TITLE_BEFORE = re.compile(r"(?<![\w])(?:Fr|Dr|Rev|Msgr|Pastor|Father|Rabbi|Imam|Sister|Mr|Mrs|Ms)\.?[ \t]{1,2}$")
_LEGAL_SUFFIX = re.compile(r",?[ \t](?:LLP|Llp|LLC|Llc|PLLC|Pllc|Inc\.?|P\.C\.|PC|Ltd\.?)(?![\w])")
# Identifier labels that end an organisation value ("Medi-Cal CIN 917...", "Medicare MBI ...").
_ID_LABELS = word_section("recognizer_words.txt", "places.ID_LABELS")
# Heads that are also plain nouns ("Routine Care", "Billing Department"): the name needs evidence.
_WEAK_KINDS = frozenset(
    {"district", "mission", "respite", "care", "advantage", "plan", "research", "department", "rehabilitation",
     "electric", "storage", "roasters", "coffee", "adventures", "tours", "haven", "kitchen", "brewing",
     "geriatrics", "periodontics", "endodontics", "prosthodontics", "respiratory", "memory care", "cold storage",
     "clinical research", "advantage plan"}
)  # fmt: skip
# Coined one-word names of health systems and plans ("AdventHealth", "HealthPartners", "ConnectiCare").
_BRAND = re.compile(
    r"(?<![\w'’&-])(?P<brand>(?:[A-Z][a-z]+){2,3})(?![\w'’&-])"
    r"(?P<tail>[ \t](?:North|South|East|West|Northwest|Northeast|Southwest|Southeast|Central|[A-Z][a-z]{2,}))?"
)
_BRAND_PART = re.compile(r"[A-Z][a-z]+")
_BRAND_MORPHEMES = word_section("recognizer_words.txt", "places.BRAND_MORPHEMES")
_DIRECTIONS = word_section("recognizer_words.txt", "places.DIRECTIONS")
# Brand-like adjectives that name places and firms ("Coastal Anticoagulation Clinic").
_BRAND_ADJECTIVES = word_section("recognizer_words.txt", "places.BRAND_ADJECTIVES")
# English words ending in -ly or -ed that start organisation names ("Holy Family", "Early Learning").
_NAME_LY = word_section("recognizer_words.txt", "places.NAME_LY")
# A capitalised word; the first one starts with a plain class so `re` can skip ahead.
_ORG_WORD = r"(?:[A-Z][\w'’&.-]{0,30})"
_ORG_FIRST_WORD = r"[A-Z](?<![\w'’&.-][A-Z])[\w'’&.-]{0,30}"
_ORG_JOIN = r"(?:[ \t](?:&|and|of|of the|for|de|del|la)[ \t]|[ \t])"
# Longest kinds first: "Health Plan" before "Health".
# A weak head ends the name only when no capitalised word follows ("Hill District Family Health").
_ORG_KINDS = "|".join(
    k + (r"(?![ \t][A-Z])" if k.lower() in _WEAK_KINDS else "")
    for k in sorted(split_top_level(_ORG_KIND), key=len, reverse=True)
)
_ORG = re.compile(
    rf"{_ORG_FIRST_WORD}(?:{_ORG_JOIN}{_ORG_WORD}){{0,5}}?(?P<kinds>(?:(?:[ \t]&)?[ \t](?:{_ORG_KINDS})(?![\w'’-]))+)"
    rf"(?P<of>[ \t]of[ \t](?:the[ \t])?[A-Z][\w'’-]{{1,30}}(?:[ \t][A-Z][\w'’-]{{1,30}}){{0,2}})?"
    rf"|(?<![\w'’&.-])(?:University|Hospital|Clinic|College|Bank|Church) of (?:the )?[A-Z][\w'’-]{{1,30}}"
    rf"(?:[ \t][A-Z][\w'’-]{{1,30}}){{0,3}}"
)
# All-caps words, seen in title case ("MAPLE GROVE NURSING CENTER" -> "Maple Grove Nursing Center").
# Distinct organisation names whose later, shorter mentions are searched for.
MAX_LATER_MENTION_NAMES = 64
_CAPS_WORD = re.compile(r"[A-Z][A-Z'’]+(?![a-z])")
# Labels and phrases whose value is an organisation: "Employer: Tri-County Freight".
_ORG_CUE = re.compile(
    word_alternation(
        r"employer|place of employment|school|daycare|day care|agency|facility|pharmacy|funeral home|"
        r"nursing home|transported by|transport|company|insurer|carrier|works|worked|working|employed|employee|"
        r"work note|note|letter|insurance|payer|payor|bill to|destination|job|shelter|respite|lessons"
    )
    + r"(?:[ \t]{0,2}:|[ \t]+(?i:at|for|by|with)|(?<=employer)[ \t]|"
    r"(?:[ \t]+(?i:provided|given|written))?[ \t]+(?i:for))[ \t]{1,3}"
    r"(?P<org>[A-Z][\w'’.-]{0,30}(?:(?:[ \t](?:&|and|of|of the)[ \t]|[ \t])[A-Z][\w'’.-]{0,30}){0,5}"
    r"(?:[ \t]\d{1,3}(?![\d/:.-]))?)"
)
# A town right after a street address or an organisation: "17 Pine Knot Drive in Broadway",
# "Pennington & Sons Funeral Home, Asheville".
_KIND_LEAD, _KIND_BRANCHES = word_branches(_ORG_KIND, ignore_case=False)
_TOWN_AFTER = re.compile(
    rf"(?:{STREET_RE}(?:,[ \t]{{1,2}}|[ \t]+in[ \t]+)|[{_KIND_LEAD}](?<=[\w.][ \t].){_KIND_BRANCHES}"
    rf"(?:,[ \t]{{1,2}}|(?P<kind_in>[ \t]in[ \t])))"
    rf"(?P<city>{_PLACE_WORD}(?:[ \t]{_PLACE_WORD}){{0,2}})(?![\w'’-])"
)
_NOT_TOWN = word_section("recognizer_words.txt", "places.NOT_TOWN")
# Values after those labels that are not organisations.
_NOT_ORG_VALUES = word_section("recognizer_words.txt", "places.NOT_ORG_VALUES")
_ORG_GENERIC_LEAD = word_section("recognizer_words.txt", "places.ORG_GENERIC_LEAD")
# Words that make "X Clinic" a service rather than a named place ("Heart Failure Clinic").
# Endings of participles: generic only when the word is an English word ("Advanced",
# "Nursing"), not in coined names ("SkyMed", "Sterling").
_WORD_SUFFIXES = ("ing", "ed")
_GENERIC_SUFFIXES = (
    "ology", "tion", "sion", "ics", "ure", "ive", "ary", "ery", "ment", "ism", "itis", "emia", "al", "ic", "ac", "ar",
    "ness", "ity", "ogy", "ist", "ists", "ians",
    # procedures, findings and drug stems ("Vasectomy Counseling", "Valsartan-Hctz")
    "ectomy", "otomy", "ostomy", "plasty", "scopy", "gram", "graphy", "osis", "asis", "oma", "pathy", "algia",
    "artan", "pril", "olol", "statin", "mycin", "cillin", "azole", "tidine", "dipine", "formin", "gliptin", "mab",
    "nib", "vir", "pam", "lam", "done", "codone", "morphone", "triptan", "sone", "lone", "hctz", "xaban",
)  # fmt: skip
_GENERIC_WORDS = word_section("recognizer_words.txt", "places.GENERIC_WORDS")


def _towns_before_zip(text: str) -> list[re.Match[str]]:
    """Matches of _TOWN_STATE_ZIP, each searched for only in the 70 characters before a ZIP code
    (one fast scan for five digits instead of a case-insensitive state alternation everywhere)."""
    out = []
    for z in _TOWN_STATE_ANCHOR.finditer(text):
        m = _TOWN_STATE_ZIP.search(text, max(0, z.start() - 70), z.end())
        if m is not None and m.end() >= z.end():
            out.append(m)
    return out


class CityRecognizer(EntityRecognizer):
    name = "city"
    supported_types = (PhiType.CITY,)

    def __init__(self, lexicon: Lexicon) -> None:
        self._lex = lexicon

    def _in_gazetteer(self, name: str) -> bool:
        return name.lower().replace("’", "'") in self._lex.places

    def _strip_lead(self, text: str, start: int, end: int) -> int:
        """Drop leading note words ("Seen Today Boston, MA" -> "Boston", "Maria Springfield, IL"
        -> "Springfield"); the new start. A given name is dropped only before a known place
        ("Greer Mill, SC" stays whole)."""
        lex = self._lex
        words = list(re.finditer(r"\S+", text[start:end]))
        for i, word in enumerate(words):
            if text[start + word.start() : end].lower() in lex.places:
                return start + word.start()
            low = word.group().lower()
            if low in _TOWN_LEADS:
                return start + word.start()
            if low in lex.clinical or low in lex.common:
                continue
            # A given name before a known place ("Maria Springfield"), but not before a lone
            # town ending ("Virginia Beach" is one town).
            later_place = any(
                text[start + w.start() : end].lower() in lex.places and w.group() not in _TOWN_ENDINGS
                for w in words[i + 1 :]
            )
            if low in lex.first and later_place:
                continue
            return start + word.start()
        return end

    def _world_city(self, text: str, start: int, words: list[str], cue: bool) -> int:
        """Length of a foreign city name at `start` (0 if none): a GeoNames city after a place
        cue, or any unknown word before ", <country>"."""
        lex = self._lex
        for n in range(min(3, len(words)), 0, -1):
            candidate = " ".join(words[:n])
            low = candidate.lower()
            if low in lex.nations or low in lex.clinical or (n == 1 and (low in lex.english or low in lex.common)):
                continue
            end = start + len(candidate)
            country = _COUNTRY_AFTER.match(text, end)
            if country and country.group("country").lower() in lex.nations:
                return len(candidate)
            if not cue or low not in lex.world or _CLINICAL_NEXT.match(text, end):
                continue
            return len(candidate)
        # "Enugu and Lagos, Nigeria": the first of two cities before a country.
        if cue and len(words) == 1:
            pair = re.match(rf"[ \t]and[ \t]({_PLACE_WORD}),[ \t]{{1,2}}([A-Z][a-z]+)", text[start + len(words[0]) :])
            low = words[0].lower()
            if (
                pair
                and pair.group(2).lower() in lex.nations
                and not (low in lex.english or low in lex.clinical or low in lex.common or low in lex.nations)
            ):
                return len(words[0])
        return 0

    def analyze(self, text: str) -> list[RecognizerResult]:
        results: list[RecognizerResult] = []
        lex = self._lex
        for m in _CITY_STATE.finditer(text):
            end = m.end("city")
            before = text[max(0, m.start("city") - 8) : m.start("city")].rstrip(" \t")[-1:]
            if m.group("zip") and before in ("", ",", "\n", ":", "|", ";"):
                # An address line's town, anchored on ", ST 12345" ("..., Apt 3, Harmony Springs, OR
                # 97015"): the whole run, even when it is made of common words.
                start = m.start("city")
            else:
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
        for m in _TOWN_AFTER.finditer(text):
            city = m.group("city")
            low = city.lower()
            first = low.split()[0]
            if first in _NOT_TOWN or low in lex.common or low in lex.clinical:
                continue
            street = m.group().startswith(tuple("0123456789"))
            # "Church in Travelers Rest": where an organisation is, capitalised mid-sentence, is a
            # town though its words are English words; a month, a day or a clinical word is not.
            kind_in = m.group("kind_in") is not None and not any(w in lex.clinical for w in low.split())
            if (
                low in lex.places
                or kind_in
                or (street and not any(w in lex.english or w in lex.clinical for w in low.split()))
            ):
                results.append(RecognizerResult(PhiType.CITY, *m.span("city"), 0.8, self.name))
        for m in _CAPS_CITY_STATE.finditer(text):
            low = m.group().lower()
            if low in lex.places or not (low in lex.english or low in lex.clinical or low in lex.common):
                results.append(RecognizerResult(PhiType.CITY, m.start(), m.end(), 0.9, self.name))
        for m in _towns_before_zip(text):
            start, end = m.span("city")
            # Drop the words before the town that are note words ("in", "road 33 in").
            for w in re.finditer(r"\S+", text[start:end]):
                low = w.group().lower()
                if low in _NOT_TOWN or (low in lex.english and low not in lex.places) or low in lex.clinical:
                    continue
                results.append(RecognizerResult(PhiType.CITY, start + w.start(), end, 0.9, self.name))
                break
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
            # A city abroad: "visiting from Guadalajara", "born in Kraków", "in Enugu and Lagos, Nigeria".
            world = self._world_city(text, m.start(), words, cue)
            if world:
                results.append(RecognizerResult(PhiType.CITY, m.start(), m.start() + world, 0.8, self.name))
                continue
            # Unknown town after a strong cue: "born in Quarryville", "moved to Pine Hollow"; or
            # after "in/near/from" when it ends like a town ("Tuckerton Bay", "Greer Mill").
            weak = 2 <= len(words) <= 3 and words[-1] in _TOWN_ENDINGS and cue
            if weak or _STRONG_CUE.search(text, max(0, m.start() - 24), m.start()) is not None:
                end = m.start() + len(" ".join(words[:3]))
                low_words = [w.lower() for w in words[:3]]
                if weak:
                    low_words = low_words[:-1]
                # "moved to Pine Hollow", "lives in Lake Placid": one word may be common, not all.
                if (
                    low_words
                    and low_words[0] not in lex.clinical
                    and not all(w in lex.clinical or w in lex.common for w in low_words)
                ):
                    results.append(RecognizerResult(PhiType.CITY, m.start(), end, 0.8, self.name))
        return results


class OrganizationRecognizer(EntityRecognizer):
    """Named organisations: a capitalised name ending in a kind of organisation ("Golden Meadows
    Hospice", "Pennington & Sons Funeral Home", "MAPLE GROVE NURSING CENTER"), or the value of an
    employer/school/agency label; then every later mention of such a name's distinctive words
    ("Brightwater Neurology Associates" ... "Brightwater Neurology")."""

    name = "organization"
    supported_types = (PhiType.ORGANIZATION,)

    def __init__(self, lexicon: Lexicon) -> None:
        self._lex = lexicon

    def _generic(self, word: str) -> bool:
        low = word.lower().strip(".,")
        if low in ("st", "st.", "saint", "mount", "mt", "&", "and", "of", "the", "for", "de", "del", "la"):
            return low in ("&", "and", "of", "the", "for", "de", "del", "la")
        if low in _BRAND_ADJECTIVES:
            return False
        if low in _GENERIC_WORDS:
            return True
        if word in _TOWN_ENDINGS:
            return False  # "Commencement Bay Shipyard": a place word names the firm
        lex = self._lex
        return (
            len(low) < 3
            or low in lex.clinical
            or (
                (
                    any(low.endswith(x) and len(low) >= len(x) + 3 for x in _GENERIC_SUFFIXES)
                    or (low.endswith(_WORD_SUFFIXES) and low in lex.english)
                )
                and low not in lex.places
                and not (low in lex.last and low not in lex.words and lex.last[low] < 90_000)
            )
        )

    def _caps_evidence(self, word: str) -> bool:
        low = word.lower().strip(".,")
        lex = self._lex
        if low in ("st", "st.", "saint", "mt", "mt.") or low in lex.places:
            return True
        if self._generic(word) or low in lex.clinical:
            return False
        return bool(lex.first.get(low) or lex.last.get(low, 100_000) < 90_000) or low not in lex.english

    def _evidence(self, word: str) -> bool:
        """A word that makes a name of a common noun phrase: a place, a person's name, a coined word."""
        low = word.lower().strip(".,")
        lex = self._lex
        if low in _BRAND_ADJECTIVES or low in lex.places:
            return True
        if self._generic(word) or low in lex.clinical or len(low) < 3:
            return False
        return bool(lex.first.get(low) or lex.last.get(low, 100_000) < 90_000) or low not in lex.english

    def _brands(self, text: str) -> list[RecognizerResult]:
        out: list[RecognizerResult] = []
        for m in _BRAND.finditer(text):
            parts = [p.lower() for p in _BRAND_PART.findall(m.group("brand"))]
            if not any(p in _BRAND_MORPHEMES for p in parts):
                continue
            end = m.end("brand")
            tail = m.group("tail")
            if tail and (tail.strip().lower() in _DIRECTIONS or tail.strip().lower() in self._lex.places):
                end = m.end("tail")
            out.append(RecognizerResult(PhiType.ORGANIZATION, m.start(), end, 0.85, self.name))
        return out

    def _distinctive(self, word: str) -> bool:
        """A word that names this organisation and nothing else ("Brightwater", "Cascadia")."""
        low = word.lower().strip(".,")
        lex = self._lex
        return not (
            self._generic(word)
            or low in lex.common
            or low in lex.words
            or low in lex.english
            or low.removesuffix("s") in lex.english
            or low in lex.places
            or low in lex.first
            or low in lex.last
            or len(low) < 4
        )

    @staticmethod
    def _caps_view(text: str) -> str:
        """The text with ALL-CAPS words in title case (same length), so one set of rules serves both."""
        if _CAPS_WORD.search(text) is None:
            return text
        return _CAPS_WORD.sub(lambda m: m.group()[0] + m.group()[1:].lower(), text)

    def analyze(self, text: str) -> list[RecognizerResult]:
        view = self._caps_view(text)
        results: list[RecognizerResult] = []
        names: list[list[str]] = []
        for m in _ORG.finditer(view):
            end = m.end()
            kinds_start = m.start("kinds") if m.group("kinds") else m.end()
            prefix = list(re.finditer(r"\S+", view[m.start() : kinds_start]))
            # The name starts after the last word that cannot be part of it ("... who presents
            # from Maple Grove Nursing Center", "seen at the Heart Clinic").
            cut = 0
            for i in range(len(prefix) - 1, -1, -1):
                low = prefix[i].group().lower()
                if low == "our" and i + 1 < len(prefix) and prefix[i + 1].group() == "Lady":
                    continue  # "Our Lady of Guadalupe Parish"
                if (
                    (low in _ORG_GENERIC_LEAD and low not in ("and", "of", "for"))
                    or low.endswith((":", ",", ";"))
                    or (
                        low.endswith(("ly", "ed"))
                        and low in self._lex.english
                        and low not in _GENERIC_WORDS
                        and low not in _NAME_LY
                    )
                ):
                    cut = i + 1
                    break
                # A sentence ends inside the run ("... Tuckerton Bay. Heart Failure Clinic"); "St." is
                # Saint only first ("St. Brigid"), Street after a name ("Prospect St. Heart ...").
                if low.endswith(".") and (len(low) > 3 or (low in ("st.", "mt.") and i > 0)):
                    cut = i + 1
                    break
            name_at = m.start() + prefix[cut].start() if cut < len(prefix) else m.start()
            if _TITLE_BEFORE.search(view, max(0, name_at - 10), name_at):
                # "Fr. Tomás Reis of Santo Christo Church": the person, then the organisation
                ofs = [i for i, w in enumerate(prefix) if w.group() == "of" and i >= cut]
                if ofs:
                    cut = ofs[-1] + 1
            prefix = prefix[cut:]
            while prefix and prefix[0].group().lower() in ("&", "and", "of", "for", "the"):
                prefix = prefix[1:]
            if not prefix and m.group("kinds"):
                continue
            start = m.start() + prefix[0].start() if prefix else m.start()
            words = [w.group() for w in prefix]
            # "Emergency Clinic", "Heart Failure Clinic", "Environmental Services": a service;
            # "Children's Specialty Center of Union" is named by its place.
            of_words = (m.group("of") or "").split()[1:]
            if m.group("kinds") and all(self._generic(w) for w in words + of_words):
                continue
            kind = " ".join(m.group("kinds").split()).lower() if m.group("kinds") else ""
            if kind in _WEAK_KINDS and not any(self._evidence(w) for w in words):
                continue
            # "88 Larchmont Court", "8477 Kingsley Court": a street, not an organisation.
            if re.search(r"\d[A-Za-z]?[ \t]{1,2}$", view[max(0, start - 8) : start]):
                continue
            # ALL-CAPS text ("CANDIDATE FOR WEIGHT LOSS SURGERY"): a word of the name must be a
            # place, a person's name or a coined word, not only English words.
            if text[start:end].isupper() and not any(self._caps_evidence(w) for w in words):
                continue
            legal = _LEGAL_SUFFIX.match(view, end)
            if legal is not None:
                end = legal.end()  # "Great Lakes Pathology Consultants, LLP"
            branch = _BRANCH_AFTER.match(view, end)
            if branch is not None and all(self._evidence(w) for w in branch.group("branch").split()):
                end = branch.end("branch")  # "Riverside Kidney Care - Eastway": the site is part of the name
            results.append(RecognizerResult(PhiType.ORGANIZATION, start, end, 0.92, self.name))
            names.append(view[start:end].split())
        for m in _ORG_CUE.finditer(view):
            value = m.group("org")
            words = value.split()
            # "Insurance: Medicare. MBI ...", "Medi-Cal CIN 9172...": a sentence end or an id label ends it.
            for i, w in enumerate(words):
                if (w.endswith(".") and len(w) > 4) or (i and w.upper().strip(":#") in _ID_LABELS):
                    words = words[: i + 1] if w.endswith(".") else words[:i]
                    break
            if len(words) != len(value.split()):
                value = " ".join(words).rstrip(".")
                if not value:
                    continue
            if (
                value.lower() in _NOT_ORG_VALUES
                or words[0].lower() in _NOT_ORG_VALUES
                or all(self._generic(w) or w.lower() in self._lex.common for w in words if not w.isdigit())
            ):
                continue
            org_start = m.start("org")
            org_end = org_start + len(value) if len(words) != len(m.group("org").split()) else m.end("org")
            if value.endswith(".") and len(words[-1]) > 4:
                org_end -= 1  # "works at Home Depot." ends a sentence; "Acme Co." keeps its period
            results.append(RecognizerResult(PhiType.ORGANIZATION, org_start, org_end, 0.85, self.name))
            names.append(words)
        results.extend(self._later_mentions(view, names, results))
        results.extend(self._brands(text))
        return results

    def _later_mentions(
        self, view: str, names: list[list[str]], found: list[RecognizerResult]
    ) -> list[RecognizerResult]:
        """Shorter mentions of a found name: its leading words, when they hold a distinctive word."""
        out: list[RecognizerResult] = []
        seen: set[str] = set()
        spans = sorted((r.start, r.end) for r in found)
        starts = [start for start, _ in spans]

        def inside_found(offset: int) -> bool:
            i = bisect.bisect_right(starts, offset) - 1
            return i >= 0 and spans[i][0] <= offset < spans[i][1]

        for words in names:
            lead: list[str] = []
            for w in words:
                if self._generic(w) and lead:
                    break
                lead.append(w.strip(",."))
            while lead and lead[-1].lower() in ("&", "and", "of", "the", "for"):
                lead.pop()
            # One distinctive word alone ("Cascadia") or two or more words ("Mercy Family").
            if not lead or (len(lead) == 1 and not self._distinctive(lead[0])):
                continue
            if not any(self._distinctive(w) or w.lower() not in self._lex.common for w in lead):
                continue
            key = " ".join(lead)
            if key in seen:
                continue
            if len(seen) >= MAX_LATER_MENTION_NAMES:
                break  # each name is one scan of the note: bounded on hostile input
            seen.add(key)
            for start, end in _phrase_mentions(view, lead):
                if not inside_found(start):
                    out.append(RecognizerResult(PhiType.ORGANIZATION, start, end, 0.8, self.name))
        return out


_BLANKS = re.compile(r"[ \t]+")


def _phrase_mentions(view: str, words: list[str]) -> list[tuple[int, int]]:
    """Where `words` occur in `view` separated by blanks, as whole words. A string search, not a
    regex compiled per name: each note names different organisations, and compiling cost more
    than searching."""
    out: list[tuple[int, int]] = []
    first, rest = words[0], words[1:]
    at = view.find(first)
    while at >= 0:
        before = view[at - 1] if at > 0 else " "
        pos = at + len(first)
        ok = not (before.isalnum() or before in "_'’&.-")
        for w in rest:
            if not ok:
                break
            m = _BLANKS.match(view, pos)
            ok = m is not None and view.startswith(w, m.end())
            pos = m.end() + len(w) if m is not None else pos
        after = view[pos] if pos < len(view) else " "
        if ok and not (after.isalnum() or after in "_'’-"):
            out.append((at, pos))
        at = view.find(first, at + 1)
    return out
