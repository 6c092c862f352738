"""Where the data shipped with the package lives: JSON Schemas and the starter registry.

In a wheel they sit inside the package (`ksi_patterns/_data/`, see pyproject's force-include);
in a source checkout or an editable install they are the top-level `schemas/` and `registry/`.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent.parent


@cache
def data_dir(name: str) -> Path:
    """The shipped folder `name` ("schemas" or "registry"), from a wheel or from the checkout."""
    for candidate in (_PACKAGE_DIR / "_data" / name, _PACKAGE_DIR.parent.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"the installation is incomplete: no {name}/ folder near {_PACKAGE_DIR}"
    )


def schemas_dir() -> Path:
    return data_dir("schemas")


def starter_registry_dir() -> Path:
    return data_dir("registry")
