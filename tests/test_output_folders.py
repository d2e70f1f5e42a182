"""Output folders: edgebnn replaces only an empty folder or its own earlier output, never the
current folder, a parent of it, the home folder or a mount point, and writes atomically
(also under concurrent writers and Ctrl-C), with the user's normal permissions.

Every case runs a real `edgebnn` process; the project folder it must not touch holds a
file and a subfolder, and is compared byte for byte afterwards."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from edgebnn import outdir
from onnx_builders import small_known_mlp

REPO_ROOT = Path(__file__).resolve().parent.parent


def edgebnn(*args, cwd, env=None, code=None) -> subprocess.CompletedProcess:
    """`edgebnn ARGS` in ``cwd`` (or a python snippet ``code`` run before the same CLI)."""
    full = dict(os.environ, PYTHONPATH=str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""), **(env or {}))
    cmd = [sys.executable, "-m", "edgebnn", *map(str, args)] if code is None else \
        [sys.executable, "-c", code, *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, env=full, cwd=cwd, timeout=600)


def tree(folder: Path) -> dict[str, bytes | None]:
    """Every file (its bytes) and folder (None) below ``folder``."""
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None)
            for p in sorted(folder.rglob("*"))}


@pytest.fixture
def work(tmp_path):
    """tmp/m.onnx and tmp/project/{keep.txt, sub/notes.txt}."""
    (tmp_path / "project" / "sub").mkdir(parents=True)
    (tmp_path / "project" / "keep.txt").write_text("my work\n")
    (tmp_path / "project" / "sub" / "notes.txt").write_text("more of my work\n")
    (tmp_path / "m.onnx").write_bytes(small_known_mlp("sign", seed=2).model.SerializeToString())
    return tmp_path


def assert_refused(proc, what: str) -> None:
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, f"{what}: exit {proc.returncode}\n{proc.stderr}"
    assert len(lines) == 1 and lines[0].startswith("edgebnn: error: output folder"), f"{what}: {proc.stderr!r}"


M = "../m.onnx"
# (case, arguments, working folder below tmp)
REFUSED = [
    ("compile -o .", ["compile", M, "-o", "."], "project"),
    ("compile -o ''", ["compile", M, "-o", ""], "project"),
    ("compile -o .. from a subfolder", ["compile", "../../m.onnx", "-o", ".."], "project/sub"),
    ("compile -o the folder by name", ["compile", "m.onnx", "-o", "project"], "."),
    ("compile -o a symlink to it", ["compile", "m.onnx", "-o", "link"], "."),
    ("plan -o", ["plan", "m.onnx", "-o", "project"], "."),
    ("emulate -o", ["emulate", "m.onnx", "-n", "1", "-o", "project"], "."),
    ("design -o", ["design", "--family", "mlp", "-o", "project"], "."),
    ("design --emit", ["design", "--family", "mlp", "-o", "fresh_design", "--emit", "project"], "."),
]


@pytest.mark.parametrize("case,args,cwd", REFUSED, ids=[c[0] for c in REFUSED])
def test_a_folder_edgebnn_did_not_write_is_never_replaced(work, case, args, cwd):
    (work / "link").symlink_to(work / "project")
    before = tree(work)
    proc = edgebnn(*args, cwd=work / cwd)
    assert_refused(proc, case)
    assert tree(work) == before, f"{case}: files changed"


@pytest.mark.parametrize("where", ["current folder", "parent", "home"])
def test_protected_folders_are_refused_even_when_empty(tmp_path, where):
    (tmp_path / "m.onnx").write_bytes(small_known_mlp("sign", seed=2).model.SerializeToString())
    empty = tmp_path / "empty"
    (empty / "inner").mkdir(parents=True)
    cwd, out, env = {"current folder": (empty, ".", None), "parent": (empty / "inner", "..", None),
                     "home": (tmp_path, "empty", {"HOME": str(empty)})}[where]
    proc = edgebnn("compile", tmp_path / "m.onnx", "-o", out, cwd=cwd, env=env)
    assert_refused(proc, where)
    assert {"current folder": "is the current folder", "parent": "is a parent of the current folder",
            "home": "is the home folder"}[where] in proc.stderr
    assert sorted(p.name for p in empty.iterdir()) == ["inner"]


def test_the_root_and_mount_points_are_refused():
    with pytest.raises(outdir.EdgebnnError, match="mount point|parent of the current folder"):
        outdir.check("/")
    with pytest.raises(outdir.EdgebnnError, match="mount point"):
        outdir.check("/proc")


def test_an_earlier_output_with_a_file_added_is_kept(work):
    out = work / "out"
    assert edgebnn("compile", "m.onnx", "-o", "out", cwd=work).returncode == 0
    (out / "main.c").write_text("int main(void) { return 0; }\n")
    before = tree(out)
    proc = edgebnn("compile", "m.onnx", "-o", "out", cwd=work)
    assert_refused(proc, "an added file")
    assert "main.c" in proc.stderr and tree(out) == before


def test_compiling_twice_replaces_the_first_output(work):
    assert edgebnn("compile", "m.onnx", "-o", "out", cwd=work).returncode == 0
    first = tree(work / "out")
    other = small_known_mlp("where_ge", seed=5).model.SerializeToString()
    (work / "other.onnx").write_bytes(other)
    assert edgebnn("compile", "other.onnx", "-o", "out", cwd=work).returncode == 0
    second = tree(work / "out")
    assert second["model.c"] != first["model.c"] and set(second) == set(first)
    assert json.loads(second[outdir.MANIFEST])["files"] == sorted(set(second) - {outdir.MANIFEST})
    assert not [p for p in work.iterdir() if p.name.startswith(".")]


def test_an_empty_folder_and_a_symlink_to_an_earlier_output_are_written(work):
    (work / "empty").mkdir()
    assert edgebnn("compile", "m.onnx", "-o", "empty", cwd=work).returncode == 0
    assert (work / "empty" / "model.c").is_file()
    (work / "to_empty").symlink_to(work / "empty")
    assert edgebnn("compile", "m.onnx", "-o", "to_empty", cwd=work).returncode == 0
    assert (work / "to_empty").is_symlink() and (work / "empty" / "model.c").is_file()


def test_folders_and_files_get_the_users_permissions(work):
    code = "import os, sys; os.umask(0o022); from edgebnn.cli import main; sys.exit(main(sys.argv[1:]))"
    proc = edgebnn("compile", "m.onnx", "-o", "out", cwd=work, code=code)
    assert proc.returncode == 0, proc.stderr
    assert (work / "out").stat().st_mode & 0o777 == 0o755
    assert {p.stat().st_mode & 0o777 for p in (work / "out").iterdir()} == {0o644}


def test_concurrent_writers_leave_one_complete_output_and_nothing_else(work):
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    procs = [subprocess.Popen([sys.executable, "-m", "edgebnn", "compile", "m.onnx", "-o", "out"], cwd=work,
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for _ in range(6)]
    errors = [p.communicate(timeout=600)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 6, errors
    listed = json.loads((work / "out" / outdir.MANIFEST).read_text())["files"]
    assert sorted(p.name for p in (work / "out").iterdir()) == sorted(listed + [outdir.MANIFEST])
    assert sorted(p.name for p in work.iterdir()) == ["m.onnx", "out", "project"]


# A real SIGINT, sent by the process to itself at a chosen point of the compile.
INTERRUPT_AT = textwrap.dedent("""
    import os, signal, sys, time
    from edgebnn import compiler, outdir
    point = os.environ["INTERRUPT_AT"]
    def interrupting(fn):
        def wrapped(*args, **kwargs):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)
            return fn(*args, **kwargs)
        return wrapped
    if point == "analyse":
        compiler.analyse = interrupting(compiler.analyse)
    else:
        outdir._swap = interrupting(outdir._swap)
    from edgebnn.cli import main
    sys.exit(main(sys.argv[1:]))
""")


@pytest.mark.parametrize("point", ["analyse", "swap"])
def test_ctrl_c_exits_130_with_one_line_and_keeps_the_previous_output(work, point):
    assert edgebnn("compile", "m.onnx", "-o", "out", cwd=work).returncode == 0
    before = tree(work)
    proc = edgebnn("compile", "m.onnx", "-o", "out", cwd=work, code=INTERRUPT_AT, env={"INTERRUPT_AT": point})
    assert proc.returncode == 130 and proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith("edgebnn: interrupted")
    assert tree(work) == before and not [p for p in work.iterdir() if p.name.startswith(".")]


def test_a_failed_write_names_the_users_folder(work, capsys, monkeypatch):
    from edgebnn import cli

    real = Path.write_bytes

    def full(path, data):
        if path.name == "report.json":
            raise OSError(28, os.strerror(28), str(path))
        return real(path, data)

    monkeypatch.setattr(Path, "write_text", lambda path, text: full(path, text.encode()))
    monkeypatch.setattr(Path, "write_bytes", full)
    assert cli.main(["compile", str(work / "m.onnx"), "-o", str(work / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"'{work / 'out' / 'report.json'}'" in err, err
    assert not (work / "out").exists() and not [p for p in work.iterdir() if p.name.startswith(".")]


def test_emulate_keeps_its_c_in_a_relative_folder(work):
    proc = edgebnn("emulate", "m.onnx", "-n", "2", "-o", "rel/out", cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert (work / "rel" / "out" / "model.c").is_file()
    assert json.loads((work / "rel" / "out" / "report.json").read_text())["emulation"]["inferences"] == 2


def test_the_manifest_is_what_makes_a_folder_ours(tmp_path):
    out = tmp_path / "out"
    outdir.write(out, {"a.txt": "1"})
    assert json.loads((out / outdir.MANIFEST).read_text())["files"] == ["a.txt"]
    outdir.write(out, {"b.txt": "2"})  # an earlier output: replaced whole
    assert sorted(p.name for p in out.iterdir()) == [outdir.MANIFEST, "b.txt"]
    (out / outdir.MANIFEST).write_text(json.dumps({"written_by": "someone else", "files": ["b.txt"]}))
    with pytest.raises(outdir.EdgebnnError, match="did not write"):
        outdir.write(out, {"c.txt": "3"})
