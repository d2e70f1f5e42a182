"""Output folders: edgebnn replaces only what it wrote, and replaces it atomically.

A folder may receive an output when it does not exist, is empty, or is an earlier edgebnn
output: it holds the manifest below and nothing that the manifest does not list.  The
current folder, its parents, the home folder and mount points never do, even when empty
(a typo such as ``-o ""`` must not cost a project).  A symlink is followed, and the folder it
names is held to the same rule.

The files are written into a hidden sibling folder that is then swapped in; writers into
the same parent folder take turns (an exclusive ``flock`` on it), so concurrent compiles
leave one complete output and nothing else behind.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import tempfile
from pathlib import Path

from .version import __version__
from .errors import EdgebnnError

MANIFEST = ".edgebnn-output.json"


def write(out, files: dict[str, str | bytes]) -> Path:
    """Write ``files`` (name -> text or bytes) as the folder ``out``; returns its resolved path."""
    target = Path(os.fspath(out) or ".").expanduser().resolve()
    check_protected(target, out)
    target.parent.mkdir(parents=True, exist_ok=True)
    with _turn(target.parent):
        check_replaceable(target, out)
        stage = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        try:
            _fill(stage, target, files)
            _swap(stage, target)
        except BaseException:
            shutil.rmtree(stage, ignore_errors=True)
            raise
    return target


def check(out) -> None:
    """Fail early, before a long compile, if ``out`` may not receive an output."""
    target = Path(os.fspath(out) or ".").expanduser().resolve()
    check_protected(target, out)
    check_replaceable(target, out)


def check_protected(target: Path, given) -> None:
    """Folders no output may replace, empty or not."""
    cwd, home = Path.cwd().resolve(), Path.home().resolve()
    why = ("is the current folder" if target == cwd else
           "is a parent of the current folder" if target in cwd.parents else
           "is the home folder" if target == home else
           "is a mount point" if target.is_dir() and os.path.ismount(target) else None)
    if why:
        raise EdgebnnError(f"output folder '{given}' ({target}) {why}: edgebnn writes its output into a folder "
                           "of its own; give a new folder name, such as -o out")


def check_replaceable(target: Path, given) -> None:
    """``target`` is missing, empty, or an earlier edgebnn output with nothing added."""
    if not target.exists():
        return
    if not target.is_dir():
        raise EdgebnnError(f"output folder '{given}' is a file, not a folder: give another -o")
    present = set(os.listdir(target))
    if not present:
        return
    listed = _manifest(target)
    foreign = sorted(present - listed - {MANIFEST}) if listed is not None else sorted(present)
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise EdgebnnError(f"output folder '{given}' holds files edgebnn did not write ({shown}); edgebnn "
                           "replaces only an empty folder or its own earlier output: give another -o")


def _manifest(folder: Path) -> set[str] | None:
    try:
        data = json.loads((folder / MANIFEST).read_text())
        return {str(f) for f in data["files"]} if data.get("written_by") == "edgebnn" else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


@contextlib.contextmanager
def _turn(parent: Path):
    """One writer at a time in ``parent`` (released when the process dies, too)."""
    fd = os.open(parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _fill(stage: Path, target: Path, files: dict[str, str | bytes]) -> None:
    """The files, the manifest, and the permissions a folder made by the user would have."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(stage, 0o777 & ~umask)
    manifest = json.dumps({"written_by": "edgebnn", "version": __version__, "files": sorted(files)}, indent=1)
    for name, content in {**files, MANIFEST: manifest + "\n"}.items():
        try:
            if isinstance(content, bytes):
                (stage / name).write_bytes(content)
            else:
                (stage / name).write_text(content)
        except OSError as exc:  # name the user's folder, not the hidden staging one
            raise OSError(exc.errno, exc.strerror, str(target / name)) from None


def _swap(stage: Path, target: Path) -> None:
    """Move ``stage`` to ``target``; a previous output goes only once the new one is in place."""
    if target.exists() and not any(target.iterdir()):
        target.rmdir()
    if not target.exists():
        os.replace(stage, target)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
    os.replace(target, old / target.name)
    try:
        os.replace(stage, target)
    except BaseException:  # the good output goes back where it was
        os.replace(old / target.name, target)
        old.rmdir()
        raise
    shutil.rmtree(old)
