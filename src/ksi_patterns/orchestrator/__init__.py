"""Orchestrator sessions: the session run (session.py: its event bus, counters and sub-agents) with
its agents (agent.py), `agent:spawn` requests (spawning.py), the pattern it runs (pattern.py), the
emit_event tool (tools.py), options and limits (options.py),
summary (summary.py) and backend protocol (protocols.py); its backends (simulate.py and
anthropic_backend.py, the only module that imports the SDK), system prompts (prompts.py),
transcripts (transcripts.py), the DSL parser (dsl.py, with dsl_lines.py, dsl_parser.py,
dsl_statements.py and strategy_source.py) and `ksi pattern lint` (lint.py)."""
