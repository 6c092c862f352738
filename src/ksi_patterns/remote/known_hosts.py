"""SSH host keys against known_hosts: which SSH host to believe.

`check_host_key` compares the server's SSH host key with `~/.ssh/known_hosts` (plain and hashed
`|1|salt|hash` entries, `[host]:port`, wildcards, negations, `@revoked`) and refuses an unknown
or changed key. The key itself comes from `host_key_hook`, since pygit2 hands its certificate
callback none.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from ksi_patterns.errors import KsiError


class HostKeyError(KsiError):
    """An SSH server whose host key is not (or no longer) in known_hosts."""


@dataclass(frozen=True)
class HostKey:
    """The key an SSH server showed: the raw key blob when libgit2 gave it, else its digests."""

    blob: bytes | None = None
    sha256: bytes | None = None
    sha1: bytes | None = None
    md5: bytes | None = None

    def matches(self, known_blob: bytes) -> bool:
        if self.blob is not None:
            return hmac.compare_digest(self.blob, known_blob)
        for digest, algorithm in ((self.sha256, "sha256"), (self.sha1, "sha1"), (self.md5, "md5")):
            if digest is not None:
                return hmac.compare_digest(digest, hashlib.new(algorithm, known_blob).digest())
        return False

    @property
    def fingerprint(self) -> str:
        """As `ssh-keygen -l` shows it (SHA256:base64), when known."""
        digest = self.sha256 or (hashlib.sha256(self.blob).digest() if self.blob else None)
        if digest is None:
            return "(no fingerprint)"
        return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


@dataclass(frozen=True)
class KnownHostsEntry:
    marker: str | None  # None, "@revoked" or "@cert-authority"
    patterns: str  # the first field as written
    key_type: str
    key: bytes
    source: str  # file:line


class HostKeyStatus(StrEnum):
    KNOWN = "known"
    UNKNOWN = "unknown"  # no entry for this host
    CHANGED = "changed"  # entries for this host, none with this key
    REVOKED = "revoked"


def parse_known_hosts(text: str, source: str = "known_hosts") -> list[KnownHostsEntry]:
    """The entries of a known_hosts file; lines that do not parse are skipped, as ssh does."""
    entries: list[KnownHostsEntry] = []
    for number, raw in enumerate(text.splitlines(), 1):
        fields = raw.strip().split()
        if not fields or fields[0].startswith("#"):
            continue
        marker = fields.pop(0) if fields[0].startswith("@") else None
        if len(fields) < 3:
            continue
        try:
            key = base64.b64decode(fields[2], validate=True)
        except (binascii.Error, ValueError):
            continue
        entries.append(KnownHostsEntry(marker, fields[0], fields[1], key, f"{source}:{number}"))
    return entries


def host_token(host: str, port: int) -> str:
    """How known_hosts names a host: `host`, or `[host]:port` off port 22."""
    host = host.lower()
    return host if port == 22 else f"[{host}]:{port}"


def _hashed_match(pattern: str, token: str) -> bool:
    parts = pattern.split("|")  # "", "1", salt, hash
    if len(parts) != 4 or parts[1] != "1":
        return False
    try:
        salt = base64.b64decode(parts[2], validate=True)
        expected = base64.b64decode(parts[3], validate=True)
    except (binascii.Error, ValueError):
        return False
    mine = hmac.new(salt, token.encode(), hashlib.sha1).digest()
    return hmac.compare_digest(mine, expected)


def _wildcard(pattern: str) -> re.Pattern[str]:
    body = "".join(
        ".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern
    )
    return re.compile(f"^{body}$", re.IGNORECASE)


def host_matches(patterns: str, host: str, port: int) -> bool:
    """Whether a known_hosts host field names `host:port` (ssh's rules: any positive pattern
    matches and no negated one does; a hashed field matches its one name exactly)."""
    token = host_token(host, port)
    if patterns.startswith("|"):
        return _hashed_match(patterns, token)
    matched = False
    for pattern in patterns.split(","):
        negated = pattern.startswith("!")
        pattern = pattern[1:] if negated else pattern
        if not pattern:
            continue
        if port != 22 and not pattern.startswith("["):
            continue  # a bare name covers port 22 only
        if _wildcard(pattern).match(token):
            if negated:
                return False
            matched = True
    return matched


def known_hosts_files(home: Path | None = None) -> list[Path]:
    """The user's and the system's known_hosts files ($KSI_KNOWN_HOSTS replaces both)."""
    if os.environ.get("KSI_KNOWN_HOSTS"):
        return [Path(p).expanduser() for p in os.environ["KSI_KNOWN_HOSTS"].split(os.pathsep)]
    home = home if home is not None else Path.home()
    return [home / ".ssh" / "known_hosts", Path("/etc/ssh/ssh_known_hosts")]


def load_known_hosts(files: Iterable[Path]) -> list[KnownHostsEntry]:
    entries: list[KnownHostsEntry] = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        entries += parse_known_hosts(text, str(path))
    return entries


def host_key_status(
    entries: Sequence[KnownHostsEntry], host: str, port: int, key: HostKey
) -> HostKeyStatus:
    """What known_hosts says about `key` shown by `host:port`."""
    mine = [entry for entry in entries if host_matches(entry.patterns, host, port)]
    if any(e.marker == "@revoked" and key.matches(e.key) for e in mine):
        return HostKeyStatus.REVOKED
    plain = [entry for entry in mine if entry.marker is None]
    if any(key.matches(entry.key) for entry in plain):
        return HostKeyStatus.KNOWN
    return HostKeyStatus.CHANGED if plain else HostKeyStatus.UNKNOWN


def check_host_key(
    host: str, port: int, key: HostKey | None, files: Iterable[Path] | None = None
) -> None:
    """Raise HostKeyError unless known_hosts holds `key` for `host:port`."""
    shown = host_token(host, port)
    if key is None:
        raise HostKeyError(
            f"cannot check the SSH host key of {shown}: this libgit2 did not show it; "
            "refusing to connect"
        )
    status = host_key_status(load_known_hosts(files or known_hosts_files()), host, port, key)
    if status is HostKeyStatus.KNOWN:
        return
    if status is HostKeyStatus.UNKNOWN:
        raise HostKeyError(
            f"the SSH host {shown} is not in ~/.ssh/known_hosts (key {key.fingerprint}); "
            f"check the fingerprint, then add it: ssh-keyscan "
            f"{'-p ' + str(port) + ' ' if port != 22 else ''}{host} >> ~/.ssh/known_hosts"
        )
    if status is HostKeyStatus.REVOKED:
        raise HostKeyError(f"the SSH host key of {shown} ({key.fingerprint}) is revoked")
    raise HostKeyError(
        f"the SSH host key of {shown} CHANGED ({key.fingerprint} is not the key in "
        "known_hosts): someone may be intercepting the connection; refusing to connect"
    )
