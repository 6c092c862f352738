"""Starting points for new documents: valid, commented, and pointing editors at the schema."""

from __future__ import annotations

from ksi_patterns.documents.model import check_name
from ksi_patterns.documents.schema import DocumentKind, schema_id

_PATTERN = """\
# yaml-language-server: $schema={schema}
name: {name}
type: orchestration
version: 0.1.0
description: {description}
author: {author}
{extends}orchestration_logic:
  description: |
    What this pattern is for and how the orchestrator should think about it.
  # The DSL below is for the orchestrator to interpret: natural language mixed with
  # WHEN / IF / ELSE / EMIT "event" WITH {{...}} / TRACK / SPAWN / AWAIT / CONSIDER lines.
  strategy: |
    WHEN started:
      SPAWN worker WITH profile: "base_multi_agent"
      EMIT "task:assign" WITH {{agent: "worker", task: "describe the task"}}
      AWAIT task:completed
    AFTER completion:
      TRACK decision: "first_run" WITH confidence: 0.5
performance:
  runs: 0
  avg_score: null
  success_rate: null
learnings: []
metadata:
  tags: []
  capabilities_required: []
  use_cases: []
"""

_PROFILE = """\
# yaml-language-server: $schema={schema}
name: {name}
type: profile
version: 0.1.0
description: {description}
author: {author}
{extends}components:
  - name: role
    inline:
      prompt: |
        Describe who this agent is, what it does, and how it reports back.
variables: {{}}
metadata:
  tags: []
"""


def skeleton(
    name: str,
    kind: DocumentKind = DocumentKind.PATTERN,
    *,
    author: str | None = None,
    description: str | None = None,
    extends: str | None = None,
) -> str:
    template = _PROFILE if kind == DocumentKind.PROFILE else _PATTERN
    return template.format(
        schema=schema_id(kind),
        name=check_name(name),
        description=_scalar(description or "TODO: one line saying what this is for"),
        author=_scalar(author or "unknown"),
        extends=f"extends: {check_name(extends)}\n" if extends else "",
    )


def _scalar(text: str) -> str:
    """A one-line YAML scalar for `text`, quoted when plain style would change its meaning."""
    import json

    plain = text.strip()
    risky = not plain or plain[0] in "!&*{}[]|>'\"%@`#,?-:" or ": " in plain or " #" in plain
    return json.dumps(plain, ensure_ascii=False) if risky or "\n" in text else plain
