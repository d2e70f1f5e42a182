"""Emulation (issue 6): the emitted C cross-compiled for Cortex-M3/M4/M7/M33, run under QEMU,
bit-identical to the host build and the reference, with deterministic instruction counts.

These tests need gcc-arm-none-eabi, libnewlib-arm-none-eabi and qemu-system-arm (scripts/setup.sh
installs them); without them they fail, they are never skipped.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import edgebnn
from edgebnn.check.emulate import INSTALL, UNIT
from edgebnn.errors import EdgebnnError

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))

from mnist_data import load_mnist_test, tfc_inputs  # noqa: E402

MODEL = ROOT / "examples" / "models" / "tfc_w1a1" / "TFC_1W1A.onnx"
MACHINES = {"cortex-m3": "mps2-an385", "cortex-m4": "mps2-an386", "cortex-m7": "mps2-an500",
            "cortex-m33": "mps2-an505"}


@pytest.fixture(scope="module", autouse=True)
def toolchain():
    missing = [t for t in ("arm-none-eabi-gcc", "arm-none-eabi-size", "qemu-system-arm") if not shutil.which(t)]
    if missing:
        pytest.fail(f"emulation tests need {', '.join(missing)}: {INSTALL} (or run scripts/setup.sh)")


@pytest.fixture(scope="module")
def mnist():
    images, _ = load_mnist_test()
    return tfc_inputs(images[:100])


@pytest.fixture(scope="module")
def m4(mnist, tmp_path_factory):
    compiled = edgebnn.compile(MODEL, target="cortex-m4", out_dir=tmp_path_factory.mktemp("m4") / "out")
    outputs, stats = compiled.emulate(mnist)
    return compiled, outputs, stats


def _check_run(compiled, x, outputs, stats, machine):
    assert outputs.shape == compiled.run(x).shape == (len(x), 10)
    assert np.array_equal(outputs, compiled.run(x))
    assert np.array_equal(outputs, np.asarray(edgebnn.reference(MODEL).run(x), np.float32).reshape(outputs.shape))
    assert stats["identical"] and stats["identical_to_host"] and stats["identical_to_reference"]
    assert stats["machine"] == machine and stats["unit"] == UNIT
    n_layers = len(compiled.report["layers"])
    assert len(stats["per_layer_instructions"]) == n_layers
    # every count is exact to within the resolution of the measurement
    assert all(c >= -stats["resolution_instructions"] for c in stats["per_layer_instructions"])
    assert sum(stats["per_layer_instructions"]) > 0
    assert len(stats["instructions"]) == len(x)
    # TFC: ~59k binary MACs and 784 binarised pixels cost about ten thousand instructions
    # (at most 8 binary MACs per instruction without a popcount instruction).
    assert 7_000 < stats["instructions_per_inference"] < 1_000_000
    assert stats["instructions_min"] <= stats["instructions_per_inference"] <= stats["instructions_max"]
    # The hooks' own cost is taken out: the layers add up to the whole inference but for
    # model_run's entry and exit (a few instructions) and one resolution step per layer.
    gap = stats["instructions_per_inference"] - sum(stats["per_layer_instructions"])
    assert -stats["resolution_instructions"] * n_layers <= gap <= 64
    assert 0 < stats["model_flash_bytes"] < stats["flash_bytes"]
    assert 0 < stats["model_ram_bytes"] < stats["ram_bytes"]
    assert stats["flash_bytes"] == stats["image"]["text"] + stats["image"]["data"]


def test_tfc_100_mnist_images_on_cortex_m4(m4, mnist):
    compiled, outputs, stats = m4
    _check_run(compiled, mnist, outputs, stats, "mps2-an386")
    assert stats["instructions_per_systick"] == 40  # 25 MHz SysTick, 1 ns per instruction


def test_report_json_gets_the_emulation_figures(m4):
    compiled, _, stats = m4
    on_disk = json.loads((compiled.out_dir / "report.json").read_text())
    for report in (compiled.report, on_disk):
        emu = report["emulation"]
        assert emu["machine"] == "mps2-an386"
        assert emu["instructions_per_inference"] == stats["instructions_per_inference"]
        assert emu["per_layer_instructions"] == stats["per_layer_instructions"]
        assert len(emu["per_layer_instructions"]) == len(report["layers"])
        assert emu["flash_bytes"] == stats["flash_bytes"] and emu["ram_bytes"] == stats["ram_bytes"]
    assert on_disk["layers"] == compiled.report["layers"]


def test_same_emulation_twice_gives_the_same_instruction_counts(m4, mnist):
    compiled, outputs, stats = m4
    again_out, again = compiled.emulate(mnist[:10])
    assert np.array_equal(again_out, outputs[:10])
    assert again["instructions"] == stats["instructions"][:10]
    third_out, third = compiled.emulate(mnist[:10])
    assert third["instructions"] == again["instructions"]
    assert third["per_layer_instructions"] == again["per_layer_instructions"]
    assert third["instructions_per_inference"] == again["instructions_per_inference"]


@pytest.mark.parametrize("target", ["cortex-m3", "cortex-m7", "cortex-m33"])
def test_tfc_on_other_cortex_m_targets(target, mnist):
    x = mnist[:10]
    compiled = edgebnn.compile(MODEL, target=target)
    outputs, stats = compiled.emulate(x)
    _check_run(compiled, x, outputs, stats, MACHINES[target])
    assert compiled.report["emulation"]["machine"] == MACHINES[target]


def _small_cnn():
    """Real-valued 3x3 conv (padded) -> Sign -> binary 3x3 conv -> MaxPool 2x2 -> Sign -> binary dense."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.RandomState(0)
    weights = {"w0": rng.standard_normal((4, 1, 3, 3)), "w1": np.sign(rng.standard_normal((8, 4, 3, 3))),
               "w2": np.sign(rng.standard_normal((72, 10)))}
    nodes = [helper.make_node("Conv", ["x", "w0"], ["c0"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node("Sign", ["c0"], ["s0"]),
             helper.make_node("Conv", ["s0", "w1"], ["c1"], kernel_shape=[3, 3]),
             helper.make_node("MaxPool", ["c1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Sign", ["p1"], ["s1"]),
             helper.make_node("Flatten", ["s1"], ["f"], axis=1),
             helper.make_node("MatMul", ["f", "w2"], ["y"])]
    graph = helper.make_graph(
        nodes, "small_cnn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])],
        initializer=[numpy_helper.from_array(w.astype(np.float32), k) for k, w in weights.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), rng


@pytest.mark.parametrize("target", ["cortex-m4", "cortex-m33"])
def test_small_cnn_bit_exact_under_emulation(target):
    model, rng = _small_cnn()
    compiled = edgebnn.compile(model, target=target)
    assert "bconv" in [r["op"] for r in compiled.report["layers"]]
    x = rng.standard_normal((4, 1, 8, 8)).astype(np.float32)
    outputs, stats = compiled.emulate(x)
    assert np.array_equal(outputs, compiled.run(x)) and stats["identical"]
    assert len(stats["per_layer_instructions"]) == len(compiled.report["layers"])


def test_cli_emulate_json(tmp_path, mnist):
    np.save(tmp_path / "x.npy", mnist[:12])
    done = subprocess.run([sys.executable, "-m", "edgebnn", "emulate", str(MODEL), "--target", "cortex-m4",
                           "--inputs", str(tmp_path / "x.npy"), "-n", "5", "--json"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    stats = json.loads(done.stdout)
    assert stats["inferences"] == 5 and stats["identical"]
    assert stats["machine"] == "mps2-an386" and stats["unit"] == UNIT
    assert len(stats["per_layer_instructions"]) == 6  # the thresholds run inside the binary layers
    assert stats["instructions_per_inference"] > 0 and stats["flash_bytes"] > 0 and stats["ram_bytes"] > 0


def test_cli_emulate_table(tmp_path):
    done = subprocess.run([sys.executable, "-m", "edgebnn", "emulate", str(MODEL), "--target", "cortex-m7", "-n", "2"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    assert "instructions per inference" in done.stdout and "not cycles" in done.stdout
    assert "identical" in done.stdout and "DIFFERENT" not in done.stdout


def test_missing_toolchain_is_one_clear_error(monkeypatch, mnist, tmp_path):
    compiled = edgebnn.compile(MODEL, target="cortex-m4")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(EdgebnnError, match="apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm"):
        compiled.emulate(mnist[:1])


def test_qemu_timeout_is_an_error(mnist):
    compiled = edgebnn.compile(MODEL, target="cortex-m4")
    with pytest.raises(EdgebnnError, match="did not finish"):
        compiled.emulate(mnist[:5], timeout=0.01)


def test_host_target_cannot_be_emulated(mnist):
    compiled = edgebnn.compile(MODEL, target="host")
    with pytest.raises(EdgebnnError, match="no QEMU machine"):
        compiled.emulate(mnist[:1])


def test_firmware_is_warning_free(tmp_path):
    """The firmware sources compile with -Wall -Wextra -Werror -pedantic on every Cortex-M target."""
    from edgebnn import resources, targets

    rt = resources.runtime_c()
    out = edgebnn.compile(MODEL, target="cortex-m4", out_dir=tmp_path / "out").out_dir
    for name in MACHINES:
        t = targets.get(name)
        for src in ("emu_main.c", "emu_startup.c"):
            subprocess.run([t.cc, *t.cflags, "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-pedantic",
                            f"-I{out}", "-c", str(rt / src), "-o", str(tmp_path / f"{name}-{src}.o")],
                           check=True, capture_output=True, text=True)
