"""The local clinical engine: sections -> lexicon matches -> ConText -> attributes -> problem list.

Everything is loaded once in the constructor; extract() only reads shared state, so one
engine serves many threads. No note text is logged, printed or put in an exception.
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

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
from healthai_server.engine.context import ContextAnalyzer, ModifierIndex
from healthai_server.engine.matcher import PhraseMatch, PhraseMatcher
from healthai_server.engine.medications import MedicationAttributeParser
from healthai_server.engine.resources import (
    AllergenConcept,
    ConditionConcept,
    DrugConcept,
    derived_adjectives,
    load_allergens,
    load_condition_guards,
    load_conditions,
    load_drug_guards,
    load_drugs,
    load_json,
)
from healthai_server.engine.sections import SectionDetector, SectionIndex
from healthai_server.engine.text import (
    CharMask,
    FastPattern,
    Tokens,
    WordIndex,
    lower_closed,
    tokenize,
)
from healthai_server.engine.typos import MIN_LENGTH as _TYPO_MIN_LENGTH
from healthai_server.engine.typos import TypoCorrector
from healthai_server.engine.vitals import VitalExtractor
from healthai_server.textmatch import literal_alternation

# (lower-case letters, the same under IGNORECASE: FastPattern then scans the lower-cased note)
_NKA = FastPattern(
    re.compile(
        r"\b(?:nkda|nka|n\.k\.d\.a\.?|no[ \t]+known[ \t]+(?:drug[ \t]+|medication[ \t]+)?allerg(?:ies|y)"
        r"|no[ \t]+(?:drug[ \t]+|medication[ \t]+)?allergies"
        r"|no[ \t]+known[ \t]+(?:medical|medicine)[ \t]+allerg(?:ies|y)"
        r"|not[ \t]+allergic[ \t]+to[ \t]+any[ \t]+(?:known[ \t]+)?(?:medicines?|medications?|drugs?)"
        r"|(?:allergies[ \t]+)?to[ \t]+(?:medicines|medications|drugs)[ \t]+(?:are|is)[ \t]+none)\b",
        re.IGNORECASE,
    )
)
# The whole body of an ALLERGIES section saying there are none ("ALLERGIES:\nNone known.", "DENIED.")
_NONE_BODY = re.compile(
    r"[\s,:-]*(?P<v>none(?:[ \t]+(?:are[ \t]+)?known)?|denie[sd]|nil|negative|no[ \t]+allergies)\b", re.IGNORECASE
)
# (not "intolerance": a drug the patient "developed intolerance to" is a medication history, not
# an allergy statement, unless it is written under an allergy header; ANNOTATION.md)
_ALLERGY_TRIGGERS = frozenset({"allergic", "allergy", "allergies", "anaphylaxis", "allergen", "allergens"})
# A trigger after these names an indication, not an allergen: "Claritin for allergies".
_INDICATION_BEFORE = frozenset({"for", "treat", "treating", "treats", "treated", "seasonal", "her", "his"})
_REACTION_WORDS = frozenset({"reaction", "reactions", "was", "were", "is"})
_QUOTES = frozenset({'"', "'", "\u201c", "\u201d"})
_ALLERGY_LIST_END = frozenset(
    {"but", "was", "were", "started", "start", "starting", "given", "give", "continue", "on", "takes", "taking",
     "use", "used", "prescribe", "prescribed", "begin", "will", "so", "therefore", "tolerates", "tolerated"}
)  # fmt: skip
_UNKNOWN_SUFFIXES = (
    "itis", "osis", "emia", "aemia", "algia", "opathy", "megaly", "penia", "plegia", "paresis", "rrhea", "rrhoea",
    "iasis", "ectasis", "oma",
)  # fmt: skip
# Head nouns of "<qualifier> <head>" findings ("Crohn's disease", "radicular symptoms"): data, conditions.json.
_FINDING_HEADS = load_json("conditions.json")["finding_heads"]
_UNKNOWN_HEADS = tuple(str(head).lower() for head in _FINDING_HEADS["heads"])
_NOT_QUALIFIERS = frozenset(str(word).lower() for word in _FINDING_HEADS["not_qualifiers"])
_UNKNOWN_CONDITION = re.compile(
    rf"\b[A-Za-z]{{2,}}(?:{'|'.join(_UNKNOWN_SUFFIXES)})\b"
    rf"|\b[A-Za-z][a-z'’]{{2,}}[ \t]+(?:{'|'.join(_UNKNOWN_HEADS)})\b",
    re.IGNORECASE,
)
_UNKNOWN_HEAD_SET = frozenset(_UNKNOWN_HEADS)
_UNKNOWN_TAILS = frozenset(suffix[-2:] for suffix in _UNKNOWN_SUFFIXES)  # cheap test before endswith
_UNKNOWN_LAST = frozenset(word[-1] for word in (*_UNKNOWN_SUFFIXES, *_UNKNOWN_HEADS))  # cheaper still
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


# Enum members compared per item, read once here: reading a member off its class
# (Certainty.POSITIVE) costs about 8x reading a module global in CPython 3.11.
_POSSIBLE = (Certainty.NEUTRAL_POSSIBLE, Certainty.POSSIBLE_POSITIVE, Certainty.POSSIBLE_NEGATIVE)
_FUTURE = Temporality.FUTURE
_ACTIVE, _NEW = MedicationStatus.ACTIVE, MedicationStatus.NEW
_ALLERGIES = NoteSection.ALLERGIES
_MEDICATION_SECTIONS = (NoteSection.MEDICATIONS, NoteSection.DISCHARGE_MEDICATIONS)


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
        self._condition_matcher: PhraseMatcher[ConditionConcept] = PhraseMatcher(condition_phrases, plurals=True)
        adjectives = derived_adjectives(condition_phrases)
        self._typos = TypoCorrector(
            s.lstrip("=").lower() for s, _ in condition_phrases if " " not in s.strip() and s.lower() not in adjectives
        )
        # one-word names whose plural the lexicon may lack ("strokes", "ulcers", "scars")
        self._singular_names = frozenset(
            s.lower() for s, _ in condition_phrases if " " not in s.strip() and not s.startswith("=") and len(s) >= 3
        )
        self._drug_matcher: PhraseMatcher[DrugConcept] = PhraseMatcher(drug_phrases)
        self._allergen_matcher: PhraseMatcher[AllergenConcept] = PhraseMatcher(load_allergens(drug_phrases))
        # Codings are the same for every mention of a concept: built once, shared (immutable).
        self._condition_codings: dict[tuple[str, str], tuple[Coding, ...]] = {
            (concept.code, concept.name): (Coding(ICD10CM_SYSTEM, concept.code, concept.name),) if concept.code else ()
            for _, concept in condition_phrases
        }
        self._drug_codings: dict[str, tuple[Coding, ...]] = {
            generic: tuple(_drug_coding(system, code, generic) for system, code in concept.ids)
            for generic, concept in self._drugs.items()
        }
        self._sections = SectionDetector(is_entity=self._is_entity)
        self._condition_guards = load_condition_guards(adjectives)
        self._drug_guards = load_drug_guards()
        self._context = ContextAnalyzer()
        self._vitals = VitalExtractor()
        self._med_attributes = MedicationAttributeParser()
        # (section, default medication status), matched by identity (NoteSection.name is slow)
        self._section_defaults = tuple(
            (NoteSection[name], status)
            for name, status in self._med_attributes.section_default.items()
            if name in NoteSection.__members__
        )
        # The words each stage starts at, looked up in one pass over the note (see extract).
        self._word_index = WordIndex(
            [
                self._condition_matcher.first_words,
                self._drug_matcher.first_words,
                self._allergen_matcher.first_words,
                self._context.first_words,
                self._vitals.trigger_words,
                _ALLERGY_TRIGGERS,
            ]
        )
        reactions = sorted(self._med_attributes.reactions, key=len, reverse=True)
        self._reaction = re.compile(
            r"(?<![A-Za-z])(?:" + "|".join(re.escape(r) for r in reactions) + r")(?![A-Za-z])", re.IGNORECASE
        )
        self._severity = re.compile(r"\b(?:severe|mild|moderate|life[- ]threatening)\b", re.IGNORECASE)
        before = sorted(self._med_attributes.before_cues, key=lambda c: len(c[0]), reverse=True)
        after = sorted(self._med_attributes.after_cues, key=lambda c: len(c[0]), reverse=True)
        self._before_status = {cue: status for cue, status in before}
        self._after_status = {cue: status for cue, status in after}
        cues = [c.lower() for c, _ in before]
        self._before_cue = re.compile(
            r"(?<![a-z/])(?:" + "|".join(re.escape(c) for c in cues) + r")(?![a-z])", re.IGNORECASE
        )
        # The same matches on the lower-cased text of an ASCII note (ASCII lower-casing keeps every
        # offset, and the cues and classes are lower case), written so that re skips offsets fast.
        self._before_cue_lower = (
            re.compile(literal_alternation(cues, "[a-z/]") + "(?![a-z])") if all(c.isascii() for c in cues) else None
        )
        self._after_cue = re.compile(
            r"^[ \t,]*(?:(?:is|are|was|were|has|have|been|being|now)[ \t]+){0,3}(?:"
            + "|".join(re.escape(c) for c, _ in after)
            + r")(?![A-Za-z])",
            re.IGNORECASE,
        )
        # the same, case-sensitive, for the lower-cased text of ASCII text (when exact: checked)
        self._after_cue_lower = re.compile(self._after_cue.pattern) if lower_closed(self._after_cue.pattern) else None

    def _is_entity(self, header: str) -> bool:
        """Whether all of a header-shaped text is one condition or drug ("HYPERTENSION:")."""
        tokens = tokenize(header.strip(" .,"))
        if not len(tokens):
            return False
        for matcher in (self._condition_matcher, self._drug_matcher):
            match = matcher.match_at(tokens, 0)
            if match is not None and match.end == len(tokens):
                return True
        return False

    def _corrected(self, tokens: Tokens, condition_words: list[int]) -> tuple[Tokens, list[int]]:
        """The tokens with one-edit misspellings of one-word condition names corrected (for the
        condition lexicon only; spans stay the note's), and the condition candidates with them."""
        known = self._word_index.known
        correct = self._typos.correct
        fixes: list[tuple[int, str]] = []
        singular = self._singular_names
        for k, word in enumerate(tokens.lower):
            if len(word) >= 5 and word[-1] == "s" and word not in known and word[:-1] in singular:
                fixes.append((k, word[:-1]))  # a plural of a one-word name is that name
            elif len(word) == 4 and word[-1] == "s" and tokens.raw[k][:3].isupper() and word[:-1] in singular:
                fixes.append((k, word[:-1]))  # a plural abbreviation: "TIAs", "URIs"
            elif len(word) >= _TYPO_MIN_LENGTH and word not in known:
                fixed = correct(word)
                if fixed is not None:
                    fixes.append((k, fixed))
        if not fixes:
            return tokens, condition_words
        lower = list(tokens.lower)
        for k, fixed in fixes:
            lower[k] = fixed
        return dataclasses.replace(tokens, lower=lower), sorted({*condition_words, *(k for k, _ in fixes)})

    def _guarded(self, tokens: Tokens, start: int, end: int) -> bool:
        """A generic one-word condition used as something else: "prn pain", "Pain: 3/10"."""
        return _guarded(self._condition_guards, tokens, start, end)

    # --- public ---------------------------------------------------------------------------------

    def extract(self, text: str, options: ExtractionOptions | None = None) -> ClinicalData:
        options = options or ExtractionOptions()
        tokens = tokenize(text)
        sections = SectionIndex(self._sections.detect(text))

        want_conditions = options.wants(EntityType.CONDITION) or options.wants(EntityType.PROBLEM_LIST)
        want_meds = options.wants(EntityType.MEDICATION)
        want_allergies = options.wants(EntityType.ALLERGY)

        condition_words, drug_words, allergen_words, modifier_words, vital_words, allergy_words = self._word_index.find(
            tokens.lower
        )
        in_header = sections.header_tokens(tokens.starts)  # matches starting there are dropped
        starts = tokens.starts
        condition_tokens, condition_words = self._corrected(tokens, condition_words)
        header_free = [
            m for m in self._condition_matcher.find_all(condition_tokens, condition_words) if m.start not in in_header
        ]
        drug_matches = [m for m in self._drug_matcher.find_all(tokens, drug_words) if m.start not in in_header]
        if self._drug_guards:  # "oxygen saturation", "O2 94%"
            drug_matches = [m for m in drug_matches if not _guarded(self._drug_guards, tokens, m.start, m.end)]
        condition_matches, drug_matches = _resolve_overlaps(header_free, drug_matches)
        if self._condition_guards:
            condition_matches = [m for m in condition_matches if not self._guarded(tokens, m.start, m.end)]

        allergy_matches, allergy_regions = self._allergy_mentions(
            tokens, sections, in_header, condition_matches, allergen_words, allergy_words
        )
        allergy_tokens: set[int] = set()
        for match in allergy_matches:
            allergy_tokens.update(range(match.start, match.end))
        # A drug under an allergy header is an allergen, never a medication, whether or not it
        # was read as an allergy statement: reporting an allergen as active is the worse error.
        drug_matches = [
            m
            for m in drug_matches
            if allergy_tokens.isdisjoint(range(m.start, m.end)) and sections.at(starts[m.start]) is not _ALLERGIES
        ]
        condition_matches = [
            m
            for m in condition_matches
            if not allergy_regions.covers(tokens.starts[m.start]) and allergy_tokens.isdisjoint(range(m.start, m.end))
        ]
        unknown = self._unknown_conditions(
            tokens, in_header, condition_matches, drug_matches, allergy_matches, allergy_regions
        )

        targets = [(m.start, m.end) for m in condition_matches] + [(m.start, m.end) for m in drug_matches]
        targets += [(m.start, m.end) for m in allergy_matches] + [(s, e) for s, e, _ in unknown]
        modifiers = ModifierIndex(self._context.find_modifiers(tokens, targets, modifier_words))

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
            conditions.sort(key=_span_start)

        medications: list[Medication] = []
        if want_meds:
            lowered_text = text.lower() if text.isascii() else None
            drug_starts = [starts[m.start] for m in drug_matches]
            for index, drug_match in enumerate(drug_matches):
                limit = drug_starts[index + 1] if index + 1 < len(drug_starts) else len(text)
                previous_end = tokens.ends[drug_matches[index - 1].end - 1] if index else 0
                medications.append(
                    self._medication(text, tokens, sections, modifiers, drug_match, limit, previous_end, lowered_text)
                )

        allergies: list[Allergy] = []
        nka_span: Span | None = None
        if want_allergies:
            allergen_starts = [m.start for m in allergy_matches]
            allergies = [self._allergy(text, tokens, sections, modifiers, m, allergen_starts) for m in allergy_matches]
            # A denied allergen ("denies latex allergy") is not an allergy of the patient (ANNOTATION.md)
            allergies = [a for a in allergies if a.assertion.certainty is not Certainty.NEGATIVE]
            nka_span = self._no_known_allergies(text, sections)

        vitals = (
            self._vitals.extract(text, sections, tokens, vital_words) if options.wants(EntityType.VITAL_SIGN) else []
        )
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
        assertion = self._context.assert_tokens(tokens, modifiers, start, end, section)
        surface = text[char_start:char_end]
        if concept is not None:
            confidence = 0.9 if len(surface) > 4 else 0.8
            codings = self._condition_codings[concept.code, concept.name]
            name = concept.name
        else:
            confidence = 0.55
            codings = ()
            name = fallback_name
        if assertion.certainty in _POSSIBLE:
            confidence -= 0.1
        return Condition(
            span=Span(char_start, char_end, surface),
            name=name,
            codings=codings,
            assertion=assertion,
            confidence=_round3(confidence),
            section=section,
            resolved=assertion.temporality is _PAST and self._context.is_resolved(modifiers, start, end),
        )

    def _unknown_conditions(  # noqa: PLR0917 - private helper, called in one place
        self,
        tokens: Tokens,
        in_header: set[int],
        conditions: Sequence[PhraseMatch[ConditionConcept]],
        drugs: Sequence[PhraseMatch[DrugConcept]],
        allergens: Sequence[PhraseMatch[AllergenConcept]],
        allergy_regions: CharMask,
    ) -> list[tuple[int, int, str]]:
        """Clearly clinical words not in the lexicon (…itis, …emia, "X syndrome"): returned uncoded."""
        out: list[tuple[int, int, str]] = []
        for match in _unknown_condition_matches(tokens):
            start, end = match.span()
            words = match.group().split()
            if len(words) == 1 and words[0].lower() in _NOT_CONDITIONS:
                continue
            if len(words) == 2 and (words[0].lower() in _UNKNOWN_STOP or words[0].lower() in _NOT_QUALIFIERS):
                continue
            if allergy_regions.covers(start):
                continue
            first = tokens.index_at_or_after(start)  # the token starting at `start`
            if first in in_header:
                continue
            last = tokens.index_at_or_after(end)
            if first >= last:
                continue
            # The match runs from a token start to a token end (it ends at a word boundary), as
            # lexicon matches do: their characters overlap exactly when their tokens do.
            if any(_overlaps(group, first, last) for group in (conditions, drugs, allergens)):
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
        lowered_text: str | None,
    ) -> Medication:
        """The drug name with its attributes. `lowered_text`: text.lower() of an ASCII text, else
        None (shared by the case-insensitive searches: ASCII lower-casing keeps offsets)."""
        concept = match.payloads[0]
        char_start, char_end = tokens.starts[match.start], tokens.ends[match.end - 1]
        section = sections.at(char_start)
        window_end = self._med_attributes.window_end(text, char_end, next_drug_start)
        attributes = self._med_attributes.parse(text, char_end, window_end, lowered_text)
        assertion = self._context.assert_tokens(tokens, modifiers, match.start, match.end, section)
        status = self._status(
            text, tokens, match, section, previous_drug_end, attributes.end, next_drug_start, lowered_text
        )
        if assertion.temporality is _FUTURE and status is _ACTIVE:
            status = _NEW  # planned from now ("will start X" is new already)
        codings = self._drug_codings[concept.generic]
        confidence = 0.85 + (0.05 if attributes.dose is not None else 0.0) + (0.05 if attributes.frequency else 0.0)
        surface = text[char_start:char_end]
        if len(surface) <= 3:
            confidence -= 0.1
        instruction = (
            Span(char_start, attributes.end, text[char_start : attributes.end]) if attributes.end > char_end else None
        )
        return Medication(
            span=Span(char_start, char_end, surface),
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
            confidence=_round3(min(confidence, 0.99)),
            section=section,
            instruction_span=instruction,
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
        lowered_text: str | None,
    ) -> MedicationStatus:
        k = tokens.sentence_first(match.start)
        del previous_drug_end  # a cue carries across a list: "given morphine 4 mg IV, Zofran 4 mg IV and NS"
        clause_start = tokens.starts[k] if k < len(tokens) else 0
        char_start = tokens.starts[match.start]
        before_start = max(clause_start, char_start - 160)
        before_text = text[before_start:char_start]
        found: MedicationStatus | None = None
        if self._before_cue_lower is not None and lowered_text is not None:
            cue_matches = self._before_cue_lower.finditer(lowered_text[before_start:char_start])
        elif self._before_cue_lower is not None and before_text.isascii():
            cue_matches = self._before_cue_lower.finditer(before_text.lower())
        else:
            cue_matches = self._before_cue.finditer(before_text)
        for cue_match in cue_matches:
            found = self._before_status.get(cue_match.group().lower(), found)
        after_end = min(next_drug_start, instruction_end + 40)
        after_text = text[instruction_end:after_end]
        # (the pattern starts with "^": search == match)
        if self._after_cue_lower is not None and lowered_text is not None:
            after = self._after_cue_lower.match(lowered_text[instruction_end:after_end])
        elif self._after_cue_lower is not None and after_text.isascii():
            after = self._after_cue_lower.match(after_text.lower())
        else:
            after = self._after_cue.match(after_text)
        if after is not None:
            words = after.group().lower().strip(" \t,")
            for cue, status in self._after_status.items():
                if words.endswith(cue):
                    return status
        if found is not None:
            return found
        for default_section, status in self._section_defaults:
            if section is default_section:
                return status
        return self._med_attributes.default_status

    # --- allergies -------------------------------------------------------------------------------

    def _allergy_mentions(  # noqa: PLR0917 - private helper, called in one place
        self,
        tokens: Tokens,
        sections: SectionIndex,
        in_header: set[int],
        conditions: Sequence[PhraseMatch[ConditionConcept]],
        allergen_words: Sequence[int],
        triggers: Sequence[int],
    ) -> tuple[list[PhraseMatch[AllergenConcept]], CharMask]:
        """Allergen mentions in allergy statements, and the character regions of those statements.
        `allergen_words` and `triggers`: the indices of the tokens that start an allergen name and
        of the trigger words (_ALLERGY_TRIGGERS)."""
        regions: list[tuple[int, int]] = [
            (span.start, span.end) for span in sections.spans if span.section is NoteSection.ALLERGIES
        ]
        n = len(tokens)
        lower = tokens.lower
        # Sentences with a trigger word: the statement runs from the trigger to the clause end.
        for i in triggers:
            j = max(tokens.clause_first(i), i - 4)  # up to 4 tokens back, within the clause
            if i and lower[i - 1] in _INDICATION_BEFORE:
                j = i  # "Claritin for allergies": the drug treats them
            clause_last = tokens.clause_last(i)
            k = i
            if k + 1 < n and tokens.raw[k + 1] in _QUOTES:
                k += 1  # 'describes "allergy" to Haldol'
            while k + 1 < n and k - i < 3 and lower[k + 1] in _REACTION_WORDS:
                k += 1  # "allergic reaction to Keflex", "his allergy reaction was to Keflex"
            following = lower[k + 1] if k + 1 < n else ""
            opens_list = following in ("to", ":", "-", "(", "include", "includes", "including", "are", "is", "of")
            while opens_list and k + 1 < n and k - i < 40 and k + 1 <= clause_last and tokens.raw[k + 1] != ".":
                k += 1
                if lower[k] in _ALLERGY_LIST_END:
                    k -= 1
                    break
            regions.append((tokens.starts[j], tokens.ends[k]))
        mask = CharMask(len(tokens.text))
        for start, end in regions:
            mask.mark(start, end)
        # Matches starting after the last statement are dropped, and can only hide later ones:
        # the phrase search stops there.
        limit = max((end for start, end in regions if end > start), default=0)
        allergen_words = allergen_words[: bisect.bisect_left(allergen_words, tokens.index_at_or_after(limit))]
        found: list[PhraseMatch[AllergenConcept]] = []
        for match in self._allergen_matcher.find_all(tokens, allergen_words):
            if match.start in in_header:
                continue
            if sections.at(tokens.starts[match.start]) in _MEDICATION_SECTIONS:
                continue  # a medication list never yields allergies ("allergy pills", "Allegra for allergies")
            if not mask.covers(tokens.starts[match.start]):
                continue
            if _overlaps(conditions, match.start, match.end):  # a condition's words, not an allergen
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
        assertion = self._context.assert_tokens(tokens, modifiers, match.start, match.end, section)
        assertion = Assertion(
            certainty=assertion.certainty,
            conditionality=assertion.conditionality,
            association=assertion.association,
            relation=assertion.relation,
            temporality=Temporality.CURRENT if assertion.temporality is Temporality.PAST else assertion.temporality,
        )
        codings: tuple[Coding, ...] = ()
        if concept.drug is not None:
            codings = self._drug_codings[concept.drug.generic]
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
    last = _UNKNOWN_LAST  # word[-1]: no new string for Latin-1 characters (cached), unlike word[-2:]
    for i in [k for k, word in enumerate(lower) if word[-1] in last and (word[-2:] in tails or word in heads)]:
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


def _guarded(guards: dict[str, tuple[frozenset[str], frozenset[str]]], tokens: Tokens, start: int, end: int) -> bool:
    """Whether the one-word name at tokens [start, end) has a guard word just before or after it
    (past a colon); "#" in the after-words stands for any number ("O2 94%")."""
    if end - start != 1:
        return False
    guard = guards.get(tokens.lower[start])
    if guard is None:
        return False
    before, after = guard
    lower = tokens.lower
    if start and lower[start - 1] in before:
        return True
    k = end + 1 if end < len(lower) and lower[end] == ":" else end
    if k >= len(lower):
        return False
    return lower[k] in after or ("#" in after and lower[k][:1].isdigit())


def _overlaps(matches: Sequence[PhraseMatch[Any]], first: int, last: int) -> bool:
    """Whether tokens [first, last) overlap one of `matches` (in order, not overlapping each
    other, so only the last one starting before `last` can)."""
    k = bisect.bisect_left(matches, last, key=_match_start) - 1
    return k >= 0 and matches[k].end > first


_match_start = attrgetter("start")


@functools.lru_cache(maxsize=1024)
def _round3(confidence: float) -> float:
    """round(confidence, 3), remembered: confidences take few values (never 0.0, which the cache
    would not tell from -0.0), and rounding a float to digits costs 3x a cache lookup."""
    return round(confidence, 3)


_span_start = attrgetter("span.start")


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
_SYMPTOM_PROBLEM_SECTIONS = (*_ACTIVE_PROBLEM_SECTIONS, NoteSection.CHIEF_COMPLAINT)  # symptoms count only here
_NOT_PROBLEM_SECTIONS = (NoteSection.FAMILY_HISTORY, NoteSection.REVIEW_OF_SYSTEMS)
_PROBLEM_CERTAINTIES = (Certainty.POSITIVE, Certainty.POSSIBLE_POSITIVE)
_POSSIBLE_POSITIVE = Certainty.POSSIBLE_POSITIVE
_SUBJECT, _UNCONDITIONAL, _PAST = Association.SUBJECT, Conditionality.NONE, Temporality.PAST


def _problem_list(conditions: Sequence[Condition]) -> list[ProblemListEntry]:
    """Deduplicated active problems: positive, the patient's, not hypothetical, not resolved-past."""
    groups: dict[str, list[Condition]] = {}
    order: list[str] = []
    plan_start: dict[str, int] = {}  # where a problem is first written in the assessment/plan
    for condition in conditions:
        a = condition.assertion
        if a.certainty not in _PROBLEM_CERTAINTIES:
            continue
        if a.association is not _SUBJECT or a.conditionality is not _UNCONDITIONAL:
            continue
        if a.temporality is _FUTURE:
            continue
        coded = bool(condition.codings)
        key = condition.codings[0].code if coded else condition.name
        chronic = _CHRONIC.get(key, False)
        if a.temporality is _PAST and (condition.resolved or not chronic):
            continue
        if condition.section in _NOT_PROBLEM_SECTIONS:
            continue
        if _SYMPTOM.get(key, False) and condition.section not in _SYMPTOM_PROBLEM_SECTIONS:
            continue
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(condition)
        if condition.section in _ACTIVE_PROBLEM_SECTIONS:
            start = condition.span.start
            plan_start[key] = min(plan_start.get(key, start), start)

    def rank_key(key: str) -> tuple[int, int]:
        """Problems of the assessment/plan (or diagnoses) first, in the order written there."""
        start = plan_start.get(key)
        return (0, start) if start is not None else (1, groups[key][0].span.start)

    entries: list[ProblemListEntry] = []
    for rank, key in enumerate(sorted(order, key=rank_key), start=1):
        mentions = groups[key]
        first = mentions[0]
        # (list comprehensions: cheaper than generators for the one or two mentions of a problem)
        possible = all([m.assertion.certainty is _POSSIBLE_POSITIVE for m in mentions])
        confidence = max([m.confidence for m in mentions]) * (0.8 if possible else 1.0)
        entries.append(
            ProblemListEntry(
                name=first.name,
                codings=first.codings,
                evidence=tuple([m.span for m in mentions]),
                rank=rank,
                confidence=_round3(min(confidence + 0.02 * (len(mentions) - 1), 0.99)),
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
