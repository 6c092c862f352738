"""Credentials, redaction and SSH host keys, without any network but 127.0.0.1.

The picker is driven the way libgit2 drives it (called again after every refusal); the
known_hosts matcher is checked against entries written by OpenSSH's own ssh-keygen where it is
installed; a local HTTP server that refuses every login shows the bounded retries end to end.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.server
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pygit2
import pytest
from pygit2.enums import CredentialType

from ksi_patterns.git.store import Store
from ksi_patterns.remote.credentials import (
    MAX_TRIES,
    CredentialPicker,
    CredentialsError,
    git_credential_fill,
)
from ksi_patterns.remote.host_key_hook import host_key_ffi, install_host_key_hook, read_host_key
from ksi_patterns.remote.known_hosts import (
    HostKey,
    HostKeyError,
    HostKeyStatus,
    check_host_key,
    host_key_status,
    host_matches,
    parse_known_hosts,
)
from ksi_patterns.remote.transfer_callbacks import Callbacks, RemoteError
from ksi_patterns.remote.urls import is_ssh_url, redact, scrub, ssh_host_port

SSH = CredentialType.SSH_KEY
USERPASS = CredentialType.USERPASS_PLAINTEXT
HTTPS_URL = "https://git.example.org/team/patterns.git"
SSH_URL = "ssh://git@git.example.org/team/patterns.git"

# Two made-up ed25519 public key blobs in SSH wire format (type string + 32 key bytes).
KEY_A = b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20" + bytes(range(32))
KEY_B = b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20" + bytes(range(32, 64))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def no_helper(url: str, username: str | None) -> tuple[str, str] | None:
    return None


# ---------------------------------------------------------------------------------------------
# Redaction


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://alice:s3cret@git.example.org/x.git", "https://alice:***@git.example.org/x.git"),
        ("https://ghp_tokenvalue@github.com/o/r.git", "https://***@github.com/o/r.git"),
        ("http://u:p@127.0.0.1:8080/r", "http://u:***@127.0.0.1:8080/r"),
        ("ssh://git@host/r.git", "ssh://git@host/r.git"),  # a user name is no secret
        ("ssh://git:pw@host/r.git", "ssh://git:***@host/r.git"),
        ("git@github.com:o/r.git", "git@github.com:o/r.git"),
        ("/srv/git/team.git", "/srv/git/team.git"),
        ("git://127.0.0.1:9418/team.git", "git://127.0.0.1:9418/team.git"),
        ("https://host/r.git?access_token=abc&x=1", "https://host/r.git?access_token=***&x=1"),
        ("https://a:b:c@host/r", "https://a:***@host/r"),
    ],
)
def test_redact(url: str, shown: str) -> None:
    assert redact(url) == shown


def test_scrub_hides_every_url_in_a_message() -> None:
    text = (
        "failed to connect to https://bob:hunter2@git.example.org/r.git; "
        "retrying 'https://tok123@mirror.example.org/r.git'"
    )
    clean = scrub(text)
    assert "hunter2" not in clean and "tok123" not in clean
    assert "https://bob:***@git.example.org/r.git" in clean
    assert "https://***@mirror.example.org/r.git" in clean


@pytest.mark.parametrize(
    ("url", "ssh", "host_port"),
    [
        ("ssh://git@host.example:2222/r.git", True, ("host.example", 2222)),
        ("git+ssh://host/r.git", True, ("host", 22)),
        ("git@github.com:o/r.git", True, ("github.com", 22)),
        ("https://github.com/o/r.git", False, None),
        ("/srv/team.git", False, None),
        ("./team.git", False, None),
        ("git://127.0.0.1:9418/r.git", False, None),
    ],
)
def test_ssh_urls(url: str, ssh: bool, host_port: tuple[str, int] | None) -> None:
    assert is_ssh_url(url) is ssh
    if host_port:
        assert ssh_host_port(url) == host_port


# ---------------------------------------------------------------------------------------------
# Choosing credentials


def ssh_home(tmp_path: Path, *names: str) -> Path:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    for name in names:
        (home / ".ssh" / name).write_text("PRIVATE KEY\n")
        (home / ".ssh" / f"{name}.pub").write_text("ssh-ed25519 AAAA test\n")
    return home


def test_ssh_order_agent_then_ksi_key_then_default_keys_then_gives_up(tmp_path: Path) -> None:
    home = ssh_home(tmp_path, "id_ed25519", "id_rsa")
    extra = tmp_path / "deploy_key"
    extra.write_text("PRIVATE KEY\n")
    env = {"SSH_AUTH_SOCK": "/tmp/agent.sock", "KSI_SSH_KEY": str(extra)}
    picker = CredentialPicker(SSH_URL, env=env, home=home, helper=no_helper)

    first = picker(SSH_URL, "git", SSH)
    assert isinstance(first, pygit2.KeypairFromAgent)
    assert first.credential_tuple == ("git", None, None, None)
    second = picker(SSH_URL, "git", SSH)
    assert second.credential_tuple == ("git", None, str(extra), "")  # no .pub beside it
    third = picker(SSH_URL, "git", SSH)
    ed = home / ".ssh" / "id_ed25519"
    assert third.credential_tuple == ("git", f"{ed}.pub", str(ed), "")
    # libgit2 asks a fourth time after the third refusal: give up, naming what was tried.
    with pytest.raises(CredentialsError) as failure:
        picker(SSH_URL, "git", SSH)
    message = str(failure.value)
    assert f"after {MAX_TRIES} attempt(s)" in message
    assert "the SSH agent" in message and str(extra) in message and "id_ed25519" in message
    assert picker.tried == ["the SSH agent", f"the key {extra}", f"the key {ed}"]


def test_ssh_without_agent_uses_key_files_in_order(tmp_path: Path) -> None:
    home = ssh_home(tmp_path, "id_rsa", "id_ed25519")
    picker = CredentialPicker(SSH_URL, env={}, home=home, helper=no_helper)
    assert picker(SSH_URL, None, SSH).credential_tuple[2] == str(home / ".ssh" / "id_ed25519")
    assert picker(SSH_URL, None, SSH).credential_tuple[2] == str(home / ".ssh" / "id_rsa")
    with pytest.raises(CredentialsError, match=r"refused the credentials after 2 attempt"):
        picker(SSH_URL, None, SSH)


def test_no_credentials_at_all_is_one_clear_error(tmp_path: Path) -> None:
    picker = CredentialPicker(SSH_URL, env={}, home=tmp_path / "nobody", helper=no_helper)
    with pytest.raises(CredentialsError, match=r"none were found.*KSI_SSH_KEY.*KSI_GIT_TOKEN"):
        picker(SSH_URL, "git", SSH)


def test_username_request_gets_the_url_user(tmp_path: Path) -> None:
    picker = CredentialPicker(SSH_URL, env={}, home=tmp_path, helper=no_helper)
    answer = picker(SSH_URL, "deploy", CredentialType.USERNAME)
    assert isinstance(answer, pygit2.Username) and answer.credential_tuple == ("deploy",)
    assert picker.tried == []  # asking for a name is no refusal


def test_https_tokens_in_order_then_helper_then_gives_up(tmp_path: Path) -> None:
    env = {"KSI_GIT_TOKEN": "tok-ksi", "GIT_TOKEN": "tok-ksi", "GITHUB_TOKEN": "tok-gh"}
    asked: list[tuple[str, str | None]] = []

    def helper(url: str, username: str | None) -> tuple[str, str] | None:
        asked.append((url, username))
        return ("helper-user", "helper-pass")

    picker = CredentialPicker(HTTPS_URL, env=env, home=tmp_path, helper=helper)
    first = picker(HTTPS_URL, None, USERPASS)
    assert first.credential_tuple == ("x-access-token", "tok-ksi")
    assert asked == []  # the helper is only run once the tokens are spent
    second = picker(HTTPS_URL, None, USERPASS)  # GIT_TOKEN repeats KSI_GIT_TOKEN: skipped
    assert second.credential_tuple == ("x-access-token", "tok-gh")
    third = picker(HTTPS_URL, None, USERPASS)
    assert third.credential_tuple == ("helper-user", "helper-pass")
    assert asked == [(HTTPS_URL, None)]
    with pytest.raises(CredentialsError) as failure:
        picker(HTTPS_URL, None, USERPASS)
    message = str(failure.value)
    assert "$KSI_GIT_TOKEN" in message and "$GITHUB_TOKEN" in message
    assert "credential helper" in message
    assert "tok-" not in message and "helper-pass" not in message  # never the secrets


def test_https_user_from_url_is_kept_and_url_redacted_in_errors(tmp_path: Path) -> None:
    url = "https://alice:old-secret@git.example.org/r.git"
    picker = CredentialPicker(url, env={"GIT_TOKEN": "t1"}, home=tmp_path, helper=no_helper)
    assert picker(url, "alice", USERPASS).credential_tuple == ("alice", "t1")
    with pytest.raises(CredentialsError) as failure:
        picker(url, "alice", USERPASS)
    assert "old-secret" not in str(failure.value)
    assert "https://alice:***@git.example.org/r.git" in str(failure.value)


def test_git_credential_fill_uses_the_configured_helper(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "gitconfig"
    helper = tmp_path / "helper.sh"
    helper.write_text(
        "#!/bin/sh\n"
        'test "$1" = get || exit 0\n'
        'cat > "$(dirname "$0")/request.txt"\n'
        "echo username=from-helper\necho password=helper-secret\n"
    )
    helper.chmod(0o755)
    config.write_text(f"[credential]\n\thelper = {helper}\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    assert git_credential_fill("https://bob:x@git.example.org/team/r.git", "bob") == (
        "from-helper",
        "helper-secret",
    )
    request = (tmp_path / "request.txt").read_text()
    assert "host=git.example.org" in request  # (git passes the path on with useHttpPath)
    assert "username=bob" in request and "password" not in request  # the URL's secret stays
    assert git_credential_fill("git://host/r.git", None) is None  # only http(s)


def test_git_credential_fill_without_helper_never_prompts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "empty"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.delenv("GIT_ASKPASS", raising=False)
    monkeypatch.delenv("SSH_ASKPASS", raising=False)
    assert git_credential_fill(HTTPS_URL, None) is None


class _Refuser(http.server.BaseHTTPRequestHandler):
    """Answers every request with 401, counting the ones that carried credentials."""

    attempts: list[str]

    def do_GET(self) -> None:
        auth = self.headers.get("Authorization")
        if auth:
            self.attempts.append(base64.b64decode(auth.split()[1]).decode())
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="ksi-test"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def refusing_server() -> Iterator[tuple[str, list[str]]]:
    attempts: list[str] = []
    handler = type("Handler", (_Refuser,), {"attempts": attempts})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/team.git", attempts
    finally:
        server.shutdown()
        server.server_close()


def test_libgit2_retries_are_bounded_against_a_server_refusing_every_login(
    refusing_server: tuple[str, list[str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    run: object,
) -> None:
    url, attempts = refusing_server
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "empty"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("KSI_GIT_TOKEN", "t-one")
    monkeypatch.setenv("GIT_TOKEN", "t-two")
    monkeypatch.setenv("GITHUB_TOKEN", "t-three")
    monkeypatch.setenv("HOME", str(tmp_path))
    store = Store.init(tmp_path / "repo")
    store.transport_repository().remotes.create("origin", url)
    from ksi_patterns.remote.remotes import fetch

    with pytest.raises(CredentialsError) as failure:
        fetch(store, "origin")
    assert attempts == ["x-access-token:t-one", "x-access-token:t-two", "x-access-token:t-three"]
    assert "after 3 attempt(s)" in str(failure.value)


def test_a_refused_fetch_through_the_cli_is_one_redacted_line(
    refusing_server: tuple[str, list[str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    registry_dir: Path,
    run: object,
) -> None:
    url, attempts = refusing_server
    for name in ("http_proxy", "HTTP_PROXY", "KSI_GIT_TOKEN", "GIT_TOKEN", "GITHUB_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "empty"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GITHUB_TOKEN", "only-token")
    secret_url = url.replace("http://", "http://carol:pa55word@")
    assert callable(run)
    added = run("registry", "remote", "add", "origin", secret_url, "-R", registry_dir)
    assert added.exit_code == 0, added
    assert "pa55word" not in added.output and "carol:***@" in added.output
    done = run("registry", "pull", "-R", registry_dir)
    assert done.exit_code == 2, done
    assert "pa55word" not in done.output and "only-token" not in done.output
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("ksi: error: ")
    assert len(attempts) <= 1 + MAX_TRIES  # the URL's own login, then at most 3 of ours


# ---------------------------------------------------------------------------------------------
# known_hosts


def known_hosts_line(patterns: str, key: bytes, marker: str = "") -> str:
    return f"{marker + ' ' if marker else ''}{patterns} ssh-ed25519 {b64(key)} comment\n"


def hashed(name: str, salt: bytes = b"0123456789abcdefghij") -> str:
    digest = hmac.new(salt, name.encode(), hashlib.sha1).digest()
    return f"|1|{b64(salt)}|{b64(digest)}"


def test_plain_entries_ports_wildcards_and_negations() -> None:
    assert host_matches("git.example.org,10.0.0.5", "git.example.org", 22)
    assert host_matches("git.example.org,10.0.0.5", "10.0.0.5", 22)
    assert host_matches("GIT.Example.ORG", "git.example.org", 22)
    assert not host_matches("git.example.org", "git.example.org", 2222)  # other port
    assert host_matches("[git.example.org]:2222", "git.example.org", 2222)
    assert not host_matches("[git.example.org]:2222", "git.example.org", 22)
    assert host_matches("*.example.org", "git.example.org", 22)
    assert host_matches("git?.example.org", "git1.example.org", 22)
    assert not host_matches("*.example.org,!evil.example.org", "evil.example.org", 22)
    assert not host_matches("gi[t].example.org", "git.example.org", 22)  # [ is literal


def test_hashed_entries_match_by_hmac_sha1() -> None:
    assert host_matches(hashed("git.example.org"), "git.example.org", 22)
    assert host_matches(hashed("[git.example.org]:2222"), "git.example.org", 2222)
    assert not host_matches(hashed("git.example.org"), "other.example.org", 22)
    assert not host_matches(hashed("git.example.org"), "git.example.org", 2222)
    assert not host_matches("|1|not-base64!|x", "git.example.org", 22)


@pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="OpenSSH's ssh-keygen is missing")
def test_entries_hashed_by_openssh_itself_match(tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    known.write_text(
        known_hosts_line("git.example.org", KEY_A) + known_hosts_line("[h.example]:2200", KEY_B)
    )
    subprocess.run(["ssh-keygen", "-H", "-f", str(known)], check=True, capture_output=True)
    text = known.read_text()
    assert "git.example.org" not in text and text.startswith("|1|")
    entries = parse_known_hosts(text)
    assert host_key_status(entries, "git.example.org", 22, HostKey(KEY_A)) is HostKeyStatus.KNOWN
    assert host_key_status(entries, "h.example", 2200, HostKey(KEY_B)) is HostKeyStatus.KNOWN
    assert host_key_status(entries, "h.example", 22, HostKey(KEY_B)) is HostKeyStatus.UNKNOWN


def test_status_known_changed_unknown_revoked_and_digests() -> None:
    text = (
        "# a comment\n\n"
        + known_hosts_line("git.example.org", KEY_A)
        + known_hosts_line("*.example.org", KEY_B, "@revoked")
        + "garbage line\n"
        + known_hosts_line("ca.example.org", KEY_B, "@cert-authority")
    )
    entries = parse_known_hosts(text)
    assert len(entries) == 3
    status = host_key_status
    assert status(entries, "git.example.org", 22, HostKey(KEY_A)) is HostKeyStatus.KNOWN
    assert status(entries, "git.example.org", 22, HostKey(KEY_B)) is HostKeyStatus.REVOKED
    other = KEY_A[:-1] + b"\xff"
    assert status(entries, "git.example.org", 22, HostKey(other)) is HostKeyStatus.CHANGED
    assert status(entries, "new.example.com", 22, HostKey(KEY_A)) is HostKeyStatus.UNKNOWN
    assert status(entries, "ca.example.org", 22, HostKey(KEY_A)) is HostKeyStatus.UNKNOWN
    # Without the raw key, libgit2's digests of it are compared instead.
    by_sha256 = HostKey(sha256=hashlib.sha256(KEY_A).digest())
    assert status(entries, "git.example.org", 22, by_sha256) is HostKeyStatus.KNOWN
    by_sha1 = HostKey(sha1=hashlib.sha1(other).digest())
    assert status(entries, "git.example.org", 22, by_sha1) is HostKeyStatus.CHANGED
    assert status(entries, "git.example.org", 22, HostKey()) is HostKeyStatus.CHANGED


def test_check_host_key_refuses_unknown_changed_and_missing_keys(tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    known.write_text(known_hosts_line(hashed("git.example.org"), KEY_A))
    check_host_key("git.example.org", 22, HostKey(KEY_A), [known])  # no error
    with pytest.raises(HostKeyError, match=r"not in ~/.ssh/known_hosts.*SHA256:.*ssh-keyscan"):
        check_host_key("new.example.org", 22, HostKey(KEY_A), [known])
    with pytest.raises(HostKeyError, match=r"ssh-keyscan -p 2222 git.example.org"):
        check_host_key("git.example.org", 2222, HostKey(KEY_A), [known])
    with pytest.raises(HostKeyError, match="CHANGED"):
        check_host_key("git.example.org", 22, HostKey(KEY_B), [known])
    with pytest.raises(HostKeyError, match="did not show it"):
        check_host_key("git.example.org", 22, None, [known])
    with pytest.raises(HostKeyError, match="not in"):  # a missing file knows nobody
        check_host_key("git.example.org", 22, HostKey(KEY_A), [tmp_path / "missing"])


def test_certificate_check_of_an_ssh_transfer_uses_known_hosts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    known = tmp_path / "known_hosts"
    known.write_text(known_hosts_line("[git.example.org]:2222", KEY_A))
    monkeypatch.setenv("KSI_KNOWN_HOSTS", str(known))
    callbacks = Callbacks("ssh://git@git.example.org:2222/team.git")
    with pytest.raises(HostKeyError):  # libgit2 showed no key (yet): refuse
        callbacks.certificate_check(None, True, b"git.example.org")
    callbacks.seen_host_key(HostKey(KEY_A))
    assert callbacks.certificate_check(None, False, b"git.example.org") is True
    callbacks.seen_host_key(HostKey(KEY_B))
    with pytest.raises(HostKeyError, match="CHANGED"):  # libgit2's own verdict is not enough
        callbacks.certificate_check(None, True, b"git.example.org")


def test_certificate_check_of_tls_follows_the_verification() -> None:
    callbacks = Callbacks(HTTPS_URL)
    assert callbacks.certificate_check(None, True, b"git.example.org") is True
    with pytest.raises(RemoteError, match=r"TLS certificate of git\.example\.org is not valid"):
        callbacks.certificate_check(None, False, b"git.example.org")


def test_the_host_key_is_read_from_libgit2s_certificate_struct() -> None:
    ffi = host_key_ffi()
    cert = ffi.new("ksi_git_cert_hostkey *")
    raw = ffi.new("char[]", KEY_A)
    cert.parent.cert_type = 2  # GIT_CERT_HOSTKEY_LIBSSH2
    cert.type = 4 | 8  # SHA256 | RAW
    sha = hashlib.sha256(KEY_A).digest()
    ffi.memmove(cert.hash_sha256, sha, 32)
    cert.hostkey = raw
    cert.hostkey_len = len(KEY_A)
    key = read_host_key(int(ffi.cast("uintptr_t", cert)))
    assert key == HostKey(KEY_A, sha256=sha)
    assert key.fingerprint == "SHA256:" + b64(sha).rstrip("=")
    cert.type = 2  # SHA1 only: no raw key
    ffi.memmove(cert.hash_sha1, hashlib.sha1(KEY_A).digest(), 20)
    only_sha1 = read_host_key(int(ffi.cast("uintptr_t", cert)))
    assert only_sha1 is not None and only_sha1.blob is None and only_sha1.matches(KEY_A)
    cert.parent.cert_type = 1  # an X.509 certificate is no host key
    assert read_host_key(int(ffi.cast("uintptr_t", cert))) is None


def test_the_host_key_hook_installs_once_and_leaves_other_transfers_alone(
    tmp_path: Path,
) -> None:
    assert install_host_key_hook() is True
    assert install_host_key_hook() is True
    # A local clone after the hook is installed still works (no certificate involved).
    origin = Store.init(tmp_path / "origin")
    origin.commit({"a.txt": b"a\n"}, "first", branch="main")
    cloned = pygit2.clone_repository(str(tmp_path / "origin"), str(tmp_path / "copy"))
    assert (Path(cloned.workdir) / "a.txt").read_text() == "a\n"
    assert os.path.isdir(tmp_path / "copy" / ".git")
