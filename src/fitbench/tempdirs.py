"""Temporary folders that a killed process cannot leak for long.

Every folder is named ``<prefix><pid>-<random>`` after the process that made it. A process killed with
SIGKILL (or by the OOM killer) cannot remove its folders; the next fitbench process that makes a folder
with the same prefix removes those whose process is gone (:func:`remove_stale`).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path


def pid_alive(pid: int) -> bool:
    """True when a process with this pid exists (someone else's included)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def remove_stale(prefix: str, root: str | None = None) -> list[str]:
    """Remove this user's ``<prefix><pid>-*`` folders under ``root`` (default: the temp folder) whose
    process no longer exists; return their paths."""
    root = root or tempfile.gettempdir()
    pattern = re.compile(re.escape(prefix) + r"(\d+)-")
    removed = []
    try:
        entries = list(os.scandir(root))
    except OSError:
        return removed
    for entry in entries:
        m = pattern.match(entry.name)
        if not m or not entry.is_dir(follow_symlinks=False):
            continue
        try:
            if entry.stat(follow_symlinks=False).st_uid != os.getuid():
                continue
        except OSError:
            continue
        if not pid_alive(int(m.group(1))):
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(entry.path)
    return removed


def make_tempdir(prefix: str) -> str:
    """A new folder ``<tmp>/<prefix><pid>-<random>``, after removing stale ones with the same prefix."""
    remove_stale(prefix)
    return tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-")


def is_ours(path: str | os.PathLike[str], prefix: str) -> bool:
    return Path(path).name.startswith(f"{prefix}{os.getpid()}-")
