"""Options shared by many commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

RegistryOption = Annotated[
    Path | None,
    typer.Option(
        "--registry",
        "-R",
        help="Registry folder (default: $KSI_REGISTRY, the enclosing one, or your default one).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON on stdout (for scripts).")]
