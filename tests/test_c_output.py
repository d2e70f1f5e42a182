"""The emitted C folder: reproducible byte for byte, warning-free C99 for the host and for
arm-none-eabi-gcc, and a report.json with the documented keys and correct MAC counts."""
from __future__ import annotations

import filecmp
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest

from onnx_builders import build_mlp, for_onnxruntime, rename_hostile, small_known_mlp

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

HOST_FLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-c"]
ARM_FLAGS = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16", "-std=c99",
             "-Wall", "-Wextra", "-Werror", "-pedantic", "-O2", "-c"]

LAYER_KEYS = {"name", "op", "input_shape", "output_shape", "binary_macs", "real_macs", "weight_bits",
              "weight_bytes", "bits_per_weight", "format", "arena_offset", "arena_bytes"}
MEMORY_KEYS = {"arena_bytes", "lower_bound_bytes", "no_reuse_bytes", "stack_bytes", "sram_bytes",
               "flash_bytes", "weight_bytes", "code_bytes"}
BUDGET_KEYS = {"sram_bytes", "flash_bytes", "fits"}


def _models():
    return {
        "small_sign": small_known_mlp("sign", seed=0),
        "brevitas_reshape": build_mlp(np.random.RandomState(7), "bq_brevitas", k0=None, hidden=[50, 33],
                                      n_out=10, input_stage="real", input_layout="reshape",
                                      weight_forms=["transpose_matmul", "alpha_reducemean_w"],
                                      output="real_muladd", bias=True, preprocess=False),
    }


MODELS = _models()


def compile_cli(model_path, out_dir):
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO_ROOT + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run(
        [sys.executable, "-m", "edgebnn", "compile", str(model_path), "--target", "cortex-m4",
         "-o", str(out_dir)],
        capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=300,
    )
    assert proc.returncode == 0, f"compile failed ({proc.returncode}):\n{proc.stderr}"
    return Path(out_dir)


@pytest.fixture(scope="module", params=sorted(MODELS))
def compiled_twice(request, tmp_path_factory):
    built = MODELS[request.param]
    root = tmp_path_factory.mktemp(request.param)
    path = root / "model.onnx"
    onnx.save(built.model, path)
    return built, compile_cli(path, root / "out_a"), compile_cli(path, root / "out_b")


def _files(folder):
    return sorted(str(p.relative_to(folder)) for p in Path(folder).rglob("*") if p.is_file())


def test_output_is_byte_identical(compiled_twice):
    _, a, b = compiled_twice
    fa, fb = _files(a), _files(b)
    assert fa == fb, f"different file lists: {sorted(set(fa) ^ set(fb))}"
    match, mismatch, errors = filecmp.cmpfiles(a, b, fa, shallow=False)
    assert not mismatch and not errors, f"files differ between two compiles: {mismatch + errors}"


def test_folder_contents(compiled_twice):
    _, out, _ = compiled_twice
    names = set(_files(out))
    for required in ("model.h", "model.c", "report.json"):
        assert required in names, f"{required} missing from {sorted(names)}"
    kernels = [n for n in names if n.endswith(".c") and n != "model.c"]
    assert kernels, f"no kernel sources next to model.c: {sorted(names)}"
    # every quoted include resolves inside the folder
    for n in names:
        if n.endswith((".c", ".h")):
            for inc in re.findall(r'#\s*include\s+"([^"]+)"', (out / n).read_text()):
                assert (out / n).parent.joinpath(inc).exists() or (out / inc).exists(), \
                    f'{n} includes "{inc}", which is not in the output folder'


def _compile_each(compiler, flags, out, tmp_path):
    sources = sorted(out.rglob("*.c"))
    assert sources
    for src in sources:
        obj = tmp_path / (src.stem + ".o")
        proc = subprocess.run([compiler, *flags, "-I", str(out), str(src), "-o", str(obj)],
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, f"{compiler} {src.name}:\n{proc.stderr}"


def test_c_compiles_warning_free_on_host(compiled_twice, tmp_path):
    _, out, _ = compiled_twice
    _compile_each("gcc", HOST_FLAGS, out, tmp_path)


def test_c_links_without_missing_symbols(compiled_twice, tmp_path):
    """All sources together form a shared object with no undefined symbols beyond libc/libm."""
    _, out, _ = compiled_twice
    sources = [str(p) for p in sorted(out.rglob("*.c"))]
    proc = subprocess.run(["gcc", "-std=c99", "-O1", "-shared", "-fPIC", "-Wl,--no-undefined", "-I", str(out),
                           *sources, "-o", str(tmp_path / "libmodel.so"), "-lm"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"link failed:\n{proc.stderr}"


def test_c_compiles_warning_free_for_cortex_m4(compiled_twice, tmp_path):
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.fail("arm-none-eabi-gcc not found on PATH: install it (apt-get install gcc-arm-none-eabi)")
    _, out, _ = compiled_twice
    _compile_each("arm-none-eabi-gcc", ARM_FLAGS, out, tmp_path)


def test_report_keys(compiled_twice):
    built, out, _ = compiled_twice
    report = json.loads((out / "report.json").read_text())
    for key in ("model", "target", "layers", "memory", "budget"):
        assert key in report, f"report.json lacks {key!r}: {sorted(report)}"
    assert "cortex-m4" in json.dumps(report["target"]), report["target"]
    assert isinstance(report["layers"], list) and report["layers"]
    for layer in report["layers"]:
        missing = LAYER_KEYS - set(layer)
        assert not missing, f"layer {layer.get('name')!r} lacks {sorted(missing)}"
        for k in ("binary_macs", "real_macs", "weight_bits", "weight_bytes", "arena_bytes"):
            assert isinstance(layer[k], int) and layer[k] >= 0, (layer["name"], k, layer[k])
        # a layer writing straight into the caller's output buffer has no arena slot
        off = layer["arena_offset"]
        assert (isinstance(off, int) and off >= 0) or (off is None and layer["arena_bytes"] == 0), \
            (layer["name"], "arena_offset", off, layer["arena_bytes"])
        if isinstance(off, int):
            assert off + layer["arena_bytes"] <= report["memory"]["arena_bytes"], layer
    mem = report["memory"]
    missing = MEMORY_KEYS - set(mem)
    assert not missing, f"memory lacks {sorted(missing)}"
    for k in MEMORY_KEYS:
        assert isinstance(mem[k], int) and mem[k] >= 0, (k, mem[k])
    assert mem["lower_bound_bytes"] <= mem["arena_bytes"] <= mem["no_reuse_bytes"], mem
    budget = report["budget"]
    missing = BUDGET_KEYS - set(budget)
    assert not missing, f"budget lacks {sorted(missing)}"
    assert isinstance(budget["fits"], bool)
    assert budget["fits"], "a tiny MLP must fit a Cortex-M4"


def test_report_binary_macs(compiled_twice):
    built, out, _ = compiled_twice
    report = json.loads((out / "report.json").read_text())
    total = sum(layer["binary_macs"] for layer in report["layers"])
    expected = sum(l.k * l.n for l in built.layers if l.binary_input)
    assert total == expected, (
        f"binary_macs {total}, expected sum of K*N over binary layers = {expected} "
        f"({[(l.name, l.k, l.n) for l in built.layers if l.binary_input]})")
    real = sum(layer["real_macs"] for layer in report["layers"])
    if built.real_macs:
        assert real >= built.real_macs, f"real_macs {real} < {built.real_macs} of the real first layer"


def test_hostile_names_never_reach_c_unsanitised(tmp_path):
    """Names with comment terminators, quotes, backslashes, newlines, keywords and non-ASCII."""
    built = small_known_mlp("bq_brevitas", seed=11)
    built.model = rename_hostile(built.model)
    onnx.checker.check_model(built.model)
    path = tmp_path / "hostile.onnx"
    onnx.save(built.model, path)
    out = compile_cli(path, tmp_path / "out")
    for src in sorted(out.glob("*.[ch]")):
        assert src.read_bytes().isascii(), f"{src.name} holds non-ASCII bytes from an ONNX name"
    _compile_each("gcc", HOST_FLAGS, out, tmp_path)
    if shutil.which("arm-none-eabi-gcc"):
        _compile_each("arm-none-eabi-gcc", ARM_FLAGS, out, tmp_path)
    # and it still computes the same thing
    import edgebnn
    import onnxruntime as ort

    x = np.random.RandomState(0).standard_normal((8, 37)).astype(np.float32)
    sess = ort.InferenceSession(for_onnxruntime(built).SerializeToString(), providers=["CPUExecutionProvider"])
    y_ort = np.concatenate([sess.run(None, {built.model.graph.input[0].name: x[i:i + 1]})[0] for i in range(8)])
    y_c = edgebnn.compile(built.model, target="cortex-m4", out_dir=tmp_path / "api_out").run(x)
    np.testing.assert_allclose(y_c, y_ort, rtol=1e-5, atol=1e-5 * float(np.abs(y_ort).max()))
