"""The host build cache: a private per-user folder.

The harness loads shared libraries (and runs executables) it finds here, so nobody else may
be able to put files in it: the folder is created with mode 0700 and, before anything in it
is used, checked to be a real folder owned by this user and writable by nobody else.  A
file is used only if it is owned by this user and writable by nobody else too; its name
carries a hash of the sources it was built from.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

from ..errors import EdgebnnError


def root() -> Path:
    """``$EDGEBNN_CACHE_DIR``, else ``$XDG_CACHE_HOME/edgebnn``, else ``~/.cache/edgebnn``."""
    if os.environ.get("EDGEBNN_CACHE_DIR"):
        return Path(os.environ["EDGEBNN_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "edgebnn"


def folder(*parts: str) -> Path:
    """A checked private folder ``root()/parts...``, created (mode 0700) where missing."""
    path = root()
    for part in ("", *parts):
        path = path / part if part else path
        try:
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise EdgebnnError(f"cannot create the build cache '{path}': {exc.strerror or exc}; set "
                               "EDGEBNN_CACHE_DIR to a folder of your own") from None
        _check(path, folder=True)
    return path


def trusted(path: Path) -> bool:
    """``path`` exists and is a regular file only this user can have written (else it is
    built again, beside it or over it, and never loaded)."""
    try:
        _check(path, folder=False)
    except (FileNotFoundError, EdgebnnError):
        return False
    return True


def _check(path: Path, folder: bool) -> None:
    st = os.lstat(path)
    kind = stat.S_ISDIR(st.st_mode) if folder else stat.S_ISREG(st.st_mode)
    why = ("is a symbolic link" if stat.S_ISLNK(st.st_mode) else
           "is not a " + ("folder" if folder else "regular file") if not kind else
           f"is owned by user id {st.st_uid}, not by you" if st.st_uid != os.geteuid() else
           "is writable by other users" if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH) else None)
    if why:
        raise EdgebnnError(f"the build cache '{path}' {why}; edgebnn loads only what you built there: remove "
                           "it, or set EDGEBNN_CACHE_DIR to a private folder of your own")
