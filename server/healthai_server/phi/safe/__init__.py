"""The recall-first safe list: a token survives only when it is provably not an identifier.

vocabulary.py loads the word lists (SCOWL words, ICD-10-CM words, the engine's drug,
condition and section lexicons, this folder's clinical vocabulary); numbers.py tells clinical
numbers (doses, vitals, lab values, scores, durations, counts, ages up to 89) from unexplained
ones; recall_first.py walks the tokens the typed recognizers left and removes the rest as
PhiType.OTHER.
"""

from healthai_server.phi.safe.recall_first import SafeListPass
from healthai_server.phi.safe.vocabulary import SafeVocabulary

__all__ = ["SafeListPass", "SafeVocabulary"]
