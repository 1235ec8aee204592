"""The one unit table (data/units.json): how notes and models write units, to UCUM codes.

The engine's medication parser reads the dose spellings; the output validator normalises any
backend's units and checks dose units with the same table, so the two never disagree
({tab} vs {tbl}, U vs [iU]).
"""

from __future__ import annotations

from dataclasses import dataclass

from healthai_server.engine.resources import RuleDataError, load_json, load_vitals


@dataclass(frozen=True, slots=True)
class UnitTable:
    dose: dict[str, str]  # written dose unit (lower case) -> UCUM code
    count_units: frozenset[str]  # UCUM codes counted per administration ({tbl}, {puff})
    dose_codes: frozenset[str]  # every UCUM code valid for a dose
    codes: frozenset[str]  # every UCUM code of the table and of the vital signs
    aliases: dict[str, str]  # other spellings (lower case) -> UCUM code

    def normalize(self, unit: str) -> str:
        """The UCUM code for a unit as written; an unknown unit comes back stripped, unchanged."""
        stripped = unit.strip()
        if stripped in self.codes:
            return stripped
        lowered = stripped.lower()
        return self.aliases.get(lowered) or self.dose.get(lowered) or stripped


def load_units() -> UnitTable:
    data = load_json("units.json")
    try:
        dose = {str(k).lower(): str(v) for k, v in data["dose"].items()}
        count_units = frozenset(str(u) for u in data["count_units"])
        dose_codes = frozenset(dose.values()) | count_units | frozenset(str(u) for u in data["other_dose_codes"])
        aliases = {str(k).lower(): str(v) for k, v in data["aliases"].items()}
    except (KeyError, AttributeError, TypeError) as exc:
        raise RuleDataError(f"units.json: {exc!r}") from exc
    vital_codes = frozenset(unit for definition in load_vitals().values() for unit in definition.units)
    codes = dose_codes | vital_codes
    unknown = sorted(set(aliases.values()) - codes)
    if unknown:
        raise RuleDataError(f"units.json: aliases to codes the table does not define: {unknown}")
    return UnitTable(dose, count_units, dose_codes, codes, aliases)
