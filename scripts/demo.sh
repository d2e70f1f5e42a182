#!/usr/bin/env bash
# The main job: compile the bundled TFC-W1A1 for cortex-m4, validate the C, print the report.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
model=examples/models/tfc_w1a1/TFC_1W1A.onnx
.venv/bin/edgebnn compile "$model" --target cortex-m4 -o out/tfc_w1a1
.venv/bin/edgebnn validate "$model" --random 200
.venv/bin/python examples/tfc_accuracy.py -o out/tfc_w1a1_host
