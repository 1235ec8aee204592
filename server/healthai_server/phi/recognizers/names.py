"""Person names without a statistical model.

Evidence, strongest first:
  1. a title before the name (Dr., Mrs., Nurse) or credentials after it (", MD", " RN");
  2. a label or cue before it ("Patient:", "Attending:", "Electronically signed by",
     "seen by", "his wife", "Dear"), or a sign-off line before it ("Sincerely,");
  3. the census lexicon: a given name followed by a surname, or "LAST, FIRST";
  4. a word already found as a name elsewhere in the same note (every mention goes).
A clinical allow-list (eponyms, drugs, specialties, note vocabulary) vetoes the weak
evidence (3 and a lone lexicon word), and words that are also common English words
(Will, May, Young, White) need a cue or an unambiguous neighbour.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from healthai_server.domain.phi import PhiType
from healthai_server.phi.lexicon import Lexicon
from healthai_server.phi.recognizers.base import EntityRecognizer, RecognizerResult
from healthai_server.phi.wordlists import word_section
from healthai_server.textmatch import word_branches

_TOKEN = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?(?:-[^\W\d_]+){0,3}")
_PARTICLES = word_section("recognizer_words.txt", "names.PARTICLES")
_STOP = word_section("recognizer_words.txt", "names.STOP")
_TITLES = (
    r"drs|dr|doctor|mr|mrs|ms|mx|miss|prof|professor|rev|reverend|monsignor|msgr|nurse|sr|sister|fr|father|officer|"
    r"judge|attorney"
)
_LABELS = (
    r"patient(?:'s)? name|patient|pt name|pt|name|full name|legal name|preferred name|attending(?: physician)?|"
    r"resident|fellow|intern|provider|rendering provider|ordering provider|physician|surgeon|assistant|"
    r"anesthesiologist|pcp|primary care(?: physician| provider)?|referring(?: physician| provider)?|"
    r"consultant|author|nurse|rn|np|pa|cc|to|from|re|emergency contact|contact|next of kin|nok|"
    r"poa|health care proxy|healthcare proxy|hcp|caregiver|guardian|interpreter|witness|mother's name|"
    r"father's name|maiden name|spouse|parent|signed|scribe|dictated by|transcribed by|technologist|therapist|"
    r"social worker|case manager|pharmacist|chaplain|sonographer|radiologist|pathologist|midwife|doula|"
    r"dietitian|dietician|nutritionist|care coordinator|coordinator|physical therapist|occupational therapist|"
    r"speech therapist|respiratory therapist|psychologist|counselor|counsellor|cardiologist|oncologist|"
    r"neurologist|nephrologist|hospitalist|primary nurse|charge nurse|nurse practitioner|physician assistant|"
    r"supervising physician|covering physician|on-call|on call|"
    r"insured|subscriber|policy holder|responsible party|guarantor|mother|father|wife|husband|spouse|daughter|son|"
    r"sister|brother|partner|roommate|grandmother|grandfather|aunt|uncle|legal guardian|surrogate|sponsor|"
    r"hha|pct|cna|lpn|lvn|aide|home health aide|policyholder|inmate|resident name|client|client name|"
    r"collected by|present|pi|crc|study coordinator|"
    r"caller|crew|completed by|prepared by|taken by|your nurse|your nurse was|nurse was|your doctor|provider was|"
    r"requested by|requestor|requester|reporter|informant|contact person|driver|owner|employee|victim|"
    r"clinician|examiner|transcriptionist|typist|dictating|dictated|transcribed"
)
_PHRASES = (
    r"electronically signed by|e-signed by|signed by|cosigned by|co-signed by|dictated by|transcribed by|"
    r"authenticated by|verified by|seen by|seen and examined by|examined by|evaluated by|reviewed by|read by|"
    r"interpreted by|performed by|reported by|entered by|ordered by|referred by|referred to|covering for|"
    r"discussed with|discussed the case with|spoke with|spoke to|talked with|talked to|d/w|called|paged|"
    r"pt|patient|per|accompanied by|brought in by|care of|c/o|named|called her|called him|dear|for referring|referring|"
    r"bringing|brought|bring|left (?:a )?message for|left (?:a )?voicemail for|message for|lm for|s/w|"
    r"survived by|married to|engaged to|lives with|living with|staying with|cared for by|visited by|"
    r"wife|husband|spouse|daughter|son|mother|father|brother|sister|partner|fiance|fiancee|girlfriend|boyfriend|"
    r"roommate|friend|neighbor|neighbour|caregiver|aunt|uncle|cousin|niece|nephew|grandson|granddaughter|"
    r"sons|daughters|children|kids|grandchildren|grandsons|granddaughters|siblings|brothers|sisters|parents|"
    r"goes by|known as|prefers to be called|prefers|nicknamed|nickname|aka|a\.k\.a\.|called him|called her|"
    r"sincerely|regards|thanks|thank you|respectfully|best|cordially|yours truly|completed by|prepared by|"
    r"its|it's|this is|my name is|"
    r"hi|hello|hey|good morning|good afternoon|"
    r"stepson|stepdaughter|stepmother|stepfather|mom|dad|grandma|grandpa|granddaughter|grandson|grandmother|"
    r"grandfather|godmother|godfather|ex-wife|ex-husband|fiancé|sibling|twin|son-in-law|daughter-in-law|"
    r"mother-in-law|father-in-law|sister-in-law|brother-in-law|"
    r"policyholder|policy holder|interpreter|translator|pharmacist|chaplain|hha|pct|"
    r"sitter|aide|scribe|student|tech|technician|therapist|"
    r"counselor|social worker|case manager|caseworker|resident|intern|fellow|attending|surgeon|dietitian|"
    r"midwife|coworker|co-worker|boss|supervisor|landlord|pastor|priest|rabbi|imam|deputy|detective|"
    r"paramedic|medic|emt|np|rn|lpn|cna|sw|cm|nurse practitioner|physician assistant|"
    r"sonographer|technologist|phlebotomist|radiographer|navigator|educator|coordinator|transporter|"
    r"receptionist|volunteer|doula|nutritionist|dietician|"
    r"(?:his|her|their|pt's|patient's|the patient's|the)\s(?:wife|husband|spouse|partner|son|daughter|"
    r"mother|father|mom|dad|brother|sister|sibling|aunt|uncle|cousin|niece|nephew|grandmother|"
    r"grandfather|grandson|granddaughter|grandma|grandpa|friend|neighbor|neighbour|boyfriend|girlfriend|"
    r"fiance|fiancee|fiancé|roommate|caregiver|guardian|child|stepson|stepdaughter|stepmother|stepfather|"
    r"daughter-in-law|son-in-law|mother-in-law|father-in-law|sister-in-law|brother-in-law|pcp|"
    r"cardiologist|oncologist|neurologist|surgeon|nephrologist|therapist|psychiatrist|dentist|doctor|"
    r"physician|nurse|case manager|social worker)"
)
# A given name alone, with no cue, must be at least this frequent (SSA + census rank).
_LONE_NAME_MAX_RANK = 30_000
# ", NH" / ", New York" after "Terrace, Berlin": a city and state, not "LAST, FIRST".
_STATE_AFTER = re.compile(r",[ \t]{1,2}(?:[A-Z]{2}(?![A-Za-z])|[A-Z][a-z]+ ?[A-Z]?[a-z]*,? \d{5})")
# Titles that are also ordinary nouns: the next word must look like a name, not a word.
_WORD_TITLES = word_section("recognizer_words.txt", "names.WORD_TITLES")
# Role words and greetings before a name ("interpreter Yusra", "RN Dana Ko", "Hi Maria,"): the
# next word must be a name from the lexicons, or no English word ("Resident Physician" is not).
_ROLE_PHRASES = frozenset(
    {"hi", "hello", "hey", "good morning", "good afternoon", "interpreter", "translator", "pharmacist", "chaplain",
     "sitter", "aide", "scribe", "student", "tech", "technician", "therapist", "counselor", "social worker",
     "case manager", "caseworker", "resident", "intern", "fellow", "attending", "surgeon", "dietitian", "midwife",
     "coworker", "co-worker", "boss", "supervisor", "landlord", "pastor", "priest", "rabbi", "imam", "deputy",
     "detective", "paramedic", "medic", "emt", "np", "rn", "lpn", "cna", "sw", "cm", "nurse practitioner",
     "physician assistant", "sonographer", "technologist", "phlebotomist", "radiographer", "navigator",
     "educator", "coordinator", "transporter", "receptionist", "volunteer", "doula", "nutritionist", "dietician",
     "hha", "pct", "policyholder", "policy holder", "twin", "best", "its", "it's", "this is",
     "my name is", "completed by", "prepared by"}
)  # fmt: skip
# Degrees that are also words or states, taken as such only after a name and a comma.
_DEGREES = word_section("recognizer_words.txt", "names.DEGREES")
# Role abbreviations written before a name ("SW Patience Mwangi, MSW"): never part of it.
_ROLE_ABBR = word_section("recognizer_words.txt", "names.ROLE_ABBR")
_AMBIGUOUS_LABELS = word_section("recognizer_words.txt", "names.AMBIGUOUS_LABELS")
# A frequent given name that is also a word ("Grace", "Faith", "Mercy", "Hope"): a name right
# after a role word or a kinship title ("Chaplain Grace", "RN Faith", "Sister Belle").
_GIVEN_WORD_MAX_RANK = 2000
# A given name that is also a word, as the next item of a list of people ("and Kit").
_LIST_GIVEN_MAX_RANK = 5000
_AMBIGUOUS_TITLES = frozenset({"ms", "mr", "mrs", "sr", "fr", "rev", "prof"})
_SIGNOFF = frozenset(
    {"sincerely", "regards", "thanks", "thank you", "respectfully", "best", "cordially", "yours truly"}
)
_TITLE_LEAD, _TITLE_BRANCHES = word_branches(_TITLES)
_LABEL_LEAD, _LABEL_BRANCHES = word_branches(_LABELS)
_PHRASE_LEAD, _PHRASE_BRANCHES = word_branches(_PHRASES)
_CUE_LEAD = "".join(sorted(set(_TITLE_LEAD + _LABEL_LEAD + _PHRASE_LEAD)))
# One leading character class for the three kinds of cue, so `re` can skip ahead; the
# groups hold the cue word less its first letter (the match starts at the word).
_CUE = re.compile(
    rf"[{_CUE_LEAD}](?<![\w'].)(?:(?P<title>{_TITLE_BRANCHES})\.?[ \t]{{1,3}}|"
    rf"(?P<label>{_LABEL_BRANCHES})[ \t]{{0,3}}[:|][ \t]{{0,3}}|"
    rf"(?P<phrase>{_PHRASE_BRANCHES})(?:[ \t]{{0,3}}[,:-]?[ \t]{{0,3}}[(\"'“‘]?|,?[ \t]{{0,3}}\r?\n[ \t]{{0,3}}))"
)
_CREDENTIALS = (
    r"M\.D\.|MD|D\.O\.|R\.N\.|RN|NP|PA-C|Ph\.?D\.?|PharmD|MSW|LCSW|CRNA|APRN|FNP(?:-BC)?|DNP|DPM|DDS|DMD|LPN|"
    r"CNM|MPH|FACP|FACC|FACS|FAAP|FACOG|DPT|BSN|MSN|LICSW|CNS|ANP|ACNP|AGNP|CRNP|CPNP|PNP|NNP|MBBS|CGC|CNA|"
    r"PsyD|RPh|RD|RDN|LMFT|LPC|OTR/L|CCC-SLP|CDCES|M\.Div\.?|MDiv|CPhT|BCC|MLS|DO|"
    r"ARNP|AuD|CWOCN|WOCN|CWON|CWS|DON|ADON|CADC|LADC|LCADC|CCC-A|LMSW|LCPC|LMHC|LCMHC|OTR|COTA|PTA|RRT|CRT|"
    r"CCRN|CEN|CNL|RNFA|CMA|LNHA|NHA|CRC|CCRC|CCRP|BCBA|RBT|LSW|LMT|ATC|"
    # Board-certified nurse practitioners: "PMHNP-BC", "AGACNP-BC", "FNP-C".
    r"(?:PMH|AGAC|AGPC|WH|PMH)?NP-(?:BC|C)|PMHNP"
)
_CREDENTIAL = re.compile(rf",?[ \t]{{1,2}}(?:{_CREDENTIALS})(?![A-Za-z])")
# A credential where a name token starts ("ROSE, M.D.": the "M" is not an initial).
_CREDENTIAL_AT = re.compile(rf"(?:{_CREDENTIALS})(?![A-Za-z])")
# A signature line in a lower-case (or any) note: "-kj mbeki rn", "— Bee Alvarado, RN".
_SIGNATURE_LINE = re.compile(
    r"(?m)^[ \t]*(?:-{1,2}|–|—)[ \t]*(?P<name>[^\W\d_][\w'’.-]*(?:[ \t][^\W\d_][\w'’.-]*){0,3}?)"
    r",?[ \t]+(?i:md|do|rn|np|pa|pa-c|lpn|cna|crna|aprn|dds|lcsw|msw|rd|pt|ot|slp|rt|rrt|cnm|pharmd|phd)\.?"
    r"[ \t]*(?:,[^\n]{0,60})?$"
)
# Lower-case words that follow a title or a relation word without being names.
_NOT_LOWER_NAMES = word_section("recognizer_words.txt", "names.NOT_LOWER_NAMES")
# The separator between two people of a list of attendees: a comma or a semicolon.
_LIST_SEP = re.compile(r"[ \t]?[,;][ \t]{1,2}")
_LIST_GAP = re.compile(r",[ \t]|,?[ \t]and[ \t]|[ \t]&[ \t]|[ \t]?/[ \t]?")
# "Ñusta Lindqvist returns for...": a capitalised pair at the start of a line, then a verb.
_SUBJECT_VERB = re.compile(
    r"[ \t]+(?P<verb>is|was|has|had|returns|returned|presents|presented|reports|reported|denies|denied|comes|came|"
    r"states|stated|feels|felt|arrives|arrived|underwent|tolerated|complains|complained)\b",
    re.IGNORECASE,
)
# "... is a 77-year-old": only people have ages.
_AGE_AFTER = re.compile(r"[ \t]+an?[ \t]+\d{1,3}[ \t-]?(?:year|yr|yo|y/o|y\.o\.|month|week|day)", re.IGNORECASE)
# Verbs that conditions take too ("Atrial Fibrillation is controlled"): need a census name.
_WEAK_VERBS = frozenset({"is", "was", "has", "had"})
# Endings of medical words; a token not in the census that ends so is not taken as a name
# by the cue-less rules ("Acute Cholecystitis", "Benign Prostatic Hyperplasia").
_MEDICAL_ENDINGS = (
    "itis",
    "osis",
    "emia",
    "aemia",
    "ation",
    "ition",
    "ology",
    "ectomy",
    "otomy",
    "ostomy",
    "plasty",
    "scopy",
    "algia",
    "pathy",
    "trophy",
    "plasia",
    "oma",
    "omas",
    "ial",
    "ular",
    "ary",
    "ous",
    "ive",
    "ic",
    "ics",
    "al",
    "ine",
    "ide",
    "ate",
    "ase",
    "ol",
    "il",
    "in",
    "ism",
    "ure",
    "ness",
    "ing",
    "ed",
    "ment",
    "ency",
    "ance",
    "ence",
    "ity",
    "ia",
    "ies",
    "ers",
    "ors",
    "gram",
    "graphy",
    "cele",
    "rrhea",
    "uria",
    "pnea",
    "cyte",
    "asis",
    "iasis",
    "esis",
)
_INNER_GAP = re.compile(r"[ \t]|\.[ \t]?|[ \t]?['\"(][^\W\d_]{1,12}['\")][ \t]|[ \t][\"“]|[\"”][ \t]")
# Generational suffixes, inside the name ("Earl Dupree Jr.", "HOLLINGSWORTH, WALKER III").
_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv"})
# Initials signing an entry at the end of a line ("... verbalized understanding. -DP").
_INITIALS_SIGN = re.compile(r"(?m)(?:^|[.!?)][ \t]{1,3})[-–—][ \t]?(?P<ini>[A-Z]{2,3})[ \t]*$")
# A lower-case signature alone on its line after a sign-off ("thanks,\ndede").
_INITIALS_CELL = re.compile(
    r"(?:\|[ \t]{1,3}(?P<cell>[A-Z]\.(?:-?[A-Z]\.){1,3})(?=[ \t]{1,3}\|)"
    r"|(?:/s/|(?i:collected by|initials|signed by|performed by|verified by)"
    r"(?:[ \t]{0,2}\((?i:initials|init\.?)\))?[ \t]{0,2}:)[ \t]{0,3}"
    r"(?P<sig>[A-Z]\.?[A-Z]\.?(?:[A-Z]\.?)?)(?![\w.]))"
)
# Dotted abbreviations that are not a person's initials ("U.S.", "P.O.", "b.i.d." in capitals).
_DOTTED_NOT_INITIALS = word_section("recognizer_words.txt", "names.DOTTED_NOT_INITIALS")
_LOWER_SIGNOFF = re.compile(
    r"(?im)^[ \t]*(?:thanks|thank you|thx|regards|best|sincerely|love)[ \t]*[,!.]?[ \t]*(?:\r?\n[ \t]*)?"
    r"(?P<name>[a-z][a-z'-]{1,20})[ \t]*$"
)


# Initials of the author and the typist under a dictation, before its dictated/transcribed
# dates: "aw/tn  d 03/12/2025  t 03/13/2025", "JRK:mls D: 03/12".
_TRANSCRIPTION_INITIALS = re.compile(
    r"(?m)^[ \t]*(?P<a>[A-Za-z]{2,3})[/:](?P<b>[A-Za-z]{2,3})(?=[ \t]+(?i:dd?|dt|td?)[:.]?[ \t]*\d)"
)
# A typist's or author's initials after a transcription label, alone before the end of the line or
# a gap ("Transcriptionist: lmp  Job 8831", "transcribed 9/16/26 by cs"): whatever the letters
# also abbreviate (LMP, CS), they are the typist here.
_TYPIST_INITIALS = re.compile(
    r"(?im)(?:\b(?:transcriptionist|typist|transcribed[ \t]by|typed[ \t]by|dictated[ \t]by)[ \t]*:?[ \t]{1,2}"
    r"|\b(?:transcribed|dictated|typed)\b[^\n]{0,60}?[ \t]by[ \t]{1,2})"
    r"(?P<ini>[A-Za-z]{2,3})(?=[ \t]*(?:$|[ \t]{2}|\t|[.,;|]))"
)
_TITLE_WORD = re.compile(_TITLES)
# Dotted initials standing for a person: "(H.W.)", "CASE 1 - R.M., 67 M", "patient M.A. (MRN ...)".
_DOTTED_INITIALS = re.compile(r"(?<![\w.])[A-Z]\.[ ]?[A-Z]\.(?:[ ]?[A-Z]\.)?(?![\w])")
# ... in parentheses, after a word for a person or a case, or before an age or a record number.
_DOTTED_BEFORE = re.compile(
    r"(?:\(|(?i:\b(?:patient|pt|case[ \t]+\d{1,3}[ \t]*[-–—:]|subject|participant|resident|client|infant|"
    r"baby|child|member|donor|recipient|initials)[ \t]*:?))[ \t]*$"
)
# ... or before a nurse's or doctor's credential ("- K.D., LPN") or a record code in parentheses
# ("Discharge planning - R.J. (TC-4410297)").
_DOTTED_AFTER = re.compile(
    r"\)|,?[ \t]{1,2}(?:\d{1,3}[ \t]?(?:[MF]\b|y|yo|-year)|\(?(?:MRN|DOB|age)\b|\([A-Z]{0,4}-?\d{4,})"
    rf"|,[ \t]{{1,2}}(?:{_CREDENTIALS})(?![A-Za-z])"
)
# Where a found person's initials stand for them ("Rémy Delacroix, RN (RD)" ... "10:05  118/70  RD",
# "received by LN"): in parentheses alone, after "by"/"per", or alone in a table cell.
_NAME_INITIALS_AT = re.compile(
    r"(?:\((?P<paren>[A-Z]{2,3})\)"
    r"|(?i:\b(?:by|per|cosigned|co-signed))[ \t]{1,2}(?P<by>[A-Z]{2,3})(?![\w])"
    r"|(?:[ \t]{2}|\t|\|[ \t]?)(?P<cell>[A-Z]{2,3})[ \t]*(?=\||\n|$|[ \t]{2}))"
)
# A quoted nickname: after a found name ("Eli Nakamura (\"Skip\")") or a nickname label
# ("PREFERRED ... \"Dec\"", "goes by 'Bud'").
_QUOTED_NAME = re.compile(r"[\"“'‘](?P<nick>[A-Z][\w'’-]{1,14}(?:[ \t][A-Z][\w'’-]{1,14})?)[\"”'’]")
_NICKNAME_LABEL = re.compile(
    r"(?i:preferred(?:[ \t]name)?|nick[ \t]?name|goes[ \t]by|aka|a\.k\.a\.|known[ \t]as|"
    r"prefers[ \t]to[ \t]be[ \t]called)"
    r"(?:[ \t]{0,3}(?::|\.{2,}))?[ \t]{0,3}\(?$"
)
# A nickname given without quotes: "everybody calls me Bunny", "goes by Skip".
_NICKNAME_PLAIN = re.compile(
    r"(?i:\b(?:calls?[ \t]me|called[ \t]me|call[ \t]him|call[ \t]her|goes[ \t]by|known[ \t]as|"
    r"prefers[ \t]to[ \t]be[ \t]called))[ \t]{1,2}(?P<nick>[A-Z][a-z'’-]{1,14})(?![\w])"
)
# Column breaks around a "SURNAME, GIVEN" cell of a table or a face sheet.
_CELL_BEFORE = re.compile(r"(?:^|\n|[ \t]{2}|\t|\|[ \t]*|(?i:name)[ \t]*:[ \t]*)$")
_CELL_AFTER = re.compile(r"(?:[ \t][A-Za-z]\.?)?(?:[ \t]{2}|\t|[ \t]*\||[ \t]*$)", re.MULTILINE)


@dataclass(slots=True)
class _Token:
    start: int
    end: int
    low: str
    shape: str  # "title", "upper", "lower", "initial", "mixed"
    first: int  # census rank, 0 if not a given name
    last: int  # census rank, 0 if not a surname
    clinical: bool
    common: bool
    word: bool  # also a lower-case English word ("hunter", "frost")


_NO_FACTS = (0, 0, False, False, False)
_WORD_CACHE_SIZE = 100_000


def _shape(word: str) -> str:
    if len(word) == 1:
        return "initial" if word.isupper() else "lower"
    if word.isupper():
        return "upper"
    if word.islower():
        return "lower"
    if word[0].isupper():
        return "title"
    return "mixed"


def _label_of(text: str, cue: re.Match[str]) -> str:
    """The label of a label cue, lower-case; in a table cell ("| Primary RN | Oksana ... |")
    it counts as "name": the value must look like a name."""
    if "|" in text[cue.end("label") : cue.end()]:
        return "name"
    return text[cue.start() : cue.end("label")].lower()


class _Note:
    """One note's tokens and the name evidence found so far (token index -> score)."""

    __slots__ = ("ends", "eponyms", "index_of", "scored", "starts", "text", "tokens")

    def __init__(self, text: str, tokens: list[_Token]) -> None:
        self.text = text
        self.tokens = tokens
        self.starts = [t.start for t in tokens]
        self.ends = [t.end for t in tokens]
        self.index_of = {t.start: k for k, t in enumerate(tokens)}
        self.scored: dict[int, float] = {}
        # Clinical words found as surnames in a "SURNAME, GIVEN" cell ("BELL, ODESSA").
        self.eponyms: set[str] = set()

    def mark(self, indexes: list[int], score: float) -> None:
        scored = self.scored
        for k in indexes:
            if scored.get(k, 0.0) < score:
                scored[k] = score


class NameRecognizer(EntityRecognizer):
    name = "person_name"
    supported_types = (PhiType.NAME,)

    def __init__(self, lexicon: Lexicon) -> None:
        self._lex = lexicon
        self._word_cache: dict[str, tuple[str, str, int, int, bool, bool, bool]] = {}
        # One method per cue family (after Presidio's registry of small recognizers), in the
        # order they run.
        self._families: tuple[Callable[[_Note], None], ...] = (
            self._cues_before,
            self._credentials_after,
            self._lexicon_pairs,
            self._subject_verb,
            self._particles_between,
            self._signature_lines,
            self._initials_signing,
            self._lower_signoffs,
            self._initial_surname,
            self._initials_cells,
            self._transcription_initials,
            self._typist_initials,
            self._dotted_initials,
            self._surname_given_cells,
            self._quoted_nicknames,
            self._initials_in_lists,
            self._generational_suffixes,
            self._other_mentions,
            self._name_initials,
            self._lone_given_names,
        )

    # -- tokens -------------------------------------------------------------------------
    def _tokens(self, text: str) -> list[_Token]:
        # A word's facts depend on the word alone, and notes repeat their words: one lookup per
        # distinct word (bounded cache, cleared when full) instead of a few set and dict probes
        # per token.
        cache = self._word_cache
        tokens: list[_Token] = []
        append = tokens.append
        for match in _TOKEN.finditer(text):
            word = match.group()
            known = cache.get(word)
            if known is None:
                if len(cache) >= _WORD_CACHE_SIZE:
                    cache.clear()
                known = cache[word] = self._word_facts(word)
            low, shape, first, last, clinical, common, is_word = known
            append(_Token(match.start(), match.end(), low, shape, first, last, clinical, common, is_word))
        return tokens

    def _word_facts(self, word: str) -> tuple[str, str, int, int, bool, bool, bool]:
        """(lower-case form, shape, given-name rank, surname rank, clinical, common, word) of a word."""
        lex = self._lex
        facts_of = lex.facts
        low = word.lower()
        facts = facts_of.get(low)
        if facts is not None and not (facts[0] or facts[1]) and low.endswith(("'s", "’s")):
            base_facts = facts_of.get(low[:-2])
            if base_facts is not None and (base_facts[0] or base_facts[1]):
                facts = base_facts  # "Dr. Bell's": the name, though "bell's" (palsy) is clinical
        if low in lex.nations and not (facts is not None and 0 < facts[1] <= 3000):
            facts = (0, 0, True, False, True)  # "Vietnamese", "Nigeria": never a name
        if facts is None:
            if low.endswith(("'s", "’s")) and low[:-2] in facts_of:
                # "Frank's", "Núñez's": the name's facts; the span leaves the "'s" out.
                low = low[:-2] + "'s"
                facts = facts_of[low[:-2]]
            elif "'" in low or "’" in low or "-" in low:
                low = low.replace("’", "'")
                base = low.split("'")[-1] if low.startswith(("o'", "d'")) else low
                parts = low.split("-")
                joined = max((lex.last.get(p, 0) for p in parts), default=0) if "-" in low else 0
                if joined and not all(p in lex.last for p in parts):
                    joined = 0
                facts = (
                    lex.first.get(low, 0),
                    lex.last.get(low, 0) or lex.last.get(base.replace("-", ""), 0) or joined,
                    low in lex.clinical or low.removesuffix("'s") in lex.clinical,
                    low in lex.common,
                    low in lex.words,
                )
            elif not low.isascii():
                # "Núñez", "Müller": the census spells them without accents.
                folded = unicodedata.normalize("NFKD", low).encode("ascii", "ignore").decode()
                facts = facts_of.get(folded, _NO_FACTS)
            else:
                facts = _NO_FACTS
        return (low, _shape(word), *facts)

    @staticmethod
    def _given_word(tok: _Token) -> bool:
        """A frequent given name that is also an English word, written as a name."""
        return (
            tok.shape == "title"
            and 0 < tok.first <= _GIVEN_WORD_MAX_RANK
            and not tok.clinical
            and tok.low not in _NOT_LOWER_NAMES
            and tok.low not in _STOP
        )

    @staticmethod
    def _capitalised(tok: _Token) -> bool:
        return tok.shape in ("title", "upper", "initial", "mixed")

    def _namey(
        self,
        tok: _Token,
        strength: str,
        follows_name: bool = False,
        before_digit: bool = False,
        before_name: bool = False,
    ) -> bool:
        """Can this token be part of a name, given a cue of this strength?

        Clinical words pass only when they are also census names: after a title or a label
        ("Dr. Graves", "Name: MURPHY, ..."), as the surname after a given name ("his
        daughter Gloria Johnson"), or as a given name not followed by a number ("Wife June
        called", not "June 5"). "Dr. Unit" or "seen by Neurology" do not pass.
        """
        if tok.shape == "initial" and follows_name:
            return True  # "OKONKWO, CHIDINMA A": a middle initial, even "A"
        if tok.low in _STOP:
            return False
        if tok.shape == "initial":
            return True
        in_lexicon = bool(tok.first or tok.last)
        if tok.shape == "lower":
            # Lower case only right after a title ("dr. okafor", "dr young") or a relation word
            # ("wife bernadette"); labels use _lower_name_pair.
            if strength not in ("title", "lower") or not in_lexicon or tok.low in _NOT_LOWER_NAMES:
                return False
            if tok.clinical and strength != "title":
                # "daughter rachel stevens": an eponym's surname (Stevens-Johnson) after a given name.
                return follows_name and 0 < tok.last <= 5000 and not (tok.common or tok.word)
            if not (tok.common or tok.word):
                return True
            # "dr young", "kayla frank": a frequent surname that is also a word, right after the
            # title or after a given name; "doctor faith delgado": a given name that is also a
            # word, between the title and a surname that is none.
            return ((strength == "title" or follows_name) and 0 < tok.last <= 5000) or (
                strength == "title" and before_name and tok.first > 0
            )
        if tok.shape == "upper" and strength != "title":
            # ALL-CAPS text after a label or phrase ("CC: EAR PAIN", "MOTHER DIED"): a name from
            # the lexicons, or a word that is no English word and does not look medical.
            if not in_lexicon:
                if tok.clinical:
                    return False  # "bring CPAP"
                return (
                    len(tok.low) >= 3
                    and any(c in "aeiouy" for c in tok.low)
                    and tok.low not in self._lex.english
                    and not tok.low.endswith(_MEDICAL_ENDINGS)
                )
            if tok.word or tok.common or tok.clinical:
                return follows_name or before_name
        if tok.clinical:
            if not in_lexicon:
                return False
            return strength in ("title", "label") or follows_name or (bool(tok.first) and not before_digit)
        return True

    def _collect(self, text: str, tokens: list[_Token], index: int, strength: str) -> list[_Token]:
        """Name tokens from tokens[index] on: up to four, one line, joined by single spaces."""
        taken: list[_Token] = []
        j = index
        comma_used = False
        while j < len(tokens) and len(taken) < 4:
            tok = tokens[j]
            gap = ""
            if taken:
                gap = text[taken[-1].end : tok.start]
                if gap == ", " and not comma_used and len(taken) == 1 and tok.shape != "lower":
                    comma_used = True
                elif _INNER_GAP.fullmatch(gap) is None:
                    break
                if gap.startswith(".") and taken[-1].shape != "initial":
                    break
            after = text[tok.end : tok.end + 1]
            if after == ":" and not (strength == "title" and tok.shape == "title"):
                break
            if taken and _CREDENTIAL_AT.match(text, tok.start) and (gap.startswith(",") or tok.shape != "title"):
                break  # "GEORGE ROSE, M.D.", "Paul Ng, PA-C": a credential, not a name
            if taken and tok.shape == "lower" and taken[-1].shape != "lower" and tok.low not in _PARTICLES:
                break
            if tok.shape == "initial" and text[tok.end : tok.end + 1] not in (".", " ", ","):
                break  # "MOTHER W/ DEPRESSION": an abbreviation, not an initial
            if tok.low in _PARTICLES and j + 1 < len(tokens) and self._capitalised(tokens[j + 1]):
                taken.append(tok)
                j += 1
                continue
            before_digit = text[tok.end : tok.end + 3].strip()[:1].isdigit()
            nxt = tokens[j + 1] if j + 1 < len(tokens) else None
            before_name = (
                nxt is not None
                and nxt.shape == tok.shape
                and bool(nxt.first or nxt.last)
                and not (nxt.word or nxt.common or nxt.clinical)
                and (
                    _INNER_GAP.fullmatch(text[tok.end : nxt.start]) is not None
                    or (not taken and text[tok.end : nxt.start] == ", ")
                )
            )
            if tok.shape == "initial" and re.match(r" [a-z]", text[tok.end : tok.end + 2]):
                break  # "Dr. Adeyemi, I started ...": the pronoun, not an initial
            if not self._namey(tok, strength, bool(taken), before_digit, before_name):
                break
            taken.append(tok)
            j += 1
            if after == ":":
                break  # "Recommendations to Dr. Yadav: hold ..."
        while (
            taken
            and taken[-1].low in _PARTICLES
            and not (len(taken) > 1 and taken[-1].shape == "title" and taken[-1].last)
        ):
            taken.pop()
        return taken

    def _lower_surname_after(self, text: str, tokens: list[_Token], k: int) -> bool:
        """tokens[k + 1] is a lower-case census surname, one space after tokens[k], and no word."""
        if k + 1 >= len(tokens) or text[tokens[k].end : tokens[k + 1].start] != " ":
            return False
        nxt = tokens[k + 1]
        return (
            nxt.shape == "lower"
            and 0 < nxt.last <= 20000
            and not (nxt.word or nxt.common or nxt.clinical or nxt.low in _STOP or nxt.low in self._lex.english)
        )

    def _lower_name_pair(self, text: str, tokens: list[_Token], k: int) -> bool:
        """ "pt luis johnson resting": two lower-case words, one a census name, neither a
        common, clinical or function word."""
        if k + 1 >= len(tokens) or text[tokens[k].end : tokens[k + 1].start] != " ":
            return False
        a, b = tokens[k : k + 2]
        if any(t.shape != "lower" or t.low in _STOP or t.low in _NOT_LOWER_NAMES for t in (a, b)):
            return False
        if any(t.clinical and not (t.first or t.last) for t in (a, b)):
            return False
        if not b.last or a.common or a.word:
            return False
        if not a.first:
            # "pt oyelola frost": an unknown word that is no English word, then a known surname.
            return (
                not a.last
                and len(a.low) >= 4
                and a.low not in self._lex.english
                and 0 < b.last <= 20000
                and (b.last <= 5000 or not (b.common or b.word))
            )
        if (b.common or b.word) and b.last > 5000:
            return False
        return (0 < a.first <= 3000) or (0 < b.last <= 20000) or not (a.last or b.first)

    @staticmethod
    def _inside_proper_run(text: str, tokens: list[_Token], ends: list[int], start: int) -> bool:
        """Is the capitalised cue word at `start` part of a run of capitalised words on its line?"""
        before = text[max(0, start - 3) : start]
        if before.endswith(("& ", "and ")):
            return True
        if not before.endswith(" ") or before.endswith(("  ", "\t ")):
            return False
        k = bisect.bisect_left(ends, start) - 1
        if k < 0 or text[tokens[k].end : start] != " ":
            return False
        return tokens[k].shape == "title" and tokens[k].low not in _STOP

    @staticmethod
    def _abbreviation(text: str, tokens: list[_Token], k: int) -> bool:
        """A short all-caps word in mixed-case text, not followed by another all-caps word."""
        tok = tokens[k]
        if tok.shape != "upper" or len(tok.low) > 3:
            return False
        if tok.shape == "initial" or (
            len(tok.low) == 1
            and text[tok.end : tok.end + 2] == ". "
            and k + 1 < len(tokens)
            and tokens[k + 1].shape == "title"
        ):
            return False  # "Interpreter: A. Warsame": an initial, not an abbreviation
        if k + 1 < len(tokens) and tokens[k + 1].shape == "upper" and tokens[k + 1].start - tok.end <= 2:
            return False
        line_start = text.rfind("\n", 0, tok.start) + 1
        line_end = text.find("\n", tok.end)
        line = text[line_start : line_end if line_end >= 0 else len(text)]
        letters = [c for c in line if c.isalpha()]
        return sum(c.islower() for c in letters) > len(letters) // 4

    def _signature_token(self, tok: _Token) -> bool:
        if tok.low in _STOP or tok.low in _NOT_LOWER_NAMES:
            return False
        if tok.clinical and not (tok.first or tok.last):
            return False
        return bool(tok.first or tok.last) or not (tok.word or tok.common) or tok.shape == "initial"

    @staticmethod
    def _sentence_initial(text: str, start: int) -> bool:
        before = text[max(0, start - 3) : start].rstrip(" \t")
        return not before or before[-1] in ".!?:;\n-*•>#([\"'"

    @staticmethod
    def _medical_looking(tok: _Token) -> bool:
        if tok.first or tok.last:
            return False
        return tok.clinical or tok.low.endswith(_MEDICAL_ENDINGS)

    # -- analysis -----------------------------------------------------------------------
    def analyze(self, text: str) -> list[RecognizerResult]:
        tokens = self._tokens(text)
        if not tokens:
            return []
        note = _Note(text, tokens)
        # Order matters: the later families read what the earlier ones found (particles and
        # suffixes join a found name, every mention of a found name goes).
        for family in self._families:
            family(note)
        return self._spans(text, tokens, note.scored)

    # -- cue families, strongest first ---------------------------------------------------
    def _cues_before(self, note: _Note) -> None:
        """1-2. A title, label or phrase before the name: "Dr. Okafor", "Attending: Ana Ruiz",
        "his wife Bernadette", and the rest of a list after it ("sons Kenji, Renée and Chloé")."""
        text, tokens = note.text, note.tokens
        for cue in _CUE.finditer(text):
            k = bisect.bisect_left(note.starts, cue.end())
            if k >= len(tokens):
                continue
            if text[cue.end() : tokens[k].start].strip(" \t\r\n,:-(\"'“‘"):
                continue
            if self._abbreviation(text, tokens, k):
                continue  # "CC: AMS, fever", "father MI at 52", "per ED"
            if _CREDENTIAL_AT.match(text, tokens[k].start) and tokens[k].shape != "title":
                continue  # "RN, CWOCN": a second credential
            if cue.group("title"):
                strength = self._title_strength(note, cue, k)
                score, label = 0.95, ""
            elif cue.group("label"):
                label = _label_of(text, cue)
                strength, score = self._label_strength(note, cue, k, label), 0.9
            else:
                strength, label = self._phrase_strength(note, cue, k), ""
                score = 0.8 if strength == "lower" else 0.85  # "wife bernadette": lower case is weaker
            if strength is None:
                continue
            found = self._collect(text, tokens, k, strength)
            if found and cue.group("label") and label in _AMBIGUOUS_LABELS and not self._plausible_value(found):
                continue  # "RE: Prior authorization", "CC: Ear Pain", "To: Bayside ..."
            found = self._list_after(note, found, strength)
            if found:
                note.mark([note.index_of[t.start] for t in found], score)

    def _title_strength(self, note: _Note, cue: re.Match[str], k: int) -> str | None:
        text, head = note.text, note.tokens[k]
        if not self._capitalised(head) and not (head.first or head.last) and head.low not in _PARTICLES:
            return None
        title = text[cue.start() : cue.end("title")].lower()
        has_period = text[cue.end("title") : cue.end("title") + 1] == "."
        if title in _AMBIGUOUS_TITLES and not has_period and (head.clinical or not (head.first or head.last)):
            return None  # "MS Contin", "MR moderate", "SR 70s": abbreviations, not titles
        if text[max(0, cue.start() - 2) : cue.start()].strip(" \t")[-1:].isdigit():
            return None  # "19 Fr Blake drain": a French gauge, not a title
        if (
            title in _WORD_TITLES
            and (head.clinical or head.common or head.word or head.low in self._lex.english)
            and not (self._given_word(head) and title in ("sister", "nurse", "father"))
            and not self._lower_dictated_name(note, title, k)
        ):
            return None  # "father died", "nurse aware", "officer present": not titles
        return "title"

    @staticmethod
    def _lower_dictated_name(note: _Note, title: str, k: int) -> bool:
        """ "urology doctor stein in four weeks", "doctor hope castillo": in a lower-case
        dictation "doctor" is a title before a lower-case census name that is no everyday word,
        or before any census name followed by a surname that is no English word."""
        if title != "doctor":
            return False
        tokens = note.tokens
        head = tokens[k]
        if head.shape != "lower" or head.clinical or head.low in _NOT_LOWER_NAMES or head.low in _STOP:
            return False
        if not (head.first or head.last):
            return False
        if not head.common and 0 < head.last <= 5000:
            return True
        nxt = tokens[k + 1] if k + 1 < len(tokens) else None
        return (
            nxt is not None
            and nxt.shape == "lower"
            and note.text[head.end : nxt.start] == " "
            and bool(nxt.last)
            and not (nxt.word or nxt.common or nxt.clinical)
        )

    def _label_strength(self, note: _Note, cue: re.Match[str], k: int, label: str) -> str | None:
        text = note.text
        if not self._capitalised(note.tokens[k]):
            # "name: luis johnson" yes; "CC: ear pain" (chief complaint) no.
            if self._lower_name_pair(text, note.tokens, k):
                note.mark([k, k + 1], 0.8)
            return None
        if label in _AMBIGUOUS_LABELS and (cue.start() > 0 and text[cue.start() - 1] not in "\n\t "):
            return None
        return "label"

    def _phrase_strength(self, note: _Note, cue: re.Match[str], k: int) -> str | None:
        text, tokens = note.text, note.tokens
        phrase = text[cue.start() : cue.end("phrase")].lower()
        head = tokens[k]
        if phrase in _SIGNOFF:
            # A sign-off: the name is on the next line (or right after the comma).
            return "label"
        if phrase in ("pt", "patient"):
            # Only lower-case notes ("pt luis johnson resting"); "Patient Education" is a heading.
            if not self._capitalised(head) and self._lower_name_pair(text, tokens, k):
                note.mark([k, k + 1], 0.8)
            return None
        if not self._capitalised(head):
            # "wife bernadette called", "daughter kayla frank at bedside": a given name.
            if not head.first or head.common or head.word or head.clinical or head.low in _NOT_LOWER_NAMES:
                # "son tom brady": a given name that is also a word, with a surname after it.
                if head.first and head.low not in _NOT_LOWER_NAMES and self._lower_surname_after(text, tokens, k):
                    note.mark([k, k + 1], 0.8)
                return None
            return "lower"
        if phrase in _ROLE_PHRASES and not (
            ((head.first or head.last) and not (head.common or head.word or head.clinical))
            or not (head.first or head.last or head.clinical or head.low in self._lex.english)
            or (phrase not in _SIGNOFF and phrase not in ("hi", "hello", "hey") and self._given_word(head))
        ):
            return None  # "Resident Physician", "Tech Support", "Hi There"
        if phrase in ("per", "c/o") and not (
            (head.first or head.last) and not (head.common or head.word or head.clinical)
        ):
            return None  # "per HIPAA", "per Protocol", "c/o Tension-type headaches"
        if text[cue.start()].isupper() and self._inside_proper_run(text, tokens, note.ends, cue.start()):
            return None  # "Pennington & Sons Funeral Home", "Smith Brothers Moving"
        return "phrase"

    def _plausible_value(self, found: list[_Token]) -> bool:
        """After an ambiguous label ("RE:", "CC:", "To:"), does the value look like a name?"""
        head = found[0]
        name_like = (head.first or head.last) and not (head.word or head.common or head.clinical)
        in_lexicon = bool(head.first or head.last)
        return not (
            (len(found) == 1 and not name_like) or (not in_lexicon and (head.low in self._lex.english or head.clinical))
        )

    def _list_after(self, note: _Note, found: list[_Token], strength: str) -> list[_Token]:
        """ "sons Kenji, Renée and Chloé", "Attending: Ana Ruiz, Bo Li": the rest of a list."""
        text, tokens = note.text, note.tokens
        while found and len(found) < 12:
            nxt = bisect.bisect_right(note.starts, found[-1].start)
            if nxt < len(tokens) and tokens[nxt].low == "and":
                nxt += 1
            if nxt >= len(tokens) or _LIST_GAP.fullmatch(text[found[-1].end : tokens[nxt].start]) is None:
                break
            if not self._capitalised(tokens[nxt]) or tokens[nxt].clinical or tokens[nxt].common:
                break
            if _CREDENTIAL_AT.match(text, tokens[nxt].start) or tokens[nxt].low in _DEGREES:
                break
            more = self._collect(text, tokens, nxt, strength)
            if not more or not any(self._name_evidence(t) for t in more):
                break  # "Keisha Abernathy-Rowe, Prior Authorization Coordinator": a job title
            found = found + more
        return found

    def _name_evidence(self, tok: _Token) -> bool:
        """A census name that is no English word, an initial, or a word no list knows."""
        if tok.shape == "initial" or (tok.shape == "title" and 0 < tok.first <= _LIST_GIVEN_MAX_RANK):
            return True  # "and Kit": a frequent given name written as one, though also a word
        if tok.first or tok.last:
            return not (tok.word or tok.common or tok.clinical) or tok.low not in self._lex.english
        return not (tok.clinical or tok.common or tok.low in self._lex.english)

    def _credentials_after(self, note: _Note) -> None:
        """1. Credentials after the name: "Ana Ruiz, MD", "J. Okafor RN"."""
        text, tokens = note.text, note.tokens
        for cred in _CREDENTIAL.finditer(text):
            k = bisect.bisect_right(note.ends, cred.start()) - 1
            if k < 0 or tokens[k].end != cred.start():
                continue
            run: list[int] = []
            while k >= 0 and len(run) < 4:
                tok = tokens[k]
                if run and tok.low in _PARTICLES:
                    run.append(k)
                    k -= 1
                    continue
                if (
                    not self._capitalised(tok)
                    or tok.low in _STOP
                    or (tok.clinical and tok.shape != "initial" and not (tok.first or tok.last))
                ):
                    break
                if tok.shape == "upper" and not cred.group().startswith(","):
                    break
                if tok.low in _DEGREES or tok.low in _ROLE_ABBR or _CREDENTIAL_AT.fullmatch(text, tok.start, tok.end):
                    break  # "Dufresne, MA, CCC-SLP": a degree before the credential
                run.append(k)
                if k == 0 or _INNER_GAP.fullmatch(text[tokens[k - 1].end : tok.start]) is None:
                    break
                k -= 1
            while run and tokens[run[-1]].low in _PARTICLES:
                run.pop()
            note.mark(run, 0.9)

    def _lexicon_pairs(self, note: _Note) -> None:
        """3. The census lexicon: "First Last", "First M. Last", "LAST, FIRST"."""
        text, tokens = note.text, note.tokens
        for k in range(len(tokens) - 1):
            a = tokens[k]
            if not self._capitalised(a) or a.clinical or a.low in _STOP:
                continue
            m = k + 1
            if tokens[m].shape == "initial" and m + 1 < len(tokens):
                gap1 = text[a.end : tokens[m].start]
                if gap1 == " " and text[tokens[m].end : tokens[m].end + 2] == ". ":
                    m += 1
            b = tokens[m]
            gap = text[tokens[m - 1].end : b.start]
            if b.shape != a.shape and not (a.shape == "title" and b.shape == "mixed"):
                continue
            if b.clinical or b.low in _STOP:
                continue
            if gap == ". " and m == k + 1:
                continue
            if gap in (" ", ". "):
                score = self._pair_score(text, a, b)
                if score:
                    note.mark(list(range(k, m + 1)), score)
            elif (
                gap == ", "
                and m == k + 1
                and not _CREDENTIAL_AT.match(text, b.start)
                and a.last
                and b.first
                and not (a.common or a.word or b.common or b.word)
                and not _STATE_AFTER.match(text, b.end)
            ):
                note.mark([k, m], 0.75)

    def _pair_score(self, text: str, a: _Token, b: _Token) -> float:
        """The score of "A B" (one space or an initial apart) as a name; 0 when it is none."""
        a_amb, b_amb = a.common or a.word, b.common or b.word
        if a.shape == "upper" and (a_amb or b_amb):
            return 0.0  # ALL-CAPS text: "ALPHA BLOCKER", "HUNTER GREEN"
        if a.first and b.last and not (a_amb and b_amb):
            return 0.8 if not (a_amb or b_amb) else 0.6
        if (
            a.shape == "title"
            and a.first
            and not a_amb
            and a.first <= 2000
            and not b_amb
            and not b.first
            and not self._medical_looking(b)
        ):
            return 0.65
        if (
            a.shape == "title"
            and not a.first
            and not a.last
            and not a_amb
            and not self._medical_looking(a)
            and not self._sentence_initial(text, a.start)
            and b.last
            and not b_amb
            and b.last <= 5000
        ):
            return 0.55
        return 0.0

    def _subject_verb(self, note: _Note) -> None:
        """3b. A capitalised pair opening a line or sentence, followed by a verb of report."""
        text, tokens, scored = note.text, note.tokens, note.scored
        for k in range(len(tokens) - 1):
            a, b = tokens[k], tokens[k + 1]
            if scored.get(k, 0.0) >= 0.8 or text[a.end : b.start] != " ":
                continue
            if not (self._capitalised(a) and self._capitalised(b)):
                continue
            before = text[max(0, a.start - 2) : a.start].strip(" \t")
            if (before and before[-1] not in ".!?\n") or (a.start > 0 and not before and text[a.start - 1] not in "\n"):
                continue
            if any(
                self._medical_looking(t) or (t.clinical and not t.first) or t.common or t.low in _STOP for t in (a, b)
            ):
                continue
            run = [k, k + 1]
            verb = _SUBJECT_VERB.match(text, b.end)
            if verb is None and k + 2 < len(tokens) and text[b.end : tokens[k + 2].start] == " ":
                c = tokens[k + 2]
                if self._capitalised(c) and not c.common and not self._medical_looking(c):
                    verb = _SUBJECT_VERB.match(text, c.end)
                    run = [k, k + 1, k + 2]
            if verb is None:
                continue
            weak_verb = verb.group("verb").lower() in _WEAK_VERBS
            if weak_verb and not (0 < a.first <= 3000) and not _AGE_AFTER.match(text, verb.end()):
                continue
            note.mark(run, 0.8)

    def _particles_between(self, note: _Note) -> None:
        """Particles between a found name and a surname: "MARIA DE LOS SANTOS", "Ana de la Cruz"."""
        tokens, ends, scored = note.tokens, note.ends, note.scored
        for k in sorted(scored):
            j = k + 1
            while (
                j < len(tokens) and (tokens[j].low in _PARTICLES or j in scored) and tokens[j].start - ends[j - 1] == 1
            ):
                j += 1
            if j == k + 1 or j >= len(tokens) or tokens[j].start - ends[j - 1] != 1:
                continue
            tail = tokens[j]
            if self._capitalised(tail) and tail.last and not (tail.clinical or tail.low in _STOP):
                note.mark(list(range(k + 1, j + 1)), scored[k])

    def _signature_lines(self, note: _Note) -> None:
        """1b. Signature lines: "-kj mbeki rn", "— Bee Alvarado, RN"."""
        text, tokens = note.text, note.tokens
        if "\n" not in text and text[:1] not in "-–—":
            return
        for line in _SIGNATURE_LINE.finditer(text):
            k = bisect.bisect_left(note.starts, line.start("name"))
            run = []
            while k < len(tokens) and tokens[k].end <= line.end("name"):
                run.append(k)
                k += 1
            if run and all(self._signature_token(tokens[i]) for i in run):
                note.mark(run, 0.85)

    def _initials_signing(self, note: _Note) -> None:
        """1c. Initials signing a line ("... verbalized understanding. -DP")."""
        text, tokens = note.text, note.tokens
        if "-" not in text and "–" not in text and "—" not in text:
            return
        for sign in _INITIALS_SIGN.finditer(text):
            ini = note.index_of.get(sign.start("ini"))
            if ini is not None and tokens[ini].end == sign.end("ini") and not tokens[ini].clinical:
                note.mark([ini], 0.8)

    def _lower_signoffs(self, note: _Note) -> None:
        """A lower-case name alone under a sign-off ("thanks,\\ndede")."""
        for sign in _LOWER_SIGNOFF.finditer(note.text):
            at = note.index_of.get(sign.start("name"))
            if at is None:
                continue
            tok = note.tokens[at]
            if tok.low in _STOP or tok.low in _NOT_LOWER_NAMES or tok.clinical:
                continue
            if (tok.first or tok.last) or not (tok.word or tok.common or tok.low in self._lex.english):
                note.mark([at], 0.8)

    def _initial_surname(self, note: _Note) -> None:
        """An initial and a surname: "Crew: D. Kowalczyk", "I. Carvalho", "Y. Castellanos, AuD"."""
        text, tokens = note.text, note.tokens
        for k in range(len(tokens) - 1):
            a, b = tokens[k], tokens[k + 1]
            if a.shape != "initial" or text[a.end : b.start] != ". " or b.shape != "title":
                continue
            if (
                b.last
                and not (b.clinical or b.common or b.word or b.first)
                and not self._sentence_initial(text, a.start)
            ) or (
                # Opening a line or after a label: a coined word (no English, clinical or
                # medical-looking word) after an initial.
                len(b.low) >= 4
                and not (b.clinical or b.common or b.word or b.low in self._lex.english)
                and not self._medical_looking(b)
                and not (b.first and not b.last)
                and (text[b.end : b.end + 1] in ("", "\n", ",", " ", ".", ";", ")"))
            ):
                note.mark([k, k + 1], 0.7)

    def _initials_cells(self, note: _Note) -> None:
        """Dotted initials standing for a person in a table cell or after a signature cue:
        "| R.T.M. |", "/s/ SB", "Collected by: MK"."""
        text, tokens = note.text, note.tokens
        if "|" not in text and "/s/" not in text and ":" not in text:
            return
        for cell in _INITIALS_CELL.finditer(text):
            group = "cell" if cell.group("cell") else "sig"
            k = bisect.bisect_left(note.starts, cell.start(group))
            run = []
            while k < len(tokens) and tokens[k].end <= cell.end(group):
                run.append(k)
                k += 1
            if run and not any(tokens[i].clinical and len(tokens[i].low) > 1 for i in run):
                note.mark(run, 0.8)

    def _transcription_initials(self, note: _Note) -> None:
        """The author's and the typist's initials under a dictation: "aw/tn  d 03/12/2025"."""
        if "/" not in note.text and ":" not in note.text:
            return
        for m in _TRANSCRIPTION_INITIALS.finditer(note.text):
            run = [note.index_of.get(m.start(g)) for g in ("a", "b")]
            if all(k is not None and not note.tokens[k].clinical for k in run):
                note.mark([k for k in run if k is not None], 0.8)

    def _typist_initials(self, note: _Note) -> None:
        """A typist's initials after a transcription label, alone: "Transcriptionist: lmp  Job
        88314207", "... transcribed nine sixteen twenty six by cs"."""
        low = note.text.lower()
        if "transcri" not in low and "typ" not in low and "dictated" not in low:
            return
        for m in _TYPIST_INITIALS.finditer(note.text):
            k = note.index_of.get(m.start("ini"))
            if k is None or note.tokens[k].end != m.end("ini"):
                continue
            tok = note.tokens[k]
            if tok.shape == "lower" and (tok.common or tok.word):
                continue  # "typed by me", "dictated by her"
            if _TITLE_WORD.fullmatch(tok.low):
                continue  # "Dictated by Dr. Thornbury": the title of a name that follows
            note.mark([k], 0.8)

    def _dotted_initials(self, note: _Note) -> None:
        """A person written as dotted initials in parentheses, after a word for a person or a
        case, or before an age or a record number: "(H.W.)", "CASE 1 - R.M., 67 M"."""
        text = note.text
        if "." not in text:
            return
        for m in _DOTTED_INITIALS.finditer(text):
            before = _DOTTED_BEFORE.search(text, max(0, m.start() - 24), m.start())
            if before is None and _DOTTED_AFTER.match(text, m.end()) is None:
                continue
            letters = m.group().replace(".", "").replace(" ", "").lower()
            # "(U.S.)", "P.O.", "M.D.": abbreviations, unless a word for a person comes first
            # ("patient M.A.").
            if letters in _DOTTED_NOT_INITIALS and (before is None or before.group().lstrip().startswith("(")):
                continue
            run = [k for k in (note.index_of.get(i) for i in range(m.start(), m.end())) if k is not None]
            note.mark(run, 0.8)

    def _surname_given_cells(self, note: _Note) -> None:
        """ "SURNAME, GIVEN" alone in a table cell or after a name label, the given name a census
        given name: the surname goes even when it is an English word ("BELL, ODESSA",
        "whitehorse, leroy", "pt name: washington, jerome t")."""
        text, tokens = note.text, note.tokens
        if ", " not in text:
            return
        for k in range(len(tokens) - 1):
            a, b = tokens[k], tokens[k + 1]
            if text[a.end : b.start] != ", " or not b.first or b.clinical or b.low in _STOP:
                continue
            if a.shape != b.shape or a.shape not in ("upper", "lower", "title") or len(a.low) < 2:
                continue
            if a.low in _STOP or a.low in _DEGREES or (a.clinical and not a.last) or a.low in _NOT_LOWER_NAMES:
                continue
            if a.low in _SIGNOFF or _CELL_BEFORE.search(text, max(0, a.start - 12), a.start) is None:
                continue  # "Thanks, Yusuf": a sign-off
            after = _CELL_AFTER.match(text, b.end)
            if after is None:
                continue
            line_end = after.end() == len(text) or text[after.end()] == "\n"
            if line_end and (a.word or a.common or a.low in self._lex.english):
                continue  # "Thanks, Darlene": at a line's end, only a surname that is no word
            run = [k, k + 1]
            if after.group().strip(" \t|") and k + 2 < len(tokens) and tokens[k + 2].start < after.end():
                run.append(k + 2)  # the middle initial: "jerome t"
            note.mark(run, 0.8)
            if a.clinical:
                note.eponyms.add(a.low)  # "BELL, ODESSA": later mentions of "Bell" are the person

    def _quoted_nicknames(self, note: _Note) -> None:
        """A quoted nickname after a found name ("Eli Nakamura (\"Skip\")") or after a nickname
        label ("PREFERRED ... \"Dec\"")."""
        text, scored = note.text, note.scored
        for m in _QUOTED_NAME.finditer(text) if ('"' in text or "“" in text or "'" in text or "‘" in text) else ():
            k = note.index_of.get(m.start("nick"))
            if k is None:
                continue
            before = text[max(0, m.start() - 40) : m.start()]
            after_name = (
                k > 0
                and scored.get(k - 1, 0.0) >= 0.8
                and re.fullmatch(r"[ \t]{1,2}\(?", text[note.tokens[k - 1].end : m.start()])
            )
            if not after_name and _NICKNAME_LABEL.search(before) is None:
                continue
            run = [j for j in range(k, len(note.tokens)) if note.tokens[j].end <= m.end("nick")]
            note.mark(run, 0.8)
        for m in _NICKNAME_PLAIN.finditer(text):
            k = note.index_of.get(m.start("nick"))
            if k is not None and not note.tokens[k].clinical and note.tokens[k].low not in _STOP:
                note.mark([k], 0.8)

    def _initials_in_lists(self, note: _Note) -> None:
        """Initials as an item of a list of people: "Present: Dr. Okafor, K., Lena Ruiz; M." or
        "Ana Ruiz, JT, Bo Li". A single letter beside a found name, or two or three capitals
        (no credential or clinical abbreviation) between two found names."""
        text, tokens, scored = note.text, note.tokens, note.scored
        if not scored:
            return
        for k, tok in enumerate(tokens):
            if k in scored or tok.shape not in ("initial", "upper") or len(tok.low) > 3:
                continue
            end = tok.end + 1 if text[tok.end : tok.end + 1] == "." else tok.end
            left = k > 0 and scored.get(k - 1, 0.0) >= 0.8 and _LIST_SEP.fullmatch(text[tokens[k - 1].end : tok.start])
            right = (
                k + 1 < len(tokens)
                and scored.get(k + 1, 0.0) >= 0.8
                and _LIST_SEP.fullmatch(text[end : tokens[k + 1].start]) is not None
            )
            if tok.shape == "initial":
                if tok.low in ("m", "f") and end == tok.end:
                    continue  # "Noor al-Hamwi, F, DOB ...": the sex, not an initial
                if (left and text[end : end + 1] in ("", ",", ";", "\n")) or (
                    right and (k == 0 or text[tokens[k - 1].end : tok.start].endswith(("\n", ": ", ", ", "; ")))
                ):
                    scored[k] = 0.75
            elif (
                left
                and right
                and not (
                    tok.clinical
                    or tok.low in _DEGREES
                    or tok.low in _ROLE_ABBR
                    or _CREDENTIAL_AT.fullmatch(text, tok.start, tok.end)
                )
            ):
                scored[k] = 0.75

    def _generational_suffixes(self, note: _Note) -> None:
        """Generational suffixes after a name: "Earl Dupree Jr.", "WALKER III"."""
        text, tokens, scored = note.text, note.tokens, note.scored
        for k in sorted(scored):
            j = k + 1
            if (
                j < len(tokens)
                and j not in scored
                and tokens[j].low in _SUFFIXES
                and tokens[j].shape != "lower"
                and text[tokens[k].end : tokens[j].start] in (" ", ", ")
            ):
                scored[j] = scored[k]

    def _other_mentions(self, note: _Note) -> None:
        """4. Every other mention of a word found as a name with good evidence; lower-case
        mentions too when the name was found in lower case ("kayla frank" ... "frank's son")."""
        scored = note.scored
        confirmed: dict[str, bool] = {}
        for k, score_k in scored.items():
            tok = note.tokens[k]
            base = tok.low.removesuffix("'s")
            if (
                score_k >= 0.8
                and len(base) > 1
                and base not in self._lex.clinical
                and base not in _STOP
                and base not in _PARTICLES  # "Treviño de la Garza" does not make every "de" a name
            ):
                confirmed[base] = confirmed.get(base, False) or tok.shape == "lower"
        if note.eponyms:
            self._eponym_mentions(note, note.eponyms)
        if not confirmed:
            return
        for k, tok in enumerate(note.tokens):
            base = tok.low
            possessive = False
            if base not in confirmed:
                if not base.endswith("'s"):
                    continue
                base, possessive = base[:-2], True
                if base not in confirmed:
                    continue
            if k in scored:
                continue
            lower_ok = confirmed[base] and base not in _NOT_LOWER_NAMES
            if self._capitalised(tok) or (lower_ok and (possessive or not (tok.common or tok.word))):
                scored[k] = 0.75

    def _name_initials(self, note: _Note) -> None:
        """4b. A found person's initials standing for them ("Loretta Nez, HIM clerk (LN)" ...
        "received 11/03 by LN"; "Hope Ainsworth, RN" ... "Late entry 0745 (HA):"): the first
        letters of a found name of two or three words, in parentheses alone, after "by"/"per",
        or alone in a table cell. Only initials some found name in the note spells out, so an
        abbreviation ("(HA)" for headache) stays where nobody has those initials."""
        text, tokens, scored = note.text, note.tokens, note.scored
        if not scored:
            return
        initials: set[str] = set()
        run: list[int] = []
        for k in sorted(scored):
            tok = tokens[k]
            if run and (run[-1] != k - 1 or _INNER_GAP.fullmatch(text[tokens[run[-1]].end : tok.start] or "x") is None):
                run = []
            run.append(k)
            # "Rémy Delacroix" -> RD, "Jun Seo Han" -> JSH, "R. Delacroix" -> RD; in reading
            # order only ("DELACROIX, REMY" is not written RD backwards).
            if len(run) >= 2 and tokens[k].shape in ("title", "mixed"):
                for width in (2, 3):
                    if len(run) >= width:
                        initials.add("".join(text[tokens[j].start] for j in run[-width:]).upper())
        if not initials:
            return
        found = [(m, m.lastgroup) for m in _NAME_INITIALS_AT.finditer(text)]
        # Initials a note defines in parentheses may also be a credential's letters ("Rémy
        # Delacroix, RN (RD)"); elsewhere a credential stays one ("| Prakash Murthy | MD |").
        defined = {m.group(g) for m, g in found if g == "paren"}
        for m, group in found:
            if group is None or m.group(group) not in initials:
                continue
            if _CREDENTIAL_AT.fullmatch(m.group(group)) and m.group(group) not in defined:
                continue
            at = note.index_of.get(m.start(group))
            if at is not None and tokens[at].end == m.end(group) and at not in scored:
                note.mark([at], 0.75)

    def _eponym_mentions(self, note: _Note, eponyms: set[str]) -> None:
        """Other mentions of a clinical word found as a surname, capitalised, with no clinical
        word after it ("Bell: transport", not "Bell palsy" or "Bell's palsy")."""
        tokens, scored = note.tokens, note.scored
        for k, tok in enumerate(tokens):
            if tok.low not in eponyms or k in scored or tok.shape == "lower":
                continue
            nxt = tokens[k + 1] if k + 1 < len(tokens) else None
            if nxt is not None and nxt.clinical and note.text[tok.end : nxt.start] in (" ", "'s "):
                continue
            scored[k] = 0.75

    def _lone_given_names(self, note: _Note) -> None:
        """Lone given names mid-sentence ("spoke with Keisha about..."): weak, lexicon-only."""
        text, scored = note.text, note.scored
        places = self._lex.places
        for k, tok in enumerate(note.tokens):
            if not (0 < tok.first <= _LONE_NAME_MAX_RANK) or tok.shape != "title":
                continue
            if k in scored or tok.clinical or tok.common or tok.word or tok.low in _STOP or 0 < tok.last <= 300:
                continue
            if tok.first > 1000 and tok.low in places:
                continue
            before = text[max(0, tok.start - 3) : tok.start].rstrip(" \t")
            if before and before[-1] not in ".!?:\n-*•>#" and tok.start > 0:
                scored[k] = 0.5

    @staticmethod
    def _spans(text: str, tokens: list[_Token], scored: dict[int, float]) -> list[RecognizerResult]:
        """Adjacent name tokens become one span ("John A. Smith", "SMITH, JOHN")."""
        results: list[RecognizerResult] = []
        run_start = run_end = -1
        run_score = 0.0
        run_len = 0
        last_k = -2
        for k in sorted(scored):
            tok = tokens[k]
            end = tok.end + 1 if tok.shape == "initial" and text[tok.end : tok.end + 1] == "." else tok.end
            if tok.low.endswith("'s") and tok.shape != "upper":
                end = tok.end - 2
            gap = text[run_end : tok.start]
            joinable = _INNER_GAP.fullmatch(gap or "x") is not None or (gap == ", " and run_len == 1)
            if last_k == k - 1 and joinable:
                run_end = end
                run_score = max(run_score, scored[k])
                run_len += 1
            else:
                if run_start >= 0:
                    results.append(RecognizerResult(PhiType.NAME, run_start, run_end, run_score, "person_name"))
                run_start, run_end, run_score, run_len = tok.start, end, scored[k], 1
            last_k = k
        if run_start >= 0:
            results.append(RecognizerResult(PhiType.NAME, run_start, run_end, run_score, "person_name"))
        return results
