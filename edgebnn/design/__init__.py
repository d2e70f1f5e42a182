"""The resource-budget design assistant (``edgebnn design``): which binary network fits this chip?

- ``arch``      the architecture description (a small JSON-able dict) and its labels
- ``onnxgen``   an architecture -> a real ONNX graph with random weights
- ``space``     the enumeration of candidate architectures for an input and a family
- ``estimate``  flash and SRAM (the real passes and planner) and instructions (``costmodel``)
- ``costmodel`` per-layer instruction model, calibrated from QEMU counts (``calibrate``)
- ``search``    estimate every candidate, keep those that fit, the Pareto front
- ``emit``, ``plot``, ``trainer``  the skeleton + training script, the picture, --train
"""
