"""Hostile models through `edgebnn compile` (issue 9): every case ends with exit 0 and C,
or exit 2 and one clear line; never a traceback, an internal error, a crash, a hang or a
giant allocation; and no name from the model ever reaches the C.

The counts, the seed and the time are printed at the end of the session
(conftest.pytest_terminal_summary) and, with ``-s``, by each test.  Knobs:
EDGEBNN_FUZZ_SEED, EDGEBNN_FUZZ_MUTATED (default 2000), EDGEBNN_FUZZ_HOSTILE (default 200),
EDGEBNN_FUZZ_WORKERS (default 2).  Reproduce one case with
``python tests/fuzz_models.py mutated COUNT SEED`` or ``fuzz_models.run_one``.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import fuzz_models
from edgebnn import cli
from onnx_builders import small_known_mlp

SEED = int(os.environ.get("EDGEBNN_FUZZ_SEED", "20240909"))
MUTATED = int(os.environ.get("EDGEBNN_FUZZ_MUTATED", "2000"))
HOSTILE = int(os.environ.get("EDGEBNN_FUZZ_HOSTILE", "200"))
WORKERS = int(os.environ.get("EDGEBNN_FUZZ_WORKERS", str(min(2, os.cpu_count() or 1))))


def _summary(kind: str, results, seconds: float) -> str:
    codes = {}
    for r in results:
        codes[r.code] = codes.get(r.code, 0) + 1
    bad = [r for r in results if r.problem]
    hungriest = max(results, key=lambda r: r.extra.get("grew", 0))
    tracebacks = sum(r.problem.startswith(("traceback", "internal error")) for r in bad)
    crashes = sum(r.problem.startswith(("the worker died", "hang", "giant")) for r in bad)
    line = (f"edgebnn fuzz: {len(results)} {kind} models (seed {SEED}): exit 0: {codes.get(0, 0)}, "
            f"exit 2: {codes.get(2, 0)}; {len(bad)} problems ({tracebacks} tracebacks/internal errors, "
            f"{crashes} crashes/hangs/giant allocations); slowest case {max(r.seconds for r in results):.2f} s, "
            f"peak RSS {max(r.rss for r in results) >> 20} MiB (case {hungriest.index} raised it most, by "
            f"{hungriest.extra.get('grew', 0) >> 20} MiB); {seconds:.0f} s on {WORKERS} workers")
    if kind == "hostile-name":
        checked = sum(bool(r.extra.get("compiled_c")) for r in results)
        line += f"; {checked} emitted C folders compiled with gcc -Werror and searched: 0 unsanitised names" \
            if not bad else ""
    fuzz_models.SUMMARY_LINES.append(line)
    print("\n" + line)
    return line


def test_mutated_models():
    start = time.monotonic()
    results = fuzz_models.run_cases("mutated", SEED, MUTATED, workers=WORKERS)
    _summary("mutated", results, time.monotonic() - start)
    assert len(results) == MUTATED
    assert not any(r.problem for r in results), \
        "mutated models broke `edgebnn compile`:\n" + fuzz_models.describe(results, "mutated", SEED)
    assert sum(r.code == 0 for r in results) > MUTATED // 20, "too few mutants compile: the mutations are too coarse"


def test_hostile_names():
    start = time.monotonic()
    results = fuzz_models.run_cases("hostile", SEED, HOSTILE, workers=WORKERS)
    _summary("hostile-name", results, time.monotonic() - start)
    assert len(results) == HOSTILE
    assert not any(r.problem for r in results), \
        "hostile names broke `edgebnn compile` or reached the C:\n" + fuzz_models.describe(results, "hostile", SEED)
    assert sum(bool(r.extra.get("compiled_c")) for r in results) >= HOSTILE * 3 // 4


def test_the_name_check_sees_a_planted_name(tmp_path):
    """The hostile-name check itself: a name in the C, or a non-ASCII byte, is caught."""
    (tmp_path / "model.c").write_text(f"/* {fuzz_models.HOSTILE_MARK}12 */\nint model_x;\n")
    assert "holds a name" in fuzz_models._check_c(tmp_path, [fuzz_models.HOSTILE_MARK])
    (tmp_path / "model.c").write_bytes("/* \u00fc */\nint model_x;\n".encode())
    assert "non-ASCII" in fuzz_models._check_c(tmp_path, [fuzz_models.HOSTILE_MARK])
    (tmp_path / "model.c").write_text("int model_x\n")
    assert "gcc rejects" in fuzz_models._check_c(tmp_path, [])


def test_hostile_case_names_hold_every_fragment():
    names = set()
    for i in range(40):
        m = onnx.ModelProto.FromString(fuzz_models.hostile_case(SEED, i)[1])
        names.update(n.name for n in m.graph.node)
        names.update(t.name for t in m.graph.initializer)
    text = "".join(names)
    for frag in ("*/", '"', "\\", "\n", "#include", "ü", "return"):
        assert frag in text, frag
    assert max(len(n) for n in names) >= 10_000


# -- regressions: one small case for each crash the fuzzer found ----------------------------------
def _compile(model: onnx.ModelProto, tmp_path: Path, capsys) -> tuple[int, str]:
    path = tmp_path / "model.onnx"
    path.write_bytes(model.SerializeToString())
    out = tmp_path / "out"
    code = cli.main(["compile", str(path), "-o", str(out)])
    err = capsys.readouterr().err
    if code == 2:
        assert len(err.rstrip("\n").split("\n")) == 1 and err.startswith("edgebnn: error: "), err
        assert err.rstrip("\n").isprintable(), err
        assert not out.exists()
    return code, err


def _model():
    return small_known_mlp("sign", seed=1).model


def _weight(m):
    return next(t for t in m.graph.initializer if len(t.dims) == 2)


def test_initializer_data_shorter_than_its_shape(tmp_path, capsys):
    m = _model()
    w = _weight(m)
    w.raw_data = w.raw_data + b"\0\0\0"  # the checker catches short data, not long
    code, err = _compile(m, tmp_path, capsys)
    assert code == 2 and f"initializer '{w.name}'" in err and "corrupt" in err


def test_initializer_of_an_unknown_element_type(tmp_path, capsys):
    m = _model()
    _weight(m).data_type = 99
    code, err = _compile(m, tmp_path, capsys)
    assert code == 2 and "element type 99" in err


@pytest.mark.parametrize("dims", [[1, 1 << 40], [1, 1 << 20, 1 << 20]])
def test_enormous_input(tmp_path, capsys, dims):
    m = _model()
    shape = m.graph.input[0].type.tensor_type.shape
    del shape.dim[:]
    for d in dims:
        shape.dim.add().dim_value = d
    code, err = _compile(m, tmp_path, capsys)
    assert code == 2 and "elements" in err


def _blowup(m, op, inputs, **attrs):
    """The first weight plus op(inputs): a giant constant if the op's result is giant."""
    g = m.graph
    w = _weight(m).name
    for name, value in inputs:
        g.initializer.append(numpy_helper.from_array(value, name))
    g.node.insert(0, helper.make_node(op, [n for n, _ in inputs], ["giant"], name="giant_node", **attrs))
    g.node.insert(1, helper.make_node("Add", [w, "giant"], ["w_plus"], name="add_giant"))
    for n in g.node[2:]:
        for i, x in enumerate(n.input):
            if x == w:
                n.input[i] = "w_plus"
    return m


@pytest.mark.parametrize("op,inputs", [
    ("ConstantOfShape", [("s", np.array([1 << 20, 1 << 20], np.int64))]),
    ("Expand", [("v", np.ones((37, 45), np.float32)), ("s", np.array([1 << 40, 1], np.int64))]),
    ("Tile", [("v", np.ones((1, 1), np.float32)), ("r", np.array([1 << 31, 1 << 31], np.int64))]),
    ("Range", [("a", np.array(0, np.float32)), ("b", np.array(1e12, np.float32)), ("d", np.array(1, np.float32))]),
])
def test_constant_blowup_is_refused_before_allocating(tmp_path, capsys, op, inputs):
    code, err = _compile(_blowup(_model(), op, inputs), tmp_path, capsys)
    assert code == 2 and "giant_node" in err and "MemoryError" not in err


def test_conv_with_enormous_padding(tmp_path, capsys):
    from cnn_builders import build_cnn

    m = build_cnn(np.random.RandomState(3), "sign", n_convs=1, hw=(7, 7)).model
    conv = next(n for n in m.graph.node if n.op_type == "Conv")
    for a in conv.attribute:
        if a.name == "pads":
            del a.ints[:]
            a.ints.extend([1 << 31] * 4)
    code, err = _compile(m, tmp_path, capsys)
    assert code == 2 and conv.name in err and "elements" in err


def test_attribute_of_the_wrong_type(tmp_path, capsys):
    m = _model()
    gemm = next(n for n in m.graph.node if n.op_type == "Gemm")
    gemm.attribute.append(helper.make_attribute("transA", 2.5))
    code, err = _compile(m, tmp_path, capsys)
    assert code == 2 and "transA" in err


def test_flatten_axis_out_of_range(tmp_path, capsys):
    m = small_known_mlp("sign", seed=1).model
    first = m.graph.node[0]
    m.graph.node.insert(0, helper.make_node("Flatten", [first.input[0]], ["flat"], name="bad_flatten", axis=5))
    first.input[0] = "flat"
    code, err = _compile(m, tmp_path, capsys)
    assert code == 2 and "bad_flatten" in err


def test_nan_weights_give_no_warning_lines(tmp_path, capsys):
    """numpy RuntimeWarnings (NaN in a folded ReduceMean) are not a second stderr line."""
    from onnx_builders import build_mlp

    built = build_mlp(np.random.RandomState(7), "sign", k0=20, hidden=[16], n_out=4, input_stage="binarized",
                      input_layout="flat", weight_forms=["alpha_reducemean_w", "matmul"], output="real_bn",
                      bias=False, preprocess=False)
    m = built.model
    w = next(t for t in m.graph.initializer if t.name.endswith("_wf_1") or "wf" in t.name)
    a = numpy_helper.to_array(w).copy()
    a[0, 0] = np.nan
    w.CopyFrom(numpy_helper.from_array(a, w.name))
    code, err = _compile(m, tmp_path, capsys)
    assert code in (0, 2) and "Warning" not in err


def test_control_flow_is_refused(tmp_path, capsys):
    """An If on constants (which could as well be a Loop of 2^60 trips) is refused, not run."""
    zero = helper.make_node("Constant", [], ["z"], value=numpy_helper.from_array(np.array(0.0, np.float32)))
    body = helper.make_graph([zero], "body", [], [helper.make_tensor_value_info("z", TensorProto.FLOAT, [])])
    m = _blowup(_model(), "If", [("c", np.array(True))], then_branch=body, else_branch=body)
    code, err = _compile(m, tmp_path, capsys)
    assert code == 2 and "giant_node" in err and "control flow" in err


def test_internal_errors_are_one_line_and_exit_3(tmp_path, capsys, monkeypatch):
    """The last resort: an unexpected exception is `edgebnn: internal error: ...`, exit 3."""
    from edgebnn import compiler

    def boom(*a, **k):
        raise KeyError("deliberate")

    monkeypatch.setattr(compiler, "compile", boom)
    monkeypatch.delenv("EDGEBNN_TRACEBACK", raising=False)
    path = tmp_path / "m.onnx"
    path.write_bytes(_model().SerializeToString())
    assert cli.main(["compile", str(path), "-o", str(tmp_path / "out")]) == 3
    err = capsys.readouterr().err
    assert err.startswith("edgebnn: internal error: KeyError") and err.count("\n") == 1


def test_unsqueeze_axes_of_floats(tmp_path, capsys):
    """Axes given as a float tensor (an op_type mutation turned an Add into Unsqueeze)."""
    m = _model()
    first = m.graph.node[0]
    m.graph.initializer.append(numpy_helper.from_array(np.array(0.5, np.float32), "float_axes"))
    m.graph.node.insert(0, helper.make_node("Unsqueeze", [first.input[0], "float_axes"], ["unsq"], name="bad_unsq"))
    first.input[0] = "unsq"
    code, err = _compile(m, tmp_path, capsys)
    assert code == 2 and "bad_unsq" in err and "axes" in err


# -- a few cases through a real `edgebnn` process: what a user's shell sees ------------------------
@pytest.mark.parametrize("kind,i", [("mutated", i) for i in (0, 1, 2, 3, 5, 8, 13, 21)] + [("hostile", 0), ("hostile", 7)])
def test_cases_through_a_real_process(tmp_path, kind, i):
    if kind == "mutated":
        desc, data = fuzz_models.mutated_case(SEED, i)
    else:
        desc, data, _ = fuzz_models.hostile_case(SEED, i)
    path = tmp_path / "model.onnx"
    path.write_bytes(data)
    env = dict(os.environ, PYTHONPATH=str(fuzz_models.REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("EDGEBNN_TRACEBACK", None)
    proc = subprocess.run([sys.executable, "-m", "edgebnn", "compile", str(path), "-o", str(tmp_path / "out")],
                          capture_output=True, text=True, env=env, timeout=fuzz_models.CASE_SECONDS)
    problem = fuzz_models._check_outcome(proc.returncode, proc.stdout, proc.stderr, tmp_path / "out", tmp_path)
    assert not problem, f"{kind} case {i} ({desc}; seed {SEED}): {problem}"
    assert proc.returncode in (0, 2) and "Traceback" not in proc.stderr


@pytest.mark.parametrize("where", ["node_name", "op_type", "domain", "tensor"])
def test_strings_that_are_not_utf8(tmp_path, capsys, where):
    """Protobuf (upb) returns a corrupt string field as bytes: refused with one line, exit 2."""
    m = _model()
    node = m.graph.node[0]
    if where == "node_name":
        node.name = "ZZZZ"
    elif where == "op_type":
        node.op_type = "ZZZZ"
    elif where == "domain":
        node.domain = "ZZZZ"
    else:
        for n in m.graph.node[1:]:
            for j, x in enumerate(n.input):
                if x == node.output[0]:
                    n.input[j] = "ZZZZ"
        node.output[0] = "ZZZZ"
    data = m.SerializeToString().replace(b"ZZZZ", b"\xf1\x80\xffZ")
    path = tmp_path / "model.onnx"
    path.write_bytes(data)
    assert cli.main(["compile", str(path), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("edgebnn: error: ") and err.count("\n") == 1 and "UTF-8" in err, err
    assert not (tmp_path / "out").exists()
