"""Which layers to shrink or sparsify when a model does not fit its target."""
from __future__ import annotations

# Bits per weight of a sparse binary layer at 10 % connections (its entropy H(0.1)):
# DESIGN.md's figure for what sparsifying a 1-bit layer can bring.
SPARSE_BITS = 0.47


def _flash_actions(layers: list[dict], over: int) -> dict:
    """Largest weight arrays first, until their savings cover ``over`` bytes."""
    actions, saved = {}, 0
    for i in sorted(range(len(layers)), key=lambda i: -layers[i]["weight_bytes"]):
        r = layers[i]
        if saved >= over or r["weight_bytes"] == 0:
            break
        if r["format"] == "float32":
            gain = r["weight_bytes"] - r["weight_bytes"] // 32
            actions[i] = f"binarize its float weights (saves ~{gain} B)"
        elif r["format"] == "bits":
            gain = int(r["weight_bytes"] * (1 - SPARSE_BITS))
            actions[i] = f"sparsify (10 % connections: ~{gain} B less) or shrink it"
        else:
            gain = r["weight_bytes"]
            actions[i] = "shrink it (fewer channels)"
        saved += gain
    return actions


def _sram_actions(report: dict, layers: list[dict]) -> dict:
    """Layers whose live activations pass what the budget leaves for the arena."""
    m, b = report["memory"], report["budget"]
    fixed = m["sram_bytes"] - m["arena_bytes"]
    room = b["sram_bytes"] - fixed
    if room < 0:  # the input/output buffers, stack and statics alone do not fit
        n_in = 4 * _count(report["input_shape"])
        return {0: (f"its float32 input buffer takes {n_in} B of the {fixed} B outside the arena (input + output "
                    f"{m['io_bytes']}, stack {m['stack_bytes']}, statics {m['static_bytes']}), more than the "
                    f"{b['sram_bytes']} B budget: feed a smaller input")}
    marked = {i: f"shrink its activations by {r['live_bytes'] - room} B ({r['live_bytes']} B live here, "
                 f"{room} B left for the arena): fewer channels, pool or stride earlier"
              for i, r in enumerate(layers) if r["live_bytes"] > room}
    if not marked:  # every layer's live bytes fit: the plan's fragmentation does not
        peak = m["above_lower_bound"]["peak_layer"]
        marked[peak] = (f"the arena is {m['arena_bytes'] - m['lower_bound_bytes']} B above the lower bound "
                        f"(see the plan): shrink the tensors live here")
    return marked


def _count(shape) -> int:
    n = 1
    for s in shape[1:]:
        n *= int(s)
    return n


def actions(report: dict) -> dict:
    """layer index -> what to do about it, for the resources that overflow."""
    m, b, layers = report["memory"], report["budget"], report["layers"]
    out: dict = {}
    if not b["sram_fits"]:
        for i, text in _sram_actions(report, layers).items():
            out[i] = "SRAM: " + text
    if not b["flash_fits"]:
        for i, text in _flash_actions(layers, m["flash_bytes"] - b["flash_bytes"]).items():
            out[i] = (out[i] + "; " if i in out else "") + "flash: " + text
    return out
