"""PHI detection and de-identification (HIPAA Safe Harbor).

    deid = Deidentifier(secret_key=key, include_organizations=False)
    deid.detect(text) -> list[PhiFinding]
    deid.deidentify(text, DeidentificationMode.SURROGATE, tenant="t1", patient_ref="p-42")

Recognizers (phi/recognizers/) are composed by a registry; see registry.py for adding
pattern recognizers from configuration, and guard.py for protecting text sent to an
external model.
"""

from healthai_server.phi.deidentifier import Deidentifier
from healthai_server.phi.recognizers.base import EntityRecognizer, Pattern, PatternRecognizer, RecognizerResult
from healthai_server.phi.registry import RecognizerRegistry

__all__ = ["Deidentifier", "EntityRecognizer", "Pattern", "PatternRecognizer", "RecognizerRegistry", "RecognizerResult"]
