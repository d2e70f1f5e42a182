"""The emitted C under AddressSanitizer + UndefinedBehaviorSanitizer (issue 9).

Random networks (binary MLPs of every exporter pattern, binary CNNs, and sparse binary
versions of both: pruned {-1, 0, +1} and two-level {beta, alpha} weights) are compiled in
this process and built by ``edgebnn.harness.sanitized_run``: a standalone executable that
runs each input with exactly-sized heap buffers for the input, the output and the arena
(filled with garbage), compiled with ``-fsanitize=address,undefined
-fno-sanitize-recover=all``.  Every run must be free of findings and give outputs
identical to ``edgebnn.reference``.  Knobs: EDGEBNN_SANITIZE_NETWORKS (default 200),
EDGEBNN_SANITIZE_SEED.
"""
from __future__ import annotations

import inspect
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

import edgebnn
from cnn_builders import CNN_PATTERNS, build_cnn
from edgebnn import harness
from edgebnn.errors import EdgebnnError
from edgebnn.reference import Reference
from onnx_builders import PATTERNS, build_mlp

NETWORKS = int(os.environ.get("EDGEBNN_SANITIZE_NETWORKS", "200"))
SEED = int(os.environ.get("EDGEBNN_SANITIZE_SEED", "909"))
SUMMARY_LINES: list[str] = []
KINDS = ("mlp", "mlp", "mlp", "cnn", "cnn", "sparse_mlp", "sparse_cnn", "two_level_mlp")


def _sparsify(model: onnx.ModelProto, rng: np.random.RandomState, two_level: bool) -> int:
    """Prune the ±1 weight initializers in place: keep a fraction p (1-30 %) of the weights;
    the rest become 0 (pruned bipolar) or, for ``two_level``, every weight becomes beta, or
    alpha where kept (SBNN). Returns the number of initializers changed."""
    changed = 0
    for t in model.graph.initializer:
        w = numpy_helper.to_array(t)
        if w.ndim < 2 or w.size < 8 or not np.all(np.abs(w) == 1):
            continue
        p = float(rng.choice([0.01, 0.05, 0.1, 0.3]))
        keep = rng.rand(*w.shape) < p
        if two_level:
            beta, alpha = float(rng.choice([0.0, -0.25])), float(rng.choice([0.5, 1.0, -1.5]))
            new = np.where(keep, alpha, beta).astype(np.float32)
        else:
            new = np.where(keep, w, 0).astype(np.float32)
        t.CopyFrom(numpy_helper.from_array(new, t.name))
        changed += 1
    return changed


def network(i: int):
    """(kind, ONNX model, input shape) of random network ``i``."""
    rng = np.random.RandomState([SEED, i])
    kind = KINDS[i % len(KINDS)]
    if "mlp" in kind:
        hidden = [int(rng.randint(1, 70)) for _ in range(int(rng.randint(1, 4)))]
        dense = kind == "mlp"
        built = build_mlp(rng, PATTERNS[(i // len(KINDS)) % len(PATTERNS)], hidden=hidden,
                          k0=int(rng.randint(1, 80)), input_layout=None if dense else "flat",
                          input_stage=None if dense else "binarized", bias=None if dense else False,
                          weight_forms=None if dense else [("gemm_tb1", "matmul")[i % 2]] * (len(hidden) + 1))
    else:
        pattern = CNN_PATTERNS[(i // len(KINDS)) % len(CNN_PATTERNS)]
        built = build_cnn(rng, pattern, nhwc=bool(rng.rand() < 0.3), n_convs=int(rng.randint(1, 3)),
                          hw=(int(rng.choice([5, 7, 9])), int(rng.choice([5, 6, 8]))),
                          xnor_k=kind == "cnn" and rng.rand() < 0.2, gap=kind == "cnn" and rng.rand() < 0.2)
    model = built.model
    if kind.startswith(("sparse", "two_level")):
        _sparsify(model, rng, two_level=kind.startswith("two_level"))
    return kind, model, built.input_shape


def inputs(rng: np.random.Generator, shape) -> np.ndarray:
    """Random normal rows, a row of zeros (every Sign sees exactly 0) and a row of large values."""
    x = rng.standard_normal((4,) + tuple(shape[1:])).astype(np.float32)
    x[1] = 0
    x[2] *= 1e4
    return x


def _compile_kwargs(i: int) -> dict:
    params = inspect.signature(edgebnn.compile).parameters
    kw = {"allow_overflow": True} if "allow_overflow" in params else {}
    if "kernels" in params:  # both kernel variants, where the compiler offers a choice
        kw["kernels"] = ("reference", "optimized")[i % 2]
    return kw


def _check(out_dir: Path, x: np.ndarray, ref: np.ndarray) -> str:
    try:
        y = harness.sanitized_run(out_dir, x)
    except harness.SanitizerError as exc:
        return f"sanitizer finding: {exc}"
    if not np.array_equal(y, ref.reshape(y.shape), equal_nan=True):
        rows = [r for r in range(len(y)) if not np.array_equal(y[r], ref.reshape(y.shape)[r], equal_nan=True)]
        return f"outputs differ from the reference on inputs {rows}"
    return ""


def test_random_networks_are_clean_under_asan_and_ubsan(tmp_path):
    start = time.monotonic()
    rng = np.random.default_rng(SEED)
    counts: dict[str, int] = {}
    skipped: dict[str, str] = {}
    problems = []
    jobs = []
    with ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
        for i in range(NETWORKS):
            kind, model, shape = network(i)
            out = tmp_path / f"net{i}"
            try:
                compiled = edgebnn.compile(model, target="cortex-m4", out_dir=out, **_compile_kwargs(i))
            except EdgebnnError as exc:
                if kind.startswith(("sparse", "two_level")) and "binary" in str(exc):
                    skipped[kind] = str(exc)  # sparse binary weights are not compiled (yet)
                    continue
                problems.append(f"network {i} ({kind}): compile failed: {exc}")
                continue
            x = inputs(rng, shape)
            ref = Reference(compiled.graph).run(x)
            counts[kind] = counts.get(kind, 0) + 1
            jobs.append((i, kind, out, pool.submit(_check, out, x, ref)))
        for i, kind, out, job in jobs:
            problem = job.result()
            if problem:
                problems.append(f"network {i} ({kind}, seed {SEED}): {problem[:3000]}")
            else:
                shutil.rmtree(out, ignore_errors=True)
    ran = sum(counts.values())
    line = (f"edgebnn sanitizers: {ran} random networks ({', '.join(f'{k} {v}' for k, v in sorted(counts.items()))}; "
            f"seed {SEED}) under ASan+UBSan: {len(problems)} findings or mismatches; "
            f"{time.monotonic() - start:.0f} s")
    if skipped:
        line += f"; not compiled (no sparse support): {', '.join(sorted(skipped))}"
    SUMMARY_LINES.append(line)
    print("\n" + line)
    assert not problems, "\n".join(problems[:10])
    assert ran >= NETWORKS * 3 // 4, line


def test_the_sanitized_build_catches_an_out_of_bounds_read(tmp_path):
    """The check itself: a kernel that reads one float past its input is stopped by ASan."""
    kind, model, shape = network(0)
    compiled = edgebnn.compile(model, target="cortex-m4", out_dir=tmp_path / "out", **_compile_kwargs(0))
    model_c = compiled.out_dir / "model.c"
    text = model_c.read_text()
    hook = "void model_run_arena(const float *input, float *output, void *arena)\n{\n"
    assert hook in text
    model_c.write_text(text.replace(hook, hook + "    volatile float edge = input[MODEL_INPUT_SIZE]; (void)edge;\n"))
    with pytest.raises(harness.SanitizerError, match="AddressSanitizer"):
        harness.sanitized_run(compiled.out_dir, inputs(np.random.default_rng(0), shape))


def test_the_sanitized_build_catches_undefined_behaviour(tmp_path):
    kind, model, shape = network(1)
    compiled = edgebnn.compile(model, target="cortex-m4", out_dir=tmp_path / "out", **_compile_kwargs(1))
    model_c = compiled.out_dir / "model.c"
    text = model_c.read_text()
    hook = "void model_run_arena(const float *input, float *output, void *arena)\n{\n"
    model_c.write_text(text.replace(hook, hook + "    volatile int32_t big = INT32_MAX; big = big + (int32_t)(input[0] >= -1e30f);\n"))
    with pytest.raises(harness.SanitizerError, match="runtime error"):
        harness.sanitized_run(compiled.out_dir, inputs(np.random.default_rng(0), shape))
