"""Build engine/data/drug_lexicon.tsv: the breadth of the drug lexicon, from a maintained source.

    bash scripts/engine_bench_venv.sh                      # .venv-bench (git-ignored)
    .venv-bench/bin/pip install drug-named-entity-recognition==2.0.9
    .venv-bench/bin/python scripts/engine_build_drug_lexicon.py

Source: the dictionary inside the PyPI package drug-named-entity-recognition 2.0.9 (Fast Data
Science; code MIT). Its data come from DrugBank open data (CC0), MeSH and MedlinePlus (NLM,
public domain) and Wikipedia (CC BY-SA 3.0): the artefact keeps names and DrugBank ids only,
and says so in its header. The package is never imported by the engine (it weighs ~370 MB);
this script reads its pickled dictionary directly, so nothing of the package runs.

What is kept (the engine's curated engine/data/drugs.json stays first and wins every clash):
- ingredients a clinician may write: records with a MedlinePlus, NHS or Wikipedia page, or
  with both a DrugBank and a MeSH id (research compounds with a DrugBank id only are left out);
- names: the record's name and its variants (brands, salts, international spellings), minus
  chemical names, names of fewer than 4 letters, names with more than 4 words, names that are
  ordinary English words (SCOWL, phi/data/english_words.txt: "iron", "sone", "valve"), names
  of conditions or allergens of the engine's lexicons, and names shared by two records;
- combination records ("abacavir, dolutegravir, and lamivudine") become hyphenated generics
  ("abacavir-dolutegravir-lamivudine"), the engine's convention;
- a record whose generic the curated lexicon already has is kept for its other names (brands
  such as Cutivate for fluticasone): the engine adds them to the curated entry.

Output, one ingredient a line, sorted: generic TAB drugbank id (or "") TAB names joined by "|".
`--check` rebuilds in memory and exits 1 when the committed file differs (stale).
"""

from __future__ import annotations

import bz2
import importlib.util
import json
import pickle  # the pinned package's own data file, read at build time only
import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

_ROOT = Path(__file__).resolve().parents[1]
_DATA = _ROOT / "server" / "healthai_server" / "engine" / "data"
_ENGLISH = _ROOT / "server" / "healthai_server" / "phi" / "data" / "english_words.txt"
_TARGET = _DATA / "drug_lexicon.tsv"
_PACKAGE = "drug_named_entity_recognition"
_VERSION = "2.0.9"

_NAME = re.compile(r"^[a-z][a-z0-9'/ -]*[a-z0-9]$")
_DRUGBANK = re.compile(r"^DB\d{5}$")
_COMBINATION = re.compile(r",\s*(?:and\s+)?|\s+and\s+|/")
_PARENTHESIS = re.compile(r"\s*\([^)]*\)")
# Words that make a name a product description, a class or a chemical, not a drug as written.
_NOT_IN_NAMES = frozenset(
    {"acid,", "kit", "vaccine", "test", "extract", "allergenic", "pollen", "product", "products", "compounds",
     "derivatives", "agents", "agent", "drugs", "inhibitors", "antagonists", "agonists", "blockers", "softeners",
     "supplements", "mixture", "preparations", "solution", "injection", "tablets", "tablet", "capsules",
     "recombinant", "human", "bovine", "porcine", "unspecified", "other", "injections", "drops", "scan", "imaging"}
)  # fmt: skip
# Names that are clinical words in notes, not drugs, whatever the source says.
_STOP = frozenset(
    {"contrast", "saline", "normal saline", "oxygen", "air", "water", "glucose", "dextrose", "blood", "plasma",
     "platelets", "albumin", "insulin", "sodium", "potassium", "calcium", "magnesium", "chloride", "phosphate",
     "lactate", "creatinine", "urea", "iron", "zinc", "copper", "alcohol", "ethanol", "nicotine", "caffeine",
     "cocaine", "heroin", "marijuana", "cannabis", "tobacco", "sugar", "salt", "fiber", "protein", "vitamin",
     "vitamins", "estrogen", "testosterone", "cortisol", "thyroid", "histamine", "dopamine", "serotonin",
     "bicarbonate", "lactated ringers", "ringers", "gas", "nitrogen", "carbon dioxide", "helium", "ice",
     "barium", "iodine", "gold", "silver", "lead", "mercury", "cholesterol", "triglycerides", "bilirubin",
     "hemoglobin", "collagen", "gelatin", "cellulose", "starch", "lipids", "fat", "amino acids", "electrolytes",
     "adrenaline", "epi", "pitocin", "ace", "arb", "ppi", "ssri", "statin", "beta blocker", "cast", "tape",
     "gauze", "mesh", "suture", "sutures", "staples", "cement", "wax", "soap", "chlorine", "ammonia", "urine",
     "thyroglobulin", "alkaline phosphatase", "uric acid", "lactic acid", "titanium", "melan-a", "aica", "edta",
     "fluoride", "beta-2", "hormone replacement therapy", "troponin", "ferritin", "transferrin", "amylase",
     "lipase", "renin", "aldosterone", "prolactin", "insulin-like growth factor", "c-peptide", "homocysteine",
     "folate", "lactate dehydrogenase", "creatine", "creatine kinase", "ceruloplasmin", "haptoglobin",
     "fibrinogen", "thrombin", "antithrombin", "d-dimer", "procalcitonin", "calcitonin", "gastrin", "cortisone",
     "growth hormone", "parathyroid hormone", "thyrotropin", "thyroxine", "triiodothyronine", "immunoglobulin",
     "hyaluronic acid", "citrate", "acetate", "sulfate", "nitrate", "graft", "ethylene glycol", "methanol",
     "carbon monoxide", "asbestos", "silica", "radon", "lead acetate", "peroxide", "bleach", "melan a", "mart1"}
)  # fmt: skip


def _generic(canonical: str) -> str:
    name = _PARENTHESIS.sub("", canonical.lower()).strip()
    parts = [part.strip() for part in _COMBINATION.split(name) if part.strip()]
    return "-".join(parts) if len(parts) > 1 else name


def _usable(name: str, english: frozenset[str], blocked: frozenset[str]) -> bool:
    words = name.split()
    if not _NAME.match(name) or len(words) > 4 or name in _STOP or name in blocked:
        return False
    if len(name.replace(" ", "")) < 4 or name[0].isdigit():
        return False
    if any(c.isdigit() for c in name) and any(len(w) < 4 for w in re.split(r"[^a-z]+", name) if w):
        return False  # "at 10", "b-12 x" : short words beside numbers are dosing text, not names
    if any(word in _NOT_IN_NAMES for word in words):
        return False
    return not (len(words) == 1 and name in english)


def _notable(record: dict[str, Any]) -> bool:
    if any(record.get(key) for key in ("medline_plus_id", "nhs_url", "wikipedia_url")):
        return True
    return bool(record.get("drugbank_id")) and bool(record.get("mesh_id"))


def build(
    dictionary: dict[str, Any], english: frozenset[str], curated: frozenset[str], blocked: frozenset[str]
) -> list[tuple[str, str, list[str]]]:
    """[(generic, drugbank id or "", names)], sorted; `curated`: names the curated lexicon owns."""
    to_canonical: dict[str, list[str]] = dictionary["drug_variant_to_canonical"]
    records: dict[str, dict[str, Any]] = dictionary["drug_canonical_to_data"]
    names: dict[str, set[str]] = defaultdict(set)
    for variant, canonicals in to_canonical.items():
        if len(canonicals) == 1 and canonicals[0] in records:
            names[canonicals[0]].add(variant)
    owner: dict[str, set[str]] = defaultdict(set)  # name -> generics claiming it
    entries: dict[str, tuple[str, set[str]]] = {}
    for canonical, record in records.items():
        if not _notable(record):
            continue
        generic = _generic(canonical)
        if not _NAME.match(generic) or generic in _STOP:
            continue
        if any(word in _NOT_IN_NAMES for word in generic.split()):
            continue
        variants = {_PARENTHESIS.sub("", v.lower()).strip() for v in names[canonical] | {canonical}}
        variants.add(generic)
        if "-" in generic:
            variants.add(generic.replace("-", "/"))
        kept = {v for v in variants if v not in curated and _usable(v, english, blocked)}
        drugbank = str(record.get("drugbank_id") or "")
        previous = entries.get(generic)
        if previous is not None:
            kept |= previous[1]
            drugbank = drugbank or previous[0]
        entries[generic] = (drugbank if _DRUGBANK.match(drugbank) else "", kept)
        for name in kept:
            owner[name].add(generic)
    out: list[tuple[str, str, list[str]]] = []
    for generic, (drugbank, kept) in sorted(entries.items()):
        unique = sorted(name for name in kept if len(owner[name]) == 1)
        if unique:
            out.append((generic, drugbank, unique))
    return out


def _curated_names() -> frozenset[str]:
    entries = json.loads((_DATA / "drugs.json").read_text("utf-8"))["entries"]
    names = set()
    for entry in entries:
        for name in [entry["g"], *entry.get("s", [])]:
            names.add(str(name).lstrip("=").lower())
    return frozenset(names)


def _blocked_names() -> frozenset[str]:
    """Condition and non-drug allergen names: a drug name that is one of them is not kept."""
    blocked: set[str] = set()
    for entry in json.loads((_DATA / "conditions.json").read_text("utf-8"))["entries"]:
        blocked.update(str(s).lstrip("=").lower() for s in entry["s"])
    for entry in json.loads((_DATA / "allergens.json").read_text("utf-8"))["entries"]:
        blocked.update(str(s).lower() for s in entry["s"])
    return frozenset(blocked)


def render(entries: list[tuple[str, str, list[str]]]) -> str:
    header = [
        "# Drug lexicon breadth for the local engine. Generated by scripts/engine_build_drug_lexicon.py; do not edit.",
        f"# Source: PyPI drug-named-entity-recognition {_VERSION} (code MIT, Fast Data Science), whose dictionary",
        "# holds DrugBank open data (CC0), MeSH and MedlinePlus names (NLM, public domain) and Wikipedia names",
        "# (CC BY-SA 3.0). Names and DrugBank ids only. Curated engine/data/drugs.json wins every clash.",
        "# Columns: generic<TAB>drugbank id<TAB>names separated by |",
    ]
    lines = [f"{generic}\t{drugbank}\t{'|'.join(names)}" for generic, drugbank, names in entries]
    return "\n".join(header + lines) + "\n"


def _load_dictionary() -> dict[str, Any]:
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"install {_PACKAGE}=={_VERSION} first (see this script's docstring)")
    path = Path(next(iter(spec.submodule_search_locations))) / "drug_ner_dictionary.pkl.bz2"
    with bz2.open(path) as handle:
        data: dict[str, Any] = pickle.load(handle)  # noqa: S301 - the pinned package's own data
    return data


def main() -> int:
    english = frozenset(
        line.strip() for line in _ENGLISH.read_text("utf-8").splitlines() if line and not line.startswith("#")
    )
    entries = build(_load_dictionary(), english, _curated_names(), _blocked_names())
    text = render(entries)
    if "--check" in sys.argv[1:]:
        fresh = _TARGET.exists() and _TARGET.read_text("utf-8") == text
        print("fresh" if fresh else f"stale: rerun {Path(__file__).name}", file=sys.stderr)
        return 0 if fresh else 1
    _TARGET.write_text(text, encoding="utf-8")
    names = sum(len(n) for _, _, n in entries)
    print(f"{len(entries)} ingredients, {names} names -> {_TARGET}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
