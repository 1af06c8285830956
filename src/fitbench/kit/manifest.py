"""The kit's and the results' manifests: every file hashed (sha256), the manifest itself digested.

A *kit* folder holds ``kit.json``: the kit's identity (``kit_id``), the model and its sha256, the input
spec, the LoadGen settings per scenario, the tolerances, and ``files`` (relative path -> sha256 of
every other file of the kit). A *results* folder holds ``results.json``: the ``kit_id`` it answers, what
the system under test reported, and ``files`` likewise.

Each manifest carries ``digest``: the sha256 of its own canonical JSON (sorted keys, no whitespace)
without the ``digest`` field, so an edit of the manifest that forgets to recompute it is caught. The
``kit_id`` is the digest of the kit manifest. Hashes catch a truncated or edited file, a file swapped in
from another run, and a manifest edited by hand; they are not a signature (anyone can recompute them),
which is why :mod:`.verify` also cross-checks the LoadGen logs against each other and against the kit.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ..errors import FitbenchError

KIT_MANIFEST = "kit.json"
RESULTS_MANIFEST = "results.json"
KIT_FORMAT = "fitbench-kit/1"
RESULTS_FORMAT = "fitbench-kit-results/1"
_CHUNK = 1 << 20


class KitError(FitbenchError):
    """A kit or a results folder is missing, truncated, tampered with or answers another kit."""


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def canonical(doc: dict[str, Any]) -> bytes:
    """The bytes a digest is taken over: ``doc`` without ``digest``, sorted keys, compact separators."""
    body = {k: v for k, v in doc.items() if k != "digest"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def digest(doc: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(doc)).hexdigest()


def hash_tree(root: Path, skip: tuple[str, ...]) -> dict[str, str]:
    """``{posix relative path: sha256}`` of every regular file under ``root`` except those named in ``skip``."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if p.is_file() and rel not in skip:
            out[rel] = sha256_file(p)
    return out


def write_manifest(root: Path, name: str, doc: dict[str, Any]) -> dict[str, Any]:
    """Hash every file of ``root`` into ``doc['files']``, digest it and write it as ``root/name``."""
    doc = dict(doc)
    doc["files"] = hash_tree(root, skip=(name,))
    doc["digest"] = digest(doc)
    (root / name).write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return doc


def read_manifest(root: str | Path, name: str, fmt: str, what: str) -> dict[str, Any]:
    """Read and check ``root/name``: it exists, is JSON of format ``fmt`` and its digest holds. One-line
    :class:`KitError` otherwise (``what`` is "kit" or "results folder", for the message)."""
    root = Path(root)
    if not root.exists():
        raise KitError(f"{what} {root} does not exist")
    if not root.is_dir():
        raise KitError(f"{what} {root} is not a folder")
    path = root / name
    if not path.is_file():
        raise KitError(f"{what} {root} has no {name}: not a fitbench {what}, or incomplete")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise KitError(f"{path} is not valid JSON (truncated or edited?): {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != fmt:
        found = doc.get("format") if isinstance(doc, dict) else None
        raise KitError(f"{path} is not a {fmt} manifest (format {found!r})")
    if not isinstance(doc.get("files"), dict) or not isinstance(doc.get("digest"), str):
        raise KitError(f"{path} lacks its file list or digest (truncated or edited?)")
    if digest(doc) != doc["digest"]:
        raise KitError(f"{path} was edited after it was written: its digest does not match its content")
    return doc


def check_files(root: str | Path, doc: dict[str, Any], name: str, what: str) -> list[str]:
    """Every file the manifest lists exists with its sha256, and no file is there that it does not list.

    Returns the problems (empty when all is well), one short line each, in path order."""
    root = Path(root)
    problems = []
    listed = doc["files"]
    for rel, want in sorted(listed.items()):
        p = root / rel
        if not p.is_file():
            problems.append(f"{what} lacks {rel} (listed in {name})")
        elif sha256_file(p) != want:
            problems.append(f"{rel} does not match its sha256 in {name} (truncated or edited)")
    extra = sorted(set(hash_tree(root, skip=(name,))) - set(listed))
    problems += [f"{rel} is not listed in {name} (added after the manifest was written)" for rel in extra]
    return problems
