"""The operations layer: one function per user operation, under every face.

The faces (the `ksi` command line, the composition event handlers, the MCP server, the Python
API) only translate a request into one of these calls and its typed result back out. An
operation checks every invariant, validates what it is about to write, commits with
compare-and-swap, announces what it did to the handler plugins (`composition:forked`, ...), and
returns a result whose `to_json()` every face shows alike. Errors name the fields of the request,
never a face's flags (see errors.py).

Who asks, and where announcements go, travel in a `Caller` (caller.py); buses for a registry
are built in buses.py.
"""
