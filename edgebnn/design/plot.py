"""design.png: every estimated candidate on flash vs instructions, the budget lines drawn,
the fitting ones and the Pareto front marked."""
from __future__ import annotations

import io


def png(rows: list[dict], front: list[dict], tgt, max_instructions=None) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    done = [r for r in rows if "skipped" not in r]
    fig, ax = plt.subplots(figsize=(8, 5.5), dpi=110)
    for fits, style in ((False, dict(c="0.75", marker="x", label="over a budget")),
                        (True, dict(c="tab:blue", marker="o", label="fits"))):
        pts = [r for r in done if r["fits"] == fits]
        ax.scatter([r["flash_bytes"] / 1024 for r in pts], [r["instructions"] for r in pts], s=18, **style)
    ax.scatter([r["flash_bytes"] / 1024 for r in front], [r["instructions"] for r in front], s=70,
               facecolors="none", edgecolors="tab:red", label="Pareto front (capacity / instructions / flash)")
    for i, r in enumerate(front[:8]):
        ax.annotate(f"{i + 1}", (r["flash_bytes"] / 1024, r["instructions"]), fontsize=8,
                    xytext=(4, 4), textcoords="offset points")
    ax.axvline(tgt.flash_bytes / 1024, color="tab:red", ls="--", lw=1, label=f"flash budget {tgt.flash_bytes // 1024} KiB")
    if max_instructions:
        ax.axhline(max_instructions, color="tab:orange", ls="--", lw=1, label=f"max {max_instructions:,} instructions")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("flash, KiB (code + weights in their stored format)")
    ax.set_ylabel("instructions per inference (QEMU -icount model, not cycles)")
    ax.set_title(f"edgebnn design: candidates on {tgt.name}, SRAM budget {tgt.sram_bytes // 1024} KiB")
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(True, which="both", alpha=0.3)
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()
