"""The memory planner (issue 5): lifetimes, offsets in one arena, in-place reuse, several
strategies against the lower bound (the most bytes live at once), and why a plan is above it."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import edgebnn
from cnn_builders import CNN_PATTERNS, build_cnn, build_cnv
from edgebnn import compiler, planner
from edgebnn.ir.ops import OPS
from edgebnn.planner import Buffer, lifetimes, plan_from_buffers, strategies
from onnx_builders import PATTERNS, random_mlp

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples" / "models").rglob("*.onnx"))


def _models():
    """Every model of the test suite's builders and the examples, lowered."""
    out = {p.stem: p for p in EXAMPLES}
    out["cnv"] = build_cnv(3).model
    for seed in range(6):
        out[f"cnn{seed}"] = build_cnn(seed, CNN_PATTERNS[seed % len(CNN_PATTERNS)]).model
        out[f"cnn{seed}_xnor"] = build_cnn(seed, "sign", xnor_k=True).model
        out[f"cnn{seed}_gap"] = build_cnn(seed, "bq_brevitas", gap=True).model
        out[f"mlp{seed}"] = random_mlp(seed, PATTERNS[seed % len(PATTERNS)]).model
    return out


MODELS = _models()


@pytest.fixture(scope="module", params=sorted(MODELS))
def planned(request):
    graph = compiler.lowered(MODELS[request.param])
    return graph, planner.plan(graph)


def _no_overlap(bufs, offsets):
    for i, a in enumerate(bufs):
        for j in range(i):
            b = bufs[j]
            if a.overlaps(b):
                assert offsets[i] + a.size <= offsets[j] or offsets[j] + b.size <= offsets[i], (a, b, offsets)


def _explained(p) -> None:
    """Either the arena is the lower bound, or every byte above it is in a hole the
    report names, each hole held by another tensor or too small for the top one."""
    above = p.above()
    assert above["bytes"] == p.arena_bytes - p.lower_bound_bytes
    if above["bytes"] == 0:
        return
    assert sum(h["bytes"] for h in above["holes"]) >= above["bytes"], above
    for h in above["holes"]:
        assert h["held_by"] or h["bytes"] < above["top"]["bytes"], h
    assert str(above["bytes"]) in above["explanation"]


def test_plan_is_valid_and_beats_the_baselines(planned):
    graph, p = planned
    _no_overlap(p.buffers, p.buffer_offsets)
    assert all(o % planner.ALIGN == 0 for o in p.buffer_offsets)
    assert p.lower_bound_bytes <= p.arena_bytes <= p.no_reuse_bytes
    greedy = strategies.arena_of(p.buffers, strategies.place(p.buffers, strategies.by_size(p.buffers)))
    assert p.arena_bytes <= greedy  # never worse than plain greedy-by-size
    assert p.strategy_bytes[p.strategy] == p.arena_bytes == min(p.strategy_bytes.values())
    # no in-place reuse: the arena can only grow
    assert planner.plan(graph, in_place=False).arena_bytes >= p.arena_bytes


def test_arena_equals_the_lower_bound_or_is_explained(planned):
    _explained(planned[1])


def test_every_arena_tensor_has_room_and_io_has_none(planned):
    graph, p = planned
    assert graph.input not in p.offsets and graph.output not in p.offsets
    for t, off in p.offsets.items():
        assert graph.tensors[t].nbytes <= p.sizes[t] and off + p.sizes[t] <= p.arena_bytes


def test_in_place_only_where_the_kernel_allows_it(planned):
    graph, p = planned
    for i, src, out in p.in_place:
        op = graph.ops[i]
        assert OPS[op.kind].in_place and op.inputs[0] == src and op.outputs[0] == out
        assert src != graph.input and out != graph.output
        assert p.offsets[src] == p.offsets[out]
        assert p.lifetimes[src][1] >= i  # the shared buffer lives on


def test_in_place_happens_and_the_c_stays_exact(tmp_path):
    """XNOR-Net CNNs scale in place; the host C still equals the reference bit for bit."""
    model = build_cnn(1, "sign", xnor_k=True).model
    graph = compiler.lowered(model)
    p = planner.plan(graph)
    assert p.in_place, "the XNOR-Net scale steps should run in place"
    assert planner.plan(graph, in_place=False).lower_bound_bytes >= p.lower_bound_bytes
    x = np.random.RandomState(0).standard_normal((6,) + tuple(graph.input_shape[1:])).astype(np.float32)
    compiled = edgebnn.compile(model, target="cortex-m4", out_dir=tmp_path / "out")
    ref = np.asarray(edgebnn.reference(model).run(x), np.float32)
    assert np.array_equal(compiled.run(x), ref.reshape(compiled.run(x).shape))


def test_threshold_and_binarize_never_run_in_place():
    for model in MODELS.values():
        graph = compiler.lowered(model)
        assert all(graph.ops[i].kind not in ("threshold", "binarize") for i, _, _ in planner.plan(graph).in_place)


def test_search_beats_greedy_and_is_deterministic():
    """A case where every greedy order is 8 B above the bound; the hill climb reaches it."""
    spec = [(8, 1, 2), (16, 0, 1), (16, 1, 1), (24, 2, 2), (24, 0, 0)]
    bufs = [Buffer(f"t{i}", (f"t{i}",), s, a, b) for i, (s, a, b) in enumerate(spec)]
    p = plan_from_buffers(bufs, 3)
    assert p.lower_bound_bytes == 40 and p.arena_bytes == 40 and p.strategy == "hill_climb"
    assert min(v for k, v in p.strategy_bytes.items() if k != "hill_climb") == 48
    q = plan_from_buffers(bufs, 3)
    assert q.buffer_offsets == p.buffer_offsets and q.search_steps == p.search_steps


def test_excess_over_the_bound_is_explained(monkeypatch):
    monkeypatch.setattr(strategies, "MAX_STEPS", 0)  # greedy orders only
    spec = [(8, 1, 2), (16, 0, 1), (16, 1, 1), (24, 2, 2), (24, 0, 0)]
    p = plan_from_buffers([Buffer(f"t{i}", (f"t{i}",), s, a, b) for i, (s, a, b) in enumerate(spec)], 3)
    assert p.arena_bytes == 48 and p.lower_bound_bytes == 40
    _explained(p)
    above = p.above()
    assert above["top"]["tensor"] == "t0" and above["holes"][0]["held_by"][0]["tensor"] == "t3"


def test_scratch_buffers_live_for_their_op_only():
    graph = compiler.lowered(random_mlp(0, "sign").model)
    graph.ops[1].attrs["scratch_bytes"] = 100
    p = planner.plan(graph)
    assert 1 in p.scratch
    scratch = next(b for b in p.buffers if not b.tensors)
    assert (scratch.start, scratch.end, scratch.size) == (1, 1, 104)
    _no_overlap(p.buffers, p.buffer_offsets)


@st.composite
def _lifetimes(draw):
    steps = draw(st.integers(1, 12))
    n = draw(st.integers(1, 14))
    bufs = []
    for i in range(n):
        a = draw(st.integers(0, steps - 1))
        b = draw(st.integers(a, steps - 1))
        bufs.append(Buffer(f"t{i}", (f"t{i}",), draw(st.integers(1, 4096)), a, b))
    return bufs, steps


@settings(max_examples=150, deadline=None)
@given(_lifetimes())
def test_property_random_lifetimes(case):
    bufs, steps = case
    p = plan_from_buffers(bufs, steps)
    _no_overlap(bufs, p.buffer_offsets)
    assert all(o % planner.ALIGN == 0 for o in p.buffer_offsets)
    assert p.arena_bytes >= p.lower_bound_bytes == max(lifetimes.live_bytes(bufs, s) for s in range(steps))
    assert p.arena_bytes <= min(p.strategy_bytes["greedy_by_size"], sum(b.size for b in bufs))
    _explained(p)
