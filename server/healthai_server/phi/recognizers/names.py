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
from dataclasses import dataclass

from healthai_server.domain.phi import PhiType
from healthai_server.phi.lexicon import Lexicon
from healthai_server.phi.recognizers.base import EntityRecognizer, RecognizerResult
from healthai_server.phi.recognizers.fastre import word_branches

_TOKEN = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?(?:-[^\W\d_]+){0,3}")
_PARTICLES = frozenset(
    {
        "de",
        "del",
        "della",
        "der",
        "den",
        "van",
        "von",
        "la",
        "le",
        "da",
        "di",
        "du",
        "dos",
        "das",
        "bin",
        "ibn",
        "al",
        "el",
        "ben",
        "st",
        "mac",
        "ter",
        "ten",
    }
)
_STOP = frozenset(
    {
        "the",
        "and",
        "of",
        "to",
        "in",
        "with",
        "for",
        "on",
        "at",
        "by",
        "is",
        "was",
        "has",
        "had",
        "a",
        "an",
        "he",
        "she",
        "his",
        "her",
        "who",
        "which",
        "that",
        "this",
        "it",
        "as",
        "be",
        "are",
        "were",
        "from",
        "or",
        "not",
        "no",
        "but",
        "they",
        "them",
        "their",
        "we",
        "our",
        "you",
        "your",
        "i",
        "me",
        "my",
        "him",
        "if",
        "so",
        "patient",
        "pt",
        "md",
        "rn",
        "np",
        "do",
        "pa",
        "phd",
        "dr",
        "mr",
        "mrs",
        "ms",
        "jr",
        "sr",
        "ii",
        "iii",
        "iv",
    }
)
_TITLES = r"dr|doctor|mr|mrs|ms|mx|miss|prof|professor|rev|nurse|sr|sister|fr|father|officer|judge|attorney"
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
    r"sister|brother|partner|roommate|grandmother|grandfather|aunt|uncle|legal guardian|surrogate|sponsor"
)
_PHRASES = (
    r"electronically signed by|e-signed by|signed by|cosigned by|co-signed by|dictated by|transcribed by|"
    r"authenticated by|verified by|seen by|seen and examined by|examined by|evaluated by|reviewed by|read by|"
    r"interpreted by|performed by|reported by|entered by|ordered by|referred by|referred to|covering for|"
    r"discussed with|discussed the case with|spoke with|spoke to|talked with|talked to|d/w|called|paged|"
    r"pt|patient|per|accompanied by|brought in by|care of|c/o|named|called her|called him|dear|for referring|referring|"
    r"wife|husband|spouse|daughter|son|mother|father|brother|sister|partner|fiance|fiancee|girlfriend|boyfriend|"
    r"roommate|friend|neighbor|neighbour|caregiver|aunt|uncle|cousin|niece|nephew|grandson|granddaughter|"
    r"sons|daughters|children|kids|grandchildren|grandsons|granddaughters|siblings|brothers|sisters|parents|"
    r"goes by|known as|prefers to be called|prefers|nicknamed|nickname|aka|a\.k\.a\.|called him|called her|"
    r"sincerely|regards|thanks|thank you|respectfully|best|cordially|yours truly|"
    r"(?:his|her|their|pt's|patient's|the patient's|the)\s(?:wife|husband|spouse|partner|son|daughter|"
    r"mother|father|mom|dad|brother|sister|sibling|aunt|uncle|cousin|niece|nephew|grandmother|"
    r"grandfather|grandson|granddaughter|grandma|grandpa|friend|neighbor|neighbour|boyfriend|girlfriend|"
    r"fiance|fiancee|fiancé|roommate|caregiver|guardian|child|stepson|stepdaughter|stepmother|stepfather|"
    r"daughter-in-law|son-in-law|mother-in-law|father-in-law|sister-in-law|brother-in-law|pcp|"
    r"cardiologist|oncologist|neurologist|surgeon|nephrologist|therapist|psychiatrist|dentist|doctor|"
    r"physician|nurse|case manager|social worker)"
)
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
    rf"(?P<label>{_LABEL_BRANCHES})[ \t]{{0,3}}[:][ \t]{{0,3}}|"
    rf"(?P<phrase>{_PHRASE_BRANCHES})(?:[ \t]{{0,3}}[,:-]?[ \t]{{0,3}}[(\"'“‘]?|,?[ \t]{{0,3}}\r?\n[ \t]{{0,3}}))"
)
_CREDENTIAL = re.compile(
    r",?[ \t]{1,2}(?:M\.D\.|MD|D\.O\.|R\.N\.|RN|NP|PA-C|Ph\.?D\.?|PharmD|MSW|LCSW|CRNA|APRN|FNP(?:-BC)?|DNP|DPM|"
    r"DDS|DMD|LPN|CNM|MPH|FACP|FACC|DPT|BSN|MSN|LICSW|CNS|ANP|ACNP|MBBS|DO)(?![A-Za-z])"
)
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
)
_INNER_GAP = re.compile(r"[ \t]|\.[ \t]?|[ \t]?['\"(][^\W\d_]{1,12}['\")][ \t]")


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


class NameRecognizer(EntityRecognizer):
    name = "person_name"
    supported_types = (PhiType.NAME,)

    def __init__(self, lexicon: Lexicon) -> None:
        self._lex = lexicon

    # -- tokens -------------------------------------------------------------------------
    def _tokens(self, text: str) -> list[_Token]:
        lex = self._lex
        facts_of = lex.facts
        none = (0, 0, False, False)
        tokens: list[_Token] = []
        for match in _TOKEN.finditer(text):
            word = match.group()
            low = word.lower()
            facts = facts_of.get(low)
            if facts is None:
                if "'" in low or "’" in low or "-" in low:
                    low = low.replace("’", "'")
                    base = low.split("'")[-1] if low.startswith(("o'", "d'")) else low
                    facts = (
                        lex.first.get(low, 0),
                        lex.last.get(low, 0) or lex.last.get(base.replace("-", ""), 0),
                        low in lex.clinical or low.removesuffix("'s") in lex.clinical,
                        low in lex.common,
                    )
                else:
                    facts = none
            tokens.append(_Token(match.start(), match.end(), low, _shape(word), *facts))
        return tokens

    @staticmethod
    def _capitalised(tok: _Token) -> bool:
        return tok.shape in ("title", "upper", "initial", "mixed")

    def _namey(self, tok: _Token, strength: str, follows_name: bool = False, before_digit: bool = False) -> bool:
        """Can this token be part of a name, given a cue of this strength?

        Clinical words pass only when they are also census names: after a title or a label
        ("Dr. Graves", "Name: MURPHY, ..."), as the surname after a given name ("his
        daughter Gloria Johnson"), or as a given name not followed by a number ("Wife June
        called", not "June 5"). "Dr. Unit" or "seen by Neurology" do not pass.
        """
        if tok.low in _STOP:
            return False
        if tok.shape == "initial":
            return True
        in_lexicon = bool(tok.first or tok.last)
        if tok.shape == "lower":
            # Lower case only right after a title ("dr. okafor"); labels use _lower_name_pair.
            return strength == "title" and in_lexicon and not tok.common
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
            if taken:
                gap = text[taken[-1].end : tok.start]
                if gap == ", " and not comma_used and len(taken) == 1 and tok.shape != "lower":
                    comma_used = True
                elif _INNER_GAP.fullmatch(gap) is None:
                    break
                if gap.startswith(".") and taken[-1].shape != "initial":
                    break
            after = text[tok.end : tok.end + 1]
            if after == ":":
                break
            if taken and tok.shape == "lower" and taken[-1].shape != "lower" and tok.low not in _PARTICLES:
                break
            if tok.low in _PARTICLES and j + 1 < len(tokens) and self._capitalised(tokens[j + 1]):
                taken.append(tok)
                j += 1
                continue
            before_digit = text[tok.end : tok.end + 3].strip()[:1].isdigit()
            if not self._namey(tok, strength, follows_name=bool(taken), before_digit=before_digit):
                break
            taken.append(tok)
            j += 1
        while taken and taken[-1].low in _PARTICLES:
            taken.pop()
        return taken

    def _lower_name_pair(self, text: str, tokens: list[_Token], k: int) -> bool:
        """ "pt luis johnson resting": two lower-case words, one a census name, neither a
        common, clinical or function word."""
        if k + 1 >= len(tokens) or text[tokens[k].end : tokens[k + 1].start] != " ":
            return False
        pair = tokens[k : k + 2]
        if any(t.shape != "lower" or t.common or t.low in _STOP for t in pair):
            return False
        if any(t.clinical and not (t.first or t.last) for t in pair):
            return False
        return any((t.first and t.first <= 3000) or (t.last and t.last <= 20000) for t in pair)

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
        starts = [t.start for t in tokens]
        ends = [t.end for t in tokens]
        scored: dict[int, float] = {}  # token index -> score

        def mark(indexes: list[int], score: float) -> None:
            for k in indexes:
                if scored.get(k, 0.0) < score:
                    scored[k] = score

        index_of = {t.start: k for k, t in enumerate(tokens)}

        # 1-2. Cues before the name.
        for cue in _CUE.finditer(text):
            k = bisect.bisect_left(starts, cue.end())
            if k >= len(tokens):
                continue
            if text[cue.end() : tokens[k].start].strip(" \t\r\n,:-(\"'“‘"):
                continue
            if cue.group("title"):
                head = tokens[k]
                if not self._capitalised(head) and not (head.first or head.last) and head.low not in _PARTICLES:
                    continue
                title = text[cue.start() : cue.end("title")].lower()
                has_period = text[cue.end("title") : cue.end("title") + 1] == "."
                if title in _AMBIGUOUS_TITLES and not has_period and (head.clinical or not (head.first or head.last)):
                    continue  # "MS Contin", "MR moderate", "SR 70s": abbreviations, not titles
                strength, score = "title", 0.95
            elif cue.group("label"):
                strength, score = "label", 0.9
                if not self._capitalised(tokens[k]):
                    # "name: luis johnson" yes; "CC: ear pain" (chief complaint) no.
                    if self._lower_name_pair(text, tokens, k):
                        mark([k, k + 1], 0.8)
                    continue
                if text[cue.start() : cue.end("label")].lower() in ("to", "from", "re", "cc", "pt", "name") and (
                    cue.start() > 0 and text[cue.start() - 1] not in "\n\t "
                ):
                    continue
            else:
                phrase = text[cue.start() : cue.end("phrase")].lower()
                strength, score = "phrase", 0.85
                if phrase in _SIGNOFF:
                    # A sign-off: the name is on the next line (or right after the comma).
                    strength = "label"
                elif phrase in ("pt", "patient"):
                    # Only lower-case notes ("pt luis johnson resting"); "Patient Education" is a heading.
                    if not self._capitalised(tokens[k]) and self._lower_name_pair(text, tokens, k):
                        mark([k, k + 1], 0.8)
                    continue
                elif not self._capitalised(tokens[k]):
                    continue
            found = self._collect(text, tokens, k, strength)
            # "sons Kenji, Renée and Chloé", "Attending: Ana Ruiz, Bo Li": the rest of a list.
            while found and len(found) < 12:
                nxt = bisect.bisect_right(starts, found[-1].start)
                if nxt < len(tokens) and tokens[nxt].low == "and":
                    nxt += 1
                if nxt >= len(tokens) or _LIST_GAP.fullmatch(text[found[-1].end : tokens[nxt].start]) is None:
                    break
                if not self._capitalised(tokens[nxt]) or tokens[nxt].clinical or tokens[nxt].common:
                    break
                more = self._collect(text, tokens, nxt, strength)
                if not more:
                    break
                found = found + more
            if found:
                mark([index_of[t.start] for t in found], score)

        # 1. Credentials after the name: "Ana Ruiz, MD", "J. Okafor RN".
        for cred in _CREDENTIAL.finditer(text):
            k = bisect.bisect_right(ends, cred.start()) - 1
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
                run.append(k)
                if k == 0 or _INNER_GAP.fullmatch(text[tokens[k - 1].end : tok.start]) is None:
                    break
                k -= 1
            while run and tokens[run[-1]].low in _PARTICLES:
                run.pop()
            mark(run, 0.9)

        # 3. Lexicon: "First Last", "First M. Last", "LAST, FIRST".
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
            if gap in (" ", ". ") and m == k + 1 and gap == ". ":
                continue
            if gap in (" ", ". "):
                if a.first and b.last and not (a.common and b.common):
                    mark(list(range(k, m + 1)), 0.8 if not (a.common or b.common) else 0.6)
                elif (
                    a.shape == "title" and a.first and not a.common and a.first <= 2000 and not b.common and not b.first
                ):
                    mark(list(range(k, m + 1)), 0.65)
                elif (
                    a.shape == "title"
                    and not a.first
                    and not a.last
                    and not a.common
                    and not self._medical_looking(a)
                    and not self._sentence_initial(text, a.start)
                    and b.last
                    and not b.common
                    and b.last <= 5000
                ):
                    mark(list(range(k, m + 1)), 0.55)
            elif gap == ", " and m == k + 1 and a.last and b.first and not a.common and not b.common:
                mark([k, m], 0.75)

        # 3b. A capitalised pair opening a line or sentence, followed by a verb of report.
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
            mark(run, 0.8)

        # 4. Every other mention of a word found as a name with good evidence.
        confirmed = {tokens[k].low for k, s in scored.items() if s >= 0.8 and len(tokens[k].low) > 1}
        confirmed -= self._lex.clinical
        confirmed -= _STOP
        if confirmed:
            for k, tok in enumerate(tokens):
                if k not in scored and tok.low in confirmed and self._capitalised(tok):
                    scored[k] = 0.75

        # Lone given names mid-sentence ("spoke with Keisha about..."): weak, lexicon-only.
        for k, tok in enumerate(tokens):
            if k in scored or tok.shape != "title" or tok.clinical or tok.common or tok.low in _STOP:
                continue
            if tok.first and tok.first <= 1000 and not (tok.last and tok.last <= 300):
                before = text[max(0, tok.start - 3) : tok.start].rstrip(" \t")
                if before and before[-1] not in ".!?:\n-*•>#" and tok.start > 0:
                    scored[k] = 0.5

        return self._spans(text, tokens, scored)

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
