"""SRAM and flash a compiled model needs on its target, and what to do when it does not fit.

SRAM = arena + stack of model_run + statics the runtime keeps besides the arena + the
caller's input and output buffers (model_run reads a float input and writes a float
output; the application must hold both).  The static arena sits in .bss: it is counted
once, as the arena.  Flash = code + weights + other read-only data + initialised data.
"""
from __future__ import annotations

from ..errors import EdgebnnError
from ..ir import Graph


class BudgetError(EdgebnnError):
    """A model that does not fit its target; ``details`` is the table that says why."""

    def __init__(self, message: str, details: str):
        super().__init__(message)
        self.details = details


def static_arena_bytes(arena: int) -> int:
    """Bytes of model.c's static arena array (uint32_t words, at least one)."""
    return 4 * max(1, (arena + 3) // 4)


def io_bytes(graph: Graph) -> int:
    return graph.tensors[graph.input].nbytes + 4 * graph.tensors[graph.output].size


def memory(graph: Graph, plan, weight_bytes: int, sized: dict) -> dict:
    """The report's ``memory`` block (sizes in bytes)."""
    measured = sized["source"] == "measured"
    code = sized["text"]
    rodata = sized["rodata"] if measured else weight_bytes
    flash = code + rodata + sized["data"]
    statics = sized["data"] + sized["bss"] - static_arena_bytes(plan.arena_bytes) if measured else 0
    io = io_bytes(graph)
    sram = plan.arena_bytes + sized["stack"] + statics + io
    return {
        "arena_bytes": plan.arena_bytes,
        "lower_bound_bytes": plan.lower_bound_bytes,
        "no_reuse_bytes": plan.no_reuse_bytes,
        "above_lower_bound": plan.above(),
        "planner": {**plan.summary(), "buffers": buffer_rows(plan)},
        "stack_bytes": sized["stack"],
        "stack_source": sized["stack_source"],
        "stack_chain": sized["stack_chain"],
        "static_bytes": statics,
        "io_bytes": io,
        "sram_bytes": sram,
        "flash_bytes": flash,
        "weight_bytes": weight_bytes,
        "code_bytes": code,
        "code_source": sized["source"],
        "other_rodata_bytes": rodata - weight_bytes,
        "data_bytes": sized["data"],
    }


def buffer_rows(plan) -> list[dict]:
    return [{"tensors": list(b.tensors), "name": b.name, "offset": o, "bytes": b.size, "raw_bytes": b.raw_bytes,
             "layers": [b.start, b.end]} for b, o in zip(plan.buffers, plan.buffer_offsets)]


def budget(mem: dict, target) -> dict:
    sram_ok = mem["sram_bytes"] <= target.sram_bytes
    flash_ok = mem["flash_bytes"] <= target.flash_bytes
    return {"sram_bytes": target.sram_bytes, "flash_bytes": target.flash_bytes, "fits": sram_ok and flash_ok,
            "sram_fits": sram_ok, "flash_fits": flash_ok,
            "sram_free_bytes": target.sram_bytes - mem["sram_bytes"],
            "flash_free_bytes": target.flash_bytes - mem["flash_bytes"]}


def check(report: dict) -> None:
    """Raise BudgetError (with the per-layer table) when the model does not fit."""
    if report["budget"]["fits"]:
        return
    from .markdown import overflow_table

    raise BudgetError(overflow_line(report), overflow_table(report))


def overflow_line(report: dict) -> str:
    m, b = report["memory"], report["budget"]
    parts = []
    if not b["sram_fits"]:
        parts.append(f"SRAM {m['sram_bytes']} B needed, {b['sram_bytes']} B available "
                     f"(over by {m['sram_bytes'] - b['sram_bytes']} B)")
    if not b["flash_fits"]:
        parts.append(f"flash {m['flash_bytes']} B needed, {b['flash_bytes']} B available "
                     f"(over by {m['flash_bytes'] - b['flash_bytes']} B)")
    return (f"the model does not fit {report['target']}: {'; '.join(parts)}; shrink or sparsify the layers "
            f"marked in the table above, raise --sram/--flash, or pass --allow-overflow to write the C anyway")
