"""How the emitted C is built with a target's compiler (the size measurement and the emulator
build the same objects), and the one clear line a failed build gives."""
from __future__ import annotations

from ..errors import EdgebnnError

INSTALL = "apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm"

# The emitted C is built as the host harness builds it (-std=c99 keeps float contraction off,
# so float steps round as the graph does) and must be warning-free.
CFLAGS = ["-std=c99", "-O2", "-ffp-contract=off", "-Wall", "-Wextra", "-Werror",
          "-ffunction-sections", "-fdata-sections"]


def compile_error(stderr: str, target) -> EdgebnnError:
    if "rdimon.specs" in stderr or "stdio.h" in stderr or "cannot find -l" in stderr:
        return EdgebnnError(f"the Arm newlib C library is missing: {INSTALL}")
    first = next((line for line in stderr.splitlines() if "error" in line), stderr.strip()[:300])
    return EdgebnnError(f"the model's C failed to build for {target.name}: {first.strip()}")
