"""Rules and lexicons as data: loaded from engine/data/*.json, validated, never edited in code."""

from __future__ import annotations

import json
from collections.abc import Container, Iterable
from dataclasses import dataclass
from importlib import resources
from typing import Any

from healthai_server.domain.clinical import DRUGBANK_SYSTEM, MESH_SYSTEM, AllergyCategory, NoteSection, VitalKind


class RuleDataError(ValueError):
    """A data file is malformed; the message names the file and entry, never note text."""


def load_json(name: str) -> dict[str, Any]:
    data = json.loads(resources.files("healthai_server.engine").joinpath("data", name).read_text("utf-8"))
    if not isinstance(data, dict):
        raise RuleDataError(f"{name}: top level must be an object")
    return data


@dataclass(frozen=True, slots=True)
class ConditionConcept:
    name: str
    code: str
    symptom: bool
    chronic: bool


@dataclass(frozen=True, slots=True)
class DrugConcept:
    generic: str
    classes: frozenset[str]
    ids: tuple[tuple[str, str], ...]  # (system, code)


@dataclass(frozen=True, slots=True)
class AllergenConcept:
    substance: str
    category: AllergyCategory
    classes: frozenset[str]
    drug: DrugConcept | None = None


@dataclass(frozen=True, slots=True)
class AgeBand:
    """Paediatric bounds for ages below `below_age_years` (and at or above the previous band's)."""

    below_age_years: float
    critical_low: float | None
    low: float | None
    high: float | None
    critical_high: float | None


@dataclass(frozen=True, slots=True)
class VitalDefinition:
    kind: VitalKind
    loinc: str
    display: str
    units: dict[str, tuple[float, float]]  # UCUM unit -> (scale, shift) to the canonical unit (the first)
    implausible_low: float
    implausible_high: float
    critical_low: float | None
    low: float | None
    high: float | None
    critical_high: float | None
    interpret: bool
    paediatric: tuple[AgeBand, ...] = ()

    @property
    def unit(self) -> str:
        """The canonical unit."""
        return next(iter(self.units))


def load_conditions() -> list[tuple[str, ConditionConcept]]:
    """Curated names, ICD-10-CM derived names, and adjectives derived from one-word names."""
    phrases = _base_conditions()
    phrases.extend(_derived_adjectives(phrases, load_json("conditions.json").get("derived_adjectives", {})))
    return phrases


def _base_conditions() -> list[tuple[str, ConditionConcept]]:
    data = load_json("conditions.json")
    phrases: list[tuple[str, ConditionConcept]] = []
    for index, entry in enumerate(data["entries"]):
        try:
            concept = ConditionConcept(
                name=str(entry["n"]), code=str(entry["c"]), symptom=entry["k"] == "sx", chronic=bool(entry.get("ch"))
            )
            surfaces = [str(s) for s in entry["s"]]
        except (KeyError, TypeError) as exc:
            raise RuleDataError(f"conditions.json entry {index}: {exc!r}") from exc
        phrases.extend((surface, concept) for surface in surfaces)
    phrases.extend(_load_condition_lexicon({surface.lstrip("=").lower() for surface, _ in phrases}))
    return phrases


def _derived_adjectives(
    phrases: list[tuple[str, ConditionConcept]], rules: dict[str, Any]
) -> list[tuple[str, ConditionConcept]]:
    """Adjectives of one-word names ("somnolence" -> "somnolent", "edema" -> "edematous") with
    the noun's concept: notes write many findings as adjectives. Rules in conditions.json."""
    endings = [(str(noun), str(adjective)) for noun, adjective in rules.get("endings", [])]
    never = {str(word).lower() for word in rules.get("never", [])}
    taken = {surface.lstrip("=").lower() for surface, _ in phrases}
    out: dict[str, ConditionConcept] = {}
    for surface, concept in phrases:
        if surface.startswith("=") or " " in surface or "-" in surface:
            continue
        word = surface.lower()
        for noun, adjective in endings:
            if word.endswith(noun) and len(word) - len(noun) >= 2:
                derived = word[: len(word) - len(noun)] + adjective
                if derived not in taken and derived not in never and derived not in out:
                    out[derived] = concept
                break
    return sorted(out.items())


def derived_adjectives(phrases: list[tuple[str, ConditionConcept]]) -> set[str]:
    """The one-word surfaces of load_conditions() that are adjectives derived from another with the
    same concept (guarded after "non-"; never typo targets: they are no names to correct to)."""
    rules = load_json("conditions.json").get("derived_adjectives", {})
    endings = [(str(noun), str(adjective)) for noun, adjective in rules.get("endings", [])]
    concept_of = {surface.lower(): concept for surface, concept in phrases if " " not in surface}
    found: set[str] = set()
    for word, concept in concept_of.items():
        for noun, adjective in endings:
            if word.endswith(noun) and len(word) - len(noun) >= 2:
                derived = word[: len(word) - len(noun)] + adjective
                if concept_of.get(derived) is concept:
                    found.add(derived)
                break
    return found


def _load_condition_lexicon(taken: set[str]) -> list[tuple[str, ConditionConcept]]:
    """Surface forms derived from ICD-10-CM: condition_lexicon.tsv (built by
    scripts/engine_build_condition_lexicon.py); curated surfaces in `taken` win. One concept per
    code; R codes (symptoms and signs) are symptoms. Empty when the file is absent."""
    try:
        text = resources.files("healthai_server.engine").joinpath("data", "condition_lexicon.tsv").read_text("utf-8")
    except FileNotFoundError:
        return []
    concepts: dict[str, ConditionConcept] = {}
    phrases: list[tuple[str, ConditionConcept]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != 3 or not all(fields):
            raise RuleDataError(f"condition_lexicon.tsv line {number}: expected surface, code, name")
        surface, code, name = fields
        if surface in taken:
            continue
        concept = concepts.get(code)
        if concept is None:
            concept = concepts[code] = ConditionConcept(name=name, code=code, symptom=code[0] == "R", chronic=False)
        phrases.append((surface, concept))
    return phrases


def load_drug_guards() -> dict[str, tuple[frozenset[str], frozenset[str]]]:
    """{one-word drug surface: (words before it, words after it) that make it no medication}
    ("oxygen saturation", "O2 94%"; "#" stands for any number), from drugs.json."""
    return _parse_guards("drugs.json", load_json("drugs.json").get("guards", {}))


def _parse_guards(name: str, raw: dict[str, Any]) -> dict[str, tuple[frozenset[str], frozenset[str]]]:
    out: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
    for surface, entry in raw.items():
        try:
            out[str(surface).lower()] = (
                frozenset(str(w).lower() for w in entry.get("before", [])),
                frozenset(str(w).lower() for w in entry.get("after", [])),
            )
        except AttributeError as exc:
            raise RuleDataError(f"{name} guards {surface!r}: {exc!r}") from exc
    return out


def load_condition_guards(adjectives: Iterable[str] | None = None) -> dict[str, tuple[frozenset[str], frozenset[str]]]:
    """{one-word surface: (words before it, words after it) that make it no condition}; a derived
    adjective is none after its not_after words ("non-tender"). `adjectives`:
    derived_adjectives(load_conditions()), when the caller has it."""
    data = load_json("conditions.json")
    rules = data.get("derived_adjectives", {})
    not_after = frozenset(str(w).lower() for w in rules.get("not_after", []))
    out: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
    if not_after:
        for surface in adjectives if adjectives is not None else derived_adjectives(load_conditions()):
            out[surface] = (not_after, frozenset())
    out.update(_parse_guards("conditions.json", data.get("guards", {})))
    return out


_DRUG_ID_SYSTEMS = {"drugbank": DRUGBANK_SYSTEM, "mesh": MESH_SYSTEM}


def load_drug_ids() -> dict[str, list[tuple[str, str]]]:
    """{generic: [(system, code)]} from drug_ids.json (built by scripts/engine_build_drug_ids.py);
    empty when the file is absent."""
    try:
        data = load_json("drug_ids.json")
    except FileNotFoundError:
        return {}
    ids: dict[str, list[tuple[str, str]]] = {}
    for generic, codes in data.items():
        if not isinstance(codes, dict):
            raise RuleDataError(f"drug_ids.json: {generic!r} must map to an object")
        try:
            ids[str(generic)] = [(_DRUG_ID_SYSTEMS[str(key)], str(code)) for key, code in sorted(codes.items())]
        except KeyError as exc:
            raise RuleDataError(f"drug_ids.json: {generic!r} has an unknown id system {exc}") from exc
    return ids


def load_drugs() -> tuple[list[tuple[str, DrugConcept]], dict[str, DrugConcept]]:
    data = load_json("drugs.json")
    ids = load_drug_ids()
    phrases: list[tuple[str, DrugConcept]] = []
    by_generic: dict[str, DrugConcept] = {}
    for index, entry in enumerate(data["entries"]):
        try:
            generic = str(entry["g"])
            concept = DrugConcept(generic, frozenset(entry.get("cl", [])), tuple(ids.get(generic, ())))
            surfaces = [generic, *[str(s) for s in entry.get("s", [])]]
        except (KeyError, TypeError) as exc:
            raise RuleDataError(f"drugs.json entry {index}: {exc!r}") from exc
        if generic in by_generic:
            raise RuleDataError(f"drugs.json entry {index}: duplicate generic")
        by_generic[generic] = concept
        phrases.extend((surface, concept) for surface in surfaces)
    phrases.extend(_load_drug_lexicon(by_generic, {surface.lstrip("=").lower() for surface, _ in phrases}))
    return _combination_names(phrases, by_generic)


def combination_name(generic: str, known: Container[str]) -> str:
    """A combination product's name with its ingredients joined by "/" (ANNOTATION.md, RxNorm style:
    Vicodin -> "hydrocodone/acetaminophen"). The sources join them with "-", as do single substances
    ("povidone-iodine", "omega-3 fatty acids"): a name is a combination only when every part is
    itself a known drug."""
    if "-" not in generic:
        return generic
    parts = [part.strip() for part in generic.split("-")]
    if len(parts) > 1 and all(part in known for part in parts):
        return "/".join(parts)
    return generic


def _combination_names(
    phrases: list[tuple[str, DrugConcept]], by_generic: dict[str, DrugConcept]
) -> tuple[list[tuple[str, DrugConcept]], dict[str, DrugConcept]]:
    known = set(by_generic) | {surface.lstrip("=").lower() for surface, _ in phrases}
    renamed: dict[str, DrugConcept] = {}
    for generic, concept in by_generic.items():
        name = combination_name(generic, known)
        renamed[generic] = concept if name == generic else DrugConcept(name, concept.classes, concept.ids)
    phrases = [(surface, renamed[concept.generic]) for surface, concept in phrases]
    return phrases, {concept.generic: concept for concept in renamed.values()}


def _load_drug_lexicon(by_generic: dict[str, DrugConcept], taken: set[str]) -> list[tuple[str, DrugConcept]]:
    """The breadth of the lexicon: drug_lexicon.tsv (built by scripts/engine_build_drug_lexicon.py
    from a registry package), one ingredient a line; the curated entries already in `by_generic`
    and their names in `taken` win every clash, and gain the file's other names for them.
    Empty when the file is absent."""
    try:
        text = resources.files("healthai_server.engine").joinpath("data", "drug_lexicon.tsv").read_text("utf-8")
    except FileNotFoundError:
        return []
    phrases: list[tuple[str, DrugConcept]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != 3 or not fields[0] or not fields[2]:
            raise RuleDataError(f"drug_lexicon.tsv line {number}: expected generic, drugbank id, names")
        generic, drugbank, names = fields
        concept = by_generic.get(generic)  # a curated entry gains the source's other names
        if concept is None:
            concept = DrugConcept(generic, frozenset(), ((DRUGBANK_SYSTEM, drugbank),) if drugbank else ())
            by_generic[generic] = concept
        phrases.extend((name, concept) for name in names.split("|") if name not in taken)
    return phrases


def load_allergens(drug_phrases: list[tuple[str, DrugConcept]]) -> list[tuple[str, AllergenConcept]]:
    data = load_json("allergens.json")
    phrases: list[tuple[str, AllergenConcept]] = []
    for surface, drug in drug_phrases:
        phrases.append((surface, AllergenConcept(drug.generic, AllergyCategory.MEDICATION, drug.classes, drug)))
    for index, entry in enumerate(data["entries"]):
        try:
            concept = AllergenConcept(
                substance=str(entry["sub"]),
                category=AllergyCategory[str(entry["cat"]).upper()],
                classes=frozenset(entry.get("cl", [])),
            )
            phrases.extend((str(surface), concept) for surface in entry["s"])
        except (KeyError, TypeError) as exc:
            raise RuleDataError(f"allergens.json entry {index}: {exc!r}") from exc
    return phrases


def load_sections() -> list[tuple[str, NoteSection]]:
    data = load_json("sections.json")
    out: list[tuple[str, NoteSection]] = []
    for name, headers in data["sections"].items():
        try:
            section = NoteSection[name]
        except KeyError as exc:
            raise RuleDataError(f"sections.json: unknown section {name}") from exc
        out.extend((str(header), section) for header in headers)
    return out


@dataclass(frozen=True, slots=True)
class Subsection:
    """Sub-headings ("Neck:", "BP:") that continue an enclosing section of `within`, else open `default`."""

    default: NoteSection
    within: frozenset[NoteSection]
    names: frozenset[str]


def _section(name: object) -> NoteSection:
    try:
        return NoteSection[str(name)]
    except KeyError as exc:
        raise RuleDataError(f"sections.json: unknown section {name}") from exc


def load_section_keywords() -> list[tuple[tuple[str, ...], NoteSection]]:
    """Rules for headers not in the vocabulary: (keywords that must each start a word, section), in order."""
    rules: list[tuple[tuple[str, ...], NoteSection]] = []
    for index, entry in enumerate(load_json("sections.json").get("keywords", [])):
        if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], list) and entry[0]):
            raise RuleDataError(f"sections.json keyword rule {index}: expected [[words...], SECTION]")
        rules.append((tuple(str(word).lower() for word in entry[0]), _section(entry[1])))
    return rules


def load_subsections() -> list[Subsection]:
    out: list[Subsection] = []
    for index, entry in enumerate(load_json("sections.json").get("subsections", [])):
        try:
            out.append(
                Subsection(
                    default=_section(entry["default"]),
                    within=frozenset(_section(name) for name in entry["within"]),
                    names=frozenset(" ".join(str(name).lower().split()) for name in entry["names"]),
                )
            )
        except (KeyError, TypeError) as exc:
            raise RuleDataError(f"sections.json subsection {index}: {exc!r}") from exc
    return out


def load_vitals() -> dict[VitalKind, VitalDefinition]:
    data = load_json("vitals.json")
    out: dict[VitalKind, VitalDefinition] = {}
    for name, entry in data["kinds"].items():
        kind = VitalKind[name]

        def bound(key: str, entry: dict[str, Any] = entry) -> float | None:
            value = entry.get(key)
            return None if value is None else float(value)

        try:
            units = {str(unit): (float(scale), float(shift)) for unit, (scale, shift) in entry["units"].items()}
            bands = tuple(
                AgeBand(float(age), *(None if b is None else float(b) for b in bounds))
                for age, *bounds in entry.get("paediatric", [])
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise RuleDataError(f"vitals.json {name}: {exc!r}") from exc
        if not units:
            raise RuleDataError(f"vitals.json {name}: needs at least its canonical unit")
        out[kind] = VitalDefinition(
            kind=kind,
            loinc=str(entry["loinc"]),
            display=str(entry["display"]),
            units=units,
            implausible_low=float(entry["implausible_low"]),
            implausible_high=float(entry["implausible_high"]),
            critical_low=bound("critical_low"),
            low=bound("low"),
            high=bound("high"),
            critical_high=bound("critical_high"),
            interpret=bool(entry.get("interpret", True)),
            paediatric=tuple(sorted(bands, key=lambda band: band.below_age_years)),
        )
    missing = set(VitalKind) - set(out)
    if missing:
        raise RuleDataError(f"vitals.json: missing kinds {sorted(k.name for k in missing)}")
    return out
