"""The emitted C under AddressSanitizer + UndefinedBehaviorSanitizer (issue 9).

Random networks (binary MLPs of every exporter pattern, binary CNNs, real first layers fused
with their pool and BN + sign (first_layer_builders.py), and sparse binary
networks of both forms: pruned {-s, 0, +s} and two-level {beta, alpha}) are compiled in this
process and built by ``edgebnn.check.harness.sanitized_run``: a standalone executable that runs
each input with exactly-sized heap buffers for the input, the output and the arena (filled
with garbage), compiled with ``-fsanitize=address,undefined -fno-sanitize-recover=all``.
Every run must be free of findings, give outputs identical to ``edgebnn.reference``, and
agree with onnxruntime (an executor edgebnn did not write) on every input whose result does
not hinge on ONNX's Sign(0) = 0 or on float summation order (as in the property tests).
Knobs: EDGEBNN_SANITIZE_NETWORKS (default 200), EDGEBNN_SANITIZE_SEED.
"""
from __future__ import annotations

import inspect
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

import edgebnn
from cnn_builders import CNN_PATTERNS, build_cnn, build_pool_cnn
from first_layer_builders import random_first_layer
from edgebnn.check import harness
from edgebnn.ir.reference import Reference
from onnx_builders import PATTERNS, build_mlp, for_onnxruntime
from sparse_builders import FORMS, build_sparse_cnn, build_sparse_mlp

NETWORKS = int(os.environ.get("EDGEBNN_SANITIZE_NETWORKS", "200"))
SEED = int(os.environ.get("EDGEBNN_SANITIZE_SEED", "909"))
SUMMARY_LINES: list[str] = []
KINDS = ("mlp", "mlp", "cnn", "cnn", "sparse_mlp", "sparse_cnn", "first_layer", "cnn_pool")


def network(i: int):
    """(kind, BuiltModel) of random network ``i``."""
    rng = np.random.RandomState([SEED, i])
    kind = KINDS[i % len(KINDS)]
    turn = i // len(KINDS)
    if kind == "mlp":
        hidden = [int(rng.randint(1, 70)) for _ in range(int(rng.randint(1, 4)))]
        return kind, build_mlp(rng, PATTERNS[turn % len(PATTERNS)], hidden=hidden, k0=int(rng.randint(1, 80)))
    if kind == "cnn":
        pattern = CNN_PATTERNS[turn % len(CNN_PATTERNS)]
        xnor_k = bool(rng.rand() < 0.2) and pattern != "multithreshold"  # K reads a real BN output
        return kind, build_cnn(rng, pattern, nhwc=not xnor_k and rng.rand() < 0.3,
                               n_convs=int(rng.randint(1, 3)), hw=(int(rng.choice([5, 7, 9])), int(rng.choice([5, 6, 8]))),
                               xnor_k=xnor_k, gap=not xnor_k and rng.rand() < 0.2)
    if kind == "cnn_pool":  # a binary conv whose kernel writes pooled bits (either pool order); >= 5 pixels
        # a side, so that a 3-wide pool fits an unpadded 3x3 conv's output
        pool = [(2, 2, 0), (3, 2, 1), (3, 1, 0)][turn % 3]
        return kind, build_pool_cnn(rng, ("pool_bn", "bn_pool")[turn % 2], cin=int(rng.randint(15, 70)),
                                    m=int(rng.randint(2, 70)), hw=(int(rng.randint(5, 9)), int(rng.randint(5, 9))),
                                    pad=int(rng.randint(0, 2)), explicit_pad=bool(rng.rand() < 0.3), pool=pool)
    gen = np.random.default_rng([SEED, i])
    if kind == "first_layer":  # a real conv or dense fused with its pool and BN + sign
        return kind, random_first_layer(gen)
    form = FORMS[turn % len(FORMS)]
    density = float(gen.choice([0.0, 0.01, 0.05, 0.1, 0.3, 1.0]))
    if kind == "sparse_mlp":
        dims = tuple(int(d) for d in gen.integers(1, 90, int(gen.integers(2, 5))))
        return kind, build_sparse_mlp(gen, density, form, dims=dims)
    channels = tuple(int(c) for c in gen.integers(1, 40, int(gen.integers(1, 3))))
    return kind, build_sparse_cnn(gen, density, form, c0=int(gen.integers(1, 4)), channels=channels,
                                  hw=(int(gen.integers(5, 10)), int(gen.integers(5, 10))))


def inputs(rng: np.random.Generator, shape) -> np.ndarray:
    """Random normal rows, a row of zeros (every input Sign sees exactly 0) and a row of large values."""
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


def onnxruntime_outputs(kind: str, built, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(onnxruntime's outputs, rows it can judge): a row is left out where a binarizer input is
    exactly 0 (ONNX Sign(0) = 0; edgebnn, like Larq and QONNX, maps it to +1) or, after a real
    float layer, within 1e-4 of its switching point (summation order decides)."""
    presign = list(built.presign) + (["x"] if kind.startswith("sparse") else [])  # their input Sign(x)
    dependent = [t for t, _ in built.order_dependent]
    extra = [t for t in dict.fromkeys(presign + dependent) if t != "x"]
    so = ort.SessionOptions()
    so.log_severity_level = 3
    so.intra_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # keep ONNX's float rounding
    sess = ort.InferenceSession(for_onnxruntime(built, extra).SerializeToString(), so,
                                providers=["CPUExecutionProvider"])
    rows = [sess.run(None, {"x": x[r:r + 1]}) for r in range(len(x))]
    y = np.concatenate([row[0] for row in rows])
    named = {t: np.concatenate([row[j + 1] for row in rows]) for j, t in enumerate(extra)}
    named["x"] = x
    judged = np.ones(len(x), bool)
    for t in presign:
        judged &= ~(named[t] == 0).reshape(len(x), -1).any(axis=1)
    for t, off in built.order_dependent:
        judged &= ~(np.abs(named[t] - off) < 1e-4).reshape(len(x), -1).any(axis=1)
    return y.reshape(len(x), -1), judged


def disagreement(kind: str, y: np.ndarray, y_ort: np.ndarray, judged: np.ndarray) -> str:
    """'' when the C's outputs agree with onnxruntime's on the judged rows: exactly for the
    sparse networks (dyadic weights: every float sum is exact), else the same class and within
    1e-5 relative (the property tests' rule for real-valued last layers)."""
    y, y_ort = y[judged], y_ort[judged]
    if kind.startswith("sparse"):
        return "" if np.array_equal(y, y_ort) else f"differs from onnxruntime by {np.max(np.abs(y - y_ort))}"
    if y.shape[1] > 1 and np.any(y.argmax(axis=1) != y_ort.argmax(axis=1)):
        return "predicts another class than onnxruntime"
    atol = 1e-5 * float(np.max(np.abs(y_ort), initial=0.0))
    if not np.allclose(y, y_ort, rtol=1e-5, atol=atol):
        return f"differs from onnxruntime by {np.max(np.abs(y - y_ort))} (beyond 1e-5 relative)"
    return ""


def _check(kind: str, built, out_dir: Path, x: np.ndarray, ref: np.ndarray) -> tuple[str, int]:
    """(problem or '', rows compared with onnxruntime) of one network."""
    try:
        y = harness.sanitized_run(out_dir, x)
    except harness.SanitizerError as exc:
        return f"sanitizer finding: {exc}", 0
    if not np.array_equal(y, ref.reshape(y.shape), equal_nan=True):
        rows = [r for r in range(len(y)) if not np.array_equal(y[r], ref.reshape(y.shape)[r], equal_nan=True)]
        return f"outputs differ from edgebnn's reference on inputs {rows}", 0
    y_ort, judged = onnxruntime_outputs(kind, built, x)
    return disagreement(kind, y, y_ort, judged), int(judged.sum())


def test_random_networks_are_clean_under_asan_and_ubsan(tmp_path):
    start = time.monotonic()
    rng = np.random.default_rng(SEED)
    counts: dict[str, int] = {}
    problems = []
    jobs = []
    with ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
        for i in range(NETWORKS):
            kind, built = network(i)
            out = tmp_path / f"net{i}"
            try:
                compiled = edgebnn.compile(built.model, target="cortex-m4", out_dir=out, **_compile_kwargs(i))
            except Exception as exc:  # noqa: BLE001 - every random network must compile
                problems.append(f"network {i} ({kind}, seed {SEED}): compile failed: {type(exc).__name__}: {exc}")
                continue
            x = inputs(rng, built.input_shape)
            ref = Reference(compiled.graph).run(x)
            counts[kind] = counts.get(kind, 0) + 1
            jobs.append((i, kind, out, pool.submit(_check, kind, built, out, x, ref)))
        rows = 0
        for i, kind, out, job in jobs:
            problem, judged = job.result()
            rows += judged
            if problem:
                problems.append(f"network {i} ({kind}, seed {SEED}): {problem[:3000]}")
            else:
                shutil.rmtree(out, ignore_errors=True)
    ran = sum(counts.values())
    line = (f"edgebnn sanitizers: {ran} random networks ({', '.join(f'{k} {v}' for k, v in sorted(counts.items()))}; "
            f"seed {SEED}) under ASan+UBSan, {4 * ran} inputs, {rows} also checked against onnxruntime: "
            f"{len(problems)} findings or mismatches; {time.monotonic() - start:.0f} s")
    SUMMARY_LINES.append(line)
    print("\n" + line)
    assert not problems, "\n".join(problems[:10])
    assert ran == NETWORKS, line
    assert rows >= 2 * ran, "too few inputs were comparable with onnxruntime: " + line


def test_the_onnxruntime_comparison_can_fail():
    """The comparison itself: a one-ulp change of a sparse output, or a swapped class, is caught."""
    y = np.array([[0.5, 2.0, -1.0], [3.0, 0.0, 1.0]], np.float32)
    judged = np.array([True, True])
    assert disagreement("sparse_mlp", y, y.copy(), judged) == ""
    assert disagreement("sparse_mlp", y, np.nextafter(y, 9, dtype=np.float32), judged)
    assert disagreement("mlp", y, y[:, ::-1].copy(), judged)
    assert disagreement("mlp", y, y * 1.001, judged)
    assert disagreement("mlp", y, y * 1.001, np.array([False, False])) == ""


def test_the_sanitized_build_catches_an_out_of_bounds_read(tmp_path):
    """The check itself: a kernel that reads one float past its input is stopped by ASan."""
    kind, built = network(0)
    compiled = edgebnn.compile(built.model, target="cortex-m4", out_dir=tmp_path / "out", **_compile_kwargs(0))
    model_c = compiled.out_dir / "model.c"
    text = model_c.read_text()
    hook = "void model_run_arena(const model_input_t *input, model_output_t *output, void *arena)\n{\n"
    assert hook in text
    model_c.write_text(text.replace(hook, hook + "    volatile float edge = input[MODEL_INPUT_SIZE]; (void)edge;\n"))
    with pytest.raises(harness.SanitizerError, match="AddressSanitizer"):
        harness.sanitized_run(compiled.out_dir, inputs(np.random.default_rng(0), built.input_shape))


def test_the_sanitized_build_catches_undefined_behaviour(tmp_path):
    kind, built = network(1)
    compiled = edgebnn.compile(built.model, target="cortex-m4", out_dir=tmp_path / "out", **_compile_kwargs(1))
    model_c = compiled.out_dir / "model.c"
    text = model_c.read_text()
    hook = "void model_run_arena(const model_input_t *input, model_output_t *output, void *arena)\n{\n"
    model_c.write_text(text.replace(hook, hook + "    volatile int32_t big = INT32_MAX; big = big + (int32_t)(input[0] >= -1e30f);\n"))
    with pytest.raises(harness.SanitizerError, match="runtime error"):
        harness.sanitized_run(compiled.out_dir, inputs(np.random.default_rng(0), built.input_shape))
