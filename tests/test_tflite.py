"""The .tflite frontend (issue 20) on Larq models (tests/models/tflite/, made by make_models.py
there): plain TFLite files against the TFLite interpreter (ai-edge-litert), run here; Larq
Compute Engine files against outputs of LCE's own interpreter, which needs numpy < 2 and ran
in an environment of its own when the files were made."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import tflite
from ai_edge_litert.interpreter import Interpreter
from flatbuffers import flexbuffers
from test_user_errors import edgebnn_cli, one_line

import edgebnn
from edgebnn.compiler import lowered

MODELS = Path(__file__).resolve().parent / "models" / "tflite"
STEMS = ("bnn_seq", "quicknet_small", "birealnet", "real_ops")
OUT = np.load(MODELS / "outputs.npz")


def litert(path: Path, x: np.ndarray) -> np.ndarray:
    """The TFLite interpreter's outputs, one sample at a time."""
    interp = Interpreter(model_path=str(path), num_threads=1)
    interp.allocate_tensors()
    src, dst = interp.get_input_details()[0]["index"], interp.get_output_details()[0]["index"]
    outs = []
    for row in x:
        interp.set_tensor(src, row[None])
        interp.invoke()
        outs.append(interp.get_tensor(dst).copy())
    return np.concatenate(outs)


@pytest.mark.parametrize("kind", ["plain", "lce"])
@pytest.mark.parametrize("stem", STEMS)
def test_c_gives_the_interpreters_outputs(stem, kind):
    path = MODELS / f"{stem}_{kind}.tflite"
    x = OUT[f"{stem}_x"]
    expected = litert(path, x) if kind == "plain" else OUT[f"{stem}_lce_y"]
    y = edgebnn.compile(path, target="host").run(x)
    assert y.shape == expected.shape
    assert np.array_equal(y.argmax(1), expected.argmax(1))
    assert np.abs(y - expected).max() <= 1e-5  # softmax outputs: absolute
    assert np.array_equal(y, edgebnn.reference(path).run(x))


def _lce_thresholds(path: Path) -> list[tuple[np.ndarray, np.ndarray, int]]:
    """(thresholds, packed filter, K) of every bit-packed-output LceBconv2d, read with the
    schema package."""
    buf = path.read_bytes()
    model = tflite.Model.GetRootAsModel(buf, 0)
    sg = model.Subgraphs(0)

    def const(t):
        tensor = sg.Tensors(t)
        return np.frombuffer(model.Buffers(tensor.Buffer()).DataAsNumpy().tobytes(), np.int32) \
            .reshape(tensor.ShapeAsNumpy())

    found = []
    for i in range(sg.OperatorsLength()):
        op = sg.Operators(i)
        if model.OperatorCodes(op.OpcodeIndex()).CustomCode() != b"LceBconv2d":
            continue
        ins = op.InputsAsNumpy()
        if len(ins) > 4 and ins[4] >= 0:
            c = flexbuffers.Loads(bytes(op.CustomOptionsAsNumpy()))["channels_in"]
            _, kh, kw, _ = const(ins[1]).shape
            found.append((const(ins[4]), const(ins[1]), kh * kw * c))
    return found


def test_bitpacked_thresholds_map_exactly():
    """For every channel of both bit-packed LceBconv2d layers and every popcount p, edgebnn's
    integer threshold on dot = K - 2p gives LCE's bit, p > threshold.  Both layers follow a
    BatchNorm with gammas of both signs (LCE stores the negative-slope channels' filters negated)."""
    path = MODELS / "bnn_seq_lce.tflite"
    lce = _lce_thresholds(path)
    graph = lowered(path)
    fused = {graph.consts[op.attrs["weight"]].tobytes(): e for op in graph.ops if op.kind == "bconv"
             for e in op.epilogues if e.kind == "threshold"}
    assert len(lce) == 2
    for (t, words, k), bn in zip(lce, ("bn1", "bn3")):
        epi = fused[words.view(np.uint32).tobytes()]  # LCE's filter bits are edgebnn's, word for word
        gamma = OUT[f"bnn_seq_{bn}_gamma"]
        assert (gamma < 0).any() and (gamma > 0).any() and gamma.size == t.size
        m = t.size
        thr, neg = epi.attrs["thr"].reshape(-1, m), epi.attrs["neg"].reshape(-1, m)
        assert (thr == thr[0]).all() and (neg == neg[0]).all()  # the same for every pixel
        p = np.arange(k + 1)[:, None]
        ours = ((k - 2 * p) < thr[0][None, :]) ^ neg[0][None, :].astype(bool)
        assert np.array_equal(ours, p > t[None, :])


def test_a_quantized_file_is_refused_in_one_line(tmp_path):
    line = one_line(edgebnn_cli("compile", MODELS / "quantized_int8.tflite", "-o", tmp_path / "out", cwd=tmp_path))
    assert "quantized" in line and "CONV_2D" in line and "int8" in line
    assert not (tmp_path / "out").exists()


def test_chosen_by_content_not_suffix(tmp_path):
    renamed = tmp_path / "model.onnx"
    shutil.copy(MODELS / "bnn_seq_lce.tflite", renamed)
    x = OUT["bnn_seq_x"][:2]
    assert np.array_equal(edgebnn.compile(renamed, target="host").run(x),
                          edgebnn.compile(MODELS / "bnn_seq_lce.tflite", target="host").run(x))


def test_validate_runs_the_tflite_interpreter(tmp_path):
    proc = edgebnn_cli("validate", MODELS / "quicknet_small_plain.tflite", "--random", "4", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["ok"] and result["c_vs_tflite"]["class_agree"] == 4
    assert result["c_vs_tflite"]["interpreter"] == "ai-edge-litert"
    assert result["c_vs_tflite"]["max_rel_error"] < 1e-5


def test_validate_says_why_an_lce_file_has_no_interpreter(tmp_path):
    proc = edgebnn_cli("validate", MODELS / "bnn_seq_lce.tflite", "--random", "2", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "C vs TFLite:      skipped (the model uses Larq Compute Engine ops" in proc.stdout


@pytest.mark.parametrize("case", ["truncated", "identifier only", "flipped offsets"])
def test_a_broken_tflite_file_is_one_line(tmp_path, case):
    data = (MODELS / "bnn_seq_lce.tflite").read_bytes()
    broken = {"truncated": data[:4000], "identifier only": data[:8],
              "flipped offsets": data[:8] + bytes(b ^ 0xFF for b in data[8:64]) + data[64:]}[case]
    (tmp_path / "m.tflite").write_bytes(broken)
    line = one_line(edgebnn_cli("compile", "m.tflite", "-o", "out", cwd=tmp_path))
    assert line.startswith("edgebnn: error: ")
    assert not (tmp_path / "out").exists()


def test_an_unsupported_op_is_named(tmp_path):
    line = one_line(edgebnn_cli("inspect", MODELS / "unsupported_cos.tflite", cwd=tmp_path))
    assert "unsupported TFLite op COS" in line


def test_float16_weights_are_a_float_model():
    path = MODELS / "tiny_fp16.tflite"
    x = OUT["tiny_x"]
    expected = litert(path, x)
    y = edgebnn.compile(path, target="host").run(x)
    assert np.array_equal(y.argmax(1), expected.argmax(1))
    assert np.abs(y - expected).max() <= 1e-5 * np.abs(expected).max()


@pytest.mark.parametrize("stem", ["bnn_seq_lce", "real_ops_plain"])
def test_tensor_names_never_reach_the_c(tmp_path, stem):
    """Tensor names rewritten in place (same length) into C-breaking text, with a marker."""
    from fuzz_models import HOSTILE_MARK, _check_c

    data = (MODELS / f"{stem}.tflite").read_bytes()
    hostile = data.replace(b"sequential", b'Q*/"\n#\\\x7fQQ').replace(
        b"StatefulPartitionedCall", HOSTILE_MARK.encode() + b'*/"\\\n#include')
    assert len(hostile) == len(data) and hostile != data
    (tmp_path / "m.tflite").write_bytes(hostile)
    edgebnn.compile(tmp_path / "m.tflite", target="cortex-m4", out_dir=tmp_path / "out")
    assert _check_c(tmp_path / "out", [HOSTILE_MARK, 'Q*/"']) == ""
