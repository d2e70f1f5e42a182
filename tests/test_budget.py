"""Device targets and the budget check (issue 5): SRAM = arena + stack + statics + the
caller's input/output buffers, flash = code + weights + other constants; predictions agree
with arm-none-eabi-size of the cross-compiled C; a model that does not fit fails compile
with a per-layer table and exit 2, and writes nothing."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import edgebnn
from cnn_builders import build_cnv
from edgebnn import targets
from edgebnn.check import emulate
from edgebnn.codegen import sizes
from edgebnn.errors import EdgebnnError

ROOT = Path(__file__).resolve().parents[1]
TFC = ROOT / "examples" / "models" / "tfc_w1a1" / "TFC_1W1A.onnx"
ALIASES = {"stm32f411": ("cortex-m4", 131072, 524288), "nrf52840": ("cortex-m4", 262144, 1048576),
           "stm32f746": ("cortex-m7", 327680, 1048576), "rp2040": ("cortex-m0plus", 270336, 2097152)}


def cli(*args, cwd=ROOT):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "edgebnn", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=300)


@pytest.fixture(scope="module")
def arm():
    found = sizes.tools(targets.get("cortex-m4"))
    if not found:
        pytest.fail("arm-none-eabi-gcc/size not found: apt-get install gcc-arm-none-eabi (scripts/setup.sh)")
    return found


# --- targets ---------------------------------------------------------------------------

def test_every_target_file_loads_with_its_facts():
    names = targets.available()
    for needed in ("cortex-m0plus", "cortex-m3", "cortex-m4", "cortex-m7", "cortex-m33", "host", *ALIASES):
        assert needed in names
    for name in names:
        t = targets.get(name)
        assert t.name == name and t.core and t.cc and t.sram_bytes > 0 and t.flash_bytes > 0
    m0 = targets.get("cortex-m0plus")
    assert (m0.sram_bytes, m0.flash_bytes, m0.fpu, m0.popcount, m0.qemu_machine) == (264 * 1024, 2 << 20, False,
                                                                                      False, "")
    assert m0.cflags == ("-mcpu=cortex-m0plus", "-mthumb", "-mfloat-abi=soft")
    m4 = targets.get("cortex-m4")
    assert (m4.sram_bytes, m4.flash_bytes, m4.qemu_machine) == (128 * 1024, 512 * 1024, "mps2-an386")


@pytest.mark.parametrize("board", sorted(ALIASES))
def test_board_aliases_take_their_core_facts(board):
    core, sram, flash = ALIASES[board]
    t, base = targets.get(board), targets.get(core)
    assert t.alias_of == core and t.cflags == base.cflags and t.core == base.core
    assert t.qemu_machine == base.qemu_machine and (t.sram_bytes, t.flash_bytes) == (sram, flash)


@pytest.mark.parametrize("text,expected", [("2048", 2048), ("2KiB", 2048), ("512K", 524288), ("1MiB", 1 << 20),
                                           ("1.5M", 3 << 19), ("64kb", 65536), (4096, 4096),
                                           ("2GiB", 2 << 30), ("2 GiB", 2 << 30), ("4G", 4 << 30)])
def test_sizes_parse(text, expected):
    assert targets.parse_bytes(text) == expected


@pytest.mark.parametrize("bad", ["2X", "-5", "0", "", "KiB", "1e3", "5GiB", "1.3K", "99999999999999999999999"])
def test_bad_sizes_are_one_line_errors(bad, tmp_path):
    with pytest.raises(EdgebnnError):
        targets.parse_bytes(bad, "--sram")
    proc = cli("compile", TFC, "--sram", bad, "-o", tmp_path / "out")
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "--sram" in lines[0] and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


def test_targets_command_lists_aliases():
    proc = cli("targets")
    assert proc.returncode == 0
    rows = {line.split()[0]: line for line in proc.stdout.splitlines()[2:]}
    assert "cortex-m0plus" in rows and "cortex-m4" in rows["nrf52840"] and "cortex-m0plus" in rows["rp2040"]


def test_m0plus_cannot_be_emulated_and_says_why():
    compiled = edgebnn.compile(TFC, target="cortex-m0plus")
    with pytest.raises(EdgebnnError, match="no QEMU machine"):
        compiled.emulate(None)


# --- budget ------------------------------------------------------------------------------

def test_tfc_on_m0plus_with_2kib_fails_with_the_table(tmp_path):
    out = tmp_path / "out"
    proc = cli("compile", TFC, "--target", "cortex-m0plus", "--sram", "2KiB", "-o", out)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines[-1].startswith("edgebnn: error: the model does not fit cortex-m0plus: SRAM ")
    assert "2048 B available" in lines[-1] and "Traceback" not in proc.stderr
    table = "\n".join(lines[:-1])
    assert "what to do" in table and "MatMul_16" in table and "* 0" in table and "input buffer" in table
    assert not out.exists() and not list(tmp_path.glob(".out*")), "nothing half-written"


def test_tfc_fits_cortex_m4_and_writes_the_reports(tmp_path):
    out = tmp_path / "out"
    proc = cli("compile", TFC, "--target", "cortex-m4", "-o", out)
    assert proc.returncode == 0, proc.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["budget"]["fits"] and report["budget"]["sram_bytes"] == 131072
    assert (out / "memory.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "memory.png" in (out / "report.md").read_text()


def test_allow_overflow_writes_the_code_anyway(tmp_path):
    proc = cli("compile", TFC, "--target", "cortex-m0plus", "--sram", "2KiB", "--allow-overflow", "-o",
               tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out" / "model.c").is_file()
    assert "DOES NOT FIT" in proc.stdout and "what to do" in proc.stdout


def test_flash_overflow_points_at_the_biggest_weights():
    need = edgebnn.compile(TFC, target="cortex-m4", allow_overflow=True).report["memory"]["flash_bytes"]
    with pytest.raises(edgebnn.report.budget.BudgetError) as info:  # over by 1,000 B: one layer's weights can give that
        edgebnn.compile(TFC, target="cortex-m4", flash=need - 1000)
    assert "flash" in str(info.value) and "over by" in str(info.value)
    marked = [line for line in info.value.details.splitlines() if line.startswith("* ")]
    assert marked and "MatMul_16" in marked[0] and "sparsify" in marked[0]


def test_python_api_budget_overrides():
    report = edgebnn.compile(TFC, target="rp2040", sram=8192, flash="1MiB").report
    assert report["budget"]["sram_bytes"] == 8192 and report["budget"]["flash_bytes"] == 1 << 20
    assert report["device"]["alias_of"] == "cortex-m0plus" and report["target"] == "rp2040"


def test_sram_adds_up_and_stack_is_measured(arm):
    m = edgebnn.compile(TFC, target="cortex-m0plus").report["memory"]
    assert m["sram_bytes"] == m["arena_bytes"] + m["stack_bytes"] + m["static_bytes"] + m["io_bytes"]
    assert m["io_bytes"] == 4 * (784 + 10)
    assert m["stack_source"].startswith("measured") and m["stack_chain"][:2] == ["model_run", "model_run_arena"]
    # the transposed dense kernel (optimised) lists up to 1,040 activation bits on its stack
    assert 64 <= m["stack_bytes"] <= 4096
    assert m["flash_bytes"] == m["code_bytes"] + m["weight_bytes"] + m["other_rodata_bytes"] + m["data_bytes"]


def test_estimates_without_a_cross_compiler(monkeypatch):
    monkeypatch.setattr(sizes, "tools", lambda target: None)
    m = edgebnn.compile(TFC, target="cortex-m4").report["memory"]
    assert m["code_source"] == "estimate" and m["stack_source"] == "estimate"
    assert m["stack_bytes"] == sizes.ESTIMATE_STACK_BYTES and m["code_bytes"] == sizes.ESTIMATE_CODE_BYTES


def _model_sections(out: Path, target, arm, work: Path) -> dict:
    """arm-none-eabi-size of the model's own objects, built as the emulator builds them."""
    cc, size = arm
    whole = emulate.model_sizes(out, target, work, cc, size)
    listing = subprocess.run([size, "-A", "model.o"], cwd=work, capture_output=True, text=True, check=True).stdout
    rows = [line.split() for line in listing.splitlines() if line.startswith(".")]
    whole["arena"] = sum(int(r[1]) for r in rows if r[0] == ".bss.model_arena")
    whole["weights"] = sum(int(r[1]) for r in rows if r[0].startswith(".rodata.L"))
    return whole


@pytest.mark.parametrize("name,target", [("tfc", "cortex-m4"), ("tfc", "cortex-m0plus"), ("cnv", "cortex-m4"),
                                         ("cnv", "cortex-m7")])
def test_predictions_match_arm_none_eabi_size(name, target, arm, tmp_path):
    model = TFC if name == "tfc" else build_cnv(3).model
    compiled = edgebnn.compile(model, target=target, out_dir=tmp_path / "out", allow_overflow=True)
    m = compiled.report["memory"]
    got = _model_sections(compiled.out_dir, targets.get(target), arm, tmp_path / "size")
    assert abs(m["flash_bytes"] - got["flash_bytes"]) <= 0.05 * got["flash_bytes"], (m, got)
    # SRAM the objects hold: the static arena and any other statics (stack and I/O are not in them)
    assert abs(m["arena_bytes"] + m["static_bytes"] - got["ram_bytes"]) <= 0.05 * got["ram_bytes"], (m, got)
    assert abs(m["arena_bytes"] - got["arena"]) <= max(4, 0.05 * got["arena"])
    assert abs(m["weight_bytes"] - got["weights"]) <= 0.05 * got["weights"]


# --- plan --------------------------------------------------------------------------------

def test_plan_terminal_table(tmp_path):
    proc = cli("plan", TFC, "--target", "cortex-m4")
    assert proc.returncode == 0, proc.stderr
    head = proc.stdout.splitlines()[0].split()
    assert head == ["#", "layer", "op", "in", "out", "MACs", "weight", "B", "offset", "size", "B", "live", "B"]
    assert "lower bound" in proc.stdout and "fits" in proc.stdout


def test_plan_json_and_output_folder(tmp_path):
    proc = cli("plan", TFC, "--target", "cortex-m0plus", "--sram", "2KiB", "--json", "-o", tmp_path / "rep")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    m = report["memory"]
    for key in ("arena_bytes", "lower_bound_bytes", "no_reuse_bytes", "stack_bytes", "sram_bytes", "flash_bytes",
                "weight_bytes", "code_bytes", "planner", "above_lower_bound"):
        assert key in m
    assert m["planner"]["strategy"] in m["planner"]["strategies"]
    assert report["budget"] == {**report["budget"], "fits": False, "sram_bytes": 2048}
    assert sorted(p.name for p in (tmp_path / "rep").iterdir()) == [".edgebnn-output.json", "memory.png", "report.json",
                                                                     "report.md"]
    assert json.loads((tmp_path / "rep" / "report.json").read_text()) == report
    assert "DOES NOT FIT" in (tmp_path / "rep" / "report.md").read_text()


def test_timeline_picture_is_deterministic():
    from edgebnn import compiler
    from edgebnn.report import timeline

    report = compiler.analyse(TFC, "cortex-m4")[-1]
    assert timeline.png(report) == timeline.png(report)


def test_tool_missing_falls_back_cleanly(monkeypatch, tmp_path):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    sizes._cache.clear()
    report = edgebnn.compile(TFC, target="cortex-m0plus", out_dir=tmp_path / "out").report
    assert report["memory"]["code_source"] == "estimate"
