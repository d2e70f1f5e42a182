"""Code size of the emitted C, measured with the target's compiler and `size`."""
from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path

from .targets import Target

# Used when the target's compiler is not installed: a typical Cortex-M4 -O2 build
# of the portable kernels plus the run function.
ESTIMATE_BYTES = 1024
_cache: dict = {}


def tools(target: Target) -> tuple[str, str] | None:
    cc = shutil.which(target.cc)
    size = shutil.which(target.cc.replace("gcc", "size")) if target.cc.endswith("gcc") else shutil.which("size")
    return (cc, size) if cc and size else None


def code_bytes(files: dict[str, str], target: Target) -> tuple[int, str]:
    """(bytes of machine code, 'measured' or 'estimate') of the C files."""
    found = tools(target)
    if not found:
        return ESTIMATE_BYTES, "estimate"
    key = hashlib.sha256(repr((sorted(files.items()), target.cflags)).encode()).hexdigest()
    if key not in _cache:
        _cache[key] = _measure(files, target, *found)
    return _cache[key], "measured"


def _measure(files, target, cc, size) -> int:
    with tempfile.TemporaryDirectory(prefix="edgebnn-size-") as tmp:
        d = Path(tmp)
        for name, text in files.items():
            (d / name).write_text(text)
        sources = sorted(n for n in files if n.endswith(".c"))
        subprocess.run([cc, *target.cflags, "-std=c99", "-O2", "-ffunction-sections", "-fdata-sections",
                        "-c", *sources], cwd=d, check=True, capture_output=True)
        out = subprocess.run([size, "-A", *(n[:-2] + ".o" for n in sources)], cwd=d, check=True,
                             capture_output=True, text=True).stdout
    return sum(int(line.split()[1]) for line in out.splitlines()
               if line.startswith(".text") and len(line.split()) >= 2)
