"""Integer ranges proven at compile time (issue 9, ``edgebnn.passes.ranges``): the int32
accumulator of every binary layer holds K - 2 * mismatches for its fan-in K, every integer
threshold lies in -K..K+1, and a layer beyond that is a clear error, not wrapped sums."""
from __future__ import annotations

import numpy as np
import pytest

from edgebnn import cli, frontend, passes
from edgebnn.errors import EdgebnnError
from edgebnn.passes import ranges, thresholds
from onnx_builders import build_mlp, small_known_mlp


def test_the_bound_is_what_the_kernels_need():
    # The kernels compute K - 2c with 0 <= c <= K: |2K| must fit int32; float steps read K exactly.
    assert 2 * ranges.MAX_FANIN <= 2**31 - 1
    assert float(np.float32(ranges.MAX_FANIN)) == ranges.MAX_FANIN
    assert float(np.float32(ranges.MAX_FANIN - 1)) == ranges.MAX_FANIN - 1
    ranges.check_fanin(ranges.MAX_FANIN, "edge")
    with pytest.raises(EdgebnnError, match="fan-in"):
        ranges.check_fanin(ranges.MAX_FANIN + 1, "edge")


def test_every_threshold_of_real_models_is_in_range():
    for seed in range(6):
        built = build_mlp(np.random.RandomState(seed), "sign", k0=40, hidden=[33, 70], n_out=5)
        g = passes.lower(frontend.load(built.model))
        ops = [t for op in g.ops for t in (op, *op.epilogues) if t.kind == "threshold"]  # fused ones too
        assert ops
        for op in ops:
            k = g.tensors[op.inputs[0]].fanin
            thr = op.attrs["thr"]
            assert thr.dtype == np.int32 and thr.min() >= -k and thr.max() <= k + 1


def test_infinite_and_zero_scale_thresholds_saturate_in_range():
    """gamma = 0 and +-inf shifts give constant decisions: thresholds at the ends, -K or K+1."""
    g = frontend.load(small_known_mlp("sign", seed=4).model)
    op = next(op for op in g.ops if op.kind == "threshold")
    k = g.tensors[op.inputs[0]].fanin
    n = g.tensors[op.outputs[0]].size
    op.attrs["t"] = np.array(([np.inf, -np.inf, np.nan, 1e30, -1e30] * n)[:n], np.float32)
    thr, _ = thresholds.integer_thresholds(k, op)
    ranges.check_thresholds(k, thr, op.name)
    assert set(thr.tolist()) <= {-k, k + 1}


def test_a_fan_in_beyond_int32_is_a_clear_error():
    g = frontend.load(small_known_mlp("sign", seed=1).model)
    dense = next(op for op in g.ops if op.kind == "bdense")
    g.tensors[dense.outputs[0]].fanin = 2**30  # 2K = 2^31 wraps an int32
    with pytest.raises(EdgebnnError, match="fan-in of 1073741824") as info:
        ranges.run(g)
    assert dense.name in str(info.value)
    with pytest.raises(EdgebnnError, match="fan-in of 1073741824"):
        passes.lower(g)  # stopped before the threshold table of 2^31 rows is built


def test_a_threshold_outside_the_accumulator_is_a_clear_error():
    g = passes.lower(frontend.load(small_known_mlp("sign", seed=1).model))
    op = next(t for op in g.ops for t in (op, *op.epilogues) if t.kind == "threshold")  # fused or not
    k = g.tensors[op.inputs[0]].fanin
    op.attrs["thr"] = op.attrs["thr"].copy()
    op.attrs["thr"][0] = k + 2
    with pytest.raises(EdgebnnError, match="outside the accumulator's range"):
        ranges.run(g)


def test_the_cli_refuses_a_layer_beyond_the_bound(tmp_path, capsys, monkeypatch):
    """With the bound lowered below the model's fan-in (37), compile stops with one line, exit 2."""
    monkeypatch.setattr(ranges, "MAX_FANIN", 36)
    path = tmp_path / "m.onnx"
    path.write_bytes(small_known_mlp("sign", seed=1).model.SerializeToString())
    assert cli.main(["compile", str(path), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("edgebnn: error: node '") and "fan-in of 37" in err and err.count("\n") == 1, err
    assert not (tmp_path / "out").exists()
