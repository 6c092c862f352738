"""Seeing the SSH host key libgit2 offers: pygit2 passes None to `certificate_check`.

`install_host_key_hook` wraps pygit2's C-level certificate callback so that a callbacks object
with a `seen_host_key(HostKey)` method gets the key first; `read_host_key` reads it from
libgit2's `git_cert_hostkey` through cffi. `known_hosts.check_host_key` then judges it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from ksi_patterns.remote.known_hosts import HostKey

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
