#!/usr/bin/env python3
"""Make small random-weight Larq BNNs as plain TFLite and as Larq Compute Engine (LCE) files.

Run with the LCE environment (tensorflow-cpu 2.15.1, larq 0.14, larq-compute-engine 0.16,
numpy 1.26); larq-zoo 2.4 is read from the larq environment's site-packages (its protobuf pin
keeps it out of the LCE environment, and pure-Python protobuf lets both load together):

    /work/venvs/lce/bin/python tests/models/tflite/make_models.py [--larq-site DIR]

For each network it writes `<name>_plain.tflite` (tf.lite.TFLiteConverter, float32) and
`<name>_lce.tflite` (lce.convert_keras_model), and `outputs.npz`: per model the seeded test
inputs (`<name>_x`, NHWC float32) and the outputs of LCE's own interpreter with its reference
binary convolution (`use_reference_bconv=True`) on the LCE file (`<name>_lce_y`) and on the plain
file (`<name>_plain_y`), see README.md for why the reference kernel; and the gammas of every
BatchNormalization layer in model order (`<name>_bn<i>_gamma`). `quantized_int8.tflite` is a small
float model converted with full int8 quantization (edgebnn must refuse it). Everything is seeded.
"""
import argparse
import hashlib
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION", "python")

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 23
N_INPUTS = 8
NUM_CLASSES = 10


def _args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--larq-site", default="/work/venvs/larq/lib/python3.11/site-packages",
                    help="site-packages holding larq_zoo and zookeeper")
    ap.add_argument("--only", action="append")
    return ap.parse_args()


ARGS = _args()
sys.path.append(ARGS.larq_site)  # after the LCE environment's own packages

import larq as lq  # noqa: E402
import larq_compute_engine as lce  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from larq_zoo.literature.birealnet import BiRealNetFactory  # noqa: E402
from larq_zoo.sota.quicknet import QuickNetSmallFactory  # noqa: E402


def sequential_bnn(hw):
    """QuantConv2D with pad_values 1.0 and 0.0, strides, dilation, BatchNorm (gammas of both
    signs, set by randomize), MaxPool before and after the BatchNorm, QuantDense, softmax."""
    q = dict(input_quantizer="ste_sign", kernel_quantizer="ste_sign", kernel_constraint="weight_clip",
             use_bias=False)
    L, bn = tf.keras.layers, tf.keras.layers.BatchNormalization
    return tf.keras.Sequential([
        tf.keras.Input((hw, hw, 3)),
        lq.layers.QuantConv2D(16, 3, kernel_quantizer="ste_sign", kernel_constraint="weight_clip",
                              use_bias=False),  # real input, binary weights
        bn(),
        lq.layers.QuantConv2D(32, 3, padding="same", pad_values=1.0, **q),  # -> bit-packed output
        bn(),
        L.MaxPool2D(2),  # BN -> MaxPool -> sign: LceBMaxPool2d
        lq.layers.QuantConv2D(32, 3, padding="same", pad_values=0.0, **q),  # zero padding, float out
        L.MaxPool2D(2),
        bn(),
        lq.layers.QuantConv2D(48, 3, strides=2, padding="same", pad_values=1.0, **q),
        bn(),
        lq.layers.QuantConv2D(40, 3, dilation_rate=2, padding="same", pad_values=1.0, **q),
        bn(),
        L.Flatten(),
        lq.layers.QuantDense(64, **q),
        bn(),
        lq.layers.QuantDense(NUM_CLASSES, **q),
        bn(),
        L.Activation("softmax"),
    ])


def tiny_bnn(hw):
    """The fuzz tests' base: a real conv, a bit-packed binary conv, a binary max-pool, a
    float-output binary conv with zero padding, a binary dense layer."""
    q = dict(input_quantizer="ste_sign", kernel_quantizer="ste_sign", kernel_constraint="weight_clip",
             use_bias=False)
    L, bn = tf.keras.layers, tf.keras.layers.BatchNormalization
    return tf.keras.Sequential([
        tf.keras.Input((hw, hw, 3)),
        L.Conv2D(8, 3, use_bias=False), bn(),
        lq.layers.QuantConv2D(8, 3, padding="same", pad_values=1.0, **q), bn(),
        L.MaxPool2D(2),
        lq.layers.QuantConv2D(8, 3, padding="same", pad_values=0.0, **q), bn(),
        L.Flatten(),
        lq.layers.QuantDense(NUM_CLASSES, **q),
    ])


def real_ops(hw):
    """The residual and real-valued ops around binary convolutions: PReLU, a channel concat,
    ReLU, ReLU6, a depthwise conv with multiplier 2, a zero pad of channels, binary convs with
    a ReLU after them (folded into the thresholds of a bit-packed output; fused into a float
    output), global average pooling (MEAN), softmax."""
    q = dict(input_quantizer="ste_sign", kernel_quantizer="ste_sign", kernel_constraint="weight_clip",
             use_bias=False)
    L, bn = tf.keras.layers, tf.keras.layers.BatchNormalization
    x = tf.keras.Input((hw, hw, 3))
    a = L.PReLU(shared_axes=[1, 2])(bn()(L.Conv2D(8, 3, padding="same", use_bias=False)(x)))
    b = bn()(lq.layers.QuantConv2D(8, 3, padding="same", pad_values=1.0, **q)(a))
    y = L.ReLU()(L.Concatenate()([a, b]))
    y = L.ReLU(max_value=6.0)(L.DepthwiseConv2D(3, depth_multiplier=2, padding="same")(y))
    y = L.Lambda(lambda t: tf.pad(t, [[0, 0], [0, 0], [0, 0], [4, 4]]))(y)
    y = L.ReLU()(lq.layers.QuantConv2D(16, 3, strides=2, padding="same", pad_values=1.0, **q)(y))
    y = L.ReLU()(lq.layers.QuantConv2D(16, 3, padding="same", pad_values=1.0, **q)(bn()(y)))  # float out
    y = L.Dense(NUM_CLASSES)(L.GlobalAveragePooling2D()(y))
    return tf.keras.Model(x, L.Activation("softmax")(y))


def quicknet_small(hw):
    return QuickNetSmallFactory(input_shape=(hw, hw, 3), weights=None, include_top=True,
                                num_classes=NUM_CLASSES, section_filters=(8, 16, 24, 32)).build()


def birealnet(hw):
    return BiRealNetFactory(input_shape=(hw, hw, 3), weights=None, include_top=True,
                            num_classes=NUM_CLASSES, filters=4).build()


# name: (builder, input H = W, description of the reduction)
MODELS = {
    "bnn_seq": (sequential_bnn, 16, "Sequential BNN, 16x16x3 input"),
    "quicknet_small": (quicknet_small, 32, "QuickNetSmall, section_filters (32,64,256,512) -> (8,16,24,32)"),
    "birealnet": (birealnet, 32, "BiRealNet (18 layers), filters 64 -> 4 (stages 4/8/16/32)"),
    "tiny": (tiny_bnn, 8, "a tiny BNN for the fuzz tests, 8x8x3 input"),
    "real_ops": (real_ops, 16, "binary convs among real-valued ops (PReLU, Concat, ReLU6, depthwise, MEAN), 16x16x3"),
}


def randomize(model, rng, hw):
    """Random latent weights; BatchNorm statistics around the layer's real input, gammas of
    both signs (as tests/models/larq/make_models.py does)."""
    for layer in model.layers:
        if isinstance(layer, tf.keras.layers.BatchNormalization) or not layer.weights or not layer.trainable:
            continue
        new = []
        for v in layer.weights:
            shape, name = tuple(v.shape), v.name.split("/")[-1]
            if name.startswith(("kernel", "depthwise_kernel")):
                binary = getattr(layer, "kernel_quantizer", None) is not None
                fan_in = int(np.prod(shape[:2] if name.startswith("depthwise") else shape[:-1]))
                val = rng.normal(0.0, 0.3 if binary else np.sqrt(2.0 / fan_in), shape)
            elif name.startswith("bias"):
                val = rng.uniform(-0.1, 0.1, shape)
            elif name.startswith("alpha"):
                val = rng.uniform(0.05, 0.5, shape)
            else:
                raise RuntimeError(f"unexpected weight {v.name} in {layer.name}")
            new.append(val.astype(np.float32))
        layer.set_weights(new)
    calib = rng.normal(0.0, 1.0, (16, hw, hw, 3)).astype(np.float32)
    for layer in model.layers:
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
        layer.set_weights([vals[v.name.split("/")[-1].split(":")[0]].astype(np.float32) for v in layer.weights])
    return model


def quantized_int8(rng):
    """A small float CNN with full int8 quantization: edgebnn refuses it."""
    m = tf.keras.Sequential([tf.keras.Input((8, 8, 3)), tf.keras.layers.Conv2D(4, 3, activation="relu"),
                             tf.keras.layers.Flatten(), tf.keras.layers.Dense(NUM_CLASSES)])
    conv = tf.lite.TFLiteConverter.from_keras_model(m)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([rng.normal(size=(1, 8, 8, 3)).astype(np.float32)] for _ in range(8))
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = conv.inference_output_type = tf.int8
    return conv.convert()


def run(data, x, **kwargs):
    """LCE's interpreter, one sample at a time."""
    interp = lce.testing.Interpreter(data, **kwargs)
    return np.concatenate([interp.predict(x[j:j + 1]) for j in range(len(x))])


def write(name, data):
    path = os.path.join(HERE, name)
    with open(path, "wb") as f:
        f.write(data)
    print(f"{name}: {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()[:16]}", flush=True)


def main():
    arrays = {}
    out = os.path.join(HERE, "outputs.npz")
    if ARGS.only and os.path.exists(out):
        arrays.update(np.load(out))
    for i, (stem, (build, hw, what)) in enumerate(MODELS.items()):
        if ARGS.only and stem not in ARGS.only:
            continue
        tf.keras.backend.clear_session()
        tf.keras.utils.set_random_seed(SEED + i)
        rng = np.random.RandomState(SEED + i)
        model = randomize(build(hw), rng, hw)
        x = np.random.RandomState(1000 + i).normal(0.0, 1.0, (N_INPUTS, hw, hw, 3)).astype(np.float32)
        plain = tf.lite.TFLiteConverter.from_keras_model(model).convert()
        packed = lce.convert_keras_model(model)
        write(f"{stem}_plain.tflite", plain)
        write(f"{stem}_lce.tflite", packed)
        if stem == "tiny":  # float16 weights (DEQUANTIZE of constants): still a float model
            conv = tf.lite.TFLiteConverter.from_keras_model(model)
            conv.optimizations = [tf.lite.Optimize.DEFAULT]
            conv.target_spec.supported_types = [tf.float16]
            write("tiny_fp16.tflite", conv.convert())
            odd = tf.keras.Sequential([tf.keras.Input((4,)), tf.keras.layers.Lambda(tf.math.cos)])
            write("unsupported_cos.tflite", tf.lite.TFLiteConverter.from_keras_model(odd).convert())
        arrays[f"{stem}_x"] = x
        bns = [layer for layer in model.layers if isinstance(layer, tf.keras.layers.BatchNormalization)]
        for j, layer in enumerate(bns):  # BN slopes' signs: the threshold test covers both
            arrays[f"{stem}_bn{j}_gamma"] = layer.get_weights()[0]
        for kind, data in (("plain", plain), ("lce", packed)):
            arrays[f"{stem}_{kind}_y"] = run(data, x, use_reference_bconv=True)
        keras_y, fast = model.predict(x, verbose=0), run(packed, x)
        print(f"   {what}; keras vs LCE (reference bconv) max abs {np.abs(keras_y - arrays[f'{stem}_lce_y']).max():.2e}, "
              f"argmax agree {(keras_y.argmax(1) == arrays[f'{stem}_lce_y'].argmax(1)).sum()}/{len(x)}; "
              f"LCE's optimized bconv vs its reference max abs {np.abs(fast - arrays[f'{stem}_lce_y']).max():.2e}")
    if not ARGS.only:
        write("quantized_int8.tflite", quantized_int8(np.random.RandomState(SEED)))
    np.savez_compressed(out, **arrays)
    print("versions: tensorflow", tf.__version__, "larq", lq.__version__, "lce", lce.__version__,
          "numpy", np.__version__)


if __name__ == "__main__":
    sys.exit(main())
