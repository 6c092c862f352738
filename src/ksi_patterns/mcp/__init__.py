"""The MCP face: the registry served over the Model Context Protocol (`ksi mcp`), so that any
agent host (Claude Code, Claude Desktop, ...) can find, read and evolve patterns and be the
orchestrator itself. As thin as the other faces: each tool calls one operation.

- server.py: the server (`build`, `serve`, the entry point `ksi mcp` starts)
- reading.py, writing.py: the tools (a `--read-only` server offers the reading ones alone)
- resources.py: documents, their logs and the lineage tree as `ksi://` resources
- prompts.py: `orchestrate` and `fork_and_improve`
- calls.py: a tool call as an operation's call; errors as the one line `ksi` prints
"""
