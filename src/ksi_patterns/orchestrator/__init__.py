"""Orchestrator sessions: an agent (and its sub-agents) carrying out a pattern through events,
on a backend (the model, or a dry run of the DSL), with a transcript and a summary.

Modules, top to bottom; each imports only modules below it (TYPE_CHECKING imports included):

- session.py: `Session`, the run: it owns the counters (tokens, events, errors, decisions,
  sub-agents), `emit` and the `agent:spawn` handler, on a bus its caller's bus factory makes
  (composition handlers and plugins come from there: this package imports no face)
- backends.py: `make_backend(name, session)`, importing a backend only when it is chosen
- simulate.py, anthropic_backend.py: the backends (the latter the only module importing the SDK)
- protocols.py: what a backend sees of its session (`SessionView`), `Backend`, the session errors;
  lint.py: `ksi pattern lint` (the caller says which events are handled); pattern.py: the pattern
  a session runs and its system prompt
- spawning.py: what an `agent:spawn` asks for
- agent.py: `Agent`, one conversation, reaching its session only through `AgentHost`
- tools.py: the `emit_event` tool (its input, its result, the event record, tracked decisions)
- prompts.py (system prompts), transcripts.py (JSONL transcripts, replay), options.py (options
  and limits), summary.py (the summary and decisions)
- dsl.py, the strategy DSL's parser, with dsl_parser.py, dsl_lines.py, strategy_source.py and
  dsl_statements.py
"""
