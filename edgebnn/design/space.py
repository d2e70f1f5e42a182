"""The candidate architectures for an input shape, a number of classes and a family.

MLP: the pixels binarized, 1-3 binary hidden layers of one width, the first layer (which
holds most weights) and the others each dense (100 %) or sparse (10 %, 5 % of the
connections), the classifier binary or real-valued.  CNN: a real first convolution (4-16
channels, k 3, stride 1 or 2: a real first layer keeps the pixels' grey levels), 1-2 binary
3x3 convolutions that halve the map by 2x2 max pooling or by stride 2 (the stride keeps the
int32 accumulator map small, which small SRAMs need), dense or at 10 % connections, then a
binary classifier, dense or at 5 % (the usual choices of binary networks: BinaryConnect,
XNOR-Net, SBNN).
"""
from __future__ import annotations

import itertools

from ..errors import EdgebnnError

WIDTHS = (64, 128, 256, 512)
FIRST_RATES = (1.0, 0.1, 0.05)
OTHER_RATES = (1.0, 0.1)


def mlp(shape, classes) -> list[dict]:
    out = []
    for width, depth, r0 in itertools.product(WIDTHS, (1, 2, 3), FIRST_RATES):
        for rest in itertools.product(OTHER_RATES, repeat=min(depth - 1, 1)):
            for real_out in (False, True):
                hidden = [{"op": "dense", "out": width, "rate": r0}]
                hidden += [{"op": "dense", "out": width, "rate": rest[0]} for _ in range(depth - 1)]
                out.append({"family": "mlp", "input": list(shape), "classes": classes,
                            "layers": hidden + [{"op": "dense", "out": classes, "rate": 1.0, "real": real_out}]})
    return out


def cnn(shape, classes) -> list[dict]:
    c, h, w = shape
    out = []
    for c1, s1, n, width, pool, rc, rd in itertools.product((4, 8, 16), (1, 2), (1, 2), (16, 32), (True, False),
                                                            (1.0, 0.1), (1.0, 0.05)):
        side = min(h, w) // s1
        if side >> n < 2:  # every binary convolution halves the map: keep at least 2x2
            continue
        layers = [{"op": "conv", "out": c1, "k": 3, "stride": s1, "pool": False, "real": True, "rate": 1.0}]
        layers += [{"op": "conv", "out": width, "k": 3, "stride": 1 if pool else 2, "pool": pool, "rate": rc}
                   for _ in range(n)]
        layers.append({"op": "dense", "out": classes, "rate": rd})
        out.append({"family": "cnn", "input": list(shape), "classes": classes, "layers": layers})
    return out


def candidates(shape, classes: int, family: str | None = None) -> list[dict]:
    if classes < 2 or classes > 100000:
        raise EdgebnnError(f"--classes {classes}: give the number of classes, 2 or more")
    if family == "cnn" and min(shape[1:]) < 4:
        raise EdgebnnError(f"--input {'x'.join(map(str, shape))}: a CNN needs an image of at least 4x4; use --family mlp")
    fams = [family] if family else (["mlp", "cnn"] if min(shape[1:]) >= 4 else ["mlp"])
    return [a for f in fams for a in (mlp if f == "mlp" else cnn)(shape, classes)]
