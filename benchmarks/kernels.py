"""Kernel benchmark under emulation: binary MACs per instruction, portable vs optimised kernels.

    python benchmarks/kernels.py --target cortex-m4 [--json FILE] [--no-networks] [--real-only] [--readme]

Each kernel shape is a one-layer ONNX model (Sign -> MatMul / Conv with +-1 weights) compiled
twice (kernels="reference" and "optimized") and run under QEMU -icount by edgebnn's emulator;
the figure is that layer's per-layer instruction count (instructions under QEMU -icount, not
cycles).  JSON rows (DESIGN.md, Contracts): kernel, shape, variant, sparsity, binary_macs,
instructions.  Real-valued first layers follow (float conv or dense -> BN -> sign, the
"optimized" variant one fused kernel writing bits, the "reference" one the float layer and
its binarizer): real MACs per instruction, JSON rows with ``real_macs`` too.  A whole-network
table follows: TFC-W1A1 and the example CNNs and SBNNs.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "examples"))
sys.path.insert(0, str(ROOT / "tests"))

import edgebnn  # noqa: E402
import readme_tables  # noqa: E402
from edgebnn.check.emulate import UNIT  # noqa: E402

VARIANTS = ("reference", "optimized")
TFC = ROOT / "examples" / "models" / "tfc_w1a1" / "TFC_1W1A.onnx"


def _pm1(rng, shape, sparsity):
    """+-1 weights; with sparsity s, a fraction s of them pruned to exact zeros (pruned
    bipolar SBNN weights: edgebnn stores them masked or Huffman-coded, edgebnn/passes/encoding.py)."""
    w = np.where(rng.random(shape) < 0.5, 1.0, -1.0)
    if sparsity:
        w = w * (rng.random(shape) >= sparsity)
    return w.astype(np.float32)


def dense_model(k, n, sparsity=0.0, seed=0):
    rng = np.random.default_rng(seed)
    w = numpy_helper.from_array(_pm1(rng, (k, n), sparsity), "w")
    nodes = [helper.make_node("Sign", ["x"], ["a"]), helper.make_node("MatMul", ["a", "w"], ["y"])]
    g = helper.make_graph(nodes, "dense", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, k])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, n])], initializer=[w])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), (1, k)


def conv_model(c, m, hw, pad, sparsity=0.0, seed=0):
    rng = np.random.default_rng(seed)
    w = numpy_helper.from_array(_pm1(rng, (m, c, 3, 3), sparsity), "w")
    ho = hw + 2 * pad - 2
    nodes = [helper.make_node("Sign", ["x"], ["a"]),
             helper.make_node("Conv", ["a", "w"], ["y"], kernel_shape=[3, 3], pads=[pad] * 4)]
    g = helper.make_graph(nodes, "conv", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c, hw, hw])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, m, ho, ho])], initializer=[w])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), (1, c, hw, hw)


def conv_pool_model(c, m, hw, pad, pool=2, bn_first=False, seed=0):
    """Sign -> Conv 3x3 (+-1 weights) -> MaxPool pool/pool -> BatchNorm -> Sign (BatchNorm -> Sign
    -> MaxPool when bn_first), random BN statistics with gammas of both signs: the binary convs
    of an XNOR CNN, whose kernel writes the pooled bits."""
    rng = np.random.default_rng(seed)
    ho = hw + 2 * pad - 2
    po = ho // pool
    gamma = rng.uniform(0.5, 1.5, m) * np.where(rng.random(m) < 0.5, -1.0, 1.0)
    inits = [numpy_helper.from_array(_pm1(rng, (m, c, 3, 3), 0.0), "w")] + [
        numpy_helper.from_array(v.astype(np.float32), name) for name, v in (
            ("g", gamma), ("b", rng.normal(0, 2, m)), ("mu", rng.normal(0, 4, m)), ("var", rng.uniform(1, 30, m)))]
    pool_node = helper.make_node("MaxPool", ["p_in"], ["p_out"], kernel_shape=[pool, pool], strides=[pool, pool])
    bn = ["g", "b", "mu", "var"]
    if bn_first:
        nodes = [helper.make_node("BatchNormalization", ["y"] + bn, ["n"]), helper.make_node("Sign", ["n"], ["p_in"]),
                 pool_node, helper.make_node("Identity", ["p_out"], ["z"])]
    else:
        nodes = [helper.make_node("Identity", ["y"], ["p_in"]), pool_node,
                 helper.make_node("BatchNormalization", ["p_out"] + bn, ["n"]), helper.make_node("Sign", ["n"], ["z"])]
    nodes = [helper.make_node("Sign", ["x"], ["a"]),
             helper.make_node("Conv", ["a", "w"], ["y"], kernel_shape=[3, 3], pads=[pad] * 4)] + nodes
    g = helper.make_graph(nodes, "conv_pool", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c, hw, hw])],
                          [helper.make_tensor_value_info("z", TensorProto.FLOAT, [1, m, po, po])], initializer=inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), (1, c, hw, hw)


def shapes():
    yield "bdense", "K=784->64 (TFC layer 1)", 0.0, dense_model(784, 64)
    yield "bdense", "K=64->64 (TFC layers 2, 3)", 0.0, dense_model(64, 64)
    yield "bdense", "K=1024->256", 0.0, dense_model(1024, 256)
    yield "bdense", "K=3136->128 (98 words)", 0.0, dense_model(3136, 128)
    yield "bconv", "3x3 64->64 16x16 pad 0", 0.0, conv_model(64, 64, 16, 0)
    yield "bconv", "3x3 64->64 16x16 pad 0", 0.9, conv_model(64, 64, 16, 0, 0.9)
    yield "bconv", "3x3 32->64 28x28 pad 1 +maxpool 2+BN+sign", 0.0, conv_pool_model(32, 64, 28, 1)
    yield "bconv", "3x3 64->64 14x14 pad 1 +maxpool 2+BN+sign", 0.0, conv_pool_model(64, 64, 14, 1)
    yield "bconv", "3x3 32->64 28x28 pad 1 +BN+sign+maxpool 2", 0.0, conv_pool_model(32, 64, 28, 1, bn_first=True)


def real_shapes():
    """(kernel, shape, model): float first layers feeding BN + sign, then a 1x1 binary conv
    (or a binary dense) so that the bits are read (tests/first_layer_builders.py)."""
    from first_layer_builders import first_conv, first_dense

    yield "conv", "3x3 1->32 28x28 pad 1 (the CNN's first conv)", first_conv(0, 1, 32, (28, 28), zero_gamma=False)
    yield "conv", "3x3 3->32 32x32 pad 1 (RGB)", first_conv(0, 3, 32, (32, 32), zero_gamma=False)
    yield "conv", "3x3 1->32 28x28 pad 1, max-pool 2", first_conv(0, 1, 32, (28, 28), pool=2, zero_gamma=False)
    yield "dense", "784->64", first_dense(0, 784, 64, zero_gamma=False)


def real_rows(target):
    """Instructions of the real layer and its binarizer (every layer before the first binary one)."""
    rows = []
    for kind, shape, built in real_shapes():
        for variant in VARIANTS:
            compiled = edgebnn.compile(built.model, target=target, kernels=variant, allow_overflow=True)
            x = np.random.default_rng(1).standard_normal((2,) + tuple(built.input_shape[1:])).astype(np.float32)
            _, stats = compiled.emulate(x, timeout=600)
            if not stats["identical"]:
                raise SystemExit(f"kernels.py: {kind} {shape} {variant}: outputs differ from the reference")
            layers = compiled.report["layers"]
            first = next(i for i, r in enumerate(layers) if r["op"] in ("bconv", "bdense"))
            rows.append({"kernel": kind, "shape": shape, "variant": variant, "sparsity": 0.0, "binary_macs": 0,
                         "real_macs": int(layers[0]["real_macs"]),
                         "instructions": int(sum(stats["per_layer_instructions"][:first]))})
    return rows


def measure_layer(model, in_shape, target, kernels, kind):
    compiled = edgebnn.compile(model, target=target, kernels=kernels, allow_overflow=True)
    x = np.random.default_rng(1).standard_normal((2,) + tuple(in_shape[1:])).astype(np.float32)
    _, stats = compiled.emulate(x, timeout=600)
    layers = compiled.report["layers"]
    i = next(j for j, r in enumerate(layers) if r["op"] == kind)
    return layers[i]["binary_macs"], stats["per_layer_instructions"][i], stats["identical"]


def kernel_rows(target):
    rows = []
    for kind, shape, sparsity, (model, in_shape) in shapes():
        for variant in VARIANTS:
            macs, insns, ok = measure_layer(model, in_shape, target, variant, kind)
            if not ok:
                raise SystemExit(f"kernels.py: {kind} {shape} {variant}: outputs differ from the reference")
            rows.append({"kernel": kind, "shape": shape, "variant": variant, "sparsity": sparsity,
                         "binary_macs": int(macs), "instructions": int(insns)})
    return rows


def networks():
    """(name, model path): TFC-W1A1 and every example CNN / SBNN shipped in examples/models."""
    yield "TFC-W1A1", TFC
    for folder in ("xnor_cnn", "sbnn"):
        for path in sorted((ROOT / "examples" / "models" / folder).glob("*.onnx")):
            yield path.stem, path


def network_rows(target, n_inputs=2):
    from mnist_data import load_mnist_test, tfc_inputs

    images, _ = load_mnist_test()
    rows = []
    for name, model in networks():
        for variant in VARIANTS:
            compiled = edgebnn.compile(model, target=target, kernels=variant, allow_overflow=True)
            shape = tuple(compiled.graph.input_shape[1:])
            if model == TFC:
                x = tfc_inputs(images[:n_inputs])
            else:  # MNIST digits scaled to [0, 1] in the model's input shape
                x = (images[:n_inputs].astype(np.float32) / 255.0).reshape((n_inputs,) + shape)
            _, s = compiled.emulate(x, timeout=900)
            rows.append({"network": name, "variant": variant, "binary_macs": compiled.report["totals"]["binary_macs"],
                         "instructions_per_inference": s["instructions_per_inference"], "identical": s["identical"]})
    return rows


def _pairs(rows):
    """One row per shape: the reference and the optimised kernels' instructions side by side."""
    out = {}
    for r in rows:
        out.setdefault((r["kernel"], r["shape"], r["sparsity"]), {})[r["variant"]] = r
    return [(k, v["reference"], v["optimized"]) for k, v in out.items()]


def binary_table(rows) -> str:
    body = [[kind, shape, f"{sparsity:.0%}", f"{ref['binary_macs']:,}", f"{ref['instructions']:,}",
             f"{ref['binary_macs'] / ref['instructions']:.2f}", f"{opt['instructions']:,}",
             f"{opt['binary_macs'] / opt['instructions']:.2f}"] for (kind, shape, sparsity), ref, opt in _pairs(rows)]
    head = ["kernel", "shape", "sparsity", "binary MACs", "reference instr.", "MACs/instr.", "optimised instr.",
            "MACs/instr."]
    return readme_tables.markdown(head, body, right=6)


def real_table(rows) -> str:
    body = [[kind, shape, f"{ref['real_macs']:,}", f"{ref['instructions']:,}",
             f"{ref['instructions'] / ref['real_macs']:.2f}", f"{opt['instructions']:,}",
             f"{opt['instructions'] / opt['real_macs']:.2f}"] for (kind, shape, _), ref, opt in _pairs(rows)]
    head = ["real layer + BN + sign", "shape", "real MACs", "reference instr.", "instr./MAC", "optimised instr.",
            "instr./MAC"]
    return readme_tables.markdown(head, body, right=5)


def network_table(nets) -> str:
    by = {(r["network"], r["variant"]): r for r in nets}
    names = list(dict.fromkeys(r["network"] for r in nets))
    body = []
    for name in names:
        ref, opt = by[name, "reference"], by[name, "optimized"]
        exact = "yes" if ref["identical"] and opt["identical"] else "NO"
        body.append([name, f"{ref['instructions_per_inference']:,}", f"{opt['instructions_per_inference']:,}",
                     f"{ref['instructions_per_inference'] / opt['instructions_per_inference']:.2f}x", exact])
    return readme_tables.markdown(["network", "reference instr./inference", "optimised", "speed-up", "bit-exact"],
                                  body, right=4)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--target", default="cortex-m4")
    p.add_argument("--json", help="write the kernel rows (DESIGN.md contract) to this file")
    p.add_argument("--no-networks", action="store_true", help="skip the whole-network table")
    p.add_argument("--real-only", action="store_true", help="only the real-valued first layers' table")
    p.add_argument("--readme", action="store_true", help="rewrite the README's kernel tables (all three)")
    args = p.parse_args(argv)
    if args.readme and (args.no_networks or args.real_only):
        p.error("--readme measures every table: drop --no-networks / --real-only")
    note = f"target {args.target}; instructions counted by QEMU -icount, deterministic ({UNIT})"
    tables = {}
    rows = [] if args.real_only else kernel_rows(args.target)
    if rows:
        tables["kernels"] = binary_table(rows)
    real = real_rows(args.target)
    tables["kernels-real"] = real_table(real)
    if not (args.no_networks or args.real_only):
        tables["kernels-networks"] = network_table(network_rows(args.target))
    for text in tables.values():
        print(text, note, "", sep="\n")
    if args.json:
        Path(args.json).write_text(json.dumps(rows + real, indent=2) + "\n")
    if args.readme:
        for name, text in tables.items():
            readme_tables.write(name, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
