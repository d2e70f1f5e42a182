"""Per-layer instruction counts under QEMU, also for a core QEMU has no MPS2 machine for.

Cortex-M0+ (Armv6-M) code is a subset of Thumb-2 that a Cortex-M3 executes unchanged, so the
model's M0+ objects (built with the M0+ flags and linked against the v6-M libgcc/newlib) run
on the Cortex-M3 machine mps2-an385; only the semihosting firmware, whose timing loops use
Thumb-2, is built for the M3.  The count is then the M0+ code's own instruction count
(instructions under QEMU -icount, not cycles: an M0+ spends more cycles on loads and branches).
"""
from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import numpy as np

from .. import resources, targets
from ..check import emulate as emu
from ..codegen import toolchain
from ..errors import EdgebnnError
from ..passes.int_input import input_array

PROXY = {"cortex-m0plus": "cortex-m3"}  # core -> the core whose QEMU machine runs its code


def machine(target) -> str:
    t = targets.get(target)
    if t.qemu_machine:
        return t.qemu_machine
    core = t.alias_of or t.name
    if core in PROXY:
        return targets.get(PROXY[core]).qemu_machine
    raise EdgebnnError(f"target '{t.name}' has no QEMU machine to measure instructions on")


def count(compiled, x: np.ndarray, timeout: float = 300.0) -> dict:
    """{'per_layer_instructions', 'instructions_per_inference', 'machine', 'identical'}."""
    t = targets.get(compiled.report["target"])
    if t.qemu_machine:
        _, s = compiled.emulate(x, timeout=timeout)
        return {k: s[k] for k in ("per_layer_instructions", "instructions_per_inference", "machine", "identical",
                                  "model_flash_bytes", "model_ram_bytes")}
    host = compiled.run(x)
    firmware_target = targets.get(PROXY[t.alias_of or t.name])
    tools = emu._tools(t)
    x = np.ascontiguousarray(input_array(compiled.graph, x))  # float32, or the model's integer codes
    with tempfile.TemporaryDirectory(prefix="edgebnn-emu-") as tmp:
        work = Path(tmp)
        objects = []
        for src in sorted(Path(compiled.out_dir).glob("*.c")):
            objects.append(_cc(tools["cc"], t.cflags, src, work, compiled.out_dir, emu.HOOK))
        for name in emu.FIRMWARE:
            objects.append(_cc(tools["cc"], firmware_target.cflags, resources.runtime_c() / name, work,
                               compiled.out_dir))
        ld = emu._linker_script(firmware_target.qemu_machine)
        _run([tools["cc"], *t.cflags, *objects, "--specs=rdimon.specs", "-nostartfiles",
              f"-L{resources.runtime_c()}", "-T", str(ld), "-Wl,--gc-sections", "-o", "app.elf", "-lm"], work, t)
        sizes = emu.model_sizes(compiled.out_dir, t, work / "model-size", tools["cc"], tools["size"])
        x.astype(x.dtype.newbyteorder("<")).tofile(work / "input.bin")
        emu.run_qemu(firmware_target.qemu_machine, work, timeout)
        out = np.fromfile(work / "output.bin", "<f4")
        raw = np.fromfile(work / "stats.bin", "<u4")
    s = emu.parse_stats(raw, len(compiled.graph.ops), len(x))
    return {"per_layer_instructions": s["per_layer_instructions"],
            "instructions_per_inference": s["instructions_per_inference"],
            "machine": f"{firmware_target.qemu_machine} (running {t.name} code)",
            "identical": bool(np.array_equal(out.reshape(host.shape), host)),
            "model_flash_bytes": sizes["flash_bytes"], "model_ram_bytes": sizes["ram_bytes"]}


def _cc(cc, cflags, src: Path, work: Path, include, *defines) -> str:
    obj = str(work / (Path(src).stem + ".o"))
    _run([cc, *cflags, *toolchain.CFLAGS, f"-I{include}", *(f"-D{d}" for d in defines), "-c", str(src), "-o", obj],
         work, None)
    return obj


def _run(cmd, cwd, target):
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise toolchain.compile_error(done.stderr, target or targets.get("cortex-m3"))
