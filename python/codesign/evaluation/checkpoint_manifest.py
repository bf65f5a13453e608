"""A training checkpoint saved with its checksum, so that a damaged ``last.pt`` is named rather than resumed.

``save(obj, path)`` writes ``path`` (``torch.save`` to a temporary file, fsync, rename) and records its size and
SHA-256 in ``manifest.json`` next to it. The checkpoint and the manifest cannot be renamed together, so the new
digest is recorded first as ``pending``, then the checkpoint renamed, then the manifest rewritten with the new
digest alone: at every moment the checkpoint on disk matches the manifest's ``sha256`` or its ``pending``.
``verify(path)`` checks that; a checkpoint with no manifest beside it (a state_dict from elsewhere) is not
checked.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

__all__ = ["MANIFEST_NAME", "save", "verify"]

MANIFEST_NAME = "manifest.json"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _write_manifest(path: Path, doc: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(json.dumps(doc, indent=1) + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _read_manifest(path: Path) -> dict[str, Any]:
    try:
        if path.stat().st_size > 1 << 20:
            raise ValueError("larger than 1 MiB")
        doc = json.loads(path.read_text(encoding="utf-8"))
        files = doc["files"]
        if not isinstance(files, dict):
            raise TypeError("'files' is not an object")
        return doc
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not a checkpoint manifest (line {exc.lineno}, column {exc.colno}: "
                         f"{exc.msg})") from None
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a checkpoint manifest ({exc!s:.80})") from None
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the checkpoint manifest ({exc.strerror or exc})") from None


def save(obj: Any, path: Path) -> None:
    """``torch.save(obj, path)`` atomically, with the file's SHA-256 in ``manifest.json`` beside it."""
    import torch

    manifest = path.with_name(MANIFEST_NAME)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    torch.save(obj, tmp)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    entry = {"sha256": _sha256(tmp), "bytes": tmp.stat().st_size}
    doc = _read_manifest(manifest) if manifest.exists() else {"files": {}}
    old = doc["files"].get(path.name)
    doc["files"][path.name] = {**(old or {}), "pending": entry} if old else {"pending": entry}
    _write_manifest(manifest, doc)
    os.replace(tmp, path)
    doc["files"][path.name] = entry
    _write_manifest(manifest, doc)


def verify(path: Path) -> None:
    """Raise ValueError naming ``path`` when ``manifest.json`` beside it lists it with another size or SHA-256
    (damaged or changed after it was written). Nothing is checked without a manifest."""
    manifest = path.with_name(MANIFEST_NAME)
    if not manifest.exists():
        return
    entry = _read_manifest(manifest)["files"].get(path.name)
    if entry is None:
        return
    if not isinstance(entry, dict):
        raise ValueError(f"{manifest}: not a checkpoint manifest (entry {path.name!r} is not an object)")
    size = path.stat().st_size
    wanted = [e for e in (entry, entry.get("pending")) if isinstance(e, dict) and e.get("bytes") == size]
    if not wanted or _sha256(path) not in {e.get("sha256") for e in wanted}:
        raise ValueError(f"{path}: damaged or changed since it was written (its size or SHA-256 differs from "
                         f"{manifest.name}); resume from a copy, or start afresh with --overwrite")
