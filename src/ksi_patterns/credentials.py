"""Credentials and trust for remotes: which secret to offer, which SSH host to believe, and
how to show a URL without leaking what it embeds.

- `redact` / `scrub`: a URL (or any text holding URLs) with passwords and tokens hidden. Every
  URL that reaches the user, error messages included, goes through one of them.
- `CredentialPicker`: the answer to libgit2's credentials callback. SSH: the agent, then
  `KSI_SSH_KEY`, `~/.ssh/id_ed25519`, `~/.ssh/id_rsa`. HTTPS: a token from `KSI_GIT_TOKEN`,
  `GIT_TOKEN` or `GITHUB_TOKEN`, then git's credential helper (`git credential fill`). libgit2
  asks again after every refusal, so the picker offers each candidate once and gives up after
  MAX_TRIES refusals with an error naming what it tried.
- known_hosts: `check_host_key` compares the server's SSH host key with `~/.ssh/known_hosts`
  (plain and hashed `|1|salt|hash` entries, `[host]:port`, wildcards, negations, `@revoked`)
  and refuses an unknown or changed key. pygit2 hands its certificate callback no key, so
  `install_host_key_hook` reads the key libgit2 offers and keeps it for that check.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import importlib
import os
import re
import subprocess
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, urlsplit

import pygit2
from pygit2.enums import CredentialType

from ksi_patterns.errors import KsiError

MAX_TRIES = 3  # credentials refused before giving up
MAX_CALLS = 10  # callback calls in all (username-only answers included), against loops
TOKEN_VARIABLES = ("KSI_GIT_TOKEN", "GIT_TOKEN", "GITHUB_TOKEN")
SSH_KEY_FILES = ("id_ed25519", "id_rsa")
TOKEN_USERNAME = "x-access-token"  # GitHub's name for token logins; other hosts accept any name
HELPER_TIMEOUT = 30.0

Credential = pygit2.Username | pygit2.UserPass | pygit2.Keypair


class CredentialsError(KsiError):
    """No credentials, or every credential offered was refused."""


class HostKeyError(KsiError):
    """An SSH server whose host key is not (or no longer) in known_hosts."""


# ---------------------------------------------------------------------------------------------
# Redaction

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


# ---------------------------------------------------------------------------------------------
# Choosing credentials


@dataclass(frozen=True)
class Candidate:
    """One credential to offer, with a label that says where it came from (never the secret)."""

    label: str
    kind: CredentialType
    make: Callable[[str | None], Credential]


Helper = Callable[[str, str | None], tuple[str, str] | None]


def git_credential_fill(url: str, username: str | None) -> tuple[str, str] | None:
    """(username, password) from git's credential helpers for an http(s) URL, or None.

    Runs `git credential fill` with terminal prompts off, so it never waits for a person."""
    parts = urlsplit(strip_userinfo(url))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    request = f"protocol={parts.scheme}\nhost={parts.netloc}\n"
    if parts.path.strip("/"):
        request += f"path={parts.path.lstrip('/')}\n"
    if username:
        request += f"username={username}\n"
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    try:
        done = subprocess.run(
            ["git", "credential", "fill"],
            input=request + "\n",
            capture_output=True,
            text=True,
            env=env,
            timeout=HELPER_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    answer = dict(
        line.split("=", 1) for line in done.stdout.splitlines() if "=" in line and line.strip()
    )
    if answer.get("username") and answer.get("password"):
        return answer["username"], answer["password"]
    return None


def ssh_candidates(env: Mapping[str, str], home: Path) -> list[Candidate]:
    """SSH keys to offer, in order: the agent, KSI_SSH_KEY, ~/.ssh/id_ed25519, ~/.ssh/id_rsa."""
    found: list[Candidate] = []
    passphrase = env.get("KSI_SSH_PASSPHRASE", "")
    if env.get("SSH_AUTH_SOCK"):
        found.append(
            Candidate("the SSH agent", CredentialType.SSH_KEY, lambda user: _agent(user or "git"))
        )
    paths: list[Path] = []
    if env.get("KSI_SSH_KEY"):
        paths.append(Path(env["KSI_SSH_KEY"]).expanduser())
    paths += [home / ".ssh" / name for name in SSH_KEY_FILES]
    seen: set[Path] = set()
    for key in paths:
        if key in seen or not key.is_file():
            continue
        seen.add(key)
        public = key.with_name(key.name + ".pub")
        found.append(
            Candidate(
                f"the key {key}",
                CredentialType.SSH_KEY,
                _keypair(key, public if public.is_file() else None, passphrase),
            )
        )
    return found


def _agent(user: str) -> Credential:
    return pygit2.KeypairFromAgent(user)


def _keypair(
    private: Path, public: Path | None, passphrase: str
) -> Callable[[str | None], Credential]:
    def make(user: str | None) -> Credential:
        return pygit2.Keypair(
            user or "git", str(public) if public else None, str(private), passphrase
        )

    return make


def token_candidates(env: Mapping[str, str]) -> list[Candidate]:
    """HTTPS tokens from the environment, each distinct value once, in TOKEN_VARIABLES order."""
    found: list[Candidate] = []
    seen: set[str] = set()
    for name in TOKEN_VARIABLES:
        token = env.get(name, "").strip()
        if not token or token in seen:
            continue
        seen.add(token)
        found.append(
            Candidate(
                f"the token in ${name}",
                CredentialType.USERPASS_PLAINTEXT,
                _userpass(token),
            )
        )
    return found


def _userpass(token: str) -> Callable[[str | None], Credential]:
    def make(user: str | None) -> Credential:
        return pygit2.UserPass(user or TOKEN_USERNAME, token)

    return make


class CredentialPicker:
    """libgit2's credentials callback: each candidate once, at most MAX_TRIES in all.

    libgit2 calls back after every refusal, so the n-th call means the n-1 earlier answers were
    refused. Environment, home folder and credential helper can be given (tests do).
    """

    def __init__(
        self,
        url: str,
        *,
        env: Mapping[str, str] | None = None,
        home: Path | None = None,
        helper: Helper = git_credential_fill,
        max_tries: int = MAX_TRIES,
    ) -> None:
        self.url = url
        self._env = dict(os.environ if env is None else env)
        self._home = home if home is not None else Path.home()
        self._helper = helper
        self.max_tries = max_tries
        self.calls = 0
        self.tried: list[str] = []
        self._ssh: Iterator[Candidate] | None = None
        self._https: Iterator[Candidate] | None = None

    def __call__(
        self, url: str, username_from_url: str | None, allowed_types: CredentialType
    ) -> Credential:
        self.calls += 1
        allowed = CredentialType(allowed_types)
        secret_kinds = CredentialType.SSH_KEY | CredentialType.USERPASS_PLAINTEXT
        if self.calls > MAX_CALLS:
            raise self._failure()
        if allowed & CredentialType.USERNAME and not allowed & secret_kinds:
            return pygit2.Username(username_from_url or "git")
        if len(self.tried) >= self.max_tries:
            raise self._failure()
        candidate = self._next(allowed, username_from_url)
        if candidate is None:
            raise self._failure()
        self.tried.append(candidate.label)
        return candidate.make(username_from_url)

    def _next(self, allowed: CredentialType, username: str | None) -> Candidate | None:
        if allowed & CredentialType.SSH_KEY:
            if self._ssh is None:
                self._ssh = iter(ssh_candidates(self._env, self._home))
            found = next(self._ssh, None)
            if found is not None:
                return found
        if allowed & CredentialType.USERPASS_PLAINTEXT:
            if self._https is None:
                self._https = self._https_candidates(username)
            return next(self._https, None)
        return None

    def _https_candidates(self, username: str | None) -> Iterator[Candidate]:
        yield from token_candidates(self._env)
        answer = self._helper(self.url, username)  # only asked once the tokens are spent
        if answer is not None:
            user, password = answer
            yield Candidate(
                "git's credential helper",
                CredentialType.USERPASS_PLAINTEXT,
                lambda _user: pygit2.UserPass(user, password),
            )

    def _failure(self) -> CredentialsError:
        where = redact(self.url)
        if not self.tried:
            return CredentialsError(
                f"{where} asks for credentials and none were found: for SSH, load a key into "
                "ssh-agent or set KSI_SSH_KEY; for HTTPS, set KSI_GIT_TOKEN or configure a git "
                "credential helper"
            )
        return CredentialsError(
            f"{where} refused the credentials after {len(self.tried)} attempt(s) "
            f"({', '.join(self.tried)}); check the key or token and its access to the repository"
        )


# ---------------------------------------------------------------------------------------------
# SSH host keys


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


# ---------------------------------------------------------------------------------------------
# Seeing the host key libgit2 offers (pygit2 passes None to certificate_check)

_HOSTKEY_CDEF = """
typedef struct { int cert_type; } ksi_git_cert;
typedef struct {
    ksi_git_cert parent;
    int type;
    unsigned char hash_md5[16];
    unsigned char hash_sha1[20];
    unsigned char hash_sha256[32];
    int raw_type;
    const char *hostkey;
    size_t hostkey_len;
} ksi_git_cert_hostkey;
"""
CERT_HOSTKEY_LIBSSH2 = 2  # git_cert_t
SSH_MD5, SSH_SHA1, SSH_SHA256, SSH_RAW = 1, 2, 4, 8  # git_cert_ssh_t bits (libgit2 >= 1.2)


@dataclass
class _Hook:
    installed: bool = False
    ffi: Any = None


_hook = _Hook()


def host_key_ffi() -> Any:
    """A cffi FFI that knows libgit2's git_cert_hostkey layout (git2/cert.h, 1.2 and later)."""
    if _hook.ffi is None:
        cffi = importlib.import_module("cffi")  # pygit2's own dependency (untyped)
        own = cffi.FFI()
        own.cdef(_HOSTKEY_CDEF)
        _hook.ffi = own
    return _hook.ffi


def read_host_key(address: int) -> HostKey | None:
    """The host key in the git_cert_hostkey at `address`; None when it is no SSH host key."""
    own = host_key_ffi()
    cert = own.cast("ksi_git_cert_hostkey *", address)
    if cert.parent.cert_type != CERT_HOSTKEY_LIBSSH2:
        return None
    kinds = cert.type

    def digest(bit: int, name: str) -> bytes | None:
        return bytes(own.buffer(getattr(cert, name))) if kinds & bit else None

    blob = None
    if kinds & SSH_RAW and cert.hostkey != own.NULL and cert.hostkey_len:
        blob = bytes(own.buffer(cert.hostkey, cert.hostkey_len))
    return HostKey(
        blob,
        digest(SSH_SHA256, "hash_sha256"),
        digest(SSH_SHA1, "hash_sha1"),
        digest(SSH_MD5, "hash_md5"),
    )


def install_host_key_hook() -> bool:
    """Let callbacks objects see the SSH host key before pygit2 asks their certificate_check.

    pygit2 calls `certificate_check(None, valid, host)`: no key. This wraps pygit2's C-level
    callback so that a payload with a `seen_host_key(HostKey)` method gets the key first; the
    rest is pygit2's own code, unchanged. Installed once per process, only when an SSH remote is
    used. False when this pygit2 does not allow it (then certificate_check gets no key and
    refuses).
    """
    if _hook.installed:
        return True
    try:
        from pygit2 import callbacks as pygit2_callbacks
        from pygit2.ffi import ffi as pygit2_ffi

        original = pygit2_callbacks._certificate_check_cb
        host_key_ffi()

        def with_host_key(cert: Any, valid: int, host: Any, handle: Any) -> Any:
            try:
                data = pygit2_ffi.from_handle(handle)
                seen = getattr(data, "seen_host_key", None)
                if seen is not None and cert != pygit2_ffi.NULL:
                    key = read_host_key(int(pygit2_ffi.cast("uintptr_t", cert)))
                    if key is not None:
                        seen(key)
            except Exception:  # never break pygit2's callback; certificate_check then refuses
                pass
            return original(cert, valid, host, handle)

        pygit2_ffi.def_extern(name="_certificate_check_cb")(with_host_key)
    except Exception:
        return False
    _hook.installed = True
    return True
