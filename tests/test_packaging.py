"""The wheel ships the schemas and the starter registry, and the code finds them inside it.

Building needs hatchling from the package index: when the index cannot be reached the wheel
tests are skipped (with the reason); everywhere else they run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import REPO_ROOT, STARTER

SCHEMAS = REPO_ROOT / "schemas"
NETWORK_TROUBLE = (
    "Could not find a version that satisfies the requirement hatchling",
    "No matching distribution found for hatchling",
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "Network is unreachable",
    "ProxyError",
    "ConnectTimeoutError",
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), REPO_ROOT],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    if done.returncode != 0:
        trouble = next((t for t in NETWORK_TROUBLE if t in done.stderr), None)
        if trouble:
            pytest.skip(f"cannot build the wheel without the package index ({trouble})")
        pytest.fail(f"pip wheel failed:\n{done.stdout}\n{done.stderr}")
    (built,) = out.glob("ksi_patterns-*.whl")
    return built


@pytest.fixture(scope="module")
def unzipped(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("site")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(target)
    return target


def test_the_wheel_holds_the_schemas_and_the_starter_registry(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    schemas = {n for n in names if n.startswith("ksi_patterns/_data/schemas/")}
    assert schemas == {f"ksi_patterns/_data/schemas/{p.name}" for p in SCHEMAS.glob("*.json")}
    assert len(schemas) == 4
    assert all(name.endswith(".schema.json") for name in schemas)
    starter = {n for n in names if n.startswith("ksi_patterns/_data/registry/")}
    assert starter == {
        f"ksi_patterns/_data/registry/{p.relative_to(STARTER).as_posix()}"
        for p in STARTER.rglob("*")
        if p.is_file()
    }
    assert "ksi_patterns/_data/registry/ksi-registry.yaml" in starter
    with zipfile.ZipFile(wheel) as archive:
        for path in STARTER.rglob("*.yaml"):
            inside = f"ksi_patterns/_data/registry/{path.relative_to(STARTER).as_posix()}"
            assert archive.read(inside) == path.read_bytes()
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "ksi = ksi_patterns.cli.app:main" in text


def run_from(site: Path, code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`python -c CODE` with the unzipped wheel first on the path (before the editable install)."""
    env = {**os.environ, "PYTHONPATH": str(site), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def test_the_unzipped_wheel_finds_its_data_inside_itself(unzipped: Path, tmp_path: Path) -> None:
    done = run_from(
        unzipped,
        "import ksi_patterns, ksi_patterns.documents.resources as r\n"
        "print(ksi_patterns.__file__)\nprint(r.schemas_dir())\nprint(r.starter_registry_dir())\n",
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    package, schemas, starter = (Path(line) for line in done.stdout.splitlines())
    assert package.is_relative_to(unzipped)
    assert schemas == unzipped / "ksi_patterns" / "_data" / "schemas"
    assert starter == unzipped / "ksi_patterns" / "_data" / "registry"
    assert not schemas.is_relative_to(REPO_ROOT)


def test_the_unzipped_wheel_creates_and_validates_a_registry(
    unzipped: Path, tmp_path: Path
) -> None:
    code = (
        "import sys\nfrom ksi_patterns.cli.app import main\n"
        "sys.argv = ['ksi', *sys.argv[1:]]\nmain()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(unzipped), "PYTHONDONTWRITEBYTECODE": "1"}

    def ksi(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", code, *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    made = ksi("registry", "init", "reg")
    assert made.returncode == 0, made.stderr
    assert "7 documents" in made.stdout
    checked = ksi("pattern", "validate", "reg")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_editable_install_uses_the_checkout() -> None:
    import ksi_patterns
    from ksi_patterns.documents.resources import schemas_dir, starter_registry_dir

    assert Path(ksi_patterns.__file__).resolve().is_relative_to(REPO_ROOT / "src")
    assert schemas_dir() == SCHEMAS
    assert starter_registry_dir() == STARTER
