"""Device facts, one TOML file per target in targets/."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field

from . import resources
from .errors import EdgebnnError


@dataclass(frozen=True)
class Target:
    name: str
    description: str
    core: str
    cc: str
    cflags: tuple = field(default_factory=tuple)
    fpu: bool = True
    dsp: bool = False
    popcount: bool = False
    sram_bytes: int = 0
    flash_bytes: int = 0
    clock_hz: int = 0
    qemu_machine: str = ""


def available() -> list[str]:
    return sorted(p.stem for p in resources.targets().glob("*.toml"))


def get(name) -> Target:
    if isinstance(name, Target):
        return name
    path = resources.targets() / f"{name}.toml"
    if not path.is_file():
        raise EdgebnnError(f"unknown target '{name}'; known targets: {', '.join(available())}")
    data = tomllib.loads(path.read_text())
    data["cflags"] = tuple(data.get("cflags", ()))
    return Target(**data)
