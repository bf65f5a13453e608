"""One reader for the small TOML / YAML / JSON files users hand to codesign (search and sweep space files).

:func:`read_document` returns the parsed document; every failure is a ValueError whose message starts with the
file's path and, where the parser gives one, the line and column: a missing or unreadable file (permission
denied, a directory), a file above :data:`MAX_BYTES`, bytes that are not UTF-8, malformed TOML/YAML/JSON, a key
given twice in one mapping (YAML and JSON would keep the last silently; TOML refuses it itself). YAML is read with
PyYAML's safe loader (plain data only, never ``yaml.load``).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

__all__ = ["MAX_BYTES", "missing_file", "read_document"]

#: Largest space file read (the largest built-in space written out is about 2 KiB).
MAX_BYTES = 4 << 20


def missing_file(path: str | os.PathLike[str]) -> str:
    """Why ``path`` is not a regular file to read: "no such file", "a directory" or "not a regular file" (a device,
    a FIFO), for a one-line error naming it."""
    if not os.path.exists(path):
        return "no such file"
    return "a directory" if os.path.isdir(path) else "not a regular file"


def _read_text(p: Path) -> str:
    try:
        size = p.stat().st_size
        if not p.is_file():
            raise ValueError(f"{p}: not a file")
        if size > MAX_BYTES:
            raise ValueError(f"{p}: {size:,} bytes, more than a space file may hold ({MAX_BYTES:,})")
        with open(p, "rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise FileNotFoundError(f"{p}: no such file") from None
    except OSError as exc:
        raise ValueError(f"{p}: cannot read ({exc.strerror or exc})") from None
    if len(raw) > MAX_BYTES:  # a file that grows while read, or a device
        raise ValueError(f"{p}: more than {MAX_BYTES:,} bytes, more than a space file may hold")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ValueError(f"{p}: line {line}: byte {exc.start} is not UTF-8 text") from None


class _DuplicateKey(Exception):
    pass


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise _DuplicateKey(f"not valid JSON: the key {k!r} is given twice in one object")
        out[k] = v
    return out


_LOADER: Any = None


def _unique_key_loader(yaml: Any) -> Any:
    """PyYAML's SafeLoader, refusing a key given twice in one mapping (with its line)."""
    global _LOADER
    if _LOADER is None:
        class UniqueKeyLoader(yaml.SafeLoader):  # type: ignore[misc, name-defined]
            def construct_mapping(self, node: Any, deep: bool = False) -> Any:
                seen: set[Any] = set()
                for key_node, _ in node.value:
                    key = self.construct_object(key_node, deep=deep)
                    try:
                        repeat = key in seen
                    except TypeError:  # an unhashable key: the base class names it
                        break
                    if repeat:
                        raise _DuplicateKey(f"not valid YAML: line {key_node.start_mark.line + 1}, column "
                                            f"{key_node.start_mark.column + 1}: the key {key!r} is given twice")
                    seen.add(key)
                return super().construct_mapping(node, deep=deep)

        _LOADER = UniqueKeyLoader
    return _LOADER


def read_document(path: str | os.PathLike[str], *, kinds: tuple[str, ...] = ("toml", "yaml", "json")) -> Any:
    """Parse a ``.toml``, ``.yaml``/``.yml`` or ``.json`` file (of the ``kinds`` allowed) into Python data."""
    p = Path(path)
    suffix = p.suffix.lower().lstrip(".")
    kind = "yaml" if suffix == "yml" else suffix
    if kind not in kinds:
        raise ValueError(f"{p}: the file name must end in {', '.join('.' + k for k in kinds)}, got {p.suffix!r}")
    text = _read_text(p)
    if kind == "toml":
        try:
            import tomllib  # type: ignore[import-not-found]
        except ModuleNotFoundError:  # pragma: no cover - Python 3.10
            try:
                import tomli as tomllib  # type: ignore[no-redef]
            except ModuleNotFoundError:
                raise ValueError(f"{p}: reading TOML on Python 3.10 needs the 'tomli' package") from None
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:  # the message ends with "(at line L, column C)"
            raise ValueError(f"{p}: not valid TOML: {exc}") from None
    if kind == "yaml":
        try:
            import yaml  # type: ignore[import-untyped]
        except ModuleNotFoundError:
            raise ValueError(f"{p}: reading YAML needs pyyaml (pip install pyyaml), or write the file as TOML") from None
        try:
            return yaml.load(text, Loader=_unique_key_loader(yaml))  # noqa: S506 - a SafeLoader subclass
        except _DuplicateKey as exc:
            raise ValueError(f"{p}: {exc}") from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
            what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise ValueError(f"{p}: not valid YAML: {where}{what}") from None
        except RecursionError:
            raise ValueError(f"{p}: not valid YAML: nested too deeply") from None
    try:
        return json.loads(text, object_pairs_hook=_unique_pairs)
    except _DuplicateKey as exc:
        raise ValueError(f"{p}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{p}: not valid JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise ValueError(f"{p}: not valid JSON: nested too deeply") from None
