"""Every error a user can cause is exit status 2 and one line; impossible model parameters
are refused (or compiled exactly, as `validate` against onnxruntime shows); the host build
cache loads only what this user built in a private folder.  Real `edgebnn` processes."""
from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from onnx import helper, numpy_helper

import edgebnn
from edgebnn.check import cache, harness
from onnx_builders import small_known_mlp

REPO_ROOT = Path(__file__).resolve().parent.parent


def edgebnn_cli(*args, cwd, env=None) -> subprocess.CompletedProcess:
    full = dict(os.environ, PYTHONPATH=str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""), **(env or {}))
    return subprocess.run([sys.executable, "-m", "edgebnn", *map(str, args)], capture_output=True, text=True,
                          env=full, cwd=cwd, timeout=600)


def one_line(proc, code: int = 2) -> str:
    assert proc.returncode == code, f"exit {proc.returncode}, expected {code}:\n{proc.stderr}"
    lines = proc.stderr.rstrip("\n").split("\n")
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("inputs")
    model = small_known_mlp("sign", seed=2).model
    (d / "m.onnx").write_bytes(model.SerializeToString())
    k = model.graph.input[0].type.tensor_type.shape.dim[1].dim_value
    np.save(d / "empty.npy", np.zeros((0, k), np.float32))
    np.save(d / "wrong.npy", np.zeros((3, k + 1), np.float32))
    np.save(d / "nan.npy", np.full((2, k), np.nan, np.float32))
    np.save(d / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    (d / "text.npy").write_text("1 2 3\n")
    (d / "pickled.npy").write_bytes(pickle.dumps([1, 2]))
    (d / "empty.onnx").write_bytes(b"")
    (d / "model.tflite").write_bytes(b"\x1c\x00\x00\x00TFL3" + bytes(64))
    (d / "folder.onnx").mkdir()
    with open(d / "huge.onnx", "wb") as f:  # sparse: 3 GB on paper, nothing on disk
        f.truncate(3 << 30)
    return d


# (case, arguments, a phrase the line must hold)
CLI_CASES = [
    ("validate --random 0", ["validate", "m.onnx", "--random", "0"], "count of 1 or more"),
    ("validate --random -5", ["validate", "m.onnx", "--random", "-5"], "count of 1 or more"),
    ("validate --random x", ["validate", "m.onnx", "--random", "x"], "--random"),
    ("emulate -n 0", ["emulate", "m.onnx", "-n", "0"], "count of 1 or more"),
    ("emulate -n -1", ["emulate", "m.onnx", "-n", "-1"], "count of 1 or more"),
    ("emulate --timeout 0", ["emulate", "m.onnx", "--timeout", "0"], "positive number of seconds"),
    ("an empty .npy", ["validate", "m.onnx", "--inputs", "empty.npy"], "N >= 1"),
    ("a .npy of the wrong shape", ["validate", "m.onnx", "--inputs", "wrong.npy"], "the model takes"),
    ("a .npy of NaN", ["validate", "m.onnx", "--inputs", "nan.npy"], "NaN"),
    ("a text file as .npy", ["validate", "m.onnx", "--inputs", "text.npy"], "not a .npy file"),
    ("a pickle as .npy", ["validate", "m.onnx", "--inputs", "pickled.npy"], "not a .npy file"),
    ("a .npy of objects", ["validate", "m.onnx", "--inputs", "objects.npy"], "not a numeric .npy"),
    ("no such inputs", ["validate", "m.onnx", "--inputs", "missing.npy"], "missing.npy"),
    ("a folder as the model", ["compile", "folder.onnx", "-o", "o"], "is a folder"),
    ("/dev/null as the model", ["inspect", "/dev/null"], "not a regular file"),
    ("/dev/zero as the model", ["inspect", "/dev/zero"], "not a regular file"),
    ("an empty model file", ["inspect", "empty.onnx"], "is empty"),
    ("a TFLite file", ["inspect", "model.tflite"], "TensorFlow Lite"),
    ("a 3 GB file", ["inspect", "huge.onnx"], "more than the 2 GiB"),
    ("no such model", ["inspect", "nothing.onnx"], "nothing.onnx"),
    ("--sram far too large", ["inspect", "m.onnx", "--sram", "99999999999999999999999"], "from 1 to 4GiB"),
    ("--sram not whole", ["inspect", "m.onnx", "--sram", "1.3K"], "whole number"),
    ("--sram 0", ["inspect", "m.onnx", "--sram", "0"], "from 1 to 4GiB"),
    ("--flash not a size", ["inspect", "m.onnx", "--flash", "lots"], "not a size"),
    ("an unknown target", ["inspect", "m.onnx", "--target", "z80"], "unknown target"),
    ("an unknown option", ["compile", "m.onnx", "--fast"], "unrecognized arguments"),
]


@pytest.mark.parametrize("case,args,phrase", CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_user_errors_are_exit_2_and_one_line(files, case, args, phrase):
    line = one_line(edgebnn_cli(*args, cwd=files))
    assert line.startswith("edgebnn") and phrase in line, line
    assert not (files / "o").exists()


def test_sizes_are_exact_and_take_gigabytes(files):
    proc = edgebnn_cli("inspect", "m.onnx", "--json", "--sram", "2GiB", "--flash", "1.5M", cwd=files)
    assert proc.returncode == 0, proc.stderr
    budget = json.loads(proc.stdout)["budget"]
    assert (budget["sram_bytes"], budget["flash_bytes"]) == (2 << 30, 3 << 19)


def _bn(m):
    return next(n for n in m.graph.node if n.op_type == "BatchNormalization")


def _set_param(node_of, index, value, epsilon=None):
    def mutate(m):
        node = node_of(m)
        t = next(i for i in m.graph.initializer if i.name == node.input[index])
        a = numpy_helper.to_array(t).copy()
        a.reshape(-1)[1] = value
        t.CopyFrom(numpy_helper.from_array(a, t.name))
        if epsilon is not None:
            kept = [a for a in node.attribute if a.name != "epsilon"]
            del node.attribute[:]
            node.attribute.extend(kept + [helper.make_attribute("epsilon", epsilon)])
    return mutate


def _both(first, second):
    def mutate(m):
        first(m)
        second(m)
    return mutate


def _gemm_attr(name, value):
    def mutate(m):
        node = next(n for n in m.graph.node if n.op_type == "Gemm")
        kept = [a for a in node.attribute if a.name != name]
        del node.attribute[:]
        node.attribute.extend(kept + [helper.make_attribute(name, value)])
    return mutate


def _float16_weight(m):
    t = max(m.graph.initializer, key=lambda i: int(np.prod(i.dims)))
    t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t).astype(np.float16), t.name))


def _duplicate_names(m):
    for n in m.graph.node:
        n.name = "same"


def _opset(version):
    def mutate(m):
        next(o for o in m.opset_import if o.domain in ("", "ai.onnx")).version = version
    return mutate


# (case, mutation, None when it must compile and validate, else a phrase of the refusal)
MODEL_CASES = [
    ("BN scale NaN", _set_param(_bn, 1, np.nan), "'scale'"),
    ("BN bias +inf", _set_param(_bn, 2, np.inf), "'B'"),
    ("BN mean -inf", _set_param(_bn, 3, -np.inf), "'mean'"),
    ("BN var NaN", _set_param(_bn, 4, np.nan), "'var'"),
    ("BN negative var", _set_param(_bn, 4, -1.0), "var + epsilon"),
    ("BN zero var, epsilon 0", _set_param(_bn, 4, 0.0, epsilon=0.0), "var + epsilon"),
    ("BN var 0, epsilon 1e-45 (finite)", _set_param(_bn, 4, 0.0, epsilon=1e-45), None),
    ("BN scale overflowing float32", _both(_set_param(_bn, 4, 0.0, epsilon=1e-45), _set_param(_bn, 1, 1e20)),
     "overflows float32"),
    ("Gemm alpha NaN", _gemm_attr("alpha", float("nan")), "'alpha'"),
    ("Gemm beta inf", _gemm_attr("beta", float("inf")), "'beta'"),
    ("float16 weights", _float16_weight, "element types"),
    ("opset 99", _opset(99), "opset 99"),
    ("opset 6", _opset(6), "opset 6"),
    ("duplicate node names", _duplicate_names, None),
]


@pytest.mark.parametrize("case,mutate,refusal", MODEL_CASES, ids=[c[0] for c in MODEL_CASES])
def test_impossible_parameters_are_refused_never_mismatched(tmp_path, case, mutate, refusal):
    m = small_known_mlp("sign", seed=2).model
    mutate(m)
    (tmp_path / "m.onnx").write_bytes(m.SerializeToString())
    if refusal is None:  # compiled, and the C agrees with onnxruntime
        proc = edgebnn_cli("validate", "m.onnx", "--random", "20", "--json", cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        result = json.loads(proc.stdout)
        assert result["ok"] and result["c_vs_onnxruntime"]["class_agree"] == 20
        return
    for cmd in (["compile", "m.onnx", "-o", "out"], ["validate", "m.onnx", "--random", "5"]):
        line = one_line(edgebnn_cli(*cmd, cwd=tmp_path))
        assert refusal in line, line
        if "opset" not in case and "float16" not in case:
            assert "node '" in line, line
    assert not (tmp_path / "out").exists()


def test_json_output_is_strict(files):
    proc = edgebnn_cli("validate", "m.onnx", "--random", "3", "--json", cwd=files)

    def refuse(name):
        raise ValueError(f"{name} is not JSON")

    assert proc.returncode == 0 and json.loads(proc.stdout, parse_constant=refuse)["ok"]
    from edgebnn.report import jsontext

    text = jsontext.dumps({"e": float("nan"), "rows": [1.5, float("-inf")]})
    assert json.loads(text, parse_constant=refuse) == {"e": None, "rows": [1.5, None]}


# -- the host build cache ---------------------------------------------------------------------
EVIL = r"""
#include <stdio.h>
__attribute__((constructor)) static void planted(void)
{
    FILE *f = fopen(MARKER, "w");
    if (f) { fputs("the planted library ran\n", f); fclose(f); }
}
"""


@pytest.fixture
def planted(tmp_path, monkeypatch):
    """A compiled model, a private cache, and a library that writes a marker file when it is
    loaded, planted under the name the harness looks for."""
    monkeypatch.setenv("EDGEBNN_CACHE_DIR", str(tmp_path / "cache"))
    compiled = edgebnn.compile(small_known_mlp("sign", seed=2).model, out_dir=tmp_path / "out")
    name = harness.library_name(compiled.out_dir, ())
    folder = cache.folder("host", name)
    src, marker = tmp_path / "evil.c", tmp_path / "marker"
    src.write_text(EVIL)
    subprocess.run(["gcc", "-shared", "-fPIC", f'-DMARKER="{marker}"', str(src), "-o", str(folder / f"{name}.so")],
                   check=True)
    return compiled, folder, marker


def _x(compiled):
    return np.zeros((1,) + tuple(compiled.graph.input_shape[1:]), np.float32)


def test_the_planted_library_is_found_where_the_harness_looks(planted):
    """The control: in a private folder of ours, a library of ours by that name is loaded."""
    compiled, folder, marker = planted
    with pytest.raises(ImportError):  # not a Python extension, but its constructor ran
        compiled.run(_x(compiled))
    assert marker.exists()


@pytest.mark.parametrize("how", ["world-writable cache", "cache of another user", "group-writable build folder"])
def test_an_untrusted_cache_is_never_used(planted, how):
    compiled, folder, marker = planted
    root = cache.root()
    if how == "world-writable cache":
        root.chmod(0o777)
    elif how == "cache of another user":
        if os.geteuid() != 0:
            pytest.skip("giving a folder to another user needs root (CI runs as root)")
        os.chown(root, 65534, 65534)
    else:
        folder.chmod(0o770)
    with pytest.raises(edgebnn.EdgebnnError, match="build cache"):
        compiled.run(_x(compiled))
    assert not marker.exists()


@pytest.mark.parametrize("how", ["writable by others", "owned by another user"])
def test_an_untrusted_library_is_rebuilt_not_loaded(planted, how):
    compiled, folder, marker = planted
    lib = next(folder.glob("*.so"))
    if how == "writable by others":
        lib.chmod(0o666)
    elif os.geteuid() == 0:
        os.chown(lib, 65534, 65534)
    else:
        pytest.skip("giving a file to another user needs root (CI runs as root)")
    y = compiled.run(_x(compiled))
    assert y.shape[0] == 1 and not marker.exists()


def test_validate_refuses_an_untrusted_cache_with_exit_2(tmp_path):
    (tmp_path / "m.onnx").write_bytes(small_known_mlp("sign", seed=2).model.SerializeToString())
    (tmp_path / "cache").mkdir(mode=0o777)
    (tmp_path / "cache").chmod(0o777)
    line = one_line(edgebnn_cli("validate", "m.onnx", "--random", "2", cwd=tmp_path,
                                env={"EDGEBNN_CACHE_DIR": str(tmp_path / "cache")}))
    assert "build cache" in line and "writable by other users" in line


def test_a_cache_that_is_a_symlink_is_refused(tmp_path, monkeypatch):
    (tmp_path / "real").mkdir(mode=0o700)
    (tmp_path / "link").symlink_to(tmp_path / "real")
    monkeypatch.setenv("EDGEBNN_CACHE_DIR", str(tmp_path / "link"))
    with pytest.raises(edgebnn.EdgebnnError, match="symbolic link"):
        cache.folder("host")


def test_a_new_cache_is_private(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGEBNN_CACHE_DIR", str(tmp_path / "c"))
    folder = cache.folder("host", "x")
    for p in (tmp_path / "c", tmp_path / "c" / "host", folder):
        assert p.stat().st_mode & 0o777 == 0o700
