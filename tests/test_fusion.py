"""Fusion as an IR pass (edgebnn/passes/fusion.py) and the kernel choice after it: an epilogue
joins its producer before planning, so the planner, the report, the reference and the C all
see one fused op, and the accumulator it hands over in registers gets no arena bytes."""
from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

import edgebnn
from cnn_builders import build_cnn
from edgebnn import compiler, frontend, planner
from edgebnn.ir.ops import OPS
from edgebnn.ir.reference import Reference
from edgebnn.passes import encoding, fusion, kernel_choice, packing, thresholds
from onnx_builders import random_mlp

TFC = Path(__file__).resolve().parents[1] / "examples" / "models" / "tfc_w1a1" / "TFC_1W1A.onnx"


def _before_fusion(model):
    """The graph after the passes that come before fusion."""
    graph = copy.deepcopy(frontend.load(model))
    return encoding.run(packing.run(thresholds.run(graph)))


def test_a_threshold_joins_the_binary_layer_before_it():
    graph = _before_fusion(TFC)
    kinds = [op.kind for op in graph.ops]
    fused = fusion.run(copy.deepcopy(graph), "optimized")
    assert len(fused.ops) == len(graph.ops) - kinds.count("threshold")
    for op in fused.ops:
        assert op.kind != "threshold"
        for e in op.epilogues:
            assert op.kind == "bdense" and e.kind == "threshold"
            assert op.outputs[0] == e.outputs[0] and op.result == e.inputs[0]
            assert fused.tensors[op.result].dtype == "i32" and fused.tensors[op.outputs[0]].dtype == "bits"
    assert sum(len(op.epilogues) for op in fused.ops) == kinds.count("threshold")


def test_the_portable_kernels_fuse_nothing():
    graph = fusion.run(_before_fusion(TFC), "reference")
    assert not any(op.epilogues for op in graph.ops)
    assert all(op.attrs["c_kernel"] == "portable" for op in kernel_choice.run(graph, "reference").ops)


def test_an_accumulator_with_another_reader_stays_a_tensor():
    graph = _before_fusion(TFC)
    bdense = next(op for op in graph.ops if op.kind == "bdense")
    threshold = next(op for op in graph.ops if op.inputs == bdense.outputs)
    spy = copy.deepcopy(threshold)
    spy.name, spy.outputs = "spy", [graph.fresh("spy")]
    graph.add_tensor(spy.outputs[0], "bits", graph.tensors[threshold.outputs[0]].shape)
    graph.ops.insert(graph.ops.index(threshold) + 1, spy)
    fused = fusion.run(graph, "optimized")
    producer = next(op for op in fused.ops if op.name == bdense.name)
    assert not producer.epilogues and threshold in fused.ops


def test_fused_accumulators_get_no_arena_bytes_and_tfc_fits_in_its_lower_bound():
    graph = compiler.lowered(TFC)
    plan = planner.plan(graph)
    accumulators = [e.inputs[0] for op in graph.ops for e in op.epilogues]
    assert accumulators and not set(accumulators) & set(plan.offsets)
    report = edgebnn.compile(TFC, target="cortex-m4").report
    m = report["memory"]
    scratch = max(op.attrs.get("scratch_bytes", 0) for op in graph.ops)  # the transposed kernel's list
    assert m["arena_bytes"] == m["lower_bound_bytes"] <= 128 + scratch
    assert [r["epilogues"] for r in report["layers"]].count(["threshold"]) == 3
    assert all(r["op"] != "threshold" for r in report["layers"])


@pytest.mark.parametrize("model", [TFC, random_mlp(4, "sign").model, build_cnn(2, "sign", n_convs=2).model],
                         ids=["tfc", "mlp", "cnn"])
def test_fused_and_unfused_graphs_compute_the_same(model):
    fused, plain = compiler.lowered(model), compiler.lowered(model, kernels="reference")
    x = np.random.default_rng(0).standard_normal((16,) + tuple(fused.input_shape[1:])).astype(np.float32)
    expected = Reference(plain).run(x)
    assert np.array_equal(Reference(fused).run(x), expected)
    assert np.array_equal(edgebnn.compile(model, target="cortex-m4").run(x), expected.reshape(len(x), -1))
    # the same kernels with every op storing its output: fusion never costs arena bytes
    assert planner.plan(fused).arena_bytes <= planner.plan(compiler.lowered(model, fuse=False)).arena_bytes


def test_kernel_choice_names_a_variant_of_every_op():
    graph = compiler.lowered(build_cnn(5, "sign", n_convs=3).model)
    for op in graph.ops:
        kernel = op.attrs["c_kernel"]
        assert kernel in {k.name for k in OPS[op.kind].kernels}
        assert not op.epilogues or kernel != "portable"  # only optimised kernels take epilogues
