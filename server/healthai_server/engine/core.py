"""The local clinical engine: sections -> lexicon matches -> ConText -> attributes -> problem list.

Everything is loaded once in the constructor; extract() only reads shared state, so one
engine serves many threads. No note text is logged, printed or put in an exception.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass

from healthai_server.domain.clinical import (
    ICD10CM_SYSTEM,
    Allergy,
    AllergySeverity,
    Assertion,
    Association,
    Certainty,
    ClinicalData,
    Coding,
    Condition,
    Conditionality,
    EntityType,
    ExtractionOptions,
    Medication,
    MedicationStatus,
    NoteSection,
    ProblemListEntry,
    Span,
    Temporality,
)
from healthai_server.engine.context import ContextAnalyzer, ModifierIndex, Target
from healthai_server.engine.matcher import PhraseMatch, PhraseMatcher
from healthai_server.engine.medications import MedicationAttributeParser
from healthai_server.engine.resources import (
    AllergenConcept,
    ConditionConcept,
    DrugConcept,
    load_allergens,
    load_conditions,
    load_drugs,
)
from healthai_server.engine.sections import SectionDetector, SectionIndex
from healthai_server.engine.text import CharMask, FastPattern, Tokens, tokenize
from healthai_server.engine.vitals import VitalExtractor

_NKA = re.compile(
    r"\b(?:NKDA|NKA|N\.K\.D\.A\.?|no[ \t]+known[ \t]+(?:drug[ \t]+|medication[ \t]+)?allerg(?:ies|y)"
    r"|no[ \t]+(?:drug[ \t]+|medication[ \t]+)?allergies)\b",
    re.IGNORECASE,
)
_NONE_BODY = re.compile(r"[ \t,:-]*(?P<v>none(?:[ \t]+known)?|denies|nil|negative|no[ \t]+allergies)\b", re.IGNORECASE)
_ALLERGY_TRIGGERS = frozenset(
    {"allergic", "allergy", "allergies", "intolerance", "intolerant", "anaphylaxis", "allergen", "allergens"}
)
_ALLERGY_LIST_END = frozenset(
    {"but", "was", "were", "started", "start", "starting", "given", "give", "continue", "on", "takes", "taking",
     "use", "used", "prescribe", "prescribed", "begin", "will", "so", "therefore", "tolerates", "tolerated"}
)  # fmt: skip
_UNKNOWN_SUFFIXES = (
    "itis", "osis", "emia", "aemia", "algia", "opathy", "megaly", "penia", "plegia", "paresis", "rrhea", "rrhoea",
    "iasis", "ectasis", "oma",
)  # fmt: skip
_UNKNOWN_HEADS = ("syndrome", "disease", "disorder", "fracture", "infection", "insufficiency", "deficiency")
_UNKNOWN_CONDITION = re.compile(
    rf"\b[A-Za-z]{{2,}}(?:{'|'.join(_UNKNOWN_SUFFIXES)})\b"
    rf"|\b[A-Za-z][a-z'’]{{2,}}[ \t]+(?:{'|'.join(_UNKNOWN_HEADS)})\b",
    re.IGNORECASE,
)
_UNKNOWN_HEAD_SET = frozenset(_UNKNOWN_HEADS)
_UNKNOWN_TAILS = frozenset(suffix[-2:] for suffix in _UNKNOWN_SUFFIXES)  # cheap test before endswith
_NOT_CONDITIONS = frozenset(
    {"diagnosis", "prognosis", "osmosis", "aroma", "diploma", "stoma", "coma", "soma", "hypnosis", "symbiosis",
     "thrombosis", "kilogramma", "emphasis", "analgesia", "noma", "idioma", "sigma", "comma", "momma", "grandma",
     "dogma", "glaucoma", "plasma", "magma", "trauma", "stigma", "enema", "schema", "karma", "cinema",
     "anesthesia", "anemia", "mycosis", "ketosis", "acidosis", "cirrhosis", "psoriasis", "fibrosis"}
)  # fmt: skip
_UNKNOWN_STOP = frozenset(
    {"the", "of", "any", "no", "with", "his", "her", "a", "an", "this", "and", "for", "known", "other", "active",
     "their", "your", "our", "its", "that", "heart", "liver", "kidney", "lung", "bone", "disc", "skin", "has", "had",
     "have", "from", "due", "without", "which", "prior", "new", "old", "some", "mood", "use"}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Mention:
    start: int  # token index
    end: int
    char_start: int
    char_end: int


class ClinicalEngine:
    def __init__(self) -> None:
        condition_phrases = load_conditions()
        drug_phrases, self._drugs = load_drugs()
        self._condition_matcher: PhraseMatcher[ConditionConcept] = PhraseMatcher(condition_phrases)
        self._drug_matcher: PhraseMatcher[DrugConcept] = PhraseMatcher(drug_phrases)
        self._allergen_matcher: PhraseMatcher[AllergenConcept] = PhraseMatcher(load_allergens(drug_phrases))
        self._sections = SectionDetector()
        self._context = ContextAnalyzer()
        self._vitals = VitalExtractor()
        self._med_attributes = MedicationAttributeParser()
        reactions = sorted(self._med_attributes.reactions, key=len, reverse=True)
        self._reaction = re.compile(
            r"(?<![A-Za-z])(?:" + "|".join(re.escape(r) for r in reactions) + r")(?![A-Za-z])", re.IGNORECASE
        )
        self._severity = re.compile(r"\b(?:severe|mild|moderate|life[- ]threatening)\b", re.IGNORECASE)
        before = sorted(self._med_attributes.before_cues, key=lambda c: len(c[0]), reverse=True)
        after = sorted(self._med_attributes.after_cues, key=lambda c: len(c[0]), reverse=True)
        self._before_status = {cue: status for cue, status in before}
        self._after_status = {cue: status for cue, status in after}
        self._before_cue = FastPattern(
            re.compile(
                r"(?<![a-z/])(?:" + "|".join(re.escape(c.lower()) for c, _ in before) + r")(?![a-z])", re.IGNORECASE
            )
        )
        self._after_cue = re.compile(
            r"^[ \t,]*(?:(?:is|are|was|were|has|have|been|being|now)[ \t]+){0,3}(?:"
            + "|".join(re.escape(c) for c, _ in after)
            + r")(?![A-Za-z])",
            re.IGNORECASE,
        )

    # --- public ---------------------------------------------------------------------------------

    def extract(self, text: str, options: ExtractionOptions | None = None) -> ClinicalData:
        options = options or ExtractionOptions()
        tokens = tokenize(text)
        sections = SectionIndex(self._sections.detect(text))

        want_conditions = options.wants(EntityType.CONDITION) or options.wants(EntityType.PROBLEM_LIST)
        want_meds = options.wants(EntityType.MEDICATION)
        want_allergies = options.wants(EntityType.ALLERGY)

        header_free = [
            m for m in self._condition_matcher.find_all(tokens) if not self._in_header(tokens, sections, m.start, m.end)
        ]
        drug_matches = [
            m for m in self._drug_matcher.find_all(tokens) if not self._in_header(tokens, sections, m.start, m.end)
        ]
        condition_matches, drug_matches = _resolve_overlaps(header_free, drug_matches)

        allergy_matches, allergy_regions = self._allergy_mentions(tokens, sections, condition_matches)
        allergy_tokens: set[int] = set()
        for match in allergy_matches:
            allergy_tokens.update(range(match.start, match.end))
        drug_matches = [m for m in drug_matches if not allergy_tokens.intersection(range(m.start, m.end))]
        condition_matches = [
            m
            for m in condition_matches
            if not allergy_regions.covers(tokens.starts[m.start])
            and not allergy_tokens.intersection(range(m.start, m.end))
        ]
        unknown = self._unknown_conditions(
            text, tokens, sections, condition_matches, drug_matches, allergy_matches, allergy_regions
        )

        targets = [(m.start, m.end) for m in condition_matches] + [(m.start, m.end) for m in drug_matches]
        targets += [(m.start, m.end) for m in allergy_matches] + [(s, e) for s, e, _ in unknown]
        modifiers = ModifierIndex(self._context.find_modifiers(tokens, targets))

        conditions: list[Condition] = []
        if want_conditions:
            for condition_match in condition_matches:
                conditions.append(
                    self._condition(
                        text,
                        tokens,
                        sections,
                        modifiers,
                        condition_match.start,
                        condition_match.end,
                        condition_match.payloads[0],
                    )
                )
            for start, end, name in unknown:
                conditions.append(self._condition(text, tokens, sections, modifiers, start, end, None, name))
            conditions.sort(key=lambda c: c.span.start)

        medications: list[Medication] = []
        if want_meds:
            starts = [tokens.starts[m.start] for m in drug_matches]
            for index, drug_match in enumerate(drug_matches):
                limit = starts[index + 1] if index + 1 < len(starts) else len(text)
                previous_end = tokens.ends[drug_matches[index - 1].end - 1] if index else 0
                medications.append(self._medication(text, tokens, sections, modifiers, drug_match, limit, previous_end))

        allergies: list[Allergy] = []
        nka_span: Span | None = None
        if want_allergies:
            allergen_starts = [m.start for m in allergy_matches]
            allergies = [self._allergy(text, tokens, sections, modifiers, m, allergen_starts) for m in allergy_matches]
            nka_span = self._no_known_allergies(text, sections)

        vitals = self._vitals.extract(text, sections, tokens) if options.wants(EntityType.VITAL_SIGN) else []
        problems = _problem_list(conditions) if options.wants(EntityType.PROBLEM_LIST) else []
        if not options.wants(EntityType.CONDITION):
            conditions = []
        return ClinicalData(
            conditions=tuple(conditions),
            medications=tuple(medications),
            vital_signs=tuple(vitals),
            allergies=tuple(allergies),
            problem_list=tuple(problems),
            no_known_allergies=nka_span is not None
            and not any(a.assertion.certainty is Certainty.POSITIVE for a in allergies),
            no_known_allergies_span=nka_span
            if nka_span is not None and not any(a.assertion.certainty is Certainty.POSITIVE for a in allergies)
            else None,
        )

    # --- conditions ------------------------------------------------------------------------------

    @staticmethod
    def _in_header(tokens: Tokens, sections: SectionIndex, start: int, end: int) -> bool:
        return sections.in_header(tokens.starts[start], tokens.ends[end - 1])

    def _condition(  # noqa: PLR0917 - private helper, called in one place
        self,
        text: str,
        tokens: Tokens,
        sections: SectionIndex,
        modifiers: ModifierIndex,
        start: int,
        end: int,
        concept: ConditionConcept | None,
        fallback_name: str = "",
    ) -> Condition:
        char_start, char_end = tokens.starts[start], tokens.ends[end - 1]
        section = sections.at(char_start)
        assertion = self._context.assert_target(tokens, Target(start, end), modifiers.near(Target(start, end)), section)
        surface = text[char_start:char_end]
        if concept is not None:
            confidence = 0.9 if len(surface) > 4 else 0.8
            codings: tuple[Coding, ...] = (Coding(ICD10CM_SYSTEM, concept.code, concept.name),)
            name = concept.name
        else:
            confidence = 0.55
            codings = ()
            name = fallback_name
        if assertion.certainty in (
            Certainty.NEUTRAL_POSSIBLE,
            Certainty.POSSIBLE_POSITIVE,
            Certainty.POSSIBLE_NEGATIVE,
        ):
            confidence -= 0.1
        return Condition(
            span=Span(char_start, char_end, surface),
            name=name,
            codings=codings,
            assertion=assertion,
            confidence=round(confidence, 3),
            section=section,
        )

    def _unknown_conditions(  # noqa: PLR0917 - private helper, called in one place
        self,
        text: str,
        tokens: Tokens,
        sections: SectionIndex,
        conditions: Sequence[PhraseMatch[ConditionConcept]],
        drugs: Sequence[PhraseMatch[DrugConcept]],
        allergens: Sequence[PhraseMatch[AllergenConcept]],
        allergy_regions: CharMask,
    ) -> list[tuple[int, int, str]]:
        """Clearly clinical words not in the lexicon (…itis, …emia, "X syndrome"): returned uncoded."""
        covered = CharMask(len(text))
        for group in (conditions, drugs, allergens):
            for m in group:
                covered.mark(tokens.starts[m.start], tokens.ends[m.end - 1])
        out: list[tuple[int, int, str]] = []
        for match in _unknown_condition_matches(tokens):
            start, end = match.span()
            words = match.group().split()
            if len(words) == 1 and words[0].lower() in _NOT_CONDITIONS:
                continue
            if len(words) == 2 and words[0].lower() in _UNKNOWN_STOP:
                continue
            if covered.overlaps(start, end) or allergy_regions.covers(start):
                continue
            if sections.in_header(start, end):
                continue
            first = tokens.index_at_or_after(start)
            last = tokens.index_at_or_after(end)
            if first >= last:
                continue
            out.append((first, last, " ".join(w.lower() for w in words)))
        return out

    # --- medications -----------------------------------------------------------------------------

    def _medication(  # noqa: PLR0917 - private helper, called in one place
        self,
        text: str,
        tokens: Tokens,
        sections: SectionIndex,
        modifiers: ModifierIndex,
        match: PhraseMatch[DrugConcept],
        next_drug_start: int,
        previous_drug_end: int,
    ) -> Medication:
        concept = match.payloads[0]
        char_start, char_end = tokens.starts[match.start], tokens.ends[match.end - 1]
        section = sections.at(char_start)
        window_end = self._med_attributes.window_end(text, char_end, next_drug_start)
        attributes = self._med_attributes.parse(text, char_end, window_end)
        assertion = self._context.assert_target(
            tokens, Target(match.start, match.end), modifiers.near(Target(match.start, match.end)), section
        )
        status = self._status(text, tokens, match, section, previous_drug_end, attributes.end, next_drug_start)
        if status is MedicationStatus.NEW and assertion.temporality is Temporality.FUTURE:
            pass  # "will start X": a new medication planned from now
        elif assertion.temporality is Temporality.FUTURE and status is MedicationStatus.ACTIVE:
            status = MedicationStatus.NEW
        codings = tuple(_drug_coding(system, code, concept.generic) for system, code in concept.ids)
        confidence = 0.85 + (0.05 if attributes.dose is not None else 0.0) + (0.05 if attributes.frequency else 0.0)
        if len(text[char_start:char_end]) <= 3:
            confidence -= 0.1
        instruction = Span(char_start, attributes.end, text[char_start : attributes.end])
        return Medication(
            span=Span(char_start, char_end, text[char_start:char_end]),
            name=concept.generic,
            codings=codings,
            dose=attributes.dose,
            strength=attributes.strength,
            form=attributes.form,
            route=attributes.route,
            frequency=attributes.frequency,
            duration=attributes.duration,
            status=status,
            assertion=assertion,
            confidence=round(min(confidence, 0.99), 3),
            section=section,
            instruction_span=instruction if attributes.end > char_end else None,
        )

    def _status(  # noqa: PLR0917 - private helper, called in one place
        self,
        text: str,
        tokens: Tokens,
        match: PhraseMatch[DrugConcept],
        section: NoteSection,
        previous_drug_end: int,
        instruction_end: int,
        next_drug_start: int,
    ) -> MedicationStatus:
        k = tokens.sentence_first[match.start]
        del previous_drug_end  # a cue carries across a list: "given morphine 4 mg IV, Zofran 4 mg IV and NS"
        clause_start = tokens.starts[k] if k < len(tokens) else 0
        char_start = tokens.starts[match.start]
        before_text = text[max(clause_start, char_start - 160) : char_start]
        found: MedicationStatus | None = None
        for cue_match in self._before_cue.finditer(before_text):
            found = self._before_status.get(cue_match.group().lower(), found)
        after_text = text[instruction_end : min(next_drug_start, instruction_end + 40)]
        after = self._after_cue.search(after_text)
        if after is not None:
            words = after.group().lower().strip(" \t,")
            for cue, status in self._after_status.items():
                if words.endswith(cue):
                    return status
        if found is not None:
            return found
        default = self._med_attributes.section_default.get(section.name)
        return default if default is not None else self._med_attributes.default_status

    # --- allergies -------------------------------------------------------------------------------

    def _allergy_mentions(
        self,
        tokens: Tokens,
        sections: SectionIndex,
        conditions: Sequence[PhraseMatch[ConditionConcept]],
    ) -> tuple[list[PhraseMatch[AllergenConcept]], CharMask]:
        """Allergen mentions in allergy statements, and the character regions of those statements."""
        regions: list[tuple[int, int]] = [
            (span.start, span.end) for span in sections.spans if span.section is NoteSection.ALLERGIES
        ]
        n = len(tokens)
        lower = tokens.lower
        # Sentences with a trigger word: the statement runs from the trigger to the clause end.
        for i in range(n):
            if lower[i] in _ALLERGY_TRIGGERS:
                clause = tokens.clause[i]
                j = i
                while j > 0 and tokens.clause[j - 1] == clause and i - j < 4:
                    j -= 1
                k = i
                following = lower[i + 1] if i + 1 < n else ""
                opens_list = following in ("to", ":", "-", "(", "include", "includes", "including", "are", "is", "of")
                while (
                    opens_list
                    and k + 1 < n
                    and k - i < 40
                    and tokens.clause[k + 1] == clause
                    and tokens.raw[k + 1] != "."
                ):
                    k += 1
                    if lower[k] in _ALLERGY_LIST_END:
                        k -= 1
                        break
                regions.append((tokens.starts[j], tokens.ends[k]))
        mask = CharMask(len(tokens.text))
        for start, end in regions:
            mask.mark(start, end)
        found: list[PhraseMatch[AllergenConcept]] = []
        condition_tokens: set[int] = set()
        for m in conditions:
            condition_tokens.update(range(m.start, m.end))
        for match in self._allergen_matcher.find_all(tokens):
            if self._in_header(tokens, sections, match.start, match.end):
                continue
            if not mask.covers(tokens.starts[match.start]):
                continue
            if condition_tokens.intersection(range(match.start, match.end)):
                continue
            found.append(match)
        return found, mask

    def _allergy(  # noqa: PLR0917 - private helper, called in one place
        self,
        text: str,
        tokens: Tokens,
        sections: SectionIndex,
        modifiers: ModifierIndex,
        match: PhraseMatch[AllergenConcept],
        allergen_starts: Sequence[int],
    ) -> Allergy:
        concept = match.payloads[0]
        char_start, char_end = tokens.starts[match.start], tokens.ends[match.end - 1]
        section = sections.at(char_start)
        next_start = len(text)
        position = bisect.bisect_left(allergen_starts, match.end)
        if position < len(allergen_starts):
            next_start = tokens.starts[allergen_starts[position]]
        window_end = min(next_start, char_end + 60)
        newline = text.find("\n", char_end, window_end)
        if newline >= 0:
            window_end = newline
        window = text[char_end:window_end]
        reaction_match = self._reaction.search(window)
        reaction = reaction_match.group() if reaction_match else ""
        severity = AllergySeverity.UNSPECIFIED
        if reaction.lower() in self._med_attributes.severe_reactions:
            severity = AllergySeverity.SEVERE
        severity_word = self._severity.search(window)
        if severity_word is not None:
            word = severity_word.group().lower()
            severity = {
                "severe": AllergySeverity.SEVERE,
                "mild": AllergySeverity.MILD,
                "moderate": AllergySeverity.MODERATE,
            }.get(word, AllergySeverity.SEVERE)
        assertion = self._context.assert_target(
            tokens, Target(match.start, match.end), modifiers.near(Target(match.start, match.end)), section
        )
        assertion = Assertion(
            certainty=assertion.certainty,
            conditionality=assertion.conditionality,
            association=assertion.association,
            relation=assertion.relation,
            temporality=Temporality.CURRENT if assertion.temporality is Temporality.PAST else assertion.temporality,
        )
        codings: tuple[Coding, ...] = ()
        if concept.drug is not None:
            codings = tuple(_drug_coding(system, code, concept.drug.generic) for system, code in concept.drug.ids)
        return Allergy(
            span=Span(char_start, char_end, text[char_start:char_end]),
            substance=concept.substance,
            codings=codings,
            reaction=reaction,
            severity=severity,
            category=concept.category,
            assertion=assertion,
            confidence=0.9 if section is NoteSection.ALLERGIES else 0.8,
        )

    @staticmethod
    def _no_known_allergies(text: str, sections: SectionIndex) -> Span | None:
        match = _NKA.search(text)
        if match is not None:
            return Span(match.start(), match.end(), match.group())
        for span in sections.spans:
            if span.section is NoteSection.ALLERGIES:
                body = _NONE_BODY.match(text, span.start, min(span.end, span.start + 40))
                if body is not None:
                    start, end = body.span("v")
                    return Span(start, end, text[start:end])
        return None


def _unknown_condition_matches(tokens: Tokens) -> list[re.Match[str]]:
    """_UNKNOWN_CONDITION.finditer(text), tried only where a match can start: at a word ending in
    one of the suffixes, or in the run of tokens just before a head noun ("Crohn's disease")."""
    lower = tokens.lower
    starts = tokens.starts
    ends = tokens.ends
    candidates: set[int] = set()
    tails = _UNKNOWN_TAILS
    heads = _UNKNOWN_HEAD_SET
    for i in [k for k, word in enumerate(lower) if word[-2:] in tails or word in heads]:
        if lower[i].endswith(_UNKNOWN_SUFFIXES):
            candidates.add(i)
        if lower[i] in _UNKNOWN_HEAD_SET and i:
            k = i - 1
            candidates.add(k)
            while k and starts[k] == ends[k - 1]:
                k -= 1
                candidates.add(k)
    text = tokens.text
    out: list[re.Match[str]] = []
    resume = 0
    for i in sorted(candidates):
        if starts[i] < resume:
            continue
        match = _UNKNOWN_CONDITION.match(text, starts[i])
        if match is not None:
            out.append(match)
            resume = match.end()
    return out


def _drug_coding(system: str, code: str, display: str) -> Coding:
    return Coding(system, code, display)


def _resolve_overlaps(
    conditions: list[PhraseMatch[ConditionConcept]], drugs: list[PhraseMatch[DrugConcept]]
) -> tuple[list[PhraseMatch[ConditionConcept]], list[PhraseMatch[DrugConcept]]]:
    """Where a condition and a drug name overlap, the longer wins (condition on ties)."""
    if not conditions or not drugs:
        return conditions, drugs
    kept_drugs: list[PhraseMatch[DrugConcept]] = []
    dropped_conditions: set[int] = set()
    ci = 0
    for drug in drugs:
        while ci < len(conditions) and conditions[ci].end <= drug.start:
            ci += 1
        keep = True
        k = ci
        while k < len(conditions) and conditions[k].start < drug.end:
            condition = conditions[k]
            if condition.end - condition.start >= drug.end - drug.start:
                keep = False
            else:
                dropped_conditions.add(k)
            k += 1
        if keep:
            kept_drugs.append(drug)
    return [c for i, c in enumerate(conditions) if i not in dropped_conditions], kept_drugs


_ACTIVE_PROBLEM_SECTIONS = (NoteSection.ASSESSMENT_AND_PLAN, NoteSection.DIAGNOSES)


def _problem_list(conditions: Sequence[Condition]) -> list[ProblemListEntry]:
    """Deduplicated active problems: positive, the patient's, not hypothetical, not resolved-past."""
    groups: dict[str, list[Condition]] = {}
    order: list[str] = []
    for condition in conditions:
        a = condition.assertion
        if a.certainty not in (Certainty.POSITIVE, Certainty.POSSIBLE_POSITIVE):
            continue
        if a.association is not Association.SUBJECT or a.conditionality is not Conditionality.NONE:
            continue
        if a.temporality is Temporality.FUTURE:
            continue
        coded = bool(condition.codings)
        key = condition.codings[0].code if coded else condition.name
        chronic = _CHRONIC.get(key, False)
        if a.temporality is Temporality.PAST and not chronic:
            continue
        if condition.section in (NoteSection.FAMILY_HISTORY, NoteSection.REVIEW_OF_SYSTEMS):
            continue
        if _SYMPTOM.get(key, False) and condition.section not in (
            *_ACTIVE_PROBLEM_SECTIONS,
            NoteSection.CHIEF_COMPLAINT,
        ):
            continue
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(condition)

    def rank_key(key: str) -> tuple[int, int]:
        """Problems of the assessment/plan (or diagnoses) first, in the order written there."""
        mentions = groups[key]
        in_plan = [m.span.start for m in mentions if m.section in _ACTIVE_PROBLEM_SECTIONS]
        return (0, min(in_plan)) if in_plan else (1, mentions[0].span.start)

    entries: list[ProblemListEntry] = []
    for rank, key in enumerate(sorted(order, key=rank_key), start=1):
        mentions = groups[key]
        first = mentions[0]
        possible = all(m.assertion.certainty is Certainty.POSSIBLE_POSITIVE for m in mentions)
        confidence = max(m.confidence for m in mentions) * (0.8 if possible else 1.0)
        entries.append(
            ProblemListEntry(
                name=first.name,
                codings=first.codings,
                evidence=tuple(m.span for m in mentions),
                rank=rank,
                confidence=round(min(confidence + 0.02 * (len(mentions) - 1), 0.99), 3),
            )
        )
    return entries


def _concept_flags() -> tuple[dict[str, bool], dict[str, bool]]:
    chronic: dict[str, bool] = {}
    symptom: dict[str, bool] = {}
    for _, concept in load_conditions():
        chronic[concept.code] = concept.chronic
        symptom[concept.code] = concept.symptom
    return chronic, symptom


_CHRONIC, _SYMPTOM = _concept_flags()
