"""`healthai-server compliance report`: HIPAA §164.312 technical safeguards with live evidence.

evidence.py (the facts, plain data) <- gather.py (reads settings, files, the database)
-> controls.py (one function per safeguard: pass, warn or fail) -> render.py (md or json).
"""
