"""Optimised kernels (issue 7): random networks wide enough to take the grouped carry-save
kernels (rows of >= 9 words) and the fused thresholds agree with onnxruntime on the host;
a sample runs under QEMU bit-identical to the host build; the portable kernels stay
selectable; the optimised C builds for ARMv6-M (Cortex-M0+) warning-free.

Every comparison is against onnxruntime (or the host build of the same C for emulation),
never against outputs recorded from edgebnn itself.  Needs the emulation toolchain
(scripts/setup.sh), like tests/test_emulate.py: without it these fail, never skip.
"""
from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import edgebnn
from edgebnn.check.emulate import INSTALL
from onnx_builders import INPUT_LAYOUTS, WEIGHT_FORMS
from sparse_builders import build_sparse_cnn
from test_property_mlp import _build, _settings, check_against_onnxruntime
from test_sparse import _onnxruntime as ort_exact

N_EXAMPLES = 6  # each wide model costs a compile and a cffi build: keep CI modest


@st.composite
def wide_mlp(draw):
    """MLP options whose binary rows are 9..22 words long (the grouped kernels' range)."""
    n_hidden = draw(st.integers(1, 2))
    return dict(
        seed=draw(st.integers(0, 2**31 - 1)),
        k0=draw(st.integers(290, 700)),
        hidden=draw(st.lists(st.integers(290, 700), min_size=n_hidden, max_size=n_hidden)),
        n_out=draw(st.integers(1, 20)),
        input_stage="binarized",
        input_layout=draw(st.sampled_from(INPUT_LAYOUTS)),
        weight_forms=draw(st.lists(st.sampled_from(WEIGHT_FORMS), min_size=n_hidden + 1, max_size=n_hidden + 1)),
        output=draw(st.sampled_from(["real_bn", "real_muladd"])),
        bias=draw(st.booleans()),
        preprocess=draw(st.booleans()),
    )


def _model_c(compiled) -> str:
    return (compiled.out_dir / "model.c").read_text()


@_settings(N_EXAMPLES)
@given(opts=wide_mlp())
def test_wide_mlp_optimised_matches_onnxruntime(opts):
    opts = dict(opts, input_layout="flat")  # flat: k0 is the row length the kernels see
    built = _build("sign", opts)
    check_against_onnxruntime(built, opts["seed"])  # compiles with the default (optimised) kernels
    text = _model_c(edgebnn.compile(built.model, target="cortex-m4", allow_overflow=True))
    assert any(f"ebnn_bdense{v}(" in text for v in ("_thr_opt", "_opt", "_bnd_t", "_t"))


def _wide_cnn(seed, pad):
    # 40 input channels -> rows of 9 taps x 2 words: the grouped convolution kernel
    return build_sparse_cnn(np.random.default_rng(seed), 1.0, "pruned", c0=3, hw=(9, 10), channels=(40, 37), pad=pad)


@pytest.mark.parametrize("pad", [0, 1])
def test_wide_cnn_optimised_matches_onnxruntime(pad):
    built = _wide_cnn(11 + pad, pad)
    x = np.random.default_rng(pad).normal(size=(6,) + built.input_shape[1:]).astype(np.float32)
    compiled = edgebnn.compile(built.model, target="cortex-m4")
    assert "ebnn_bconv_thr_opt(" in _model_c(compiled) or "ebnn_bconv_opt(" in _model_c(compiled)
    assert np.array_equal(compiled.run(x), ort_exact(built.model, x)), "optimised C differs from onnxruntime"


@pytest.mark.parametrize("pad", [0, 1])
def test_transposed_conv_three_word_windows(pad):
    """96 and 70 input channels: windows of 3 x 3 x 3 words (864 bits), the transposed
    convolution's widest class, with and without zero padding."""
    built = build_sparse_cnn(np.random.default_rng(7 + pad), 1.0, "pruned", c0=3, hw=(8, 9),
                             channels=(96, 70, 33), pad=pad)
    x = np.random.default_rng(pad).normal(size=(4,) + built.input_shape[1:]).astype(np.float32)
    compiled = edgebnn.compile(built.model, target="cortex-m4", allow_overflow=True)
    text = _model_c(compiled)
    assert sum(text.count(f"ebnn_bconv_{v}(") for v in ("t", "thr_t", "pool_t")) == 2  # transposed kernels
    assert np.array_equal(compiled.run(x), ort_exact(built.model, x)), "optimised C differs from onnxruntime"


def test_reference_kernels_selectable():
    built = _wide_cnn(3, 1)
    x = np.random.default_rng(3).normal(size=(4,) + built.input_shape[1:]).astype(np.float32)
    ref = edgebnn.compile(built.model, target="cortex-m4", kernels="reference")
    assert "ebnn_opt" not in _model_c(ref) and not list(ref.out_dir.glob("ebnn_opt*"))
    assert np.array_equal(ref.run(x), ort_exact(built.model, x))


@pytest.fixture(scope="module")
def toolchain():
    missing = [t for t in ("arm-none-eabi-gcc", "qemu-system-arm") if not shutil.which(t)]
    if missing:
        pytest.fail(f"these tests need {', '.join(missing)}: {INSTALL} (or run scripts/setup.sh)")


def test_emulated_sample_bit_identical(toolchain):
    """A wide MLP and a wide CNN on emulated Cortex-M4: QEMU == host == onnxruntime."""
    mlp = _build("sign", dict(seed=5, k0=600, hidden=[450], n_out=10, input_stage="binarized",
                              input_layout="flat", weight_forms=[WEIGHT_FORMS[0], WEIGHT_FORMS[0]], output="real_bn",
                              bias=False, preprocess=False))
    cnn = _wide_cnn(21, 1)
    for built in (mlp, cnn):
        x = np.random.default_rng(9).normal(size=(3,) + built.input_shape[1:]).astype(np.float32)
        compiled = edgebnn.compile(built.model, target="cortex-m4", allow_overflow=True)
        assert any(f in _model_c(compiled) for f in ("_opt(", "ebnn_bdense_bnd_t("))
        outputs, stats = compiled.emulate(x)
        assert stats["identical"]
        assert np.array_equal(outputs, compiled.run(x))
    assert np.array_equal(outputs, ort_exact(cnn.model, x))


def test_armv6m_variant_builds_warning_free(toolchain, tmp_path):
    """Cortex-M0+ (ARMv6-M: no DSP, no Thumb-2 only instructions) builds the optimised C."""
    compiled = edgebnn.compile(_wide_cnn(1, 0).model, target="cortex-m0plus", out_dir=tmp_path / "m0",
                               allow_overflow=True)
    sources = sorted(str(p) for p in compiled.out_dir.glob("*.c"))
    assert any("ebnn_opt_conv.c" in s for s in sources)
    cmd = ["arm-none-eabi-gcc", "-mcpu=cortex-m0plus", "-mthumb", "-mfloat-abi=soft", "-std=c99", "-O2",
           "-Wall", "-Wextra", "-Werror", "-pedantic", f"-I{compiled.out_dir}", "-c"]
    for src in sources:
        done = subprocess.run(cmd + [src, "-o", str(tmp_path / "x.o")], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
