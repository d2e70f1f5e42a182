"""edgebnn design: its proposals compile and fit (the real compiler, arm-none-eabi-size), its
estimates match the compiled C and QEMU's counts, bad requests are one line and exit 2."""
from __future__ import annotations

import json

import numpy as np
import pytest

import edgebnn
from edgebnn import cli
from edgebnn.design import estimate, onnxgen, qemu, search, space
from edgebnn.targets import get


@pytest.fixture(scope="module")
def m0_design(tmp_path_factory):
    out = tmp_path_factory.mktemp("design")
    code = cli.main(["design", "--target", "cortex-m0plus", "--sram", "16KiB", "--flash", "64KiB", "-o", str(out),
                     "--emit", str(out / "emit")])
    assert code == 0
    return out, json.loads((out / "candidates.json").read_text())


def test_m0plus_16k_64k_proposals_compile_and_fit(m0_design, tmp_path):
    out, data = m0_design
    front = data["front"]
    assert len(front) >= 3 and (out / "design.png").stat().st_size > 10000
    picks = front[:3] + [next(r for r in front if r["arch"]["family"] == "cnn")]
    for i, row in enumerate(picks):
        # another random draw than the estimate's: the proposal is about the shape, not these weights
        model = onnxgen.build(row["arch"], seed=7)
        compiled = edgebnn.compile(model, target="cortex-m0plus", sram="16KiB", flash="64KiB", out_dir=tmp_path / str(i))
        m = compiled.report["memory"]
        assert m["code_source"] == "measured"  # flash from arm-none-eabi-size of the objects
        assert m["flash_bytes"] <= 64 * 1024 and m["sram_bytes"] <= 16 * 1024
    assert (out / "emit" / "skeleton.onnx").is_file() and "ARCH = {" in (out / "emit" / "train.py").read_text()
    edgebnn.compile(str(out / "emit" / "skeleton.onnx"), target="cortex-m0plus", sram="16KiB", flash="64KiB")


def _five(target, sram, flash):
    tgt = get(target).with_budget(sram, flash)
    rows = search.run(space.candidates((1, 28, 28), 10), tgt)
    front = search.pareto(rows)
    mlp = [r for r in front if r["arch"]["family"] == "mlp"]
    cnn = [r for r in front if r["arch"]["family"] == "cnn"]
    sparse = [r for r in front if "huffman" in r["formats"] or "masked" in r["formats"]]
    chosen = []
    for r in (mlp[0], cnn[0], sparse[0], mlp[len(mlp) // 2], cnn[-1]):
        if r not in chosen:
            chosen.append(r)
    return (chosen + [r for r in front if r not in chosen])[:5]


@pytest.mark.parametrize("target", ["cortex-m3", "cortex-m0plus"])
def test_estimates_match_compiled_c_and_qemu(target, tmp_path):
    rows = _five(target, "32KiB", "128KiB")
    for i, row in enumerate(rows):
        compiled = edgebnn.compile(onnxgen.build(row["arch"], seed=11), target=target, out_dir=tmp_path / str(i))
        x = np.random.default_rng(i).random((1, 1, 28, 28)).astype(np.float32)
        stats = qemu.count(compiled, x)
        assert stats["identical"]
        m = compiled.report["memory"]
        # flash: arm-none-eabi-size of the model's objects (text + data) + the const data they hold
        assert abs(m["flash_bytes"] - row["flash_bytes"]) <= 0.05 * m["flash_bytes"], row["label"]
        assert abs(stats["model_flash_bytes"] - row["flash_bytes"]) <= 0.05 * stats["model_flash_bytes"], row["label"]
        assert abs(m["sram_bytes"] - row["sram_bytes"]) <= 0.05 * m["sram_bytes"], row["label"]
        # the static arena as the linker sees it (bss), against the estimate's
        assert abs(stats["model_ram_bytes"] - row["arena_bytes"]) <= 0.05 * stats["model_ram_bytes"] + 8, row["label"]
        measured = stats["instructions_per_inference"]
        assert abs(measured - row["instructions"]) <= 0.15 * measured, (row["label"], measured, row["instructions"])


@pytest.mark.parametrize("argv, words", [
    (["--input", "1x0x28"], "--input"),
    (["--input", "axb"], "--input"),
    (["--target", "cortex-m99"], "unknown target"),
    (["--sram", "1KiB"], "no candidate can fit"),
    (["--sram", "3500"], "no candidate fits"),
    (["--classes", "1"], "--classes"),
])
def test_bad_requests_exit_2_with_one_line(argv, words, capsys, tmp_path):
    assert cli.main(["design", "--family", "mlp", "-o", str(tmp_path / "o"), *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0], err
    assert not (tmp_path / "o").exists()


def test_estimate_is_independent_of_the_sibling_build():
    """Two candidates of one structure: the second's sizes come from the first's build."""
    a = {"family": "mlp", "input": [1, 28, 28], "classes": 10,
         "layers": [{"op": "dense", "out": 96, "rate": 0.1}, {"op": "dense", "out": 10, "rate": 1.0}]}
    b = json.loads(json.dumps(a))
    b["layers"][0]["out"] = 300
    estimate.estimate(a, "cortex-m4", instructions=False)
    est = estimate.estimate(b, "cortex-m4", instructions=False)
    real = edgebnn.compile(onnxgen.build(b), target="cortex-m4").report["memory"]
    assert abs(real["flash_bytes"] - est["flash_bytes"]) <= 0.05 * real["flash_bytes"]
    assert real["sram_bytes"] == est["sram_bytes"] or abs(real["sram_bytes"] - est["sram_bytes"]) <= 16


def test_suggestions_for_a_model_that_does_not_fit(capsys, tmp_path):
    """The suggested rate is checked here by the real compiler on a model sparsified to it."""
    from edgebnn.report.suggest import suggestions

    model = "examples/models/sbnn/sbnn_mlp_p10.onnx"
    rep = edgebnn.compiler.analyse(model, "cortex-m0plus", None, "18KiB")[-1]
    lines = suggestions(model, rep)
    assert len(lines) == 1 and "connection rate of" in lines[0]
    assert cli.main(["compile", model, "--target", "cortex-m0plus", "--flash", "18KiB", "-o", str(tmp_path / "o")]) == 2
    assert "suggestion: flash: a connection rate of" in capsys.readouterr().err
    rate = float(lines[0].split("connection rate of ")[1].split("%")[0]) / 100
    names = [n.split("'")[0] for n in lines[0].split(" in '")[1].split(", '")]
    from edgebnn import frontend
    from edgebnn.report.suggest import _sparsify

    g = _sparsify(frontend.load(model), names, rate)
    compiled = edgebnn.compile(g, target="cortex-m0plus", flash="18KiB")
    assert compiled.report["memory"]["flash_bytes"] <= 18 * 1024


def test_table_with_accuracy_on_some_rows():
    from edgebnn.design.command import table

    base = {"label": "f64 f10", "params": 1, "connections": 1, "macs": 1, "flash_bytes": 1, "sram_bytes": 1,
            "instructions": 1, "formats": ["bits"]}
    text = table([{**base, "accuracy": 0.9}, base])
    assert "90.00%" in text and text.splitlines()[-1].rstrip().endswith("-")
