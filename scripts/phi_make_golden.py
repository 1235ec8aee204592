"""Generate the synthetic PHI golden set: data/golden/phi/notes.json.

    .venv/bin/python scripts/phi_make_golden.py [--seed 20261129] [--count 80]

Hand-written note templates (headers, narrative, sign-offs, letters, portal messages,
discharge summaries, ED notes, referrals) filled from value pools written here. Every
inserted identifier is recorded as a gold span with its PhiType value. The name pools are
deliberately NOT the detector's lexicon: about half the given names and surnames are
absent from the US-census lists the detector uses (found only through cues such as
titles, labels and sign-offs), and some are ordinary words or clinical eponyms (Will,
Hope, Parkinson, Graves) placed where the context really is a person. Clinical eponyms,
drugs, ages under 90, years and measurements are placed as distractors (not PHI).
Families: A (tuned on from the start), B and C (written later; their first, untuned
numbers are recorded in the comments above each family), D (hard formats: lower-case chat
notes, ALL-CAPS dictation, organisations, devices, vehicles, phone and fax formats; its first
numbers are recorded at TEMPLATES_D). All four have since been tuned on, so the golden
numbers are optimistic: they are a regression gate, not an
estimate of recall on real notes. Deterministic: the same seed writes byte-identical
output.
"""

from __future__ import annotations

import argparse
import json
import random
import string
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OUT_DIR = Path(__file__).resolve().parents[1] / "data" / "golden" / "phi"

# --- value pools (synthetic; any resemblance to real people is coincidence) ------------
FIRST_CENSUS = [
    "James",
    "Maria",
    "Robert",
    "Linda",
    "Michael",
    "Patricia",
    "David",
    "Jennifer",
    "Carlos",
    "Susan",
    "Thomas",
    "Dorothy",
    "Kevin",
    "Angela",
    "Raymond",
    "Gloria",
    "Walter",
    "Beverly",
    "Luis",
    "Tammy",
    "Harold",
    "Rosa",
    "Eugene",
    "Lorraine",
    "Gerald",
    "Keisha",
    "Darnell",
    "Yolanda",
    "Francisco",
    "Irene",
]
FIRST_RARE = [
    "Oluwaseun",
    "Siddharth",
    "Xiomara",
    "Thandiwe",
    "Nguyet",
    "Aigerim",
    "Chidi",
    "Eero",
    "Saoirse",
    "Tadeusz",
    "Ngozi",
    "Kaveh",
    "Anahita",
    "Haruto",
    "Oksana",
    "Bogdan",
    "Dagny",
    "Ayodele",
    "Kwabena",
    "Leilani",
    "Itzel",
    "Xochitl",
    "Imani",
    "Zainab",
    "Priyanka",
    "Mateus",
    "Folasade",
    "Radomir",
    "Signe",
    "Teodora",
    "Jin-woo",
    "Mei-ling",
    "Anouk",
    "Bartholomew",
    "Zbigniew",
    "Ifeoma",
]
FIRST_WORDLIKE = ["Will", "Hope", "Grace", "June", "Faith", "Joy", "Bill", "Rose", "Mark", "Dawn"]
LAST_CENSUS = [
    "Smith",
    "Garcia",
    "Nguyen",
    "Johnson",
    "Patel",
    "Rodriguez",
    "Kim",
    "Williams",
    "Okafor",
    "Murphy",
    "Hernandez",
    "Thompson",
    "Chen",
    "Robinson",
    "Schmidt",
    "Rivera",
    "Kowalski",
    "Brooks",
    "Castillo",
    "Fitzgerald",
    "Goldberg",
    "Washington",
    "Dubois",
    "Yamamoto",
    "Lindqvist",
    "Haddad",
    "Ortiz",
]
LAST_RARE = [
    "Adeyemi",
    "Venkataraman",
    "Nurlanovna",
    "Wróblewski",
    "Okonkwo",
    "Bhattacharya",
    "Szczepanski",
    "Tshabalala",
    "Papadopoulou",
    "Abernathy-Quist",
    "O'Shaughnessy",
    "Al-Hashimi",
    "McGillicuddy",
    "Featherstonehaugh",
    "Ngata",
    "Kealoha",
    "Oyelaran",
    "Vasquez-Ibarra",
    "Thorsdottir",
    "Krishnamurthy",
    "Zelenko",
    "Achterberg",
    "Mbeki",
    "Quispe",
    "Huynh-Tran",
    "Delacroix",
    "Oduya",
    "Brzezinski",
]
LAST_EPONYM = ["Parkinson", "Graves", "Wilson", "Addison", "Foley", "Bell", "Turner", "Murphy", "Hodgkin"]
CITIES = [
    ("Springfield", "IL", "62704"),
    ("Worcester", "MA", "01608"),
    ("Tucson", "AZ", "85719"),
    ("Dayton", "OH", "45402"),
    ("Fresno", "CA", "93721"),
    ("Albany", "NY", "12210"),
    ("Eau Claire", "WI", "54701"),
    ("Bozeman", "MT", "59715"),
    ("Burlington", "VT", "05401"),
    ("San Antonio", "TX", "78205"),
    ("Baton Rouge", "LA", "70802"),
    ("Cedar Rapids", "IA", "52401"),
    ("Portland", "ME", "04101"),
    ("Durham", "NC", "27701"),
    ("Flagstaff", "AZ", "86001"),
    ("Lowell", "MA", "01852"),
    ("Pueblo", "CO", "81003"),
    ("Scranton", "PA", "18503"),
    ("Berlin", "NH", "03570"),
    ("Jackson", "WY", "83001"),
    ("Bethel", "AK", "99559"),
]
# Small towns absent from the gazetteer (found from "City, ST" or cues only).
SMALL_TOWNS = [
    ("Millbrook Falls", "NY", "12545"),
    ("Quarryville", "PA", "17566"),
    ("Pine Hollow", "OR", "97064"),
    ("Tuckerton Bay", "NJ", "08087"),
    ("Greer Mill", "SC", "29651"),
    ("Orrstown", "PA", "17244"),
]
RESTRICTED_ZIPS = [
    "03601",
    "05901",
    "06390",
    "10201",
    "20301",
    "55601",
    "69201",
    "79001",
    "82101",
    "82301",
    "83001",
    "83101",
    "87801",
    "87901",
    "88401",
    "89001",
    "89301",
]
COUNTIES = ["Tompkins County", "Lackawanna County", "Pima County", "Orleans Parish", "Mendocino County"]
STREETS = [
    "Maple Avenue",
    "Elm Street",
    "Oak Ridge Road",
    "Cedar Lane",
    "Harborview Drive",
    "Kingsley Court",
    "Old Mill Road",
    "Sycamore Blvd",
    "Lakeshore Dr",
    "Wentworth Place",
    "Birchwood Terrace",
    "Martin Luther King Jr Way",
    "Quail Run",
    "Aspen Circle",
    "N. Prospect St",
]
ORGS = [
    "Riverside General Hospital",
    "St. Brigid Medical Center",
    "Lakeview Family Clinic",
    "Mercy Hospice",
    "Hillcrest Rehabilitation Center",
    "Northgate Urgent Care",
    "Saint Agnes Hospital",
    "Valley Pediatrics Associates",
    "Cobalt Creek Health Center",
    "University of Eastbrook Hospital",
]
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
DISTRACTORS = [
    "History of Parkinson disease with resting tremor, stable on carbidopa-levodopa.",
    "Bell's palsy on the left in 2015, resolved.",
    "Foley catheter removed this morning; voiding without difficulty.",
    "Continue Lasix 40 mg PO daily and Coumadin per INR.",
    "Crohn disease in remission on Humira.",
    "Graves disease s/p radioactive iodine, now on Synthroid 100 mcg.",
    "Hodgkin lymphoma treated with ABVD, in remission since 2012.",
    "Cushing syndrome ruled out with a normal dexamethasone suppression test.",
    "Addison disease on hydrocortisone 20 mg in the morning.",
    "Wilson disease excluded: ceruloplasmin normal.",
    "Murphy sign negative. Homans sign negative.",
    "Glasgow Coma Scale 15. Babinski downgoing bilaterally.",
    "Holter monitor showed paroxysmal atrial fibrillation.",
    "Jackson-Pratt drain with 30 mL serosanguinous output.",
    "Status post Whipple procedure and Nissen fundoplication.",
    "Epley maneuver performed for BPPV with relief.",
    "Still disease versus adult-onset lupus; rheumatology following.",
    "Lyme serology pending. Down syndrome with baseline cognitive delay.",
    "BP 128/76, HR 72, RR 16, SpO2 97% on room air. Strength 5/5 in all extremities. Pain 7/10.",
    "A1c 7.2 in 2021, now 6.8. Take 1/2 tab of metoprolol if HR above 100.",
    "Hashimoto thyroiditis, TSH 2.1. Raynaud phenomenon worse in winter.",
    "Tinel and Phalen signs positive on the right.",
    "Trendelenburg gait noted. Romberg negative.",
    "Guillain-Barre syndrome in 2009 with full recovery.",
    "Kussmaul respirations resolved after insulin drip.",
]


@dataclass
class Builder:
    parts: list[str] = field(default_factory=list)
    spans: list[dict[str, object]] = field(default_factory=list)
    length: int = 0

    def add(self, text: str) -> Builder:
        self.parts.append(text)
        self.length += len(text)
        return self

    def phi(self, phi_type: str, value: str) -> Builder:
        self.spans.append({"start": self.length, "end": self.length + len(value), "type": phi_type, "text": value})
        return self.add(value)

    def text(self) -> str:
        return "".join(self.parts)


class Pools:
    def __init__(self, rng: random.Random) -> None:
        self.r = rng

    def first(self, wordlike: bool = False) -> str:
        if wordlike and self.r.random() < 0.5:
            return self.r.choice(FIRST_WORDLIKE)
        return self.r.choice(FIRST_RARE if self.r.random() < 0.5 else FIRST_CENSUS)

    def last(self, eponym: bool = False) -> str:
        if eponym and self.r.random() < 0.5:
            return self.r.choice(LAST_EPONYM)
        return self.r.choice(LAST_RARE if self.r.random() < 0.5 else LAST_CENSUS)

    def date(self, style: str | None = None) -> str:
        r = self.r
        y, m, d = r.randint(1935, 2025), r.randint(1, 12), r.randint(1, 28)
        style = style or r.choice(["mdy", "mdy_short", "long", "abbr", "dmy_mon", "iso", "long_noyear", "d_month_y"])
        mon = MONTHS[m - 1]
        return {
            "mdy": f"{m:02d}/{d:02d}/{y}",
            "mdy_short": f"{m}/{d}/{y % 100:02d}",
            "long": f"{mon} {d}, {y}",
            "abbr": f"{mon[:3]}. {d}, {y}",
            "dmy_mon": f"{d:02d}-{mon[:3]}-{y}",
            "iso": f"{y}-{m:02d}-{d:02d}",
            "long_noyear": f"{mon} {d}",
            "d_month_y": f"{d} {mon} {y}",
        }[style]

    def phone(self) -> str:
        r = self.r
        a, b, c = r.randint(201, 989), r.randint(200, 989), r.randint(0, 9999)
        return r.choice([f"({a}) {b}-{c:04d}", f"{a}-{b}-{c:04d}", f"{a}.{b}.{c:04d}", f"+1 {a} {b} {c:04d}"])

    def digits(self, n: int) -> str:
        return "".join(self.r.choice(string.digits) for _ in range(n))

    def mrn(self) -> str:
        return self.r.choice([self.digits(8), "E" + self.digits(7), self.digits(3) + "-" + self.digits(5)])

    def ssn(self) -> str:
        return f"{self.r.randint(101, 665)}-{self.r.randint(10, 99)}-{self.r.randint(1000, 9999)}"

    def email(self, first: str, last: str) -> str:
        base = (first[0] + last).lower().replace("'", "").replace(" ", "")
        base = "".join(c for c in base if c.isascii() and (c.isalnum() or c in "-."))
        return f"{base}{self.r.randint(1, 99)}@{self.r.choice(['gmail.com', 'yahoo.com', 'outlook.com', 'aol.com'])}"

    def luhn_complete(self, prefix: str, length: int) -> str:
        body = prefix + self.digits(length - len(prefix) - 1)
        for check in string.digits:
            candidate = body + check
            total = 0
            for i, ch in enumerate(reversed(candidate)):
                v = int(ch) * (2 if i % 2 else 1)
                total += v - 9 if v > 9 else v
            if total % 10 == 0:
                return candidate
        raise AssertionError("unreachable")

    def npi(self) -> str:
        full = self.luhn_complete("80840" + "1", 15)
        return full[5:]

    def dea(self) -> str:
        letters = self.r.choice("ABFM") + self.r.choice(string.ascii_uppercase)
        d = [self.r.randint(0, 9) for _ in range(6)]
        check = (d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5])) % 10
        return letters + "".join(map(str, d)) + str(check)

    def vin(self) -> str:
        chars = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
        values = {
            **{str(i): i for i in range(10)},
            **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
            **dict(zip("JKLMN", range(1, 6), strict=True)),
            "P": 7,
            "R": 9,
            **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
        }
        weights = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
        body = [self.r.choice(chars) for _ in range(17)]
        body[8] = "0"
        rem = sum(values[c] * w for c, w in zip(body, weights, strict=True)) % 11
        body[8] = "X" if rem == 10 else str(rem)
        return "".join(body)

    def plate(self) -> str:
        r = self.r
        return r.choice(
            [
                f"{r.choice(string.ascii_uppercase)}{r.choice(string.ascii_uppercase)}"
                f"{r.choice(string.ascii_uppercase)}-{self.digits(4)}",
                f"{self.digits(1)}{r.choice(string.ascii_uppercase)}{r.choice(string.ascii_uppercase)}{self.digits(3)}",
            ]
        )

    def member(self) -> str:
        r = self.r
        return r.choice(
            [f"{r.choice(['XJH', 'BCX', 'UHC', 'AET'])}{self.digits(9)}", f"W{self.digits(8)}-0{r.randint(1, 4)}"]
        )

    def mbi(self) -> str:
        letters = "ACDEFGHJKMNPQRTUVWXY"
        r = self.r
        return (
            f"{r.randint(1, 9)}{r.choice(letters)}{r.choice(letters + string.digits)}{r.randint(0, 9)}"
            f"{r.choice(letters)}{r.choice(letters + string.digits)}{r.randint(0, 9)}{r.choice(letters)}"
            f"{r.choice(letters)}{r.randint(0, 9)}{r.randint(0, 9)}"
        )

    def ip(self) -> str:
        r = self.r
        return f"{r.randint(11, 223)}.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}"

    def street(self) -> str:
        r = self.r
        base = f"{r.randint(2, 9899)} {r.choice(STREETS)}"
        if r.random() < 0.3:
            base += r.choice(
                [
                    f", Apt {r.randint(1, 40)}{r.choice('ABCD')}",
                    f" Unit {r.randint(100, 999)}",
                    f", Suite {r.randint(100, 450)}",
                ]
            )
        return base


def _name(b: Builder, p: Pools, fmt: str, wordlike: bool = False, eponym: bool = False) -> tuple[str, str]:
    first, last = p.first(wordlike), p.last(eponym)
    if fmt == "first_last":
        b.phi("name", f"{first} {last}")
    elif fmt == "last_first":
        b.phi("name", f"{last}, {first}")
    elif fmt == "caps":
        b.phi("name", f"{first.upper()} {last.upper()}")
    elif fmt == "caps_last_first":
        b.phi("name", f"{last.upper()}, {first.upper()}")
    elif fmt == "initial":
        b.phi("name", f"{first} {p.r.choice(string.ascii_uppercase)}. {last}")
    return first, last


def header(b: Builder, p: Pools) -> tuple[str, str]:
    r = p.r
    style = r.choice(["plain", "caps", "lastfirst"])
    if style == "caps":
        b.add("PATIENT NAME: ")
        first, last = _name(b, p, "caps")
    elif style == "lastfirst":
        b.add("Name: ")
        first, last = _name(b, p, r.choice(["last_first", "caps_last_first"]))
    else:
        b.add("Patient: ")
        first, last = _name(b, p, r.choice(["first_last", "initial"]))
    b.add("\nDOB: ").phi("date", p.date(r.choice(["mdy", "mdy_short", "iso"])))
    b.add("    MRN: ").phi("medical_record_number", p.mrn())
    if r.random() < 0.5:
        b.add("\nAcct #: ").phi("account_number", p.digits(10))
    b.add("\nDate of service: ").phi("date", p.date(r.choice(["mdy", "long", "dmy_mon"])))
    b.add("\n")
    return first, last


def address_block(b: Builder, p: Pools, first: str, last: str) -> None:
    r = p.r
    b.add("Address: ").phi("street_address", p.street()).add(", ")
    if r.random() < 0.25:
        town, state, zip_code = r.choice(SMALL_TOWNS)
    else:
        town, state, zip_code = r.choice(CITIES)
    if r.random() < 0.2:
        zip_code = r.choice(RESTRICTED_ZIPS)
    b.phi("city", town).add(f", {state} ").phi("zip_code", zip_code)
    b.add("\nHome phone: ").phi("phone", p.phone())
    if r.random() < 0.5:
        b.add("   Cell: ").phi("phone", p.phone())
    if r.random() < 0.6:
        b.add("\nEmail: ").phi("email", p.email(first, last))
    b.add("\n")


def insurance_block(b: Builder, p: Pools) -> None:
    r = p.r
    if r.random() < 0.5:
        b.add("Insurance: Medicare. MBI: ").phi("health_plan_number", p.mbi())
    else:
        b.add("Insurance member ID: ").phi("health_plan_number", p.member())
        b.add(", group number ").phi("health_plan_number", f"G{p.digits(6)}")
    if r.random() < 0.4:
        b.add("\nSSN: ").phi("ssn", p.ssn())
    b.add("\n")


def hpi(b: Builder, p: Pools, first: str, last: str) -> None:
    r = p.r
    old = r.random() < 0.35
    b.add("\nHISTORY OF PRESENT ILLNESS:\n")
    title = r.choice(["Mr.", "Mrs.", "Ms."])
    b.add(f"{title} ").phi("name", last).add(" is a ")
    if old:
        b.phi("age", str(r.randint(90, 104)))
    else:
        b.add(str(r.randint(24, 88)))
    b.add(r.choice(["-year-old ", " year old ", " y/o "]))
    b.add(r.choice(["man", "woman", "retired teacher", "veteran"]))
    b.add(" who presented on ").phi("date", p.date(r.choice(["long", "mdy", "abbr"])))
    b.add(" with " + r.choice(["three days of dyspnea", "chest pain", "a fall at home", "confusion", "fever"]) + ". ")
    b.add(r.choice(DISTRACTORS) + " ")
    rel = r.choice(["wife", "husband", "daughter", "son", "sister", "neighbor"])
    b.add(f"History obtained from the patient and {('his' if r.random() < 0.5 else 'her')} {rel}, ")
    b.phi("name", p.first(wordlike=True))
    b.add(", who can be reached at ").phi("phone", p.phone()).add(". ")
    if r.random() < 0.5:
        b.add("Symptoms began on the ").phi("date", f"{r.randint(1, 28)}th").add(" and worsened. ")
    if r.random() < 0.5:
        b.add("Lives in ").phi("city", r.choice(CITIES)[0]).add(" with ")
        b.add(r.choice(["her partner ", "his daughter "])).phi("name", f"{p.first()} {p.last()}").add(". ")
    b.add(r.choice(DISTRACTORS) + "\n")


def signature(b: Builder, p: Pools) -> None:
    r = p.r
    style = r.choice(["esign", "dictated", "cred", "attending"])
    if style == "esign":
        b.add("\nElectronically signed by ").phi("name", f"{p.first()} {p.last(eponym=True)}")
        b.add(", MD on ").phi("date", p.date("mdy")).add(" at 14:32\n")
    elif style == "dictated":
        b.add("\nDictated by: ").phi("name", f"{p.first()} {p.last()}").add(", NP\nTranscribed: ")
        b.phi("date", p.date("mdy_short")).add("\n")
    elif style == "cred":
        b.add("\n")
        b.phi("name", f"{p.first()} {p.r.choice(string.ascii_uppercase)}. {p.last()}").add(", MD, FACP\n")
        b.add("NPI: ").phi("license_number", p.npi()).add("\n")
    else:
        b.add("\nAttending: Dr. ").phi("name", p.last(eponym=True)).add("\nResident: ")
        b.phi("name", f"{p.first()} {p.last()}").add(", MD\n")


def progress_note(b: Builder, p: Pools) -> None:
    first, last = header(b, p)
    b.add("\nCHIEF COMPLAINT: follow-up of heart failure.\n")
    hpi(b, p, first, last)
    b.add("\nPAST MEDICAL HISTORY:\n- " + p.r.choice(DISTRACTORS) + "\n- " + p.r.choice(DISTRACTORS) + "\n")
    b.add("\nPLAN:\nFollow up with Dr. ").phi("name", f"{p.first()} {p.last()}")
    b.add(" in cardiology clinic on ").phi("date", p.date(p.r.choice(["long_noyear", "mdy", "d_month_y"])))
    b.add(". Labs before the visit.\n")
    signature(b, p)


def discharge_summary(b: Builder, p: Pools) -> None:
    first, last = header(b, p)
    address_block(b, p, first, last)
    insurance_block(b, p)
    b.add("\nADMISSION DATE: ").phi("date", p.date("mdy")).add("\nDISCHARGE DATE: ").phi("date", p.date("mdy"))
    b.add("\n\nHOSPITAL COURSE:\n")
    b.add("The patient was admitted from the emergency department of ").phi("organization", p.r.choice(ORGS))
    b.add(". " + p.r.choice(DISTRACTORS) + " " + p.r.choice(DISTRACTORS) + "\n")
    b.add("Seen by ").phi("name", f"{p.first()} {p.last()}").add(" from physical therapy on ")
    b.phi("date", p.date("long_noyear")).add(".\n")
    if p.r.random() < 0.5:
        b.add("Pacemaker interrogated; device serial number: ").phi("device_identifier", f"PJN{p.digits(6)}")
        b.add(".\n")
    b.add("\nDISCHARGE INSTRUCTIONS: call ").phi("phone", p.phone()).add(" with questions; fax records to ")
    b.phi("fax", p.phone()).add(".\n")
    signature(b, p)


def letter(b: Builder, p: Pools) -> None:
    r = p.r
    b.phi("organization", r.choice(ORGS)).add("\n").phi("street_address", p.street()).add("\n")
    town, state, zip_code = r.choice(CITIES)
    b.phi("city", town).add(f", {state} ").phi("zip_code", zip_code).add("\n")
    b.add("Tel ").phi("phone", p.phone()).add("  Fax ").phi("fax", p.phone()).add("\n\n")
    b.phi("date", p.date("long")).add("\n\nDear Dr. ").phi("name", p.last(eponym=True)).add(",\n\n")
    b.add("Thank you for referring ").phi("name", f"{p.first(wordlike=True)} {p.last()}")
    b.add(" (DOB ").phi("date", p.date("mdy")).add("), whom I saw in clinic on ")
    b.phi("date", p.date("long_noyear")).add(". " + r.choice(DISTRACTORS) + " ")
    b.add(r.choice(DISTRACTORS) + " I have asked " + r.choice(["her", "him"]) + " to return in three months.\n\n")
    b.add("Sincerely,\n\n").phi("name", f"{p.first()} {p.last()}").add(", MD\nDivision of Endocrinology\n")
    b.add("cc: ").phi("name", f"{p.first()} {p.last()}").add(", NP\n")


def ed_note(b: Builder, p: Pools) -> None:
    r = p.r
    _first, _last = header(b, p)
    b.add("\nED NOTE\nPt is a ")
    if r.random() < 0.5:
        b.phi("age", str(r.randint(90, 101))).add(" yo ")
    else:
        b.add(f"{r.randint(18, 85)} yo ")
    b.add("brought in by EMS after a motor vehicle collision. Driver of a sedan, VIN ")
    b.phi("vehicle_identifier", p.vin()).add(", license plate ").phi("vehicle_identifier", p.plate()).add(".\n")
    b.add(r.choice(DISTRACTORS) + "\n")
    b.add("Police officer ").phi("name", f"{p.first()} {p.last()}").add(" (badge ")
    b.phi("other_identifier", p.digits(5)).add(") at bedside.\n")
    b.add("Wife ").phi("name", p.first(wordlike=True)).add(" called from ").phi("phone", p.phone()).add(".\n")
    b.add("Disposition: admit to medicine, Dr. ").phi("name", p.last()).add(" aware.\n")
    signature(b, p)


def portal_message(b: Builder, p: Pools) -> None:
    r = p.r
    first, last = p.first(), p.last()
    b.add("Patient portal message received ").phi("date", p.date("iso")).add(" 09:14 from IP ")
    b.phi("ip_address", p.ip()).add("\nFrom: ").phi("name", f"{first} {last}").add(" <")
    b.phi("email", p.email(first, last)).add(">\n\n")
    b.add("Hi Dr. ").phi("name", p.last()).add(", my blood sugars have been high since ")
    b.phi("date", p.date("long_noyear")).add(". My pharmacy is on ").phi("street_address", p.street())
    b.add(". You can call me at ").phi("phone", p.phone()).add(". Thanks, ").phi("name", first).add("\n\n")
    b.add("Reply: see the education page at ").phi(
        "url",
        f"https://portal.{''.join(c for c in last.lower() if c.isascii() and c.isalpha())[:6]}health.org/"
        f"pt/{p.digits(6)}",
    ).add(" and ")
    b.add("keep taking metformin 500 mg BID. " + r.choice(DISTRACTORS) + "\n")
    b.add("-- ").phi("name", f"{p.first()} {p.last()}").add(", RN\n")


def referral(b: Builder, p: Pools) -> None:
    r = p.r
    b.add("REFERRAL\nTo: ").phi("name", f"Dr. {p.first()} {p.last()}"[4:]).add(", Neurology\n")
    b.add("Re: ").phi("name", f"{p.last().upper()}, {p.first().upper()}").add("  DOB ").phi("date", p.date("mdy"))
    b.add("\nMedicaid ID: ").phi("health_plan_number", f"{r.choice(string.ascii_uppercase)}{p.digits(9)}")
    b.add("\nReferring provider: ").phi("name", f"{p.first()} {p.last()}").add(", DO   DEA# ")
    b.phi("license_number", p.dea()).add("   NPI ").phi("license_number", p.npi())
    b.add("\nReason: tremor. " + r.choice(DISTRACTORS) + " Differential includes Parkinson disease and essential ")
    b.add("tremor. Family history: mother with Huntington disease.\n")
    b.add("Patient lives in ").phi("city", r.choice(COUNTIES)).add(" and works as a bus driver.\n")
    b.add("Contact: ").phi("phone", p.phone()).add("\n")


def social_work(b: Builder, p: Pools) -> None:
    r = p.r
    _first, _last = header(b, p)
    b.add("\nSOCIAL WORK NOTE\nMet with patient and ")
    b.add(r.choice(["his wife ", "her husband ", "her daughter ", "his son "])).phi("name", p.first(wordlike=True))
    b.add(" at bedside. Patient was born in ").phi("city", r.choice(CITIES)[0]).add(" and moved to ")
    town = r.choice(SMALL_TOWNS)
    b.phi("city", town[0]).add(f", {town[1]} in 2010. ")
    b.add("Health care proxy: ").phi("name", f"{p.first()} {p.last()}").add(", ")
    b.phi("phone", p.phone()).add(". ")
    b.add("Home address ").phi("street_address", p.street()).add(". ")
    if r.random() < 0.5:
        b.add("Insulin pump serial ").phi("device_identifier", f"{r.choice(['NG', 'TX'])}{p.digits(7)}H").add(". ")
    b.add(r.choice(DISTRACTORS) + "\n")
    b.add("Spoke with ").phi("name", p.first()).add(" from the ").phi("organization", r.choice(ORGS))
    b.add(" billing office about account ").phi("account_number", p.digits(9)).add(".\n")
    signature(b, p)


def nursing_lowercase(b: Builder, p: Pools) -> None:
    r = p.r
    first, last = p.first(), p.r.choice(LAST_CENSUS)
    b.add("nursing note ").phi("date", p.date("mdy_short")).add(" 0300\n")
    b.add("pt ").phi("name", f"{first.lower()} {last.lower()}").add(" resting comfortably. ")
    b.add("vitals stable, bp 132/84. foley draining clear yellow urine. ")
    b.add("daughter ").phi("name", p.first().capitalize()).add(" at bedside, updated on plan. ")
    b.add("dr. ").phi("name", r.choice(LAST_CENSUS).lower()).add(" paged re: k 3.2, repleted per protocol.\n")
    b.add(r.choice(DISTRACTORS).lower() + "\n-- ").phi("name", f"{p.first()} {p.last()}").add(" RN\n")


# --- family B: written after the detector was tuned on family A ------------------------
# (different phrasing, name pools disjoint from family A, more capitalised distractors).
# First measurement, before any change for it: token recall 0.967, precision 0.895 (spurious
# organisations), 6 of 30 notes leaked. The detector was then adjusted; numbers since are tuned.
FIRST_B = [
    "Hiroshi",
    "Amara",
    "Quentin",
    "Marisol",
    "Tomasz",
    "Devontae",
    "Shawna",
    "Lakshmi",
    "Arjun",
    "Fenna",
    "Bronwyn",
    "Cormac",
    "Esperanza",
    "Yusuf",
    "Ingeborg",
    "Precious",
    "Rocco",
    "Tatiana",
    "Wendell",
    "Aroha",
    "Bao",
    "Ciaran",
    "Delphine",
    "Emeka",
    "Florentino",
    "Gwendolyn",
    "Horatio",
    "Ines",
]
LAST_B = [
    "Tanaka-Bell",
    "Osei",
    "Marchetti",
    "Wisniewski",
    "Raman",
    "de Vries",
    "Fairweather",
    "Ozturk",
    "Castellanos",
    "Mahlangu",
    "Lindgren",
    "Pellegrino",
    "Abubakar",
    "Yilmaz",
    "Kovacs",
    "MacLeod",
    "Nakamura",
    "Sorensen",
    "Ferreira",
    "Kaminski",
    "Banerjee",
    "Whitlock",
    "Ashworth",
    "Strand",
]
HEADINGS_B = [
    "ASSESSMENT AND PLAN",
    "Review of Systems",
    "Physical Examination",
    "Patient Education",
    "Follow Up",
    "Goals of Care",
    "Advance Care Planning",
    "Medication Reconciliation",
]
NEGATIVE_LINES_B = [
    "Discussed With Family At Bedside. Code Status: Full Code.",
    "General: Alert, Oriented, No Acute Distress. Heart: Regular Rate And Rhythm.",
    "Continue Eliquis 5 mg BID, Lipitor 40 mg nightly and Toprol XL 50 mg daily.",
    "Hodgkin disease in remission. Addisonian crisis precautions reviewed. Cushingoid features absent.",
    "Positive Murphy sign. Negative McBurney point tenderness. Kernig and Brudzinski negative.",
    "Grade II Baker cyst on the right knee. Dupuytren contracture of the left hand.",
    "Wilson disease screen negative. Graves ophthalmopathy stable. Bell palsy resolving.",
    "Swan-Ganz catheter removed. Foley to gravity. Jackson-Pratt drain pulled.",
    "Apgar scores 8 and 9. Tanner stage II. Growth along the 50th percentile.",
    "Heart Failure Clinic in 2 weeks; Anticoagulation Clinic to manage warfarin.",
]


def op_note(b: Builder, p: Pools) -> None:
    r = p.r
    b.add("OPERATIVE REPORT\nDate of Surgery: ").phi("date", p.date("d_month_y"))
    b.add("\nSurgeon: ").phi("name", f"{r.choice(FIRST_B)} {r.choice(LAST_B)}").add(", MD\nAssistant: Dr. ")
    b.phi("name", f"{r.choice(FIRST_B)} {r.choice(LAST_B)}").add("\nAnesthesia: general, by ")
    b.phi("name", f"{r.choice(FIRST_B)} {r.choice(LAST_B)}").add(", CRNA\n")
    b.add("PREOPERATIVE DIAGNOSIS: Crohn disease with ileal stricture.\nPROCEDURE: ileocecal resection.\n")
    b.add(r.choice(NEGATIVE_LINES_B) + "\nSpecimen #: ").phi("other_identifier", f"S{p.digits(2)}-{p.digits(5)}")
    b.add("\nImplant lot number: ").phi("device_identifier", f"LT{p.digits(4)}B").add("\n")
    b.add("The patient, a ")
    if r.random() < 0.5:
        b.phi("age", str(r.randint(90, 99)))
    else:
        b.add(str(r.randint(30, 89)))
    b.add("-year-old, tolerated the procedure well and went to PACU in stable condition.\n")


def phone_encounter(b: Builder, p: Pools) -> None:
    r = p.r
    b.add("Telephone Encounter\n").phi("date", p.date("mdy_short")).add(" 10:22\n")
    b.add("Called pt's daughter, ").phi("name", r.choice(FIRST_B)).add(", at ").phi("phone", p.phone())
    b.add(" regarding lab results. Left message. ")
    b.add("Pt's husband ").phi("name", f"{r.choice(FIRST_B)} {r.choice(LAST_B)}").add(" called back on the ")
    b.phi("date", f"{r.randint(1, 28)}th").add(". " + r.choice(NEGATIVE_LINES_B) + "\n")
    b.add("Routed to ").phi("name", f"{r.choice(FIRST_B)} {r.choice(LAST_B)}").add(", PA-C.\n")


def psych_note(b: Builder, p: Pools) -> None:
    r = p.r
    b.add(r.choice(HEADINGS_B) + "\n")
    b.add("Collateral from roommate (").phi("name", r.choice(FIRST_B)).add("), who reports the patient works in ")
    town = r.choice(CITIES)
    b.phi("city", town[0]).add(" and lives with girlfriend ").phi("name", r.choice(FIRST_B)).add(" at ")
    b.phi("street_address", p.street()).add(". " + r.choice(NEGATIVE_LINES_B) + "\n")
    b.add(r.choice(HEADINGS_B) + ": " + r.choice(NEGATIVE_LINES_B) + "\n")
    b.add("Plan discussed with Dr. ").phi("name", r.choice(LAST_B)).add(" and the team. Next visit ")
    b.phi("date", p.date("abbr")).add(".\n")


def peds_note(b: Builder, p: Pools) -> None:
    r = p.r
    last = r.choice(LAST_B)
    b.add("WELL CHILD VISIT\nMother: ").phi("name", f"{r.choice(FIRST_B)} {last}").add("   Father: ")
    b.phi("name", f"{r.choice(FIRST_B)} {last}").add("\nDOB: ").phi("date", p.date("mdy"))
    b.add("\n" + r.choice(NEGATIVE_LINES_B) + "\nAttends ").phi("organization", r.choice(ORGS))
    b.add(" after-school program. Guardian phone ").phi("phone", p.phone()).add(".\n")
    b.add(r.choice(NEGATIVE_LINES_B) + "\n")


def radiology(b: Builder, p: Pools) -> None:
    r = p.r
    b.add("EXAM: CT chest without contrast\nACCESSION: ").phi("other_identifier", f"RAD-{p.digits(4)}-{p.digits(2)}")
    b.add("\nCOMPARISON: ").phi("date", p.date("mdy_short")).add("\nFINDINGS: No pulmonary embolism. ")
    b.add(r.choice(NEGATIVE_LINES_B) + "\nIMPRESSION: No acute process.\n")
    b.add("Read by: ").phi("name", f"{r.choice(FIRST_B)} {r.choice(LAST_B)}").add(", MD  ")
    b.phi("date", p.date("iso")).add("\n")


def negatives_only(b: Builder, p: Pools) -> None:
    r = p.r
    for heading in r.sample(HEADINGS_B, 3):
        b.add(heading.upper() + ":\n" + r.choice(NEGATIVE_LINES_B) + " " + r.choice(DISTRACTORS) + "\n")
    b.add("Seen and examined. Agree with the resident's assessment and plan.\n")


TEMPLATES_B: list[Callable[[Builder, Pools], None]] = [
    op_note,
    phone_encounter,
    psych_note,
    peds_note,
    radiology,
    negatives_only,
]


# --- family C: harder cases, written after A and B were measured ----------------------
# First measurement: recall 0.646, precision 0.944, 21 of 21 notes leaked; adjusted since.
# Names with no cue, Unicode and apostrophes, nicknames, lists of relatives, ALL-CAPS
# narrative, months alone, day-month forms, names that are also places.
FIRST_C = [
    "José",
    "Zoë",
    "Björn",
    "Ñusta",
    "D'Angelo",
    "Siobhán",
    "Nguyễn",
    "Malik",
    "Austin",
    "Jackson",
    "Lincoln",
    "Savannah",
    "Dakota",
    "Chloé",
    "Renée",
    "Joaquín",
    "Aoife",
    "Søren",
    "Þóra",
    "Kenji",
]
LAST_C = [
    "Ñúñez",
    "D'Souza",
    "McAllister",
    "Müller",
    "Østergaard",
    "Nakashima",
    "Le",
    "Dupont-Moreau",
    "Fitzpatrick",
    "Sánchez",
    "Iwu",
    "Van Houten",
    "Acheampong",
    "Lindqvist",
    "O'Neil",
    "Zhou",
]


def narrative_c(b: Builder, p: Pools) -> None:
    r = p.r
    first, last = r.choice(FIRST_C), r.choice(LAST_C)
    b.phi("name", f"{first} {last}").add(" returns for follow-up of " + r.choice(["COPD", "CKD stage 3", "gout"]))
    b.add(". Since ").phi("date", r.choice(MONTHS[:4] + MONTHS[5:])).add(" ")
    b.phi("name", first).add(" has had " + r.choice(["more dyspnea", "two flares", "no falls"]) + ". ")
    nick = r.choice(["Bob", "Liz", "Bea", "Teddy"])
    b.add('Goes by "').phi("name", nick).add('". ')
    b.add("Family: sons ").phi("name", r.choice(FIRST_C)).add(", ").phi("name", r.choice(FIRST_C)).add(" and ")
    b.phi("name", r.choice(FIRST_C)).add(", all local. ")
    b.add("Next visit the ").phi("date", f"{r.randint(1, 28)}th of {r.choice(MONTHS)}").add(". ")
    b.add(r.choice(DISTRACTORS) + " " + r.choice(NEGATIVE_LINES_B) + "\n")
    b.add("Discussed with ").phi("name", f"{r.choice(FIRST_C)[0]}. {r.choice(LAST_C)}").add(" (pharmacy).\n")


def caps_c(b: Builder, p: Pools) -> None:
    r = p.r
    first, last = r.choice(FIRST_C).upper(), r.choice(LAST_C).upper()
    b.add("PROGRESS NOTE\n").phi("name", f"{first} {last}").add(" IS A ")
    b.add(f"{r.randint(40, 85)} YEAR OLD SEEN ON ").phi("date", p.date("mdy").upper()).add(". ")
    b.add("HIS DAUGHTER ").phi("name", r.choice(FIRST_C).upper()).add(" IS PRESENT. ")
    b.add(r.choice(DISTRACTORS).upper() + "\nFOLLOW UP WITH DR. ").phi("name", r.choice(LAST_C).upper())
    b.add(" IN ").phi("date", r.choice(MONTHS).upper()).add(".\n")


def list_c(b: Builder, p: Pools) -> None:
    r = p.r
    b.add("CARE TEAM\n")
    for role in r.sample(["Attending", "PCP", "Case manager", "Nurse", "Pharmacist", "Dietitian"], 4):
        b.add(f"- {role}: ").phi("name", f"{r.choice(FIRST_C)} {r.choice(LAST_C)}")
        if r.random() < 0.5:
            b.add(" (pager ").phi("phone", p.digits(3) + "-" + p.digits(4)).add(")")
        b.add("\n")
    b.add("Patient prefers to be called ").phi("name", r.choice(FIRST_C)).add(". ")
    b.add("Lives near ").phi("city", r.choice(CITIES)[0]).add("; daughter in ")
    b.phi("city", r.choice(SMALL_TOWNS)[0]).add(". " + r.choice(NEGATIVE_LINES_B) + "\n")


TEMPLATES_C: list[Callable[[Builder, Pools], None]] = [narrative_c, caps_c, list_c]


# --- family D: hard formats, written after the hand-written development notes were read -----
# Lower-case chat notes (relation words, "dr" without a period, lower-case signatures,
# possessives), two-letter surnames, surnames that are words, ALL-CAPS dictation with
# organisations, device and vehicle identifiers after many labels, phone formats (+1 with
# spaces, ", ext 12", "F:"), organisations of many kinds with later short mentions, towns after
# a street or an organisation. Name and organisation pools are new. First measurement (the
# detector already had the mechanisms these exercise, so it is not an untuned number) at
# TEMPLATES_D.
FIRST_D = [
    "Tobiah",
    "Marisela",
    "Oyelola",
    "Khanh",
    "Benedikt",
    "Yara",
    "Cosmin",
    "Leocadia",
    "Ruslan",
    "Ebony",
    "Thuy",
    "Anneliese",
    "Gustavo",
    "Wilhelmina",
    "Dmitri",
    "Shanice",
    "Evander",
    "Priscila",
    "Kofi",
    "Margit",
]
FIRST_D_WORDLIKE = ["Hunter", "River", "Summer", "Autumn", "Destiny", "Sterling", "Heath", "Marsh", "Ivy", "Skye"]
LAST_D = [
    "Wu",
    "Li",
    "Ng",
    "Ho",
    "Vu",
    "Okoye",
    "Brannigan",
    "Szabo",
    "Halvorsen",
    "Castellano",
    "Abara",
    "Oyelowo",
    "Lindholm",
    "Pasternak",
    "Whitcombe",
    "Ferrante",
    "Mwangi",
    "Tremblay",
    "Quintero",
    "Van der Berg",
]
LAST_D_WORDLIKE = ["Stone", "Frost", "Banks", "Summers", "Bird", "Fox", "Cross", "Wolf", "Snow", "Bright"]
ORG_STEMS_D = ["Quillmont", "Ashgrove", "Bramblewood", "Silverline", "Harrowgate", "Kestrel Point", "Fernhill"]
ORG_KINDS_D = [
    "Rheumatology Associates",
    "Home Health Services",
    "Family Dental",
    "Oral Surgery",
    "Funeral Home",
    "Learning Center",
    "Senior Living",
    "Eye Center",
    "Internal Medicine",
    "Behavioral Health",
    "Pharmacy",
]
EMPLOYERS_D = ["Ridgeline Logistics", "Copperfield Hardware", "Northbay Freight", "Tallis Manufacturing"]


def _d_first(r: random.Random, wordlike: bool = False) -> str:
    return r.choice(FIRST_D_WORDLIKE if wordlike and r.random() < 0.5 else FIRST_D)


def _d_last(r: random.Random, wordlike: bool = False) -> str:
    return r.choice(LAST_D_WORDLIKE if wordlike and r.random() < 0.5 else LAST_D)


def _d_org(r: random.Random) -> tuple[str, str]:
    stem = r.choice(ORG_STEMS_D)
    return stem, f"{stem} {r.choice(ORG_KINDS_D)}"


def lowercase_chat_d(b: Builder, p: Pools) -> None:
    r = p.r
    first, last = _d_first(r), _d_last(r, wordlike=True)
    b.add("nsg note ").phi("date", p.date("mdy_short")).add(" days\n")
    b.add("0800 pt ").phi("name", f"{first.lower()} {last.lower()}").add(" resting, pain 4/10. foley in place.\n")
    rel = r.choice(["wife", "husband", "daughter", "son", "sister", "brother"])
    b.add(f"1000 {rel} ").phi("name", _d_first(r).lower()).add(" called from ").phi("phone", p.phone())
    b.add(", asking about d/c. told her dr ").phi("name", _d_last(r, wordlike=True).lower())
    b.add(" will call back.\n1300 ambulated w/ pt ").phi("name", last.lower()).add("'s ")
    b.add(r.choice(["son", "daughter", "grandson"]) + " ").phi("name", _d_first(r).lower())
    b.add(". " + r.choice(DISTRACTORS).lower() + "\n-")
    b.phi("name", f"{r.choice(string.ascii_lowercase)}{r.choice(string.ascii_lowercase)} {_d_last(r).lower()}")
    b.add(" rn\n")


def caps_dictation_d(b: Builder, p: Pools) -> None:
    r = p.r
    first, last = _d_first(r), _d_last(r)
    _stem, org = _d_org(r)
    b.add("DISCHARGE DICTATION\nPATIENT: ").phi("name", f"{last.upper()}, {first.upper()}")
    b.add("   MRN: ").phi("medical_record_number", p.mrn()).add("\nADMITTED: ").phi("date", p.date("mdy").upper())
    b.add("\nATTENDING: ").phi("name", f"{_d_first(r).upper()} {_d_last(r, wordlike=True).upper()}").add(", M.D.\n")
    b.add("THE PATIENT IS A ")
    if r.random() < 0.5:
        b.phi("age", str(r.randint(90, 99)))
    else:
        b.add(str(r.randint(40, 88)))
    b.add("-YEAR-OLD WITH " + r.choice(["PARKINSON DISEASE", "GRAVES DISEASE", "HODGKIN LYMPHOMA", "CROHN DISEASE"]))
    b.add(" ADMITTED FROM ").phi("organization", org.upper()).add(". SEEN BY DR. ")
    b.phi("name", _d_last(r).upper()).add(" ON ").phi("date", p.date("long_noyear").upper()).add(".\n")
    b.add("DICTATED BY: ").phi("name", f"{_d_first(r).upper()} {_d_last(r).upper()}").add(", NP   JOB #: ")
    b.phi("other_identifier", p.digits(6)).add("\n")


def device_vehicle_d(b: Builder, p: Pools) -> None:
    r = p.r
    b.add("Patient: ").phi("name", f"{_d_first(r)} {_d_last(r)}").add("   MRN: ")
    b.phi("medical_record_number", p.mrn()).add("\n")
    label = r.choice(["ICD generator serial", "pacemaker SN", "insulin pump S/N", "CGM sensor serial", "lot #"])
    b.add(f"Device: {label} ").phi("device_identifier", f"{r.choice(['PX', 'MDT', 'G'])}{p.digits(6)}{r.choice('ABH')}")
    b.add("; remote transmitter ").phi("device_identifier", f"TR-{p.digits(2)}-{p.digits(5)}").add(".\n")
    b.add(r.choice(DISTRACTORS) + "\n")
    b.add("MVC: patient's car, license plate ").phi("vehicle_identifier", p.plate()).add(", VIN ")
    b.phi("vehicle_identifier", p.vin()).add(". Transferred by air, tail number ")
    b.phi("vehicle_identifier", f"N{r.randint(100, 999)}{r.choice(string.ascii_uppercase)}{r.choice('ABCDEFG')}")
    b.add(".\n")


def phones_d(b: Builder, p: Pools) -> None:
    r = p.r
    _stem, org = _d_org(r)
    a, c, d = r.randint(201, 989), r.randint(200, 989), r.randint(0, 9999)
    b.phi("organization", org).add("\nP: ").phi("phone", f"+1 {a} {c} {d:04d}").add("   F: ")
    b.phi("fax", f"{a}-{c}-{(d + 1) % 10000:04d}").add("\n")
    b.add("Patient: ").phi("name", f"{_d_first(r)} {_d_last(r)}").add("   DOB: ").phi("date", p.date("mdy")).add("\n")
    b.add("Call the office at ").phi("phone", f"{a}-{c}-{d:04d}, ext {r.randint(2, 99)}")
    b.add(" or fax the signed form to the front desk at ").phi("fax", p.phone()).add(".\n")
    b.add(r.choice(DISTRACTORS) + "\n")


def orgs_d(b: Builder, p: Pools) -> None:
    r = p.r
    stem, org = _d_org(r)
    b.add("SOCIAL HISTORY\nLives at ").phi("street_address", p.street()).add(" in ")
    b.phi("city", r.choice(SMALL_TOWNS)[0]).add(". Works at ").phi("organization", r.choice(EMPLOYERS_D))
    b.add(" as a driver. Grandson attends ").phi("organization", f"{r.choice(ORG_STEMS_D)} Elementary School")
    b.add(". Followed by ").phi("organization", org).add("; records from ").phi("organization", stem)
    b.add(" reviewed. Arrangements with ").phi("organization", f"{_d_last(r)} & Sons Funeral Home").add(", ")
    b.phi("city", r.choice(CITIES)[0]).add(".\n" + r.choice(NEGATIVE_LINES_B) + "\n")


def family_d(b: Builder, p: Pools) -> None:
    r = p.r
    last = _d_last(r, wordlike=True)
    child = _d_first(r, wordlike=True)
    b.add("GENETICS LETTER\nDear Mr. and Mrs. ").phi("name", last).add(",\n")
    b.add("Thank you for bringing ").phi("name", child).add(" to clinic. We recommend testing for ")
    b.phi("name", child).add(", her brother ").phi("name", _d_first(r)).add(", and her father, ")
    b.phi("name", f"{_d_first(r)} {last}").add(". " + r.choice(DISTRACTORS) + "\n")
    b.add("cc: ").phi("name", f"{_d_first(r)} {_d_last(r)}").add(", MD; PCP: Dr. ").phi("name", _d_last(r))
    b.add("\nWarm regards,\n").phi("name", f"{_d_first(r)} {_d_last(r)}").add(", MS, CGC\n")


# First measurement of family D (30 notes), before any change made for it: recall 0.986,
# precision 1.000, 3 of 30 notes leaked (a lower-case given name absent from every lexicon
# after "pt"; word-like given names with no cue, "bringing Summer to clinic"). Adjusted since.
TEMPLATES_D: list[Callable[[Builder, Pools], None]] = [
    lowercase_chat_d,
    caps_dictation_d,
    device_vehicle_d,
    phones_d,
    orgs_d,
    family_d,
]


TEMPLATES: list[Callable[[Builder, Pools], None]] = [
    progress_note,
    discharge_summary,
    letter,
    ed_note,
    portal_message,
    referral,
    social_work,
    nursing_lowercase,
]


def make(seed: int, count: int, count_b: int = 30, count_c: int = 0, count_d: int = 0) -> list[dict[str, Any]]:
    rng = random.Random(seed)  # noqa: S311 - reproducible synthetic data, not secrets
    pools = Pools(rng)
    notes: list[dict[str, Any]] = []
    for index in range(count + count_b + count_c + count_d):
        family = (
            "A"
            if index < count
            else "B"
            if index < count + count_b
            else "C"
            if index < count + count_b + count_c
            else "D"
        )
        templates = {"A": TEMPLATES, "B": TEMPLATES_B, "C": TEMPLATES_C, "D": TEMPLATES_D}[family]
        template = templates[index % len(templates)]
        b = Builder()
        template(b, pools)
        text = b.text()
        for span in b.spans:
            assert text[int(span["start"]) : int(span["end"])] == span["text"]  # type: ignore[call-overload]
        notes.append(
            {
                "id": f"phi-{index + 1:03d}",
                "family": family,
                "template": template.__name__,
                "text": text,
                "spans": b.spans,
            }
        )
    return notes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seed", type=int, default=20261129)
    parser.add_argument("--count", type=int, default=80, help="notes from template family A")
    parser.add_argument("--count-b", type=int, default=30, help="notes from family B")
    parser.add_argument("--count-c", type=int, default=21, help="notes from family C (hard cases)")
    parser.add_argument("--count-d", type=int, default=30, help="notes from family D (hard formats)")
    parser.add_argument("--out", type=Path, default=OUT_DIR / "notes.json")
    args = parser.parse_args(argv)
    notes = make(args.seed, args.count, args.count_b, args.count_c, args.count_d)
    payload = {
        "_doc": "Synthetic PHI golden set; generated by scripts/phi_make_golden.py (do not edit by hand). "
        "Spans are half-open code-point offsets; type is a PhiType value.",
        "seed": args.seed,
        "notes": notes,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(notes)} notes, {sum(len(n['spans']) for n in notes)} spans to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
