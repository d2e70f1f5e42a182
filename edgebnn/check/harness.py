"""Build the emitted C for the host with cffi and run numpy batches through it."""
from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import io
import os
import re
import subprocess
import tempfile
from pathlib import Path

import cffi
import numpy as np

from . import cache

CDEF = """
void edgebnn_run_batch(const void *input, void *output, int n);
"""
BATCH_SOURCE = """
#include "model.h"
void edgebnn_run_batch(const void *input, void *output, int n)
{
    int i;
    for (i = 0; i < n; i++) {
        model_run((const model_input_t *)input + (long)i * MODEL_INPUT_SIZE,
                  (model_output_t *)output + (long)i * MODEL_OUTPUT_SIZE);
    }
}
"""
# -ffp-contract=off: float steps round exactly as the graph and the reference do.
CFLAGS = ["-std=c99", "-O2", "-ffp-contract=off"]


class HostModel:
    """The emitted C of ``out_dir`` compiled into a Python extension."""

    def __init__(self, out_dir: Path, input_size: int, output_size: int, extra_cflags=()):
        self.out_dir = Path(out_dir)
        self.input_size, self.output_size = input_size, output_size
        self.dtype, self.in_dtype = output_dtype(self.out_dir), input_dtype(self.out_dir)
        self.lib, self.ffi = _build(self.out_dir, tuple(extra_cflags))

    def run(self, x: np.ndarray) -> np.ndarray:
        """x: (N, ...) float32 (or the model's integer codes) with MODEL_INPUT_SIZE values per row
        -> (N, MODEL_OUTPUT_SIZE)."""
        flat = np.ascontiguousarray(np.asarray(x, self.in_dtype).reshape(len(x), -1))
        if flat.shape[1] != self.input_size:
            raise ValueError(f"input rows hold {flat.shape[1]} values, the model takes {self.input_size}")
        out = np.zeros((len(flat), self.output_size), self.dtype)
        if len(flat):
            self.lib.edgebnn_run_batch(self.ffi.from_buffer(flat), self.ffi.from_buffer(out), len(flat))
        return out


def output_dtype(out_dir) -> type:
    """The emitted model's output element type (model.h): float32, or int32 indices."""
    header = (Path(out_dir) / "model.h").read_text()
    return np.int32 if "typedef int32_t model_output_t;" in header else np.float32


def input_dtype(out_dir) -> type:
    """The emitted model's input element type (model.h): float32, or uint8 / int8 codes."""
    header = (Path(out_dir) / "model.h").read_text()
    for ctype, dtype in (("uint8_t", np.uint8), ("int8_t", np.int8)):
        if f"typedef {ctype} model_input_t;" in header:
            return dtype
    return np.float32


def _sources(out_dir: Path) -> list[Path]:
    return sorted(p for p in Path(out_dir).iterdir() if p.suffix in (".c", ".h"))


def library_name(out_dir: Path, extra_cflags: tuple) -> str:
    """The host library's name: a hash of the emitted sources and the flags it is built with."""
    digest = hashlib.sha256(repr(tuple(extra_cflags)).encode())
    for p in _sources(out_dir):
        digest.update(p.name.encode() + b"\0" + p.read_bytes())
    return f"_edgebnn_host_{digest.hexdigest()[:16]}"


def _build(out_dir: Path, extra_cflags: tuple):
    sources = _sources(out_dir)
    name = library_name(out_dir, extra_cflags)
    build = cache.folder("host", name)
    built = [p for p in build.glob(f"{name}*.so") if cache.trusted(p)]
    if not built:
        ffi = cffi.FFI()
        ffi.cdef(CDEF)
        ffi.set_source(
            name, BATCH_SOURCE,
            sources=[str(p) for p in sources if p.suffix == ".c"],
            include_dirs=[str(out_dir)],
            extra_compile_args=CFLAGS + list(extra_cflags),
            extra_link_args=list(extra_cflags),
        )
        with contextlib.redirect_stdout(io.StringIO()), _quiet_stderr():
            path = ffi.compile(tmpdir=str(build), verbose=False)
        built = [Path(path)]
    spec = importlib.util.spec_from_file_location(name, built[0])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.lib, module.ffi


@contextlib.contextmanager
def _quiet_stderr():
    """The compiler's own chatter goes to a file, shown only if the build fails."""
    with tempfile.TemporaryFile() as log:
        saved = os.dup(2)
        os.dup2(log.fileno(), 2)
        try:
            yield
        except Exception:
            os.dup2(saved, 2)
            log.seek(0)
            os.write(2, log.read())
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


# -- AddressSanitizer + UndefinedBehaviorSanitizer ------------------------------------------
# A cffi extension built with ASan needs the ASan runtime preloaded into Python; a small
# standalone executable does not.  It reads float32 inputs from a file, runs every one with
# exactly-sized heap buffers (input, output, and an arena of MODEL_ARENA_BYTES filled with
# garbage), so a read or write one byte out of any of them, or of a weight table, stops it.
SANITIZE_FLAGS = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]
SANITIZE_ENV = {
    "ASAN_OPTIONS": "detect_leaks=0:abort_on_error=0:halt_on_error=1:detect_stack_use_after_return=1:"
                    "strict_string_checks=1:check_initialization_order=1",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
}
SANITIZE_MAIN = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model.h"

/* edgebnn sanitizer driver: model_run_arena on every input of argv[1] (rows of
 * MODEL_INPUT_SIZE model_input_t) with exactly-sized heap buffers; outputs to argv[2]. */
int main(int argc, char **argv)
{
    FILE *fi, *fo;
    long i, n;
    if (argc != 3 || !(fi = fopen(argv[1], "rb")) || !(fo = fopen(argv[2], "wb"))) {
        fprintf(stderr, "usage: %s inputs.f32 outputs.f32\n", argv[0]);
        return 64;
    }
    fseek(fi, 0, SEEK_END);
    n = ftell(fi) / (long)(sizeof(model_input_t) * MODEL_INPUT_SIZE);
    fseek(fi, 0, SEEK_SET);
    for (i = 0; i < n; i++) {
        model_input_t *in = (model_input_t *)malloc(sizeof(model_input_t) * MODEL_INPUT_SIZE);
        model_output_t *out = (model_output_t *)malloc(sizeof(model_output_t) * MODEL_OUTPUT_SIZE);
        model_output_t *again = (model_output_t *)malloc(sizeof(model_output_t) * MODEL_OUTPUT_SIZE);
        unsigned char *arena = (unsigned char *)malloc(MODEL_ARENA_BYTES > 0 ? MODEL_ARENA_BYTES : 1);
        if (!in || !out || !again || !arena || fread(in, sizeof(model_input_t), MODEL_INPUT_SIZE, fi) != MODEL_INPUT_SIZE) {
            fprintf(stderr, "edgebnn sanitizer driver: cannot read input %ld\n", i);
            return 65;
        }
        memset(arena, (int)(0x5Au + 37u * (unsigned)i) & 0xFF, MODEL_ARENA_BYTES > 0 ? MODEL_ARENA_BYTES : 1);
        memset(out, 0xFF, sizeof(model_output_t) * MODEL_OUTPUT_SIZE);
        model_run_arena(in, out, arena);
        if (i == 0) { /* the static arena gives the same outputs */
            model_run(in, again);
            if (memcmp(out, again, sizeof(model_output_t) * MODEL_OUTPUT_SIZE) != 0) {
                fprintf(stderr, "edgebnn sanitizer driver: model_run and model_run_arena disagree\n");
                return 66;
            }
        }
        fwrite(out, sizeof(model_output_t), MODEL_OUTPUT_SIZE, fo);
        free(in);
        free(out);
        free(again);
        free(arena);
    }
    fclose(fi);
    return fclose(fo) == 0 ? 0 : 67;
}
"""


class SanitizerError(RuntimeError):
    """The emitted C did something AddressSanitizer or UndefinedBehaviorSanitizer forbids
    (or the sanitized build failed); the message holds the report."""


def _define(out_dir: Path, name: str) -> int:
    m = re.search(rf"#define {name} (\d+)", (Path(out_dir) / "model.h").read_text())
    if not m:
        raise SanitizerError(f"{out_dir}/model.h does not define {name}")
    return int(m.group(1))


def _object(src: Path, text: str, headers: dict[str, str], flags: list[str], include: Path) -> Path:
    """A cached object file of one C source (keyed by its text, the headers it includes, the flags)."""
    digest = hashlib.sha256(repr(flags).encode() + b"\0" + text.encode())
    for inc in sorted(set(re.findall(r'#\s*include\s+"([^"]+)"', text))):
        digest.update(inc.encode() + b"\0" + headers.get(inc, "").encode())
    obj = cache.folder("sanitize") / f"{src.stem}-{digest.hexdigest()[:20]}.o"
    if not cache.trusted(obj):
        tmp = obj.with_suffix(f".{os.getpid()}.tmp.o")
        proc = subprocess.run(["gcc", *flags, "-c", "-I", str(include), str(src), "-o", str(tmp)],
                              capture_output=True, text=True, timeout=300)
        if proc.returncode:
            raise SanitizerError(f"the sanitized build of {src.name} failed:\n{proc.stderr[-4000:]}")
        os.replace(tmp, obj)
    return obj


def sanitized_build(out_dir, extra_cflags=()) -> Path:
    """The emitted C of ``out_dir`` and the driver above, built with ASan + UBSan (cached)."""
    out_dir = Path(out_dir)
    flags = CFLAGS[:1] + ["-O1", "-g", "-ffp-contract=off"] + SANITIZE_FLAGS + list(extra_cflags)
    headers = {p.name: p.read_text() for p in out_dir.glob("*.h")}
    build = cache.folder("sanitize")
    driver = build / "edgebnn_sanitize_main.c"
    if not cache.trusted(driver) or driver.read_text() != SANITIZE_MAIN:
        tmp = driver.with_suffix(f".{os.getpid()}.c")
        tmp.write_text(SANITIZE_MAIN)
        os.replace(tmp, driver)
    objects = [_object(driver, SANITIZE_MAIN, headers, flags, out_dir)]
    objects += [_object(src, src.read_text(), headers, flags, out_dir) for src in sorted(out_dir.glob("*.c"))]
    exe = build / ("run-" + hashlib.sha256("".join(map(str, objects)).encode()).hexdigest()[:20])
    if not cache.trusted(exe):
        tmp = exe.with_name(f"{exe.name}.{os.getpid()}.tmp")
        proc = subprocess.run(["gcc", *SANITIZE_FLAGS, *[str(o) for o in objects], "-o", str(tmp), "-lm"],
                              capture_output=True, text=True, timeout=300)
        if proc.returncode:
            raise SanitizerError(f"linking the sanitized build failed:\n{proc.stderr[-4000:]}")
        os.replace(tmp, exe)
    return exe


def sanitized_run(out_dir, x: np.ndarray, timeout: float = 300.0, extra_cflags=()) -> np.ndarray:
    """Run the emitted C of ``out_dir`` on the batch ``x`` under AddressSanitizer and
    UndefinedBehaviorSanitizer: (N, MODEL_OUTPUT_SIZE) float32 outputs, or SanitizerError
    with the sanitizer's report."""
    out_dir = Path(out_dir)
    n_in, n_out = _define(out_dir, "MODEL_INPUT_SIZE"), _define(out_dir, "MODEL_OUTPUT_SIZE")
    flat = np.ascontiguousarray(np.asarray(x, input_dtype(out_dir)).reshape(len(x), -1))
    if flat.shape[1] != n_in:
        raise ValueError(f"input rows hold {flat.shape[1]} values, the model takes {n_in}")
    exe = sanitized_build(out_dir, extra_cflags)
    with tempfile.TemporaryDirectory(prefix="edgebnn-san-") as tmp:
        src, dst = Path(tmp) / "in.f32", Path(tmp) / "out.f32"
        flat.tofile(src)
        env = dict(os.environ, **SANITIZE_ENV)
        env.pop("LD_PRELOAD", None)
        try:
            proc = subprocess.run([str(exe), str(src), str(dst)], capture_output=True, text=True, env=env,
                                  timeout=timeout)
        except subprocess.TimeoutExpired:
            raise SanitizerError(f"the sanitized build ran for more than {timeout:.0f} s") from None
        report = proc.stderr.strip()
        if proc.returncode or report:
            raise SanitizerError(f"exit status {proc.returncode}:\n{report[-6000:]}")
        out = np.fromfile(dst, output_dtype(out_dir))
    if out.size != len(flat) * n_out:
        raise SanitizerError(f"the sanitized build wrote {out.size} values, expected {len(flat) * n_out}")
    return out.reshape(len(flat), n_out)
