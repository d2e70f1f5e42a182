"""Load the MNIST test set shipped in examples/data/mnist (gzip idx files, numpy only).

    images, labels = load_mnist_test()      # uint8 (10000, 28, 28), int64 (10000,)
    x = tfc_inputs(images)                  # float32 (10000, 1, 28, 28), pixels in [0, 1]
"""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

DEFAULT_FOLDER = Path(__file__).resolve().parent / "data" / "mnist"
IMAGES_FILE = "t10k-images-idx3-ubyte.gz"
LABELS_FILE = "t10k-labels-idx1-ubyte.gz"

# idx magic: two zero bytes, a type code (0x08 = unsigned byte), the number of dimensions.
_IMAGES_MAGIC = 0x00000803
_LABELS_MAGIC = 0x00000801


def _read_idx(path: Path, magic: int, ndim: int) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        data = f.read()
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{path}: truncated idx header")
    found = int.from_bytes(data[0:4], "big")
    if found != magic:
        raise ValueError(f"{path}: idx magic 0x{found:08x}, expected 0x{magic:08x}")
    dims = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(dims)) + header
    if len(data) != expected:
        raise ValueError(f"{path}: {len(data)} bytes, expected {expected} for dims {dims}")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def load_mnist_test(folder: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Return (images uint8 (N, 28, 28), labels int64 (N,)) from the gzip idx test files."""
    folder = DEFAULT_FOLDER if folder is None else Path(folder)
    images = _read_idx(folder / IMAGES_FILE, _IMAGES_MAGIC, 3)
    labels = _read_idx(folder / LABELS_FILE, _LABELS_MAGIC, 1)
    if images.shape[1:] != (28, 28):
        raise ValueError(f"MNIST images are {images.shape[1:]}, expected (28, 28)")
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"{images.shape[0]} images but {labels.shape[0]} labels")
    if labels.size and labels.max() > 9:
        raise ValueError(f"label {labels.max()} out of range 0..9")
    return images.copy(), labels.astype(np.int64)


def tfc_inputs(images: np.ndarray) -> np.ndarray:
    """Images uint8 (N, 28, 28) -> float32 (N, 1, 28, 28) scaled to [0, 1] (x / 255).

    The TFC graph itself maps [0, 1] to [-1, 1] (Mul 2, Sub 1) before its first binarizer.
    """
    images = np.asarray(images)
    return (images.astype(np.float32) / np.float32(255.0)).reshape(images.shape[0], 1, 28, 28)
