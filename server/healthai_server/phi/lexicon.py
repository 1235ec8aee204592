"""Word lists the recognizers use, loaded once per process.

Names come from the `names` package (MIT; US Census 1990 frequency files: 88,799
surnames, 5,494 given names), read in place, widened by data/given_names.txt (US SSA baby
names, most frequent first, and Faker's given names of many locales), data/surnames.txt
(US Census 2010 and Faker surnames, all ranked as rare), data/name_words.txt (names that
are also English words) and data/english_words.txt (common English words); see
lexicon_build.py for their sources. A given name's rank is the better of its 1990 census
rank and its SSA rank. The clinical allow-list, the common-word list and the gazetteer are
this package's data files. Everything is lower-cased; a lexicon costs about 35 MB.
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
# Surnames only in the 2010 census or Faker lists: fewer bearers than any 1990 census surname.
RARE_SURNAME_RANK = 100_000


def _words(lines: Iterable[str]) -> set[str]:
    words: set[str] = set()
    for line in lines:
        content = line.split("#", 1)[0].strip().lower()
        words.update(content.split())
    return words


def _read_data(name: str) -> list[str]:
    return (DATA_DIR / name).read_text(encoding="utf-8").splitlines()


def _names(name: str) -> list[str]:
    return [line.strip() for line in _read_data(name) if line.strip() and not line.startswith("#")]


def _census(name: str) -> dict[str, int]:
    """name -> frequency rank (1 = most common)."""
    ranks: dict[str, int] = {}
    text = importlib.resources.files("names").joinpath(name).read_text(encoding="ascii")
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 4:
            ranks.setdefault(parts[0].lower(), int(parts[3]))
    return ranks


@dataclass(frozen=True, slots=True)
class Lexicon:
    first: dict[str, int]
    last: dict[str, int]
    clinical: frozenset[str]
    common: frozenset[str]
    # Gazetteer: lower-cased place name -> number of words; first word -> candidate lengths.
    places: frozenset[str]
    place_lengths: dict[str, tuple[int, ...]]
    # Names that are also lower-case English words ("hunter", "frost"): weaker alone.
    words: frozenset[str]
    # Common lower-case English words (SCOWL size 35): coined names ("Brightwater") are not in it.
    english: frozenset[str]
    # word -> (given-name rank, surname rank, clinical, common, English word): one lookup per token.
    facts: dict[str, tuple[int, int, bool, bool, bool]]
    # Cities outside the US (GeoNames, >= 150,000 people), lower-cased; found only after a cue.
    world: frozenset[str] = frozenset()
    # Countries, nationalities and languages: capitalised like names, never PHI.
    nations: frozenset[str] = frozenset()

    @classmethod
    def load(cls, extra_clinical: Iterable[str] = ()) -> Lexicon:
        first = _census("dist.male.first")
        for name, rank in _census("dist.female.first").items():
            first[name] = min(rank, first.get(name, rank))
        for rank, name in enumerate(_names("given_names.txt"), start=1):
            if first.get(name, rank) >= rank:
                first[name] = rank
        last = _census("dist.all.last")
        for name in _names("surnames.txt"):
            last.setdefault(name, RARE_SURNAME_RANK)
        words = set(_names("name_words.txt"))
        places: set[str] = set()
        lengths: dict[str, set[int]] = {}
        for line in _read_data("us_places.txt"):
            if not line or line.startswith("#"):
                continue
            place = line.strip().lower()
            places.add(place)
            parts = place.split()
            lengths.setdefault(parts[0], set()).add(len(parts))
        clinical = {w for w in _words(_read_data("clinical_terms.txt")) if len(w) > 1}
        clinical |= {w.lower() for w in extra_clinical}
        common = _words(_read_data("common_words.txt"))
        # Plurals and possessives of clinical words are clinical too ("Foleys", "Crohn's").
        clinical_forms = clinical | {w + "s" for w in clinical} | {w + "'s" for w in clinical}
        # Ranks past 5,000 only meet coarse thresholds: round them up to a thousand, so that the
        # ~240,000 words share a few thousand rank objects and tuples of facts (~20 MB less).
        ranks: dict[int, int] = {}
        for table in (first, last):
            for name, rank in table.items():
                coarse = rank if rank <= 5000 else -(-rank // 1000) * 1000
                table[name] = ranks.setdefault(coarse, coarse)
        interned: dict[tuple[int, int, bool, bool, bool], tuple[int, int, bool, bool, bool]] = {}
        facts = {}
        for word in first.keys() | last.keys() | clinical_forms | common:
            fact = (first.get(word, 0), last.get(word, 0), word in clinical_forms, word in common, word in words)
            facts[word] = interned.setdefault(fact, fact)
        return cls(
            first=first,
            last=last,
            clinical=frozenset(clinical),
            common=frozenset(common),
            places=frozenset(places),
            place_lengths={k: tuple(sorted(v, reverse=True)) for k, v in lengths.items()},
            words=frozenset(words),
            english=frozenset(_names("english_words.txt")),
            facts=facts,
            world=frozenset(_names("world_cities.txt")),
            nations=frozenset(_names("countries.txt")) | _words(_read_data("nationalities.txt")),
        )
