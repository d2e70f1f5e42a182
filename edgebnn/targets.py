"""Device facts, one TOML file per target in targets/.

A board file may name a core target with ``alias = "cortex-m4"`` and override some of its
facts (sizes, clock, description): it gets every other fact from that target."""
from __future__ import annotations

import dataclasses
import re
import tomllib
from fractions import Fraction
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
    alias_of: str = ""  # the core target a board file names, "" for a core target

    def with_budget(self, sram=None, flash=None) -> "Target":
        """This target with the SRAM and/or flash budget overridden (bytes or '512K')."""
        changes = {}
        if sram is not None:
            changes["sram_bytes"] = parse_bytes(sram, "--sram")
        if flash is not None:
            changes["flash_bytes"] = parse_bytes(flash, "--flash")
        return dataclasses.replace(self, **changes) if changes else self


_UNITS = {"": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10, "m": 1 << 20, "mb": 1 << 20,
          "mib": 1 << 20, "g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30}
# A Cortex-M addresses 4 GiB in all: no budget is larger.
MAX_BYTES = 1 << 32


def parse_bytes(value, option: str = "size") -> int:
    """'2048', '2KiB', '512K', '1MiB', '1.5M', '2GiB' -> bytes, exactly (binary units: K = 1024),
    from 1 byte to 4 GiB."""
    if isinstance(value, int) and not isinstance(value, bool):
        n = Fraction(value)
    else:
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*", str(value))
        unit = m.group(2).lower() if m else None
        if unit not in _UNITS:
            raise EdgebnnError(f"{option} '{value}' is not a size: give bytes such as 2048, 512K, 2KiB, 1MiB or 2GiB")
        n = Fraction(m.group(1)) * _UNITS[unit]
    if n.denominator != 1 or not 1 <= n <= MAX_BYTES:
        raise EdgebnnError(f"{option} '{value}' is not a whole number of bytes from 1 to 4GiB")
    return int(n)


def available() -> list[str]:
    return sorted(p.stem for p in resources.targets().glob("*.toml"))


def _load(name: str) -> dict:
    path = resources.targets() / f"{name}.toml"
    if not path.is_file():
        raise EdgebnnError(f"unknown target '{name}'; known targets: {', '.join(available())}")
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise EdgebnnError(f"target file {path.name} is not valid TOML: {exc}") from None


def get(name) -> Target:
    if isinstance(name, Target):
        return name
    data = _load(str(name))
    base = data.pop("alias", None)
    if base is not None:
        core = _load(base)
        if "alias" in core:
            raise EdgebnnError(f"target '{name}' is an alias of '{base}', itself an alias: name a core target")
        data = {**core, **data, "alias_of": base}
    data["cflags"] = tuple(data.get("cflags", ()))
    try:
        return Target(**data)
    except TypeError as exc:
        raise EdgebnnError(f"target file {name}.toml: {exc}") from None
