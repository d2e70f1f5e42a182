"""--emit DIR: the chosen candidate as an untrained ONNX skeleton, its architecture, and a
PyTorch training script (trainer.py with the architecture and the data folder written in)."""
from __future__ import annotations

import json
from pathlib import Path

from .. import resources
from . import onnxgen


def mnist_folder() -> str | None:
    """The bundled MNIST test files of a source checkout (examples/data/mnist)."""
    try:
        d = resources.targets().parent / "examples" / "data" / "mnist"
    except FileNotFoundError:
        return None
    return str(d) if d.is_dir() else None


def files(row: dict) -> dict[str, str | bytes]:
    arch = row["arch"]
    script = (Path(__file__).with_name("trainer.py")).read_text()
    script = script.replace("ARCH = None  #", f"ARCH = {arch!r}  #", 1)
    script = script.replace("DATA = None  #", f"DATA = {mnist_folder()!r}  #", 1)
    readme = (f"# {row['label']}\n\nUntrained skeleton proposed by `edgebnn design`: {row['params']} weights, "
              f"{row['connections']} connections, {row['macs']} MACs; estimated flash {row['flash_bytes']} B, "
              f"SRAM {row['sram_bytes']} B, {row['instructions']} instructions per inference (QEMU -icount model, "
              f"not cycles).\n\n    python train.py --epochs 3 -o model.onnx   # needs torch\n"
              f"    edgebnn compile model.onnx --target <T> -o out\n")
    return {"skeleton.onnx": onnxgen.build(arch).SerializeToString(), "arch.json": json.dumps(arch, indent=1) + "\n",
            "train.py": script, "README.md": readme}
