"""Random binary MLPs written with ``onnx.helper``, one per exporter pattern.

Every model shares one core (:class:`_Graph` + :func:`build_mlp`):

    x (1, K0) [or (1, 1, H, W) + Flatten / Reshape with Shape plumbing]
      -> input stage: real dense + BN + binarizer, or binarizer(x) (optionally x*a - b first)
      -> 1..3 binary dense layers (+ optional bias) + BN + binarizer
         (FINN: MultiThreshold replaces BN + binarizer)
      -> last binary dense layer with real output (BN, or per-channel Mul + Add),
         or, with ``output="binary"``, BN + binarizer (the model outputs +-1).

Binarizer patterns (``PATTERNS``):
    sign            Sign(x)
    where_ge        Where(GreaterOrEqual(x, 0), 1, -1)
    cast_gt         Sub(Mul(Cast(Greater(x, 0), float), 2), 1)       (0 -> -1)
    cast_ge         Sub(Mul(Cast(GreaterOrEqual(x, 0), float), 2), 1)
    larq            Sign(Add(Sign(x), 0.1))                         (Larq ste_sign, tf2onnx)
    bq_brevitas     BipolarQuant(x, 1.0), domain onnx.brevitas
    bq_qonnx        BipolarQuant(x, 1.0), domain qonnx.custom_op.general
    multithreshold  FINN MultiThreshold(x, thr), bipolar output, replaces BN + binarizer

Weight forms (``WEIGHT_FORMS``), per binary dense layer:
    gemm_tb1              +-1 initializer (N, K), Gemm transB=1
    gemm_tb0              +-1 initializer (K, N), Gemm transB=0
    matmul                +-1 initializer (K, N), MatMul
    float_binarized       float initializer (K, N) -> binarizer -> MatMul
    transpose_matmul      float initializer (N, K) -> binarizer -> Transpose -> MatMul (Brevitas TFC)
    alpha_const           +-1 weights, MatMul, then Mul by a positive per-channel constant alpha
    alpha_reducemean_w    W (N, K): (binarize(W) * ReduceMean(Abs(W), axes=[1])) -> Transpose -> MatMul
    alpha_reducemean_out  W (N, K): MatMul(x, Transpose(binarize(W))) * Transpose(ReduceMean(Abs(W)))

The caller seeds everything: pass a ``numpy.random.RandomState`` / ``Generator`` (or an int seed).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

PATTERNS = (
    "sign",
    "where_ge",
    "cast_gt",
    "cast_ge",
    "larq",
    "bq_brevitas",
    "bq_qonnx",
    "multithreshold",
)
CUSTOM_PATTERNS = ("bq_brevitas", "bq_qonnx", "multithreshold")
WEIGHT_FORMS = (
    "gemm_tb1",
    "gemm_tb0",
    "matmul",
    "float_binarized",
    "transpose_matmul",
    "alpha_const",
    "alpha_reducemean_w",
    "alpha_reducemean_out",
)
INPUT_LAYOUTS = ("flat", "flatten", "reshape")
OUTPUTS = ("real_bn", "real_muladd", "binary")

BREVITAS_DOMAIN = "onnx.brevitas"
QONNX_DOMAIN = "qonnx.custom_op.general"
FINN_DOMAIN = "finn.custom_op.general"
_BQ_DOMAIN = {"bq_brevitas": BREVITAS_DOMAIN, "bq_qonnx": QONNX_DOMAIN}


def _rng(seed_or_rng):
    if isinstance(seed_or_rng, (np.random.RandomState, np.random.Generator)):
        return seed_or_rng
    return np.random.RandomState(seed_or_rng)


def _uniform(rng, lo, hi, size=None):
    return rng.uniform(lo, hi, size)


def _randint(rng, lo, hi_inclusive, size=None):
    if isinstance(rng, np.random.Generator):
        return rng.integers(lo, hi_inclusive + 1, size)
    return rng.randint(lo, hi_inclusive + 1, size)


def _normal(rng, size):
    return rng.standard_normal(size)


def _choice(rng, seq):
    return seq[int(_randint(rng, 0, len(seq) - 1))]


def pm1(rng, shape):
    """Random +-1 float32 array (never 0)."""
    return np.where(_uniform(rng, 0, 1, shape) < 0.5, -1.0, 1.0).astype(np.float32)


def nonzero_floats(rng, shape, scale=1.0):
    """Normal floats bounded away from 0 (so a binarizer never sees exactly 0)."""
    v = _normal(rng, shape)
    v = np.where(np.abs(v) < 0.05, np.sign(v + 1e-12) * 0.05 + v, v)
    return (v * scale).astype(np.float32)


@dataclass
class DenseInfo:
    name: str  # name of the node that does the matrix product
    k: int
    n: int
    binary_input: bool
    weight_form: str


@dataclass
class BuiltModel:
    model: onnx.ModelProto
    pattern: str
    input_shape: tuple  # with the batch dim (1)
    output_shape: tuple
    layers: list = field(default_factory=list)  # DenseInfo per dense layer, in order
    presign: list = field(default_factory=list)  # tensors fed to a binarizer (activation path)
    thresholds: list = field(default_factory=list)  # MultiThreshold input tensors
    mt_thresholds: list = field(default_factory=list)  # (MultiThreshold input, thresholds (1, C))
    # (tensor, offsets): binarizer inputs computed by a real-valued float layer, whose rounding
    # depends on the summation order; a test may skip inputs with |tensor - offsets| tiny
    order_dependent: list = field(default_factory=list)
    custom: bool = False

    @property
    def binary_macs(self) -> int:
        return sum(l.k * l.n for l in self.layers if l.binary_input)

    @property
    def real_macs(self) -> int:
        return sum(l.k * l.n for l in self.layers if not l.binary_input)


class _Graph:
    """Tiny helper around onnx.helper: unique names, initializers, nodes."""

    def __init__(self, prefix="", opset=13):
        self.opset = opset
        self.nodes = []
        self.inits = []
        self.counter = 0
        self.prefix = prefix
        self.domains = set()

    def fresh(self, base):
        self.counter += 1
        return f"{self.prefix}{base}_{self.counter}"

    def const(self, base, value, dtype=np.float32):
        name = self.fresh(base)
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def node(self, op, inputs, base=None, domain="", n_out=1, name=None, **attrs):
        name = name or self.fresh(base or op.lower())
        outs = [f"{name}_out{i}" if n_out > 1 else f"{name}_out" for i in range(n_out)]
        self.nodes.append(helper.make_node(op, inputs, outs, name=name, domain=domain or None, **attrs))
        if domain:
            self.domains.add(domain)
        return outs[0] if n_out == 1 else outs

    # ---- binarizers -------------------------------------------------------------
    def binarize(self, x, pattern, base="bin"):
        """+-1 float from x using the exporter's pattern (not MultiThreshold)."""
        if pattern in ("sign", "multithreshold"):  # FINN weights: stored or Sign'd
            return self.node("Sign", [x], base=f"{base}_sign")
        if pattern == "where_ge":
            ge = self.node("GreaterOrEqual", [x, self.const("zero", 0.0)], base=f"{base}_ge")
            return self.node("Where", [ge, self.const("one", 1.0), self.const("mone", -1.0)], base=f"{base}_where")
        if pattern in ("cast_gt", "cast_ge"):
            cmp_op = "Greater" if pattern == "cast_gt" else "GreaterOrEqual"
            c = self.node(cmp_op, [x, self.const("zero", 0.0)], base=f"{base}_cmp")
            f = self.node("Cast", [c], base=f"{base}_cast", to=TensorProto.FLOAT)
            m = self.node("Mul", [f, self.const("two", 2.0)], base=f"{base}_mul")
            return self.node("Sub", [m, self.const("one", 1.0)], base=f"{base}_sub")
        if pattern == "larq":
            s = self.node("Sign", [x], base=f"{base}_sign")
            a = self.node("Add", [s, self.const("eps", 0.1)], base=f"{base}_add")
            return self.node("Sign", [a], base=f"{base}_sign2")
        if pattern in _BQ_DOMAIN:
            return self.node("BipolarQuant", [x, self.const("scale", 1.0)], base=f"{base}_bq", domain=_BQ_DOMAIN[pattern])
        raise ValueError(pattern)

    def multithreshold(self, x, thr, base="mt"):
        """FINN MultiThreshold, 1 threshold per channel, bipolar output."""
        t = self.const("thr", np.asarray(thr, np.float32).reshape(-1, 1))
        return self.node(
            "MultiThreshold", [x, t], base=base, domain=FINN_DOMAIN,
            out_dtype="BIPOLAR", out_scale=2.0, out_bias=-1.0,
        ), t

    # ---- layers -------------------------------------------------------------------
    def bn_node(self, x, gamma, beta, mean, var, base="bn"):
        return self.node(
            "BatchNormalization",
            [x, self.const("gamma", gamma), self.const("beta", beta),
             self.const("mean", mean), self.const("var", var)],
            base=base, epsilon=1e-5,
        )


def _dense(g, x, k, n, rng, form, pattern, name, bias):
    """Binary dense layer (k -> n) with weights in the given form. Returns output tensor."""
    if form == "gemm_tb1":
        w = g.const(f"{name}_w", pm1(rng, (n, k)))
        inputs = [x, w] + ([g.const(f"{name}_b", nonzero_floats(rng, n))] if bias else [])
        return g.node("Gemm", inputs, name=name, transB=1)
    if form == "gemm_tb0":
        w = g.const(f"{name}_w", pm1(rng, (k, n)))
        inputs = [x, w] + ([g.const(f"{name}_b", nonzero_floats(rng, n))] if bias else [])
        return g.node("Gemm", inputs, name=name, transB=0)
    if form in ("matmul", "alpha_const", "float_binarized"):
        if form == "float_binarized":
            wf = g.const(f"{name}_wf", nonzero_floats(rng, (k, n)))
            w = g.binarize(wf, pattern, base=f"{name}_wbin")
        else:
            w = g.const(f"{name}_w", pm1(rng, (k, n)))
        y = g.node("MatMul", [x, w], name=name)
        if form == "alpha_const":
            alpha = _uniform(rng, 0.2, 3.0, n).astype(np.float32)
            y = g.node("Mul", [y, g.const(f"{name}_alpha", alpha)], base=f"{name}_alpha_mul")
    elif form == "transpose_matmul":
        wf = g.const(f"{name}_wf", nonzero_floats(rng, (n, k)))
        wb = g.binarize(wf, pattern, base=f"{name}_wbin")
        wt = g.node("Transpose", [wb], base=f"{name}_wT", perm=[1, 0])
        y = g.node("MatMul", [x, wt], name=name)
    elif form in ("alpha_reducemean_w", "alpha_reducemean_out"):
        wf = g.const(f"{name}_wf", nonzero_floats(rng, (n, k), scale=float(_uniform(rng, 0.05, 2.0))))
        wb = g.binarize(wf, pattern, base=f"{name}_wbin")
        ab = g.node("Abs", [wf], base=f"{name}_abs")
        if g.opset >= 18:  # axes became an input in opset 18
            alpha = g.node("ReduceMean", [ab, g.const("axes1", [1], np.int64)], base=f"{name}_alpha", keepdims=1)
        else:
            alpha = g.node("ReduceMean", [ab], base=f"{name}_alpha", axes=[1], keepdims=1)  # (n, 1)
        if form == "alpha_reducemean_w":
            ws = g.node("Mul", [wb, alpha], base=f"{name}_wscale")  # (n, k)
            wt = g.node("Transpose", [ws], base=f"{name}_wT", perm=[1, 0])
            y = g.node("MatMul", [x, wt], name=name)
        else:
            wt = g.node("Transpose", [wb], base=f"{name}_wT", perm=[1, 0])
            y = g.node("MatMul", [x, wt], name=name)
            at = g.node("Transpose", [alpha], base=f"{name}_alphaT", perm=[1, 0])  # (1, n)
            y = g.node("Mul", [y, at], base=f"{name}_alpha_mul")
    else:
        raise ValueError(form)
    if bias:
        y = g.node("Add", [y, g.const(f"{name}_b", nonzero_floats(rng, n))], base=f"{name}_bias")
    return y


def _bn_params(rng, n, spread, zero_gamma=True):
    """BN parameters for an input of roughly +-spread (pre-sign never exactly 0)."""
    gamma = nonzero_floats(rng, n)  # both signs
    if zero_gamma and n > 1:
        cnt = int(_randint(rng, 0, max(1, n // 4)))
        gamma[np.argsort(_uniform(rng, 0, 1, n))[:cnt]] = 0.0
    beta = nonzero_floats(rng, n, scale=0.5)
    mean = (_uniform(rng, -0.6, 0.6, n) * spread).astype(np.float32)
    var = ((_uniform(rng, 0.3, 2.0, n) * spread) ** 2).astype(np.float32)
    return gamma.astype(np.float32), beta, mean, var


def _mt_thresholds(rng, n, k, spread, integer_grid, on_grid=0.3):
    """MultiThreshold thresholds for an input of roughly +-spread: mostly inside the range;
    on an integer input some sit exactly on reachable values (x == t gives +1) and some
    lie outside [-k, k] (constant channel)."""
    t = _uniform(rng, -1.0, 1.0, n) * spread
    if integer_grid:
        kind = _uniform(rng, 0, 1, n)
        t = np.where(kind < on_grid, np.round((t - k) / 2) * 2 + k, np.floor(t) + 0.5)
        t = np.where(kind > 0.93, (k + 5.0) * np.where(kind > 0.965, 1, -1), t)
    return t.astype(np.float32)


def build_mlp(
    rng,
    pattern,
    *,
    k0=None,
    hidden=None,
    n_out=None,
    input_stage=None,
    input_layout=None,
    weight_forms=None,
    output=None,
    bias=None,
    preprocess=None,
    opset=13,
    ties=False,
    batch_dim=1,
) -> BuiltModel:
    """Build one random binary MLP. Any option left as None is drawn from ``rng``.

    hidden: widths of the 1..3 binarized hidden layers (outputs of BN+binarizer);
    weight_forms: one per binary dense layer (len(hidden) + 1 for the last, minus one if
    input_stage == "real" since the first dense layer then has real input and real weights).
    batch_dim: 1, or a string for a symbolic batch dimension (e.g. "N", as exporters with
    dynamic axes write it).
    ties: BN after an integer (unscaled, unbiased) binary layer gets beta = 0 and means on
    reachable dot values, so the pre-binarizer value is exactly 0 for some inputs (boundary
    test: Greater maps 0 to -1, every other pattern to +1; ONNX Sign(0) = 0 differs).
    """
    rng = _rng(rng)
    if pattern not in PATTERNS:
        raise ValueError(pattern)
    input_layout = input_layout or _choice(rng, INPUT_LAYOUTS)
    input_stage = input_stage or _choice(rng, ("real", "binarized"))
    output = output or _choice(rng, ("real_bn", "real_muladd"))
    if hidden is None:
        hidden = [int(_randint(rng, 1, 100)) for _ in range(int(_randint(rng, 1, 3)))]
    hidden = list(hidden)
    n_out = n_out or int(_randint(rng, 2, 12))
    if bias is None:
        bias = bool(_uniform(rng, 0, 1) < 0.4)
    if preprocess is None:
        preprocess = bool(_uniform(rng, 0, 1) < 0.3)

    if input_layout == "flat":
        k0 = k0 or int(_randint(rng, 1, 100))
        in_shape = (1, k0)
    else:
        if k0 is None:
            h, w = int(_randint(rng, 1, 10)), int(_randint(rng, 1, 10))
        else:
            h, w = 1, k0
        k0 = h * w
        in_shape = (1, 1, h, w)

    # dense layers: (k, n, binary_input)
    widths = [k0] + hidden + [n_out]
    dense = []
    for i in range(len(widths) - 1):
        real_in = i == 0 and input_stage == "real"
        dense.append((widths[i], widths[i + 1], not real_in))
    n_binary = sum(1 for d in dense if d[2])
    if weight_forms is None:
        weight_forms = [_choice(rng, WEIGHT_FORMS) for _ in range(n_binary)]
    weight_forms = list(weight_forms)
    if len(weight_forms) != n_binary:
        raise ValueError(f"need {n_binary} weight forms, got {len(weight_forms)}")

    if opset < 12:
        raise ValueError("opset >= 12 needed (GreaterOrEqual)")
    g = _Graph(opset=opset)
    built = BuiltModel(model=None, pattern=pattern, input_shape=in_shape,
                       output_shape=(1, n_out), custom=pattern in CUSTOM_PATTERNS)

    # ---- input plumbing -------------------------------------------------------
    x = "x"
    if input_layout == "flatten":
        x = g.node("Flatten", [x], name="input_flatten", axis=1)
    elif input_layout == "reshape":
        shp = g.node("Shape", [x], name="input_shape")
        b = g.node("Gather", [shp, g.const("idx0", np.int64(0), np.int64)], name="input_gather", axis=0)
        if opset >= 13:
            bu = g.node("Unsqueeze", [b, g.const("axes0", [0], np.int64)], name="input_unsqueeze")
        else:
            bu = g.node("Unsqueeze", [b], name="input_unsqueeze", axes=[0])
        cat = g.node("Concat", [bu, g.const("minus1", [-1], np.int64)], name="input_concat", axis=0)
        x = g.node("Reshape", [x, cat], name="input_reshape")

    def act(t, n, spread, base, integer_input=False, k=0):
        """BN + binarizer (or MultiThreshold) on a layer output with n channels."""
        real_valued = base == "act0" and input_stage == "real"
        if pattern == "multithreshold":
            thr = _mt_thresholds(rng, n, k, spread, integer_input, on_grid=0.9 if ties else 0.3)
            built.thresholds.append(t)
            built.mt_thresholds.append((t, thr.reshape(1, -1)))
            if real_valued:
                built.order_dependent.append((t, thr.reshape(1, -1)))
            out, _ = g.multithreshold(t, thr, base=f"{base}_mt")
            return out
        gamma, beta, mean, var = _bn_params(rng, n, spread)
        if ties and integer_input:
            beta = np.zeros(n, np.float32)
            mean = np.clip(np.round((_normal(rng, n) * np.sqrt(k) - k) / 2) * 2 + k, -k, k).astype(np.float32)
        y = g.bn_node(t, gamma, beta, mean, var, base=f"{base}_bn")
        built.presign.append(y)
        if real_valued:
            built.order_dependent.append((y, np.zeros((1, n), np.float32)))
        return g.binarize(y, pattern, base=f"{base}_bin")

    # ---- input stage ------------------------------------------------------------
    wf_iter = iter(weight_forms)
    if input_stage == "binarized":
        if preprocess:  # TFC style: x * 2 - 1
            x = g.node("Mul", [x, g.const("pre_scale", 2.0)], name="pre_mul")
            x = g.node("Sub", [x, g.const("pre_shift", 1.0)], name="pre_sub")
        if pattern == "multithreshold":
            thr = (_normal(rng, k0) * 0.5).astype(np.float32)
            built.thresholds.append(x)
            x, _ = g.multithreshold(x, thr, base="in_mt")
        else:
            built.presign.append(x)
            x = g.binarize(x, pattern, base="in_bin")

    for i, (k, n, binary_in) in enumerate(dense):
        name = f"dense{i}"
        last = i == len(dense) - 1
        if not binary_in:
            w = g.const(f"{name}_w", nonzero_floats(rng, (k, n), scale=1.0 / np.sqrt(k)))
            b = g.const(f"{name}_b", nonzero_floats(rng, n, scale=0.1))
            y = g.node("Gemm", [x, w, b], name=name)
            form = "real"
        else:
            form = next(wf_iter)
            y = _dense(g, x, k, n, rng, form, pattern, name, bias)
        built.layers.append(DenseInfo(name=name, k=k, n=n, binary_input=binary_in, weight_form=form))
        if not binary_in:
            spread, integer = 1.0, False
        else:
            integer = form in ("gemm_tb1", "gemm_tb0", "matmul", "float_binarized", "transpose_matmul") and not bias
            spread = float(np.sqrt(k)) * (1.0 if integer else 1.5)
        if not last:
            x = act(y, n, spread, f"act{i}", integer, k)
            continue
        # ---- last layer ---------------------------------------------------------
        if output == "binary":
            x = act(y, n, spread, f"act{i}", integer, k)
        elif output == "real_bn":
            gamma, beta, mean, var = _bn_params(rng, n, spread, zero_gamma=False)
            x = g.bn_node(y, gamma, beta, mean, var, base="out_bn")
        else:
            s = nonzero_floats(rng, n, scale=0.5)
            x = g.node("Mul", [y, g.const("out_scale", s)], name="out_mul")
            x = g.node("Add", [x, g.const("out_bias", nonzero_floats(rng, n))], name="out_add")
    x = g.node("Identity", [x], name="output_identity")

    graph = helper.make_graph(
        g.nodes, f"bnn_{pattern}",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch_dim] + list(in_shape[1:]))],
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, [batch_dim, n_out])],
        initializer=g.inits,
    )
    opsets = [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, 1) for d in sorted(g.domains)]
    model = helper.make_model(graph, opset_imports=opsets, producer_name="edgebnn-tests")
    model.ir_version = 8
    built.model = model
    return built


def random_mlp(seed, pattern, **overrides) -> BuiltModel:
    """Convenience: build_mlp with a RandomState seeded by ``seed``."""
    return build_mlp(np.random.RandomState(seed), pattern, **overrides)


def small_known_mlp(pattern="sign", seed=0) -> BuiltModel:
    """A fixed small model: binarized input (K0=37), hidden 45 and 70, output 10."""
    return build_mlp(
        np.random.RandomState(seed), pattern, k0=37, hidden=[45, 70], n_out=10,
        input_stage="binarized", input_layout="flat",
        weight_forms=["gemm_tb1", "transpose_matmul", "matmul"],
        output="real_bn", bias=False, preprocess=False,
    )


def with_extra_outputs(model: onnx.ModelProto, names) -> onnx.ModelProto:
    """Copy of ``model`` that also outputs the given intermediate tensors."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    have = {o.name for o in m.graph.output}
    for nm in names:
        if nm not in have:
            m.graph.output.append(helper.make_tensor_value_info(nm, TensorProto.FLOAT, None))
    return m


def for_onnxruntime(built: BuiltModel, extra_outputs=()) -> onnx.ModelProto:
    """The model as onnxruntime can run it: custom ops rewritten by the tests' spec executor
    (``qonnx_spec.to_standard_onnx``), optionally with intermediate tensors as extra outputs.

    The input plumbing output gets a rank-2 annotation (dims unnamed) in this copy only, so the
    spec executor knows MultiThreshold's channel axis; the model given to edgebnn is untouched."""
    m = onnx.ModelProto()
    m.CopyFrom(built.model)
    if built.custom:
        from qonnx_spec import to_standard_onnx

        known = {v.name for v in m.graph.value_info}
        for nd in m.graph.node:
            if nd.name in ("input_reshape", "input_flatten", "pre_mul", "pre_sub") and nd.output[0] not in known:
                m.graph.value_info.append(helper.make_tensor_value_info(nd.output[0], TensorProto.FLOAT, [None, None]))
        m = to_standard_onnx(m)
    if extra_outputs:
        m = with_extra_outputs(m, extra_outputs)
    return m


def rename_hostile(model: onnx.ModelProto) -> onnx.ModelProto:
    """Copy of ``model`` whose node, tensor and graph names hold characters that must never reach
    C unsanitised: comment terminators, quotes, backslashes, spaces, newlines, C keywords,
    leading digits and non-ASCII. Input and output names change too."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    g = m.graph
    mapping = {}
    nasty = ['*/ int x; /*', '"quote"', "back\\slash", "new\nline", "int", "9lives", "ümlaut-ß", "a b/c:d"]

    def ren(name):
        if not name:
            return name
        if name not in mapping:
            mapping[name] = f"{nasty[len(mapping) % len(nasty)]}#{len(mapping)}"
        return mapping[name]

    for t in g.initializer:
        t.name = ren(t.name)
    for v in list(g.input) + list(g.output) + list(g.value_info):
        v.name = ren(v.name)
    for i, n in enumerate(g.node):
        n.name = f"{nasty[i % len(nasty)]} node {i}"
        for j, nm in enumerate(n.input):
            n.input[j] = ren(nm)
        for j, nm in enumerate(n.output):
            n.output[j] = ren(nm)
    g.name = '*/ graph "name" \\'
    return m
