"""On-disk cache of timm workloads: trace a timm network once, read its :class:`~codesign.workload.Workload`
back in milliseconds on every later call, without importing torch or timm.

:func:`from_timm` has :func:`codesign.workload.from_timm`'s signature plus ``cache``. The key of an entry is
everything that determines the traced workload:

* the model name, the input ``(H, W)``, the batch ``N`` and the capture option ``ops``;
* the versions of codesign, torch and timm (read from the installed distributions' ``.dist-info`` folders,
  without importing them);
* a SHA-256 of the capture code's source (the ``codesign.workload`` module, or every ``.py`` file of it once it
  is a package), so an edit to the importer in an editable install never reads a stale entry;
* :data:`FORMAT`, the entry layout below.

An entry is one JSON file ``<model>-<sha256 of the key, 16 hex digits>.json`` holding ``{"key": ..., "workload":
{"name", "source", "params", "layers": [[name, kind, n, k, c, p, q, r, s, h, w, stride_h, stride_w, pad_h, pad_w,
dilation_h, dilation_w, groups, act], ...]}}``: every field of every :class:`~codesign.workload.Layer`, so the
read-back workload equals the traced one (``==``, which compares name, layers, params and source).

Where: ``$CODESIGN_CACHE_DIR/workloads`` when that variable is set, else ``$XDG_CACHE_HOME/codesign/workloads``
(``~/.cache/codesign/workloads`` without it), as the XDG Base Directory specification puts user caches.

Safe under concurrent use: an entry is written to a temporary file in the same folder and moved into place with
:func:`os.replace` (atomic on POSIX), so a reader sees either no entry or a whole one; with ``filelock``
installed, processes missing the same entry at once wait on one lock per entry so that only one traces the model.
A corrupt entry (unreadable, not JSON, a key that does not match, a layer that fails validation) is ignored with a
:class:`RuntimeWarning` naming the file and the reason, rebuilt and overwritten. A cache folder that cannot be
written only costs the speed-up (a warning; the traced workload is still returned).
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import importlib.util
import json
import numbers
import os
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from codesign import __version__
from codesign import workload as _workload
from codesign.workload import Layer, Workload
from codesign.workload.timm_analytic import from_timm_analytic, is_analytic

__all__ = ["FORMAT", "cache_dir", "entry_key", "entry_path", "from_timm", "load", "store"]

#: Layout version of an entry; part of the key.
FORMAT = 1
_ENV_DIR = "CODESIGN_CACHE_DIR"
_LAYER_FIELDS = tuple(f.name for f in dataclasses.fields(Layer))
_OPS = ("all", "mac")
_code_hash: str | None = None


def cache_dir() -> Path:
    """The folder of workload entries (see the module docstring); not created here."""
    root = os.environ.get(_ENV_DIR)
    if root:
        return Path(root) / "workloads"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "codesign" / "workloads"


def _version(dist: str) -> str | None:
    """The installed version of package ``dist`` without importing it: the name of its ``.dist-info`` folder next
    to the package (a glob; ``importlib.metadata`` alone costs ~0.1 s of imports), else ``importlib.metadata``;
    None when it is not installed."""
    spec = importlib.util.find_spec(dist)  # locates a top-level package without importing it
    if spec is None:
        return None
    if spec.origin:
        site = Path(spec.origin).parent.parent
        found = sorted(p.name[len(dist) + 1: -len(".dist-info")] for p in site.glob(f"{dist}-*.dist-info"))
        if found:
            return ",".join(found)
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _capture_code_hash() -> str:
    """SHA-256 of the source of ``codesign.workload`` (all its ``.py`` files, in path order, for a package)."""
    global _code_hash
    if _code_hash is None:
        origin = Path(_workload.__file__)
        files = sorted(origin.parent.rglob("*.py")) if origin.name == "__init__.py" else [origin]
        h = hashlib.sha256()
        for f in files:
            h.update(f.relative_to(origin.parent).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
        _code_hash = h.hexdigest()
    return _code_hash


def entry_key(name: str, *, resolution: int | tuple[int, int] | None = None, batch: int = 1,
              ops: str = "all") -> dict[str, Any]:
    """What determines ``from_timm(name, resolution=..., batch=..., ops=...)``: a JSON-serialisable dict.

    Raises TypeError / ValueError (naming the field) on a bad name, resolution, batch or ops, as
    :func:`codesign.workload.from_timm` does.
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"from_timm name must be a non-empty str, got {name!r}")
    if resolution is None:  # the model's own default size (fixed by the model name and the timm version)
        res: Any = "default"
    else:
        pair = tuple(resolution) if isinstance(resolution, (tuple, list)) else (resolution, resolution)
        if len(pair) != 2:
            raise ValueError(f"from_timm resolution must be an int or a pair of ints, got {resolution!r}")
        res = [_positive_int("resolution", v) for v in pair]
    n = _positive_int("batch", batch)
    if ops not in _OPS:
        raise ValueError(f"from_timm ops must be one of {_OPS}, got {ops!r}")
    return {"format": FORMAT, "model": name, "resolution": res, "batch": n, "ops": ops,
            "codesign": __version__, "torch": _version("torch"), "timm": _version("timm"),
            "capture_code": _capture_code_hash()}


def _positive_int(field: str, v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        raise TypeError(f"from_timm.{field} must be a positive int, got {v!r} ({type(v).__name__})")
    if v < 1:
        raise ValueError(f"from_timm.{field} must be a positive int, got {v!r}")
    return int(v)


def entry_path(key: dict[str, Any]) -> Path:
    """The file of the entry with ``key`` (:func:`entry_key`)."""
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    safe = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in key["model"])[:80]
    return cache_dir() / f"{safe}-{digest}.json"


def _to_doc(key: dict[str, Any], wl: Workload) -> dict[str, Any]:
    layers = [[getattr(layer, f) for f in _LAYER_FIELDS] for layer in wl.layers]
    shape = list(wl.input_shape) if getattr(wl, "input_shape", None) is not None else None
    return {"key": key, "workload": {"name": wl.name, "source": wl.source, "params": wl.params, "layers": layers,
                                     "input_shape": shape}}


def _from_doc(doc: Any, key: dict[str, Any]) -> Workload:
    """The workload of an entry; ValueError / TypeError / KeyError when it is not a valid entry for ``key``."""
    if not isinstance(doc, dict) or doc.get("key") != key:
        raise ValueError("its key does not match")
    w = doc["workload"]
    layers = []
    for row in w["layers"]:
        if not isinstance(row, list) or len(row) != len(_LAYER_FIELDS):
            raise ValueError(f"a layer row has {len(row) if isinstance(row, list) else '?'} fields, "
                             f"expected {len(_LAYER_FIELDS)}")
        layers.append(Layer(**dict(zip(_LAYER_FIELDS, row))))
    return Workload(w["name"], layers, params=w["params"], source=w["source"], input_shape=w.get("input_shape"))


def load(key: dict[str, Any]) -> Workload | None:
    """The cached workload for ``key``, or None when there is no entry or it is corrupt (then a warning)."""
    path = entry_path(key)
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OSError, UnicodeDecodeError) as exc:
        warnings.warn(f"ignoring unreadable workload cache entry {path} ({exc}); rebuilding", RuntimeWarning,
                      stacklevel=2)
        return None
    try:
        return _from_doc(json.loads(text), key)
    except (ValueError, TypeError, KeyError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        warnings.warn(f"ignoring corrupt workload cache entry {path} ({reason}); rebuilding", RuntimeWarning,
                      stacklevel=2)
        return None


def store(key: dict[str, Any], wl: Workload) -> Path | None:
    """Write ``wl`` as the entry for ``key`` atomically (temporary file + :func:`os.replace`); returns the path, or
    None (with a warning) when the cache folder cannot be written."""
    path = entry_path(key)
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(_to_doc(key, wl), fh, separators=(",", ":"))
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide a shared cache from other users
        os.replace(tmp, path)
        return path
    except OSError as exc:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        warnings.warn(f"workload cache {path.parent} is not writable ({exc.strerror or exc}); not caching",
                      RuntimeWarning, stacklevel=2)
        return None


@contextlib.contextmanager
def _entry_lock(path: Path) -> Iterator[None]:
    """Hold an inter-process lock for one entry (filelock's flock, released by the OS if its holder dies); no lock
    when filelock is absent or the folder is not writable (the atomic rename alone keeps entries whole)."""
    lock = None
    try:
        from filelock import FileLock

        path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(path) + ".lock")
        lock.acquire()
    except (ImportError, OSError):
        lock = None
    try:
        yield
    finally:
        if lock is not None:
            lock.release()


def from_timm(name: str, *, resolution: int | tuple[int, int] | None = None, batch: int = 1, ops: str = "all",
              cache: bool = True) -> Workload:
    """:func:`codesign.workload.from_timm`, read from the on-disk cache when an entry exists (torch and timm are
    then not imported) and stored there after tracing. ``cache=False`` always traces and neither reads nor writes
    the cache. A model of :data:`codesign.workload.timm_analytic.ANALYTIC_MODELS` (with ``ops="all"``) is built
    analytically instead (the same workload, neither traced nor cached). Errors are those of
    :func:`codesign.workload.from_timm`; failed builds are never cached."""
    if not cache:
        return _workload.from_timm(name, resolution=resolution, batch=batch, ops=ops)
    if ops == "all" and is_analytic(name):  # built from facts in ~1 ms: nothing to cache
        return from_timm_analytic(name, resolution=resolution, batch=batch)
    key = entry_key(name, resolution=resolution, batch=batch, ops=ops)
    hit = load(key)
    if hit is not None:
        return hit
    with _entry_lock(entry_path(key)):
        hit = load(key)  # another process may have built it while this one waited for the lock
        if hit is not None:
            return hit
        wl = _workload.from_timm(name, resolution=resolution, batch=batch, ops=ops)
        store(key, wl)
        return wl
