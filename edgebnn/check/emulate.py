"""Run the emitted C on an emulated Cortex-M: cross-compile, QEMU, bit-exact check, instruction counts.

The model's C is built with the target's compiler and flags together with a small firmware
(runtime_c/emu_main.c, emu_startup.c and the machine's linker script), then run under
``qemu-system-arm -icount shift=0`` with semihosting: the firmware reads ``input.bin`` and
writes ``output.bin`` and ``stats.bin`` in the run folder.

Instruction counts.  With ``-icount shift=0`` QEMU retires one instruction per nanosecond of
virtual time, so SysTick (processor clock: 25 MHz on MPS2, 20 MHz on the AN505) moves once
per 40 (50) instructions.  Each stamp spins to the next SysTick edge in a loop of a known
number of instructions, so a region between two stamps measures
``per_tick * ticks - spin * spins - overhead`` instructions, exact to one spin (4
instructions); ``per_tick`` and ``overhead`` (the hook's own cost) are measured by the firmware
at start-up.  Every figure is a count of instructions under QEMU -icount, not of cycles:
loads, taken branches and multi-register transfers cost more cycles on silicon.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from .. import resources, targets
from ..codegen.toolchain import CFLAGS, INSTALL, compile_error as _compile_error
from ..errors import EdgebnnError
from .harness import output_dtype
from ..report import jsontext

UNIT = "instructions under QEMU -icount, not cycles"
QEMU = "qemu-system-arm"
FIRMWARE = ("emu_main.c", "emu_startup.c")
HOOK = "MODEL_LAYER_HOOK(i)=do { void emu_layer_hook(int); emu_layer_hook(i); } while (0)"
MAGIC, VERSION, HEADER_WORDS = 0x554D4545, 1, 6
STAMP_WORDS = 3  # wraps, value, spins


def qemu_command(machine: str, elf: str = "app.elf") -> list[str]:
    return [QEMU, "-M", machine, "-nographic", "-semihosting-config", "enable=on,target=native",
            "-icount", "shift=0", "-kernel", elf]


def default_timeout(n: int) -> float:
    return 120.0 + 2.0 * n


def emulate(compiled, x: np.ndarray, timeout: float | None = None) -> tuple[np.ndarray, dict]:
    """Run ``compiled`` (a CompiledModel) on the batch ``x`` under QEMU.

    Returns (outputs shaped like ``compiled.run(x)``, stats); also writes the figures into
    ``compiled.report["emulation"]`` and the out folder's report.json."""
    from ..ir.reference import Reference

    target = targets.get(compiled.report["target"])
    if not target.qemu_machine:
        raise EdgebnnError(f"target '{target.name}' has no QEMU machine; emulate a Cortex-M target "
                           f"({', '.join(n for n in targets.available() if targets.get(n).qemu_machine)})")
    tools = _tools(target)
    from ..passes.int_input import input_array

    x = np.ascontiguousarray(input_array(compiled.graph, x))  # float32, or the model's integer codes
    host = compiled.run(x)  # also checks the input shape
    n = len(x)
    g = compiled.graph
    n_out = g.tensors[g.output].size
    with tempfile.TemporaryDirectory(prefix="edgebnn-emu-") as tmp:
        work = Path(tmp)
        elf = build_firmware(compiled.out_dir, target, work, tools["cc"])
        image = image_sizes(elf, tools["size"])
        model = model_sizes(compiled.out_dir, target, work / "model-size", tools["cc"], tools["size"])
        x.astype(x.dtype.newbyteorder("<")).tofile(work / "input.bin")
        run_qemu(target.qemu_machine, work, timeout if timeout is not None else default_timeout(n))
        out = np.fromfile(work / "output.bin", output_dtype(compiled.out_dir))
        raw = np.fromfile(work / "stats.bin", "<u4")
    if out.size != n * n_out:
        raise EdgebnnError(f"the firmware wrote {out.size} output values, expected {n * n_out}")
    outputs = out.reshape(host.shape)
    timing = parse_stats(raw, len(g.ops), n)
    ref = np.asarray(Reference(g).run(x), np.float32).reshape(host.shape)
    stats = {
        "machine": target.qemu_machine,
        "target": target.name,
        "inferences": n,
        "unit": UNIT,
        **timing,
        "flash_bytes": image["flash_bytes"],
        "ram_bytes": image["ram_bytes"],
        "image": image,
        "model_flash_bytes": model["flash_bytes"],
        "model_ram_bytes": model["ram_bytes"],
        "identical_to_host": bool(np.array_equal(outputs, host)),
        "identical_to_reference": bool(np.array_equal(outputs, ref)),
    }
    stats["identical"] = stats["identical_to_host"] and stats["identical_to_reference"]
    record(compiled, stats)
    return outputs, stats


def record(compiled, stats: dict) -> None:
    """The figures into report["emulation"] and the out folder's report.json."""
    keys = ("machine", "unit", "inferences", "instructions_per_inference", "instructions_min",
            "instructions_max", "per_layer_instructions", "resolution_instructions", "flash_bytes",
            "ram_bytes", "model_flash_bytes", "model_ram_bytes", "identical_to_host",
            "identical_to_reference")
    compiled.report["emulation"] = {k: stats[k] for k in keys}
    path = Path(compiled.out_dir) / "report.json"
    if path.parent.is_dir():
        tmp = path.with_name(f".report.json.{os.getpid()}")
        tmp.write_text(jsontext.dumps(compiled.report, indent=2) + "\n")
        os.replace(tmp, path)


def _tools(target) -> dict[str, str]:
    cc = shutil.which(target.cc)
    size = shutil.which(target.cc[: -len("gcc")] + "size") if target.cc.endswith("gcc") else None
    qemu = shutil.which(QEMU)
    missing = [name for name, found in ((target.cc, cc), ("arm-none-eabi-size", size), (QEMU, qemu)) if not found]
    if missing:
        raise EdgebnnError(f"emulation needs {', '.join(missing)}, not found on PATH: {INSTALL}")
    return {"cc": cc, "size": size, "qemu": qemu}


def _linker_script(machine: str) -> Path:
    path = resources.runtime_c() / f"{machine.replace('-', '_')}.ld"
    if not path.is_file():
        raise EdgebnnError(f"no linker script for QEMU machine '{machine}' (expected runtime_c/{path.name})")
    return path


def build_firmware(out_dir: Path, target, work: Path, cc: str) -> Path:
    """Cross-compile the emitted C plus the firmware into work/app.elf."""
    rt = resources.runtime_c()
    ld = _linker_script(target.qemu_machine)
    sources = sorted(str(p) for p in Path(out_dir).glob("*.c")) + [str(rt / f) for f in FIRMWARE]
    cmd = [cc, *target.cflags, *CFLAGS, f"-I{out_dir}", f"-D{HOOK}", *sources,
           "--specs=rdimon.specs", "-nostartfiles", f"-L{rt}", "-T", str(ld), "-Wl,--gc-sections",
           "-o", str(work / "app.elf"), "-lm"]
    done = subprocess.run(cmd, cwd=work, capture_output=True, text=True)
    if done.returncode != 0:
        raise _compile_error(done.stderr, target)
    return work / "app.elf"


def _size(size: str, files: list[str], cwd: Path) -> list[tuple[int, int, int]]:
    out = subprocess.run([size, "-B", *files], cwd=cwd, capture_output=True, text=True, check=True).stdout
    return [tuple(int(v) for v in line.split()[:3]) for line in out.splitlines()[1:] if line.strip()]


def image_sizes(elf: Path, size: str) -> dict:
    """arm-none-eabi-size of the firmware image: flash = text + data, RAM = data + bss (the
    heap and stack reserved for newlib's stdio are not in bss)."""
    text, data, bss = _size(size, [str(elf)], elf.parent)[0]
    return {"text": text, "data": data, "bss": bss, "flash_bytes": text + data, "ram_bytes": data + bss}


def model_sizes(out_dir: Path, target, work: Path, cc: str, size: str) -> dict:
    """arm-none-eabi-size of the model's own objects (emitted C, no hook, no firmware)."""
    work.mkdir(parents=True, exist_ok=True)
    sources = sorted(Path(out_dir).glob("*.c"))
    done = subprocess.run([cc, *target.cflags, *CFLAGS, f"-I{out_dir}", "-c", *map(str, sources)],
                          cwd=work, capture_output=True, text=True)
    if done.returncode != 0:
        raise _compile_error(done.stderr, target)
    rows = _size(size, [p.stem + ".o" for p in sources], work)
    text, data, bss = (sum(r[i] for r in rows) for i in range(3))
    return {"flash_bytes": text + data, "ram_bytes": data + bss}


def run_qemu(machine: str, work: Path, timeout: float) -> str:
    try:
        done = subprocess.run(qemu_command(machine), cwd=work, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise EdgebnnError(f"QEMU ({machine}) did not finish within {timeout:.0f} s; "
                           f"pass a longer timeout or fewer inputs") from None
    except FileNotFoundError:
        raise EdgebnnError(f"{QEMU} is not installed: {INSTALL}") from None
    if done.returncode != 0:
        said = next((line.strip() for line in (done.stderr + done.stdout).splitlines() if line.strip()), "")
        why = (f"a CPU fault (exception {done.returncode - 100})" if 100 < done.returncode < 200
               else f"exit status {done.returncode}")
        raise EdgebnnError(f"the firmware failed under QEMU {machine}: {why}{': ' + said[:200] if said else ''}")
    return done.stdout


def parse_stats(raw: np.ndarray, layers: int, n: int) -> dict:
    """Instruction counts from the firmware's stats.bin (see runtime_c/emu_main.c)."""
    head = raw[:HEADER_WORDS].astype(np.int64)
    if len(head) < HEADER_WORDS or head[0] != MAGIC or head[1] != VERSION or head[2] != layers:
        raise EdgebnnError("the firmware wrote no valid stats.bin (was it built from this model?)")
    reload, spin, loops = int(head[3]), int(head[4]), int(head[5])
    stamps = raw[HEADER_WORDS:].astype(np.int64).reshape(-1, STAMP_WORDS)
    cal, runs = stamps[:4], stamps[4:].reshape(-1, layers + 3, STAMP_WORDS)
    if len(runs) != n:
        raise EdgebnnError(f"the firmware timed {len(runs)} inferences, expected {n}")

    def ticks(s):  # SysTick counts down from `reload` to 0; wraps counted by its exception
        return s[..., 0] * (reload + 1) + (reload - s[..., 1])

    # Instructions per tick: a loop of 2 * loops instructions between stamps 0 and 1.
    per_tick = int(round(2 * loops / max(int(ticks(cal[1]) - ticks(cal[0])), 1)))
    # The cost of an empty region (two back-to-back hook calls) is the overhead to remove.
    overhead = per_tick * int(ticks(cal[3]) - ticks(cal[2])) - spin * int(cal[3][2])
    region = per_tick * np.diff(ticks(runs), axis=1) - spin * runs[:, 1:, 2] - overhead
    per_layer = region[:, 1:-1]                     # regions between hooks 0..layers
    total = region.sum(axis=1)                      # + model_run's own entry and exit
    return {
        "instructions_per_inference": int(round(total.mean())) if n else 0,
        "instructions_min": int(total.min()) if n else 0,
        "instructions_max": int(total.max()) if n else 0,
        "instructions": [int(v) for v in total],
        "per_layer_instructions": [int(round(v)) for v in per_layer.mean(axis=0)] if n else [0] * layers,
        "instructions_per_systick": per_tick,
        "resolution_instructions": spin,
        "hook_overhead_instructions": overhead,
    }
