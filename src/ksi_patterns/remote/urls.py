"""Remote URLs: how to show them without leaking what they embed, and what shape they have.

- `redact` / `scrub`: a URL (or any text holding URLs) with passwords and tokens hidden. Every
  URL that reaches the user, error messages included, goes through one of them.
- `strip_userinfo`: a URL without its `user:password@` part (what a credential helper is asked
  about).
- `is_ssh_url` / `ssh_host_port`: whether a URL is SSH, and the host and port it connects to.
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, urlsplit

_SECRET_QUERY = re.compile(
    r"(?i)([?&](?:access_token|private_token|token|password|passwd|key|secret)=)[^&#\s]+"
)
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")
HIDDEN = "***"


def redact(url: str) -> str:
    """`url` with any password or token hidden: `https://user:***@host/x`, `https://***@host`
    (a lone name over http(s) is often a token), secret query values as `***`. A path or an
    scp-like `user@host:path` has nothing to hide and comes back as it is."""
    match = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*://)([^/?#]*@)?(.*)$", url, re.DOTALL)
    if not match:
        return url
    scheme, userinfo, rest = match.groups()
    if userinfo:
        user, colon, _secret = userinfo[:-1].partition(":")
        if colon:
            userinfo = f"{user}:{HIDDEN}@"
        elif scheme.lower().startswith("http"):
            userinfo = f"{HIDDEN}@"
    return scheme + (userinfo or "") + _SECRET_QUERY.sub(rf"\g<1>{HIDDEN}", rest)


def scrub(text: str) -> str:
    """`text` (an error message, say) with every URL in it redacted."""
    return _URL_IN_TEXT.sub(lambda found: redact(found.group(0)), text)


def strip_userinfo(url: str) -> str:
    """`url` without its `user:password@` part (what a credential helper is asked about)."""
    parts = urlsplit(url)
    if not parts.netloc or "@" not in parts.netloc:
        return url
    host = parts.netloc.rpartition("@")[2]
    return SplitResult(parts.scheme, host, parts.path, parts.query, parts.fragment).geturl()


def is_ssh_url(url: str) -> bool:
    """ssh://, git+ssh:// or scp-like `[user@]host:path` (not a Windows drive, not a path)."""
    lowered = url.lower()
    if lowered.startswith(("ssh://", "git+ssh://", "ssh+git://")):
        return True
    if "://" in url or url.startswith(("/", ".", "~")):
        return False
    head, colon, _rest = url.partition(":")
    return bool(colon) and "/" not in head and len(head) > 1


def ssh_host_port(url: str) -> tuple[str, int]:
    """The host and port an SSH URL connects to (port 22 unless given)."""
    if "://" in url:
        parts = urlsplit(url)
        return (parts.hostname or ""), (parts.port or 22)
    head = url.partition(":")[0]
    return head.rpartition("@")[2], 22
