"""`edgebnn compile` writes its folder atomically (issue 9): into a hidden sibling folder that
is renamed into place, so a failed compile leaves no partial folder and never replaces a
previous good output with a broken one.  Checked through the CLI: a real subprocess for
bad models and budgets, in process (cli.main) where a failure is injected while writing."""
from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

from edgebnn import cli, outdir
from onnx_builders import small_known_mlp

REPO_ROOT = Path(__file__).resolve().parent.parent


def _edgebnn(*args) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "edgebnn", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=REPO_ROOT, timeout=300)


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _good_output(tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    model = tmp_path / "good.onnx"
    model.write_bytes(small_known_mlp("sign", seed=2).model.SerializeToString())
    out = tmp_path / "out"
    proc = _edgebnn("compile", model, "-o", out)
    assert proc.returncode == 0, proc.stderr
    snap = _snapshot(out)
    assert "model.c" in snap and "report.json" in snap
    return out, snap


def _assert_untouched(out: Path, snap: dict[str, bytes]) -> None:
    assert _snapshot(out) == snap, "the previous good output was changed by a failed compile"
    assert sorted(p.name for p in out.parent.iterdir() if p.name.startswith(".")) == [], \
        "a staging folder was left behind"


def test_a_bad_model_over_a_good_output_leaves_it_intact(tmp_path):
    out, snap = _good_output(tmp_path)
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(small_known_mlp("sign", seed=2).model.SerializeToString()[:-40])  # truncated
    proc = _edgebnn("compile", bad, "-o", out)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr
    _assert_untouched(out, snap)


def test_a_model_over_budget_leaves_the_good_output_intact(tmp_path):
    out, snap = _good_output(tmp_path)
    proc = _edgebnn("compile", tmp_path / "good.onnx", "--sram", "64", "-o", out)
    assert proc.returncode == 2 and "--allow-overflow" in proc.stderr.splitlines()[-1], proc.stderr
    _assert_untouched(out, snap)


class _DiskFull:
    """Path.write_text / write_bytes that fail (ENOSPC) from the ``after``-th call on."""

    def __init__(self, monkeypatch, after: int):
        self.calls, self.after = 0, after
        for name in ("write_text", "write_bytes"):
            original = getattr(Path, name)
            monkeypatch.setattr(Path, name, self._wrap(original))

    def _wrap(self, original):
        def write(path, *args, **kwargs):
            self.calls += 1
            if self.calls > self.after:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
            return original(path, *args, **kwargs)
        return write


@pytest.mark.parametrize("after", [0, 2])
def test_a_write_failing_half_way_leaves_the_good_output_intact(tmp_path, capsys, monkeypatch, after):
    out, snap = _good_output(tmp_path)
    _DiskFull(monkeypatch, after)
    assert cli.main(["compile", str(tmp_path / "good.onnx"), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("edgebnn: error: ") and err.count("\n") == 1 and "No space" in err, err
    monkeypatch.undo()
    _assert_untouched(out, snap)


def test_a_write_failing_half_way_leaves_no_folder(tmp_path, capsys, monkeypatch):
    model = tmp_path / "good.onnx"
    model.write_bytes(small_known_mlp("sign", seed=2).model.SerializeToString())
    _DiskFull(monkeypatch, 3)
    assert cli.main(["compile", str(model), "-o", str(tmp_path / "fresh")]) == 2
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.onnx"], "a partial folder was left behind"


def test_a_failing_swap_puts_the_good_output_back(tmp_path, capsys, monkeypatch):
    """The rename of the new folder into place fails (after the old one was moved aside)."""
    out, snap = _good_output(tmp_path)
    real_replace = os.replace

    def replace(src, dst):
        if Path(src).name.startswith(".out.") and Path(dst) == out.resolve():
            raise OSError(errno.EXDEV, os.strerror(errno.EXDEV), str(src))
        return real_replace(src, dst)

    monkeypatch.setattr(outdir.os, "replace", replace)
    assert cli.main(["compile", str(tmp_path / "good.onnx"), "-o", str(out)]) == 2
    monkeypatch.undo()
    _assert_untouched(out, snap)


def test_a_good_compile_replaces_the_previous_output(tmp_path):
    out, snap = _good_output(tmp_path)
    other = tmp_path / "other.onnx"
    other.write_bytes(small_known_mlp("where_ge", seed=5).model.SerializeToString())
    proc = _edgebnn("compile", other, "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert _snapshot(out)["model.c"] != snap["model.c"]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
