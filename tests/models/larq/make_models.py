#!/usr/bin/env python3
"""Make small random-weight Larq-zoo BNNs and convert them to ONNX with tf2onnx.

Run with the larq environment (tensorflow-cpu 2.15.1, larq 0.14, larq-zoo 2.4, tf2onnx 1.16.1):

    python tests/models/larq/make_models.py            # writes <name>.onnx beside this script
    python tests/models/larq/make_models.py --check    # also compares onnxruntime with Keras
    python tests/models/larq/make_models.py --only quicknet_small --check

Each network is built by its larq-zoo factory with `weights=None`, `include_top=True`,
`num_classes=10` and a small input; the width is reduced by subclassing the factory (a zookeeper
Field passed as an argument where the factory has one, an overridden method where the width is
written into the method). Weights are random; BatchNorm moving mean/variance are random around the
statistics of the layer's real input (so the integer thresholds fall inside the range the layer
sees), gammas (where the layer has them) of both signs, betas random. tf2onnx opset 13, NHWC
input with the dynamic batch axis tf2onnx writes, final softmax kept. Everything is seeded.
"""
import argparse
import collections
import hashlib
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "2")

import larq as lq  # noqa: E402
import numpy as np  # noqa: E402
import onnx  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf2onnx  # noqa: E402
from zookeeper import factory  # noqa: E402

from larq_zoo.core import utils as zoo_utils  # noqa: E402
from larq_zoo.literature.binary_alex_net import BinaryAlexNetFactory  # noqa: E402
from larq_zoo.literature.birealnet import BiRealNetFactory  # noqa: E402
from larq_zoo.literature.densenet import BinaryDenseNet28Factory  # noqa: E402
from larq_zoo.literature.meliusnet import MeliusNet22Factory  # noqa: E402
from larq_zoo.literature.real_to_bin_nets import RealToBinNetBNNFactory  # noqa: E402
from larq_zoo.literature.resnet_e import BinaryResNetE18Factory  # noqa: E402
from larq_zoo.literature.xnornet import XNORNetFactory  # noqa: E402
from larq_zoo.sota.quicknet import QuickNetSmallFactory  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 17
OPSET = 13
NUM_CLASSES = 10


# --------------------------------------------------------------------------------------------
# Reduced factories
# --------------------------------------------------------------------------------------------
@factory
class SmallResNetE18(BinaryResNetE18Factory):
    """BinaryResNetE18: ResNet-18 spec ([2, 2, 2, 2], [64, 128, 256, 512]) -> widths / 8."""

    @property
    def spec(self):
        return ([2, 2, 2, 2], [8, 16, 32, 64])


@factory
class SmallMeliusNet22(MeliusNet22Factory):
    """MeliusNet22 with growth 64 -> 8, stem 32/32/64 -> 8/8/16, transitions (160, 224, 256) / 8.

    The widths are written into group_stem / dense_block / improvement_block of the zoo factory;
    these overrides are the zoo's methods with the width as a parameter.
    """

    num_blocks = (4, 5, 4, 4)
    transition_features = (20, 28, 32, None)
    growth = 8
    stem_filters = (8, 8, 16)

    def group_stem(self, x, name=None):
        f0, f1, f2 = self.stem_filters
        x = tf.keras.layers.Conv2D(f0, 3, strides=2, padding="same", use_bias=False,
                                   kernel_initializer=self.kernel_initializer,
                                   name=f"{name}_s0_conv")(x)
        x = self.norm(x, name=f"{name}_s0_bn")
        x = self.act(x, name=f"{name}_s0_relu")
        x = self.group_conv(x, f1, 3, 4, name=f"{name}_s1_groupconv")
        x = self.norm(x, name=f"{name}_s1_bn")
        x = self.act(x, name=f"{name}_s1_relu")
        x = self.group_conv(x, f2, 3, 8, name=f"{name}_s2_groupconv")
        x = self.norm(x, name=f"{name}_s2_bn")
        x = self.act(x, name=f"{name}_s2_relu")
        return self.pool(x, name=f"{name}_pool")

    def dense_block(self, x, name=None):
        w = self.norm(x, name=f"{name}_bn")
        w = self.quant_conv(w, self.growth, 3, name=f"{name}_binconv")
        return zoo_utils.TFOpLayer(tf.concat, axis=-1, name=f"{name}_concat")([x, w])

    def improvement_block(self, x, name=None):
        w = self.norm(x, name=f"{name}_bn")
        w = self.quant_conv(w, self.growth, 3, name=f"{name}_binconv")
        f_in, g = int(x.shape[-1]), self.growth
        return tf.keras.layers.Lambda(
            lambda x_: x_[0] + tf.pad(x_[1], [[0, 0], [0, 0], [0, 0], [f_in - g, 0]]),
            name=f"{name}_merge",
        )([x, w])


@factory
class SmallRealToBinaryNet(RealToBinNetBNNFactory):
    """Real-to-Binary Net (BNN variant, `larq_zoo.literature.RealToBinaryNet`), stem 64 -> 8.

    All later widths double from the stem's, so 8/8/16/16/32/32/64/64 instead of 64..512.
    """

    stem_filters = 8

    def first_block(self, x, use_prelu=True, name=""):
        x = tf.keras.layers.Conv2D(self.stem_filters, kernel_size=7, strides=2,
                                   kernel_initializer=self.kernel_initializer,
                                   kernel_regularizer=self.kernel_regularizer, padding="same",
                                   name=f"{name}_conv2d", use_bias=False)(x)
        x = tf.keras.layers.BatchNormalization(momentum=self.momentum,
                                               name=f"{name}_batch_norm")(x)
        if use_prelu:
            x = tf.keras.layers.PReLU(shared_axes=[1, 2], name=f"{name}_prelu")(x)
        else:
            x = tf.keras.layers.ReLU(name=f"{name}_relu")(x)
        return tf.keras.layers.MaxPool2D(3, strides=2, padding="same", name=f"{name}_pool")(x)


@factory
class SmallBinaryAlexNet(BinaryAlexNetFactory):
    """BinaryAlexNet with conv widths 64/192/384/384/256 -> 16/48/64/64/48, dense 4096 -> 128."""

    CONV = {64: 16, 192: 48, 384: 64, 256: 48}
    DENSE = {4096: 128}

    def conv_block(self, x, features, *args, **kwargs):
        return super().conv_block(x, self.CONV[features], *args, **kwargs)

    def dense_block(self, x, units):
        return super().dense_block(x, self.DENSE.get(units, units))


@factory
class SmallXNORNet(XNORNetFactory):
    """XNOR-Net (AlexNet layout), widths 96/256/384/384/256/4096/4096 -> 16/48/64/64/48/128/128.

    The zoo's build() writes every width inline, so it is repeated here with the widths as
    parameters; the 6x6 'valid' binary conv becomes k x k with k the spatial size reached (6 at
    224x224 input, 2 at the 96x96 input used here).
    """

    W = (16, 48, 64, 64, 48, 128, 128)

    def build(self) -> tf.keras.models.Model:
        w = self.W
        kw = dict(kernel_quantizer=self.kernel_quantizer, input_quantizer=self.input_quantizer,
                  kernel_constraint=self.kernel_constraint, use_bias=False,
                  kernel_regularizer=self.kernel_regularizer)
        bn = tf.keras.layers.BatchNormalization
        x = tf.keras.layers.Conv2D(w[0], (11, 11), strides=(4, 4), padding="same", use_bias=False,
                                   kernel_regularizer=self.kernel_regularizer)(self.image_input)
        x = bn(momentum=0.9, scale=False, epsilon=1e-5)(x)
        x = tf.keras.layers.Activation("relu")(x)
        x = tf.keras.layers.MaxPool2D(pool_size=(3, 3), strides=(2, 2))(x)
        x = bn(momentum=0.9, scale=False, epsilon=1e-4)(x)
        x = lq.layers.QuantConv2D(w[1], (5, 5), padding="same", **kw)(x)
        x = tf.keras.layers.MaxPool2D(pool_size=(3, 3), strides=(2, 2))(x)
        x = bn(momentum=0.9, scale=False, epsilon=1e-4)(x)
        x = lq.layers.QuantConv2D(w[2], (3, 3), padding="same", **kw)(x)
        x = bn(momentum=0.9, scale=False, epsilon=1e-4)(x)
        x = lq.layers.QuantConv2D(w[3], (3, 3), padding="same", **kw)(x)
        x = bn(momentum=0.9, scale=False, epsilon=1e-4)(x)
        x = lq.layers.QuantConv2D(w[4], (3, 3), padding="same", **kw)(x)
        x = tf.keras.layers.MaxPool2D(pool_size=(3, 3), strides=(2, 2))(x)
        x = bn(momentum=0.9, scale=False, epsilon=1e-4)(x)
        k = int(x.shape[1])
        x = lq.layers.QuantConv2D(w[5], (k, k), padding="valid", **kw)(x)
        x = bn(momentum=0.9, scale=False, epsilon=1e-4)(x)
        if self.include_top:
            x = lq.layers.QuantConv2D(w[6], (1, 1), strides=(1, 1), padding="valid", **kw)(x)
            x = bn(momentum=0.9, scale=False, epsilon=1e-3)(x)
            x = tf.keras.layers.Activation("relu")(x)
            x = tf.keras.layers.Flatten()(x)
            x = tf.keras.layers.Dense(self.num_classes, use_bias=False,
                                      kernel_regularizer=self.kernel_regularizer)(x)
            x = tf.keras.layers.Activation("softmax", dtype="float32")(x)
        return tf.keras.models.Model(inputs=self.image_input, outputs=x, name="xnornet")


# name: (factory, extra fields, input HxW, description of the reduction)
MODELS = {
    "quicknet_small": (QuickNetSmallFactory, dict(section_filters=(8, 16, 32, 48)), 32,
                       "QuickNetSmall, section_filters (32,64,256,512) -> (8,16,32,48), "
                       "blocks 4/4/4/4 kept"),
    "birealnet": (BiRealNetFactory, dict(filters=8), 32,
                  "BiRealNet (18 layers), filters 64 -> 8 (stages 8/16/32/64)"),
    "binary_resnet_e18": (SmallResNetE18, dict(initial_filters=8), 32,
                          "BinaryResNetE18, widths (64,128,256,512) -> (8,16,32,64), "
                          "2x2 blocks per stage kept"),
    "binary_densenet28": (BinaryDenseNet28Factory, dict(initial_filters=24, growth_rate=12), 32,
                          "BinaryDenseNet28, initial_filters 64 -> 24, growth_rate 64 -> 12, "
                          "layers (6,6,6,5) and reductions kept"),
    "meliusnet22": (SmallMeliusNet22, {}, 32,
                    "MeliusNet22, growth 64 -> 8, stem 32/32/64 -> 8/8/16, transitions "
                    "(160,224,256) -> (20,28,32), blocks (4,5,4,4) kept"),
    "real_to_binary_net": (SmallRealToBinaryNet, {}, 32,
                           "RealToBinaryNet (RealToBinNetBNNFactory), stem 64 -> 8 "
                           "(blocks 8/8/16/16/32/32/64/64)"),
    "xnornet": (SmallXNORNet, {}, 96,
                "XNORNet, widths 96/256/384/384/256/4096/4096 -> 16/48/64/64/48/128/128, "
                "96x96 input, last 6x6 valid conv -> 2x2 valid"),
    "binary_alexnet": (SmallBinaryAlexNet, {}, 64,
                       "BinaryAlexNet, convs 64/192/384/384/256 -> 16/48/64/64/48, "
                       "dense 4096 -> 128, 64x64 input"),
}


# --------------------------------------------------------------------------------------------
# Randomisation
# --------------------------------------------------------------------------------------------
def _is_binary_kernel(layer):
    quantizer = getattr(layer, "kernel_quantizer", None) or getattr(layer, "depthwise_quantizer", None)
    return quantizer is not None


def randomize(model, rng, input_hw):
    for layer in model.layers:
        if isinstance(layer, tf.keras.layers.BatchNormalization) or not layer.weights:
            continue
        if not layer.trainable:  # QuickNet's fixed blur-pool depthwise kernel stays as built
            continue
        new = []
        for v in layer.weights:
            shape, name = tuple(v.shape), v.name.split("/")[-1]
            if name.startswith(("kernel", "depthwise_kernel")):
                if _is_binary_kernel(layer):
                    val = rng.normal(0.0, 0.3, shape)
                else:
                    fan_in = int(np.prod(shape[:-1])) if len(shape) > 1 else shape[0]
                    if name.startswith("depthwise_kernel"):
                        fan_in = int(np.prod(shape[:2]))
                    val = rng.normal(0.0, np.sqrt(2.0 / fan_in), shape)
            elif name.startswith("bias"):
                val = rng.uniform(-0.1, 0.1, shape)
            elif name.startswith("alpha"):  # PReLU slopes
                val = rng.uniform(0.05, 0.5, shape)
            else:
                raise RuntimeError(f"unexpected weight {v.name} in {layer.name}")
            new.append(val.astype(np.float32))
        layer.set_weights(new)

    calib = rng.normal(0.0, 1.0, (16, input_hw, input_hw, 3)).astype(np.float32)
    for layer in model.layers:  # functional models list layers in topological order
        if not isinstance(layer, tf.keras.layers.BatchNormalization):
            continue
        x = tf.keras.Model(model.inputs, layer.input)(calib, training=False).numpy()
        axes = tuple(range(x.ndim - 1))
        mean, std = x.mean(axis=axes), np.maximum(x.std(axis=axes), 1e-3)
        n = mean.size
        vals = {
            "gamma": rng.uniform(0.3, 1.5, n) * np.where(rng.uniform(size=n) < 0.5, -1.0, 1.0),
            "beta": rng.uniform(-0.5, 0.5, n),
            "moving_mean": mean + 0.5 * std * rng.normal(size=n),
            "moving_variance": std ** 2 * rng.uniform(0.5, 2.0, n),
        }
        layer.set_weights([vals[v.name.split("/")[-1].split(":")[0]].astype(np.float32)
                           for v in layer.weights])
    return model


# --------------------------------------------------------------------------------------------
# Build, convert, check
# --------------------------------------------------------------------------------------------
def build(stem, index):
    fac, fields, hw, _ = MODELS[stem]
    tf.keras.backend.clear_session()  # layer names independent of what was built before
    tf.keras.utils.set_random_seed(SEED + index)
    model = fac(input_shape=(hw, hw, 3), weights=None, include_top=True,
                num_classes=NUM_CLASSES, **fields).build()
    return randomize(model, np.random.RandomState(SEED + index), hw), hw


def convert(model, hw, path):
    tf2onnx.utils.INTERNAL_NAME = 1  # tf2onnx numbers node names process-wide; restart per model
    spec = (tf.TensorSpec((None, hw, hw, 3), tf.float32, name="input"),)
    proto, _ = tf2onnx.convert.from_keras(model, input_signature=spec, opset=OPSET)
    onnx.save(proto, path)
    return proto


def check(model, proto, hw, rng):
    import onnxruntime as ort

    x = rng.normal(0.0, 1.0, (2, hw, hw, 3)).astype(np.float32)
    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    got = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    ref = model.predict(x, verbose=0)
    res = {"prob": float(np.abs(got - ref).max()), "argmax": bool((got.argmax(1) == ref.argmax(1)).all()),
           "max_prob": float(ref.max())}

    # pre-softmax logits, only for this check
    sm = [n for n in proto.graph.node if n.op_type == "Softmax"]
    if len(sm) == 1:
        p2 = onnx.ModelProto()
        p2.CopyFrom(proto)
        p2.graph.output.append(onnx.helper.make_tensor_value_info(sm[0].input[0], onnx.TensorProto.FLOAT, None))
        s2 = ort.InferenceSession(p2.SerializeToString(), providers=["CPUExecutionProvider"])
        got_l = s2.run(None, {s2.get_inputs()[0].name: x})[-1]
        ref_l = tf.keras.Model(model.inputs, model.layers[-1].input).predict(x, verbose=0)
        res["logits"] = float(np.abs(got_l - ref_l).max())
        res["logit_scale"] = float(np.abs(ref_l).max())
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="compare onnxruntime with Keras")
    ap.add_argument("--only", choices=sorted(MODELS), action="append")
    args = ap.parse_args()
    for i, stem in enumerate(MODELS):
        if args.only and stem not in args.only:
            continue
        model, hw = build(stem, i)
        path = os.path.join(HERE, stem + ".onnx")
        proto = convert(model, hw, path)
        ops = collections.Counter(n.op_type for n in proto.graph.node)
        n_params = model.count_params()
        line = f"{stem}.onnx: {MODELS[stem][3]}; input Nx{hw}x{hw}x3 NHWC (dynamic N); keras params {n_params}; " \
               f"{os.path.getsize(path)} bytes"
        if args.check:
            line += f"; check {check(model, proto, hw, np.random.RandomState(1000 + i))}"
        print(line, flush=True)
        print("   ops:", dict(sorted(ops.items())))
        print("   sha256:", hashlib.sha256(open(path, "rb").read()).hexdigest(), flush=True)


if __name__ == "__main__":
    sys.exit(main())
