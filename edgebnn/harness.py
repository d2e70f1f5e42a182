"""Build the emitted C for the host with cffi and run numpy batches through it."""
from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import io
import os
import tempfile
from pathlib import Path

import cffi
import numpy as np

CDEF = """
void model_run(const float *input, float *output);
void edgebnn_run_batch(const float *input, float *output, int n);
"""
BATCH_SOURCE = """
#include "model.h"
void edgebnn_run_batch(const float *input, float *output, int n)
{
    int i;
    for (i = 0; i < n; i++) {
        model_run(input + (long)i * MODEL_INPUT_SIZE, output + (long)i * MODEL_OUTPUT_SIZE);
    }
}
"""
# -ffp-contract=off: float steps round exactly as the graph and the reference do.
CFLAGS = ["-std=c99", "-O2", "-ffp-contract=off"]
CACHE = Path(tempfile.gettempdir()) / "edgebnn-host"


class HostModel:
    """The emitted C of ``out_dir`` compiled into a Python extension."""

    def __init__(self, out_dir: Path, input_size: int, output_size: int, extra_cflags=()):
        self.out_dir = Path(out_dir)
        self.input_size, self.output_size = input_size, output_size
        self.lib, self.ffi = _build(self.out_dir, tuple(extra_cflags))

    def run(self, x: np.ndarray) -> np.ndarray:
        """x: (N, ...) float32 with MODEL_INPUT_SIZE values per row -> (N, MODEL_OUTPUT_SIZE)."""
        flat = np.ascontiguousarray(np.asarray(x, np.float32).reshape(len(x), -1))
        if flat.shape[1] != self.input_size:
            raise ValueError(f"input rows hold {flat.shape[1]} values, the model takes {self.input_size}")
        out = np.zeros((len(flat), self.output_size), np.float32)
        if len(flat):
            self.lib.edgebnn_run_batch(self.ffi.from_buffer("float[]", flat),
                                       self.ffi.from_buffer("float[]", out), len(flat))
        return out


def _build(out_dir: Path, extra_cflags: tuple):
    sources = sorted(p for p in out_dir.iterdir() if p.suffix in (".c", ".h"))
    digest = hashlib.sha256(repr(extra_cflags).encode())
    for p in sources:
        digest.update(p.name.encode() + b"\0" + p.read_bytes())
    name = f"_edgebnn_host_{digest.hexdigest()[:16]}"
    build = CACHE / name
    built = list(build.glob(f"{name}*.so")) + list(build.glob(f"{name}*.pyd"))
    if not built:
        build.mkdir(parents=True, exist_ok=True)
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
