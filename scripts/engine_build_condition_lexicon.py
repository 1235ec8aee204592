"""Build engine/data/condition_lexicon.tsv: condition surface forms derived from ICD-10-CM.

    .venv/bin/python scripts/engine_build_condition_lexicon.py          # write
    .venv/bin/python scripts/engine_build_condition_lexicon.py --check  # exit 1 when stale

Source: the FY2026 ICD-10-CM code set in the PyPI package simple-icd-10-cm 1.5.0 (MIT; the code
set itself is a US government work, public domain), already a dependency of the service. For
every billable code, its description and inclusion terms are normalised to what a clinician
writes ("Pain, unspecified" and "Pain NOS" -> "pain"; "Aneurysm of unspecified site" ->
"aneurysm"; "Unspecified nystagmus" -> "nystagmus"): "unspecified", "NOS", "not elsewhere
classified", laterality and parentheses are dropped; descriptions that stay long, list
alternatives (commas, "and", "or"), qualify ("with", "without", "due to", encounters) or start
with "other" are left out, since notes never write them so. A surface several codes share goes
to the code whose own description was the unspecified one, else the shortest code.

Precision guards: a one-word surface that is an ordinary English word (SCOWL via
phi/data/english_words.txt) is kept only when it is on the clinical allow-list below
("pain", "mass", "vomiting"), and generic ICD words ("disorder", "condition", "injury",
"abnormality") never become conditions alone. The curated engine/data/conditions.json wins
every clash (its surfaces are left out here). A plural is added for the last word of short
surfaces ("masses", "lesions").

Output, sorted: surface TAB code TAB preferred name (the code's normalised description).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]
_DATA = _ROOT / "server" / "healthai_server" / "engine" / "data"
_ENGLISH = _ROOT / "server" / "healthai_server" / "phi" / "data" / "english_words.txt"
_TARGET = _DATA / "condition_lexicon.tsv"
_VERSION = "1.5.0"

_MAX_WORDS = 4
_PARENTHESIS = re.compile(r"\s*[(\[][^)\]]*[)\]]")
_CUT = re.compile(
    r",?\s*(?:initial|subsequent) encounter.*$|,?\s*sequela.*$"
    r"|,?\s*not elsewhere classified|\bnos\b|,\s*unspecified\b.*$"
)
_DROP_WORDS = frozenset(
    {"unspecified", "right", "left", "bilateral", "unilateral", "site", "nec"}
)  # fmt: skip
_NAME = re.compile(r"^[a-z][a-z0-9' -]*[a-z0-9]$")
_QUALIFIERS = re.compile(r"\b(?:with|without|due to|and|or|in|of unspecified|other|by|from|following|during|for)\b")
# One-word ICD surfaces that are English words but clinical findings as written in notes.
_ALLOW_ENGLISH = frozenset(
    {"pain", "mass", "lump", "vomiting", "nausea", "fever", "cough", "bleeding", "hemorrhage", "infection", "fracture",
     "tumor", "ulcer", "lesion", "swelling", "tenderness", "rash", "itching", "headache", "dizziness", "fatigue",
     "weakness", "constipation", "diarrhea", "insomnia", "obesity", "anxiety", "depression", "asthma", "cancer",
     "stroke", "seizure", "seizures", "convulsions", "wheezing", "hoarseness", "jaundice", "anemia", "gout",
     "fainting", "syncope", "malaise", "cramp", "cramps", "spasm", "tremor", "stiffness", "numbness", "tingling",
     "bruising", "sprain", "strain", "burn", "abscess", "cyst", "polyp", "hernia", "goiter", "cataract", "glaucoma",
     "stutter", "stuttering", "dehydration", "malnutrition", "delirium", "dementia", "psychosis", "hallucinations",
     "vertigo", "palpitations", "murmur", "edema", "ascites", "aneurysm", "embolism", "thrombosis", "paralysis",
     "deformity", "drowsiness", "somnolence", "stupor", "coma", "shock", "sepsis", "hiccups", "heartburn", "acne",
     "eczema", "wart", "warts", "hives", "blisters", "sunburn", "frostbite", "rabies", "measles", "mumps",
     "influenza", "pneumonia", "bronchitis", "tuberculosis", "malaria", "cholera", "leprosy", "syphilis",
     "gonorrhea", "herpes", "shingles", "scabies", "lice", "worms", "alcoholism", "agitation", "irritability",
     "restlessness", "falls", "incontinence", "frequency", "urgency", "dysuria", "hematuria", "polyuria",
     "oliguria", "anuria", "nocturia", "impotence", "infertility", "miscarriage", "clubbing", "cachexia",
     "hypothermia", "hyperthermia", "chills", "sweating", "flushing", "pallor", "cyanosis", "petechiae"}
)  # fmt: skip
_GENERIC = frozenset(
    {"disease", "diseases", "disorder", "disorders", "condition", "conditions", "injury", "injuries", "problem",
     "problems", "abnormality", "abnormalities", "anomaly", "complication", "complications", "failure",
     "dysfunction", "effect", "effects", "poisoning", "use", "abuse", "dependence", "contact", "exposure",
     "examination", "encounter", "history", "status", "presence", "absence", "observation", "screening",
     "counseling", "care", "finding", "findings", "symptom", "symptoms", "sign", "signs", "change", "changes",
     "syndrome", "illness", "death", "birth", "pregnancy", "delivery", "infant", "newborn", "person", "persons",
     "other", "unknown", "underdosing", "adverse", "toxic", "assault", "accident", "fall", "struck", "activity",
     "place", "occupant", "driver", "passenger", "pedestrian", "hazard", "type", "stage", "degree", "part",
     "region", "site", "body", "procedure", "surgery", "transplant", "device", "implant", "graft", "carrier",
     "allergy", "intolerance", "deficiency", "excess", "overweight", "underweight", "low", "high", "elevated",
     "decreased", "increased", "dependent", "resistance", "sensitivity", "reaction", "foreign", "retained",
     "wound", "bite", "sting", "blister", "contusion", "abrasion", "laceration", "puncture", "crush",
     "dislocation", "subluxation", "loss", "fear", "anger", "crying", "sadness", "worry", "stress", "grief",
     "hostility", "violence", "neglect", "noncompliance", "malingering", "vaccination", "test",
     "tests", "suspected", "threatened", "insufficiency", "obstruction", "stenosis", "hypertrophy", "atrophy",
     "collapse", "rupture", "perforation", "necrosis", "inflammation", "discharge", "drainage", "pressure"}
)  # fmt: skip


def normalise(description: str) -> str:
    text = _PARENTHESIS.sub("", description.lower())
    text = _CUT.sub("", text)
    text = text.replace("-", " - ").replace(",", " , ")
    words = [w for w in text.split() if w not in _DROP_WORDS]
    # "pain in knee" stays; a dangling "of"/"in" left by a dropped laterality goes
    while words and words[-1] in ("of", "in", "on", "the", ",", "-"):
        words.pop()
    return " ".join(words).replace(" - ", "-").replace(" ,", ",").strip(" ,")


def usable(surface: str, english: frozenset[str]) -> bool:
    words = surface.split()
    if not words or len(words) > _MAX_WORDS or not _NAME.match(surface) or "," in surface:
        return False
    if _QUALIFIERS.search(surface) and not re.fullmatch(r"[a-z]+ (?:of|in) [a-z]+", surface):
        return False  # "pain in knee", "clubbing of fingers" keep; "x with y", "x and y" do not
    if len(words) == 1:
        word = words[0]
        if word in _GENERIC or len(word) < 4:
            return False
        if word in english and word not in _ALLOW_ENGLISH:
            return False
    return not all(w in _GENERIC or w in ("of", "in") for w in words)


def _plural(surface: str) -> str | None:
    words = surface.split()
    last = words[-1]
    if len(words) > 2 or " of " in surface or " in " in surface or not last.isalpha() or len(last) < 4:
        return None
    if last.endswith(("s", "x", "ia", "is", "um", "us", "y", "ing", "ism", "ness", "itis", "osis", "emia")):
        return None  # Latin, abstract or already plural forms: no naive plural
    return " ".join([*words[:-1], last + "es" if last.endswith(("ch", "sh")) else last + "s"])


def build(english: frozenset[str], curated: frozenset[str]) -> list[tuple[str, str, str]]:
    import simple_icd_10_cm as icd  # imported here: it costs 3 s, and only the build needs it

    claims: dict[str, list[tuple[int, int, str]]] = {}
    names: dict[str, str] = {}
    for code in icd.get_all_codes(with_dots=True):
        if not icd.is_leaf(code) or code[0] in "VWXYZ":  # external causes and encounters are not conditions
            continue
        description = icd.get_description(code)
        names[code] = normalise(description)
        generic = 0 if "unspecified" in description.lower() or "NOS" in description else 1
        for text in [description, *icd.get_inclusion_term(code)]:
            surface = normalise(text)
            if surface in curated or not usable(surface, english):
                continue
            rank = 0 if (text == description and generic == 0) or " NOS" in text else 1
            claims.setdefault(surface, []).append((rank, len(code), code))
            plural = _plural(surface)
            if plural is not None and plural not in curated:
                claims.setdefault(plural, []).append((rank, len(code), code))
    out = []
    for surface, candidates in claims.items():
        _, _, code = min(candidates)
        name = names[code] if usable(names[code], english) else surface
        out.append((surface, code, name))
    return sorted(out)


def _curated() -> frozenset[str]:
    entries = json.loads((_DATA / "conditions.json").read_text("utf-8"))["entries"]
    surfaces = {str(s).lstrip("=").lower() for entry in entries for s in entry["s"]}
    drugs = json.loads((_DATA / "drugs.json").read_text("utf-8"))["entries"]
    surfaces |= {str(s).lstrip("=").lower() for entry in drugs for s in [entry["g"], *entry.get("s", [])]}
    return frozenset(surfaces)


def render(rows: list[tuple[str, str, str]]) -> str:
    header = [
        "# Condition surface forms derived from ICD-10-CM. Generated by scripts/engine_build_condition_lexicon.py;",
        f"# do not edit. Source: FY2026 ICD-10-CM in PyPI simple-icd-10-cm {_VERSION} (MIT; code set public domain).",
        "# Curated engine/data/conditions.json wins every clash. Columns: surface<TAB>code<TAB>preferred name",
    ]
    return "\n".join(header + [f"{s}\t{c}\t{n}" for s, c, n in rows]) + "\n"


def main() -> int:
    english = frozenset(
        line.strip() for line in _ENGLISH.read_text("utf-8").splitlines() if line and not line.startswith("#")
    )
    text = render(build(english, _curated()))
    if "--check" in sys.argv[1:]:
        fresh = _TARGET.exists() and _TARGET.read_text("utf-8") == text
        print("fresh" if fresh else f"stale: rerun {Path(__file__).name}", file=sys.stderr)
        return 0 if fresh else 1
    _TARGET.write_text(text, encoding="utf-8")
    print(f"{text.count(chr(10)) - 3} surfaces -> {_TARGET}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
