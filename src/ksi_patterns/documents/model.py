"""What the registry's words mean: names, references, versions, and where fields live."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from ksi_patterns.errors import UsageError

NAME_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,99}$"
_NAME = re.compile(NAME_PATTERN)
_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$"
)

PATTERNS_DIR = "orchestrations"
PROFILES_DIR = "profiles"
CONFIG_FILE = "ksi-registry.yaml"
DECISIONS_SUFFIX = "_decisions"
DOCUMENT_DIRS = (PATTERNS_DIR, PROFILES_DIR)

Bump = Literal["major", "minor", "patch"]


_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]*$")


def format_path(steps: Iterable[str | int]) -> str:
    """A path in a document as people read it: `learnings[2].confidence`; keys that are not
    plain words are quoted (`routing["a.b"]`); the root is ``""``."""
    out = ""
    for step in steps:
        if isinstance(step, int) and not isinstance(step, bool):
            out += f"[{step}]"
        elif isinstance(step, str) and _PLAIN_KEY.match(step):
            out += f".{step}" if out else step
        else:
            out += f"[{json.dumps(str(step), ensure_ascii=False)}]"
    return out


def check_name(name: str, what: str = "pattern name") -> str:
    """`name` if it is a valid registry name; it may then become part of a path."""
    if not isinstance(name, str) or not _NAME.fullmatch(name) or ".." in name:
        raise UsageError(
            f"invalid {what} {name!r}: use lowercase letters, digits, '_', '.', '-' "
            "(at most 100, starting with a letter or digit)"
        )
    return name


def pattern_path(name: str) -> str:
    return f"{PATTERNS_DIR}/{check_name(name)}.yaml"


def decisions_path(name: str) -> str:
    return f"{PATTERNS_DIR}/{check_name(name)}{DECISIONS_SUFFIX}.yaml"


def stem(path: str) -> str:
    """The name a document at `path` must carry: its file name without `.yaml`."""
    base = path.rsplit("/", 1)[-1]
    return base[: -len(".yaml")] if base.endswith(".yaml") else base.rsplit(".", 1)[0]


def is_document_path(path: str) -> bool:
    return path.endswith((".yaml", ".yml")) and path.split("/", 1)[0] in DOCUMENT_DIRS


# ---------------------------------------------------------------------------------------------
# References: NAME, NAME@X.Y.Z (a release tag), NAME@<branch or commit>


@dataclass(frozen=True)
class Reference:
    name: str
    at: str | None = None  # a version, a branch or a commit; None for the current tip

    @property
    def is_version(self) -> bool:
        return self.at is not None and bool(_SEMVER.fullmatch(self.at))

    @property
    def git_ref(self) -> str:
        """The git revision this reference reads from."""
        if self.at is None:
            return "HEAD"
        return release_tag(self.name, self.at) if self.is_version else self.at

    def __str__(self) -> str:
        return self.name if self.at is None else f"{self.name}@{self.at}"


def parse_reference(text: str) -> Reference:
    name, _, at = text.partition("@")
    if "@" in text and not at:
        raise UsageError(f"invalid reference {text!r}: nothing after '@'")
    return Reference(check_name(name), at or None)


def release_tag(name: str, version: str) -> str:
    return f"{name}@{version}"


FORK_BRANCH_PREFIX = "fork/"
# What a fork owns by construction, and a merge back never takes from it: its name and lineage
# (which the fork sets itself), and its own runs. Older files keep these under `metadata:`.
FORK_IDENTITY_PATHS = ("name", "lineage", "metadata.lineage")
FORK_OWN_PATHS = (*FORK_IDENTITY_PATHS, "performance", "metadata.performance")


def fork_branch(name: str) -> str:
    """The branch a fork lives on until it is merged: `fork/NAME`."""
    return FORK_BRANCH_PREFIX + check_name(name)


# ---------------------------------------------------------------------------------------------
# Versions


def bump_version(version: str, part: Bump) -> str:
    match = _SEMVER.fullmatch(version)
    if not match:
        raise UsageError(f"version {version!r} is not semantic (X.Y.Z); set it by hand first")
    major, minor, patch = (int(group) for group in match.groups())
    if part == "major":
        return f"{major + 1}.0.0"
    if part == "minor":
        return f"{major}.{minor + 1}.0"
    return f"{major}.{minor}.{patch + 1}"


# ---------------------------------------------------------------------------------------------
# Fields that older files keep under `metadata:`


def _field(data: Any, key: str) -> Any:
    if not isinstance(data, dict):
        return None
    if key in data:
        return data[key]
    metadata = data.get("metadata")
    return metadata.get(key) if isinstance(metadata, dict) else None


def _strings(value: Any) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list) else []


def tags_of(data: Any) -> list[str]:
    return _strings(_field(data, "tags"))


def capabilities_of(data: Any) -> list[str]:
    return _strings(_field(data, "capabilities_required"))


def lineage_of(data: Any) -> dict[str, Any]:
    lineage = _field(data, "lineage")
    return lineage if isinstance(lineage, dict) else {}


def extends_of(data: Any) -> str | None:
    parent = data.get("extends") if isinstance(data, dict) else None
    return parent if isinstance(parent, str) and parent else None
