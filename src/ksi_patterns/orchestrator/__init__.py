"""Orchestrator sessions: the session loop (session.py), its backends (simulate.py and
anthropic_backend.py, the only module that imports the SDK), system prompts (prompts.py),
transcripts (transcripts.py), the DSL parser (dsl.py) and `ksi pattern lint` (lint.py)."""
