"""ksi-patterns: a git-backed registry of LLM orchestration patterns."""

__version__ = "0.1.0"
