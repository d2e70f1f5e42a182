"""What the emitted C costs on the target, measured with the target's own compiler.

One build of the model's C (model.c + kernels, as the emulator builds them, with
``-fstack-usage -fcallgraph-info=su``) gives the bytes of code, constants, initialised
data and zeroed statics (``size -A``) and the stack of model_run: the deepest call chain
from model_run through the call graph GCC writes (.ci), each frame as its .su file says.
Without the compiler, the figures are estimates and say so.
"""
from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from ..errors import EdgebnnError
from ..targets import Target
from .toolchain import CFLAGS, compile_error

# Used when the target's compiler is not installed: a typical Cortex-M4 -O2 build
# of the portable kernels plus the run function, and a few frames of stack.
ESTIMATE_CODE_BYTES = 1024
ESTIMATE_STACK_BYTES = 256
# Stack of a libgcc/newlib routine the model calls (soft-float arithmetic, memset,
# integer division): their frames are not in our .su files; they push at most a few
# registers.
LIBRARY_CALL_BYTES = 32
ENTRY = "model_run"
STACK_FLAGS = ["-fstack-usage", "-fcallgraph-info=su"]
_cache: dict = {}


def tools(target: Target) -> tuple[str, str] | None:
    cc = shutil.which(target.cc)
    size = shutil.which(target.cc.replace("gcc", "size")) if target.cc.endswith("gcc") else shutil.which("size")
    return (cc, size) if cc and size else None


def estimate() -> dict:
    return {"source": "estimate", "text": ESTIMATE_CODE_BYTES, "rodata": None, "data": 0, "bss": None,
            "stack": ESTIMATE_STACK_BYTES, "stack_chain": [], "stack_source": "estimate"}


def measure(files: dict[str, str], target: Target) -> dict:
    """Section bytes (text, rodata, data, bss) and stack of the model's objects."""
    found = tools(target)
    if not found:
        return estimate()
    key = hashlib.sha256(repr((sorted(files.items()), target.cc, target.cflags)).encode()).hexdigest()
    if key not in _cache:
        _cache[key] = _measure(files, target, *found)
    return dict(_cache[key])


def _measure(files, target, cc, size) -> dict:
    with tempfile.TemporaryDirectory(prefix="edgebnn-size-") as tmp:
        d = Path(tmp)
        for name, text in files.items():
            (d / name).write_text(text)
        sources = sorted(n for n in files if n.endswith(".c"))
        base = [cc, *target.cflags, *CFLAGS, "-c", *sources]
        done = subprocess.run(base + STACK_FLAGS, cwd=d, capture_output=True, text=True)
        if done.returncode != 0:  # a compiler without the stack flags (clang, old gcc)?
            done = subprocess.run(base, cwd=d, capture_output=True, text=True)
        if done.returncode != 0:
            raise compile_error(done.stderr, target)
        out = subprocess.run([size, "-A", *(n[:-2] + ".o" for n in sources)], cwd=d, check=True,
                             capture_output=True, text=True).stdout
        sections = section_bytes(out)
        stack, chain, how = deepest_stack(d)
    return {"source": "measured", **sections, "stack": stack, "stack_chain": chain, "stack_source": how}


def section_bytes(size_a: str) -> dict:
    """Sum ``size -A`` rows into text / rodata / data / bss (-ffunction-sections names
    them .text.fn, .rodata.x, ...)."""
    totals = {"text": 0, "rodata": 0, "data": 0, "bss": 0}
    for line in size_a.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[1].isdigit():
            section = parts[0].lstrip(".").split(".")[0]
            if section in totals:
                totals[section] += int(parts[1])
            elif parts[0] == "COMMON":
                totals["bss"] += int(parts[1])
    return totals


_NODE = re.compile(r'node: \{ title: "([^"]+)" label: "[^"]*?(\d+) bytes \(([a-z,]+)\)')
_EDGE = re.compile(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"')


def call_graph(folder: Path) -> tuple[dict, dict, set]:
    """(function -> frame bytes, function -> callees, functions with dynamic frames)
    from GCC's -fcallgraph-info=su files."""
    frames, calls, dynamic = {}, {}, set()
    for ci in sorted(folder.glob("*.ci")):
        text = ci.read_text()
        for title, nbytes, frame in _NODE.findall(text):
            frames[title] = int(nbytes)
            if frame != "static":
                dynamic.add(title)
        for src, dst in _EDGE.findall(text):
            calls.setdefault(src, set()).add(dst)
    return frames, calls, dynamic


def deepest_stack(folder: Path) -> tuple[int, list[str], str]:
    """(bytes, the chain of calls) of the deepest path from model_run."""
    frames, calls, dynamic = call_graph(folder)
    if ENTRY not in frames:
        return ESTIMATE_STACK_BYTES, [], "estimate (no call graph from the compiler)"
    memo: dict = {}

    def depth(fn: str, seen: frozenset) -> tuple[int, list[str]]:
        if fn not in frames:  # a library routine
            return LIBRARY_CALL_BYTES, [fn]
        if fn in memo:
            return memo[fn]
        below = [depth(c, seen | {fn}) for c in sorted(calls.get(fn, ())) if c not in seen]
        best = max(below, default=(0, []))
        memo[fn] = (frames[fn] + best[0], [fn.split(":")[-1]] + best[1])
        return memo[fn]

    total, chain = depth(ENTRY, frozenset())
    how = "measured (-fstack-usage)"
    if any(c in dynamic for c in chain):
        how += "; dynamic frames in the chain"
    if chain and chain[-1] not in frames:
        how += f"; {LIBRARY_CALL_BYTES} B assumed for library routine {chain[-1]}"
    return total, chain, how
