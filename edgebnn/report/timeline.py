"""The memory-timeline picture: arena offset against layer, one bar per tensor.

Rendered with matplotlib's Agg backend, without the PNG's "Software" text, so the
same report gives the same bytes on every run (compile output folders are compared
byte for byte)."""
from __future__ import annotations

import io

from .markdown import op_label

COLORS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#8c8c8c")


def png(report: dict) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    m, layers = report["memory"], report["layers"]
    bufs = m["planner"]["buffers"]
    fig = Figure(figsize=(9, 4.8), dpi=100)
    ax = fig.add_subplot()
    for k, b in enumerate(bufs):
        (a, z), color = b["layers"], COLORS[k % len(COLORS)]
        ax.broken_barh([(a - 0.4, z - a + 0.8)], (b["offset"], b["bytes"]), facecolors=color,
                       edgecolor="black", linewidth=0.5, alpha=0.85)
        if b["bytes"] >= 0.04 * max(m["arena_bytes"], 1):  # label the bars tall enough to hold text
            ax.text((a + z) / 2, b["offset"] + b["bytes"] / 2, f"L{a}: {b['bytes']} B", ha="center",
                    va="center", fontsize=7)
    ax.axhline(m["arena_bytes"], color="black", linewidth=1)
    if m["lower_bound_bytes"] != m["arena_bytes"]:
        ax.axhline(m["lower_bound_bytes"], color="red", linestyle="--", linewidth=1)
    ax.set_xticks(range(len(layers)), [f"{i} {op_label(r)}" for i, r in enumerate(layers)], rotation=60,
                  ha="right", fontsize=7)
    ax.set_xlim(-0.6, max(len(layers) - 0.4, 0.6))
    ax.set_ylim(0, max(m["arena_bytes"], 1) * 1.08)
    ax.set_xlabel("layer")
    ax.set_ylabel("arena offset (bytes)")
    ax.set_title(f"{report['target']}: bars are tensors (from the layer that writes them to the last that reads "
                 f"them)\narena {m['arena_bytes']} B, lower bound {m['lower_bound_bytes']} B, "
                 f"no reuse {m['no_reuse_bytes']} B", fontsize=9)
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()
