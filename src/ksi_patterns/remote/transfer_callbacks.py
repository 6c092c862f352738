"""One transfer's libgit2 callbacks (`Callbacks`): progress, trust, and what the remote did.

Progress goes to a `Listener`; credentials come from `credentials.CredentialPicker`; SSH host
keys are checked against known_hosts (the key itself seen through `host_key_hook`), TLS
certificates must be valid. Fetched ref updates are recorded as `RefUpdate`s, and for a push the
refs offered, accepted and refused, with what the server printed besides progress. libgit2's
network timeouts are set here too, so that a silent server ends a transfer instead of hanging it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol

import pygit2

from ksi_patterns.errors import KsiError
from ksi_patterns.remote.credentials import CredentialPicker
from ksi_patterns.remote.host_key_hook import install_host_key_hook
from ksi_patterns.remote.known_hosts import HostKey, check_host_key
from ksi_patterns.remote.urls import is_ssh_url, scrub, ssh_host_port

CONNECT_TIMEOUT_MS = 30_000  # libgit2 waits forever by default
IO_TIMEOUT_MS = 300_000
_PROGRESS_LINE = re.compile(
    r"^(remote: )?(Enumerating|Counting|Compressing|Writing|Total|Delta compression|"
    r"Resolving|Receiving|Unpacking|Indexing)\b"
)


class RemoteError(KsiError):
    """A remote could not be reached or read (network, protocol, authentication)."""


class Listener(Protocol):
    """Receives transfer progress (objects done out of total, bytes so far) per phase."""

    def progress(self, phase: str, done: int, total: int, nbytes: int) -> None: ...


@dataclass(frozen=True)
class RefUpdate:
    ref: str
    old: str | None  # None: the ref did not exist
    new: str | None  # None: the ref was deleted

    def to_json(self) -> dict[str, str | None]:
        return {"ref": self.ref, "old": self.old, "new": self.new}


def _hex(oid: pygit2.Oid | None) -> str | None:
    if oid is None:
        return None
    text = str(oid)
    return None if set(text) == {"0"} else text


class Callbacks(pygit2.RemoteCallbacks):
    """One transfer's callbacks: progress, credentials, host keys, ref updates, rejections."""

    def __init__(
        self,
        url: str,
        listener: Listener | None = None,
        picker: CredentialPicker | None = None,
    ) -> None:
        super().__init__()
        self.url = url
        self.listener = listener
        self.picker = picker or CredentialPicker(url)
        self.ssh = is_ssh_url(url)
        self.host_key: HostKey | None = None
        self.tips: list[RefUpdate] = []
        self.offered: dict[str, RefUpdate] = {}  # dst ref -> update, from push negotiation
        self.refused: dict[str, str] = {}  # dst ref -> the server's message
        self.answered: list[str] = []  # refs the server accepted
        self._sideband = ""
        if self.ssh:
            install_host_key_hook()
        _set_timeouts()

    # -- trust -----------------------------------------------------------------------------

    def credentials(self, url: str, username_from_url: str | None, allowed_types: Any) -> Any:
        return self.picker(url, username_from_url, allowed_types)

    def seen_host_key(self, key: HostKey) -> None:
        """Called by host_key_hook.install_host_key_hook with the key the server showed."""
        self.host_key = key

    def certificate_check(self, certificate: None, valid: bool, host: bytes) -> bool:
        del certificate
        name = host.decode(errors="replace") if isinstance(host, bytes) else str(host)
        if self.ssh:
            url_host, port = ssh_host_port(self.url)
            check_host_key(url_host or name, port, self.host_key)
            return True
        if not valid:
            raise RemoteError(f"the TLS certificate of {name} is not valid; refusing to connect")
        return True

    # -- progress --------------------------------------------------------------------------

    def transfer_progress(self, stats: Any) -> None:
        if self.listener is None:
            return
        self.listener.progress(
            "Receiving objects", stats.received_objects, stats.total_objects, stats.received_bytes
        )
        if stats.total_deltas:
            self.listener.progress("Resolving deltas", stats.indexed_deltas, stats.total_deltas, 0)

    def push_transfer_progress(
        self, objects_pushed: int, total_objects: int, bytes_pushed: int
    ) -> None:
        if self.listener is not None:
            self.listener.progress("Writing objects", objects_pushed, total_objects, bytes_pushed)

    def sideband_progress(self, string: str) -> None:
        self._sideband += string

    @property
    def server_said(self) -> str:
        """What the server printed other than progress (a hook's message, say), one line."""
        lines = [
            line.strip()
            for line in re.split(r"[\r\n]+", self._sideband)
            if line.strip() and not _PROGRESS_LINE.match(line.strip())
        ]
        return scrub(" / ".join(dict.fromkeys(lines)))

    # -- outcomes --------------------------------------------------------------------------

    def update_tips(self, refname: str, old: pygit2.Oid, new: pygit2.Oid) -> None:
        self.tips.append(RefUpdate(refname, _hex(old), _hex(new)))

    def push_negotiation(self, updates: list[Any]) -> None:
        for update in updates:
            self.offered[update.dst_refname] = RefUpdate(
                update.dst_refname, _hex(update.src), _hex(update.dst)
            )

    def push_update_reference(self, refname: str, message: str | None) -> None:
        if message is None:
            self.answered.append(refname)
        else:
            self.refused[refname] = message


def _set_timeouts() -> None:
    """A server that accepts no connection, or stops answering, ends the command with an error
    instead of hanging it (only where nobody set libgit2's timeouts already)."""
    settings = pygit2.settings
    if not settings.server_connect_timeout:
        settings.server_connect_timeout = CONNECT_TIMEOUT_MS
    if not settings.server_timeout:
        settings.server_timeout = IO_TIMEOUT_MS
