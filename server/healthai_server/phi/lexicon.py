"""Word lists the recognizers use, loaded once per process.

Names come from the `names` package (MIT; US Census 1990 frequency files: 88,799
surnames, 5,494 given names), read in place rather than copied into this tree. The
clinical allow-list, the common-word list and the gazetteer are this package's data
files. Everything is lower-cased; a lexicon costs about 12 MB of memory.
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"


def _words(lines: Iterable[str]) -> set[str]:
    words: set[str] = set()
    for line in lines:
        content = line.split("#", 1)[0].strip().lower()
        words.update(content.split())
    return words


def _read_data(name: str) -> list[str]:
    return (DATA_DIR / name).read_text(encoding="utf-8").splitlines()


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
    # word -> (given-name rank, surname rank, clinical, common): one lookup per token.
    facts: dict[str, tuple[int, int, bool, bool]]

    @classmethod
    def load(cls, extra_clinical: Iterable[str] = ()) -> Lexicon:
        first = _census("dist.male.first")
        for name, rank in _census("dist.female.first").items():
            first[name] = min(rank, first.get(name, rank))
        last = _census("dist.all.last")
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
        facts = {
            word: (first.get(word, 0), last.get(word, 0), word in clinical_forms, word in common)
            for word in first.keys() | last.keys() | clinical_forms | common
        }
        return cls(
            first=first,
            last=last,
            clinical=frozenset(clinical),
            common=frozenset(common),
            places=frozenset(places),
            place_lengths={k: tuple(sorted(v, reverse=True)) for k, v in lengths.items()},
            facts=facts,
        )
