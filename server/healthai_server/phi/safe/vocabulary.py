"""Word lists the recall-first pass keeps, loaded once per process (~0.2 s)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from healthai_server.engine import resources as engine_resources
from healthai_server.phi.lexicon import Lexicon

DATA_DIR = Path(__file__).resolve().parent / "data"
_WORD = re.compile(r"[^\W_]+")
# A surname or given name more common than this is "name-like": an ICD-10-CM eponym with such
# a name ("Bennett's fracture") is not enough to keep the word when it stands alone.
NAME_LIKE_RANK = 20_000
# A capitalised English word inside a sentence is removed when it is a given name or surname
# at least this common (census ranks).
NAME_LIKE_FIRST_RANK = 1_500
NAME_LIKE_LAST_RANK = 5_000
# Shortest word that a clinical ending alone makes clinical.
MIN_AFFIXED = 7


def _read_words(name: str) -> set[str]:
    words: set[str] = set()
    for line in (DATA_DIR / name).read_text(encoding="utf-8").splitlines():
        words.update(line.split("#", 1)[0].strip().lower().split())
    return words


def _read_affixes(name: str) -> dict[str, tuple[str, ...]]:
    """[section] headers, then words: {section: parts, longest first}."""
    sections: dict[str, set[str]] = {}
    current = ""
    for line in (DATA_DIR / name).read_text(encoding="utf-8").splitlines():
        content = line.split("#", 1)[0].strip().lower()
        if content.startswith("[") and content.endswith("]"):
            current = content[1:-1]
        elif content:
            sections.setdefault(current, set()).update(content.split())
    return {k: tuple(sorted(v, key=len, reverse=True)) for k, v in sections.items()}


def _tokens(phrases: Iterable[str]) -> set[str]:
    return {w.lower() for phrase in phrases for w in _WORD.findall(phrase)}


def engine_vocabulary() -> set[str]:
    """Every word of the engine's drug, condition, allergen and section lexicons, through the
    engine's own loaders, so that a larger engine lexicon widens the safe list by itself."""
    drug_phrases, _ = engine_resources.load_drugs()
    words = _tokens(surface for surface, _ in drug_phrases)
    words |= _tokens(surface for surface, _ in engine_resources.load_conditions())
    words |= _tokens(surface for surface, _ in engine_resources.load_allergens(drug_phrases))
    words |= _tokens(header for header, _ in engine_resources.load_sections())
    attributes = engine_resources.load_json("medication_attributes.json")
    words |= _tokens(str(unit) for unit in attributes.get("units", {}))
    words |= _tokens(str(r) for r in attributes.get("reactions", []))
    return words


@dataclass(frozen=True, slots=True)
class SafeVocabulary:
    # Lower-case words that are never identifiers on their own.
    words: frozenset[str]
    # Words that make a number before them clinical ("mg", "months").
    units: frozenset[str]
    # Words that make a number after them clinical ("HR", "Na", "score").
    labels: frozenset[str]
    # English words that are also common names ("Barb", "Hunter", "Sims"): kept lower-case or at
    # the start of a sentence, removed when capitalised inside one.
    name_like: frozenset[str] = frozenset()
    # Words that are never part of a proper name: clinical vocabulary, units, labels, function
    # words. Any other capitalised word next to a removed one is taken as part of its name.
    never_names: frozenset[str] = frozenset()
    # Clinical vocabulary, units and labels: never a surname before ", Given" ("RN, CDCES").
    clinical: frozenset[str] = frozenset()
    # Place names and census surnames (the lexicon's own tables, not copies): a compound of two
    # known words that is one of them is a name written in lower case, not a coinage.
    places: frozenset[str] = frozenset()
    surnames: Mapping[str, int] = field(default_factory=dict)
    # Clinical word endings and prefixes (data/medical_affixes.txt).
    suffixes: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()

    @classmethod
    def load(cls, lexicon: Lexicon, extra_words: Iterable[str] = ()) -> SafeVocabulary:
        clinical = engine_vocabulary() | _read_words("clinical_vocabulary.txt") | set(lexicon.clinical)
        clinical |= _read_words("geography_and_calendar.txt")
        icd = _read_words("icd10cm_words.txt")
        # ICD-10-CM descriptions hold eponyms; a common name among them stays removable.
        icd = {
            w
            for w in icd
            if w in lexicon.english
            or w in clinical
            or min(lexicon.first.get(w, 10**9), lexicon.last.get(w, 10**9)) > NAME_LIKE_RANK
        }
        units = _read_words("number_units.txt")
        labels = _read_words("measure_labels.txt")
        words = set(lexicon.english) | set(lexicon.common) | set(lexicon.nations) | clinical | icd | units | labels
        extra = {w.lower() for w in extra_words}
        words |= extra
        never_names = clinical | units | labels | set(lexicon.common) | set(lexicon.nations) | extra
        name_like = {
            w
            for w in words
            if (
                lexicon.first.get(w, 10**9) <= NAME_LIKE_FIRST_RANK or lexicon.last.get(w, 10**9) <= NAME_LIKE_LAST_RANK
            )
            and w not in never_names
        }
        # Eponyms that are common surnames ("Sims", "Graves"): next to a name, part of it.
        eponyms = {w for w in lexicon.clinical if 0 < lexicon.last.get(w, 0) <= NAME_LIKE_LAST_RANK}
        affixes = _read_affixes("medical_affixes.txt")
        return cls(
            words=frozenset(words),
            units=frozenset(units),
            labels=frozenset(labels),
            name_like=frozenset(name_like),
            never_names=frozenset(never_names - eponyms),
            clinical=frozenset(clinical | units | labels),
            places=lexicon.places,
            surnames=lexicon.last,
            suffixes=affixes.get("suffix", ()),
            prefixes=affixes.get("prefix", ()),
        )

    def knows(self, word: str) -> bool:
        """A word (any case) or a regular inflection of one ("walkers", "titrated", "s/p")."""
        lower = word.lower()
        if lower in self.words:
            return True
        for suffix, replacement in _INFLECTIONS:
            stem = lower[: len(lower) - len(suffix)]
            if lower.endswith(suffix) and len(stem) >= 3 and stem + replacement in self.words:
                return True
        return False

    def clinical_form(self, word: str) -> bool:
        """ "thyroidectomy" (a clinical ending), "transbronchial" (a prefix and a known word)."""
        lower = word.lower()
        if len(lower) >= MIN_AFFIXED and lower.endswith(self.suffixes):
            return True
        for prefix in self.prefixes:
            rest = lower[len(prefix) :]
            if lower.startswith(prefix) and len(rest) >= 4 and (self.knows(rest) or rest.endswith(self.suffixes)):
                return True
        return False

    def compound(self, word: str) -> bool:
        """A lower-case word made of two known words ("wristband", "bedside"). Capitalised coinages
        ("Harrowgate", "Brightwater") are how places and organisations are named: not for them, nor
        for a lower-case word the place lists or the census know ("northport", "whitehorse")."""
        # (Called only for a word `knows` rejected, so never for an English word.)
        if not word.islower() or len(word) < 7 or word in self.places or word in self.surnames:
            return False
        return any(self.knows(word[:i]) and self.knows(word[i:]) for i in range(3, len(word) - 2))


_INFLECTIONS: tuple[tuple[str, str], ...] = (
    ("s", ""),
    ("es", ""),
    ("ies", "y"),
    ("ed", ""),
    ("ed", "e"),
    ("ing", ""),
    ("ing", "e"),
    ("ly", ""),
    ("al", ""),
    ("ic", ""),
)
