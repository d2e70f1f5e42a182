"""Where the shipped templates, C runtime and target files are.

In a source checkout they sit at the top of the repository; an installed package
carries them as edgebnn/_templates, _runtime_c and _targets (pyproject.toml)."""
from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent


def folder(name: str) -> Path:
    for candidate in (_HERE / f"_{name}", _HERE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"edgebnn is installed without its {name}/ folder")


def templates() -> Path:
    return folder("templates")


def runtime_c() -> Path:
    return folder("runtime_c")


def targets() -> Path:
    return folder("targets")
