"""The report as people read it: terminal tables and report.md."""
from __future__ import annotations

from . import advice


def text_table(rows: list[list], header: list[str], left: tuple = (0,)) -> str:
    """Columns right-aligned (numbers) except those in ``left``."""
    cells = [header] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) if i in left else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip()
             for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def md_table(rows: list[list], header: list[str]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |" for r in rows]
    return "\n".join(lines)


def short(name, limit: int = 28) -> str:
    clean = "".join(c if c.isprintable() else "?" for c in str(name))
    return clean if len(clean) <= limit else clean[: limit - 3] + "..."


def op_label(row: dict) -> str:
    """A layer's op with the epilogues its kernel computes: ``bdense+threshold``."""
    return "+".join([row["op"], *row.get("epilogues", [])])


def _shape(s) -> str:
    return "x".join(map(str, s)) or "-"


PLAN_HEADER = ["#", "layer", "op", "in", "out", "MACs", "weight B", "offset", "size B", "live B"]


def plan_rows(report: dict) -> list[list]:
    return [[i, short(r["name"]), op_label(r) + (" (in place)" if r.get("in_place") else ""), _shape(r["input_shape"]),
             _shape(r["output_shape"]), r["binary_macs"] + r["real_macs"], r["weight_bytes"],
             "-" if r["arena_offset"] is None else r["arena_offset"], r["arena_bytes"], r["live_bytes"]]
            for i, r in enumerate(report["layers"])]


def plan_table(report: dict) -> str:
    return text_table(plan_rows(report), PLAN_HEADER)


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def overflow_table(report: dict) -> str:
    """Per layer: what it takes of flash and SRAM, and what to do about the layers marked."""
    m, b = report["memory"], report["budget"]
    todo = advice.actions(report)
    rows = [[("* " if i in todo else "  ") + str(i), short(r["name"]), op_label(r), _shape(r["output_shape"]),
             r["weight_bytes"], _pct(r["weight_bytes"], b["flash_bytes"]), r["live_bytes"],
             _pct(r["live_bytes"], b["sram_bytes"]), todo.get(i, "")]
            for i, r in enumerate(report["layers"])]
    head = ["#", "layer", "op", "out", "weight B", "of flash", "live B", "of SRAM", "what to do"]
    return "\n".join([text_table(rows, head, left=(0, len(head) - 1)), budget_lines(report)])


def budget_lines(report: dict) -> str:
    m, b = report["memory"], report["budget"]
    return (f"SRAM {m['sram_bytes']} B of {b['sram_bytes']} ({'fits' if b['sram_fits'] else 'OVER'}): arena "
            f"{m['arena_bytes']} (lower bound {m['lower_bound_bytes']}) + stack {m['stack_bytes']} + statics "
            f"{m['static_bytes']} + input/output buffers {m['io_bytes']}\n"
            f"flash {m['flash_bytes']} B of {b['flash_bytes']} ({'fits' if b['flash_fits'] else 'OVER'}): weights "
            f"{m['weight_bytes']} + code {m['code_bytes']} + other constants {m['other_rodata_bytes']} + data "
            f"{m['data_bytes']} ({m['code_source']})")


def planner_lines(report: dict) -> str:
    m = report["memory"]
    p = m["planner"]
    tried = ", ".join(f"{k} {v}" for k, v in p["strategies"].items())
    inplace = ", ".join(f"layer {e['layer']}" for e in p["in_place"]) or "none"
    return (f"planner: {p['strategy']} ({tried}; no reuse {m['no_reuse_bytes']}); in place: {inplace}\n"
            f"arena vs lower bound: {m['above_lower_bound']['explanation']}")


def render(report: dict, picture: str | None = "memory.png") -> str:
    """report.md: the device, the budget, the plan and the per-layer table."""
    d, b = report["device"], report["budget"]
    lines = [f"# edgebnn report: {short(report['model'], 80)}", "",
             f"Target **{d['name']}**" + (f" (alias of {d['alias_of']})" if d["alias_of"] else "")
             + f": {d['description']}; flags `{' '.join(d['cflags'])}`.", "",
             "## Budget", "", "**fits**" if b["fits"] else "**DOES NOT FIT**", "", "```",
             budget_lines(report), "```", ""]
    if not b["fits"]:
        lines += ["What to do:", "", "```", overflow_table(report), "```", ""]
    if "kernel_choice" in report:  # slower kernels were chosen to fit (compiler.analyse)
        lines += [f"Kernels: {report['kernel_choice']}.", ""]
    m = report["memory"]
    lines += ["## Memory plan", "", "```", planner_lines(report), "```", "",
              f"Stack {m['stack_bytes']} B ({m['stack_source']}): " + (" -> ".join(m["stack_chain"]) or "-"), ""]
    if picture:
        lines += [f"![memory timeline]({picture})", ""]
    lines += ["## Layers", "", md_table(plan_rows(report), PLAN_HEADER), ""]
    return "\n".join(lines)
