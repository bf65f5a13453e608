"""Sweep spaces: a base hardware configuration and, per swept field, a tuple of values (a grid); configuration
``i`` is the ``i``-th element of the grid's Cartesian product in C order (the last field varies fastest), so a
``config_id`` names a configuration for good. Built-in spaces, and space files (YAML, TOML, JSON)."""
from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import numpy as np

from .datafile import read_document

__all__ = ["SweepSpace", "BUILTIN_SPACES", "load_space"]


def _hw_kind(hw: Any) -> str:
    name = type(hw).__name__
    if name == "EdgeTpuConfig":
        return "edgetpu"
    if name == "SystolicArray":
        return "systolic"
    raise TypeError(f"base must be a codesign.EdgeTpuConfig or codesign.SystolicArray, got {name}")


def _settable_fields(hw: Any) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(hw) if f.init and f.name not in ("name", "technology"))


def _is_number_text(v: str) -> bool:
    try:
        float(v)
    except ValueError:
        return False
    return True


def _number_text_hint(vals: tuple[Any, ...]) -> str:
    """A hint for values a file gave as text that read as numbers ("" when none does): YAML 1.1 reads 1e300
    (exponent, no dot) as text; a quoted number is text in any format."""
    text = next((v for v in vals if isinstance(v, str) and _is_number_text(v)), None)
    if text is None:
        return ""
    if "e" in text.lower() and "." not in text:
        return f" (the file gave the text {text!r}: YAML reads an exponent without a dot as text; write 1.0e+300)"
    return f" (the file gave the text {text!r}: write the number without quotes)"


def _plain(v: Any) -> Any:
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    if isinstance(v, np.str_):
        return str(v)
    return v


@dataclass(frozen=True)
class SweepSpace:
    """A grid of hardware configurations: ``base`` with each field in ``grid`` taking each of its values.

    Attributes:
        name: a label (used in configuration names and reports).
        base: a :class:`~codesign.hardware.EdgeTpuConfig` or :class:`~codesign.hardware.SystolicArray`; fields
            not swept keep the base's values.
        grid: ``{field: (value, ...)}``, in sweep order (the last field varies fastest).

    Raises:
        TypeError, ValueError: an unknown field, an empty or duplicated value list, or a value the hardware
        class rejects (the message names the field and the value).
    """

    name: str
    base: Any
    grid: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        kind = _hw_kind(self.base)
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"space name must be a non-empty string, got {self.name!r}")
        if not isinstance(self.grid, dict) or not self.grid:
            raise ValueError(f"space {self.name!r}: grid must map at least one field to its values")
        known = _settable_fields(self.base)
        grid: dict[str, tuple] = {}
        for key, values in self.grid.items():
            if key not in known:
                raise ValueError(f"space {self.name!r}: unknown {kind} field {key!r}; fields: {', '.join(known)}")
            if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
                raise ValueError(f"space {self.name!r}: {key} must be a list of values, got {values!r}")
            vals = tuple(_plain(v) for v in values)
            if not vals:
                raise ValueError(f"space {self.name!r}: {key} has no values")
            if len(set(vals)) != len(vals):
                dup = next(v for v in vals if vals.count(v) > 1)
                raise ValueError(f"space {self.name!r}: {key} lists the value {dup!r} twice")
            kinds = {type(v) for v in vals}
            if kinds - {int, float, str}:
                raise ValueError(f"space {self.name!r}: {key} values must be numbers or strings, got {vals!r}")
            if str in kinds and len(kinds) > 1:
                raise ValueError(f"space {self.name!r}: {key} mixes strings and numbers: {vals!r}"
                                 f"{_number_text_hint(vals)}")
            for v in vals:  # each value alone must be acceptable to the hardware class
                try:
                    self.base.replace(**{key: v})
                except (TypeError, ValueError) as exc:
                    first = str(exc).splitlines()[0]
                    if "too small" in first or "must hold" in first:
                        continue  # depends on other fields (SRAM vs array edge): judged per configuration
                    raise ValueError(f"space {self.name!r}: {key}={v!r} is invalid: {first}"
                                     f"{_number_text_hint((v,))}") from None
            grid[key] = vals
        size = math.prod(len(v) for v in grid.values())
        if size >= 1 << 62:
            raise ValueError(f"space {self.name!r} has {size:.3g} configurations; at most 2^62 can be numbered")
        object.__setattr__(self, "grid", grid)

    # -- size and decoding ------------------------------------------------------------------------------
    @property
    def kind(self) -> str:
        """``"edgetpu"`` or ``"systolic"``."""
        return _hw_kind(self.base)

    @property
    def fields(self) -> tuple[str, ...]:
        """The swept fields, in sweep order."""
        return tuple(self.grid)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(v) for v in self.grid.values())

    @property
    def size(self) -> int:
        """Number of configurations (the product of the value counts)."""
        return math.prod(self.shape)

    def __len__(self) -> int:
        return self.size

    def _column(self, key: str) -> np.ndarray:
        vals = self.grid[key]
        if all(isinstance(v, str) for v in vals):
            return np.asarray(vals, dtype=object)
        if all(isinstance(v, int) for v in vals):
            return np.asarray(vals, dtype=np.int64)
        return np.asarray(vals, dtype=np.float64)

    def decode(self, ids: Any) -> dict[str, np.ndarray]:
        """``{field: values}`` of configurations ``ids`` (int array), one array per swept field."""
        ids = np.asarray(ids, dtype=np.int64)
        if ids.size and (ids.min() < 0 or ids.max() >= self.size):
            bad = int(ids[(ids < 0) | (ids >= self.size)][0])
            raise ValueError(f"config_id {bad} is outside space {self.name!r} (0..{self.size - 1})")
        pos = np.unravel_index(ids, self.shape) if ids.size else [np.zeros(0, np.int64)] * len(self.grid)
        return {k: self._column(k)[p] for k, p in zip(self.grid, pos)}

    def constants(self) -> dict[str, Any]:
        """The base's fields that are not swept (the where-expression sees them as constants)."""
        return {k: getattr(self.base, k) for k in _settable_fields(self.base) if k not in self.grid}

    def config(self, config_id: int) -> Any:
        """The hardware configuration ``config_id`` (validated; may raise ValueError for a combination the
        hardware class rejects, e.g. an SRAM smaller than two array rows)."""
        vals = {k: _plain(v[0]) for k, v in self.decode([int(config_id)]).items()}
        return self.base.replace(name=f"{self.name}#{int(config_id)}", **vals)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable description (enough to rebuild the space: :meth:`from_dict`)."""
        base = self.base.to_dict()
        base.pop("name", None)
        return {"name": self.name, "kind": self.kind, "base_name": self.base.name, "base": base,
                "grid": {k: list(v) for k, v in self.grid.items()}}

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> "SweepSpace":
        return _space_from_doc(doc, where=f"space {doc.get('name', '?')!r}")


def _published_edgetpu_space() -> SweepSpace:
    from . import hardware

    return SweepSpace(
        "edgetpu-space", hardware.preset("edgetpu-baseline"),
        {"pe_x": (1, 2, 4, 6, 8), "pe_y": (1, 2, 4, 6, 8), "simd": (16, 32, 64, 128), "lanes": (1, 2, 4, 8),
         "pe_mem_kib": (512.0, 1024.0, 2048.0, 3072.0, 4096.0), "core_mem_kib": (8.0, 16.0, 32.0, 64.0, 128.0),
         "io_bw_gbps": (5.0, 10.0, 15.0, 20.0, 25.0)})


def _systolic_space() -> SweepSpace:
    from . import hardware

    kib = (32.0, 64.0, 128.0, 256.0, 512.0)
    return SweepSpace(
        "systolic-space", hardware.preset("systolic"),
        {"rows": (8, 16, 32, 64, 128), "cols": (8, 16, 32, 64, 128), "dataflow": ("os", "ws", "is"),
         "ifmap_sram_kib": kib, "filter_sram_kib": kib, "ofmap_sram_kib": kib,
         "dram_bw_words_per_cycle": (4.0, 8.0, 16.0, 32.0)})


#: Built-in spaces: ``edgetpu-space`` is the Edge-TPU-like template's published hardware space (FACTS.md:
#: 5 x 5 PEs, 4 SIMD widths, 4 lane counts, 5 PE memories, 5 core memories, 5 I/O bandwidths = 50,000
#: configurations) around the ``edgetpu-baseline`` preset; ``systolic-space`` is the spine search's
#: systolic-array space (37,500 arrays) around the ``systolic`` preset.
BUILTIN_SPACES: dict[str, Callable[[], SweepSpace]] = {
    "edgetpu-space": _published_edgetpu_space,
    "systolic-space": _systolic_space,
}


def _expand_values(key: str, spec: Any, where: str) -> list[Any]:
    """A value list from a YAML/TOML entry: a list, or ``{start, stop, step}`` (stop included), or
    ``{values: [...]}``, or a single scalar."""
    if isinstance(spec, dict):
        if set(spec) == {"values"}:
            return _expand_values(key, spec["values"], where)
        extra = set(spec) - {"start", "stop", "step"}
        if extra or not {"start", "stop"} <= set(spec):
            raise ValueError(f"{where}: {key} must be a list or {{start, stop, step}}, got {spec!r}")
        start, stop, step = spec["start"], spec["stop"], spec.get("step", 1)
        for name, v in (("start", start), ("stop", stop), ("step", step)):
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ValueError(f"{where}: {key}.{name} must be a number, got {v!r}")
        if step <= 0 or stop < start:
            raise ValueError(f"{where}: {key} needs step > 0 and stop >= start, got {spec!r}")
        n = int(math.floor((stop - start) / step + 1e-9)) + 1
        if n > 1_000_000:
            raise ValueError(f"{where}: {key} expands to {n} values; at most 1,000,000 per field")
        if all(isinstance(v, int) for v in (start, stop, step)):
            return [start + i * step for i in range(n)]
        return [float(start + i * step) for i in range(n)]
    if isinstance(spec, np.ndarray):
        spec = spec.tolist()
    spec = _plain(spec)
    if isinstance(spec, (list, tuple)):
        out = []
        for v in map(_plain, spec):
            if isinstance(v, bool) or not isinstance(v, (int, float, str)):
                raise ValueError(f"{where}: {key} values must be numbers or strings, got {v!r}")
            out.append(v)
        return out
    if isinstance(spec, (int, float, str)) and not isinstance(spec, bool):
        return [spec]
    raise ValueError(f"{where}: {key} must be a list of values, got {spec!r}")


def _space_from_doc(doc: Any, where: str) -> SweepSpace:
    from . import hardware

    if not isinstance(doc, dict):
        raise ValueError(f"{where}: expected a mapping with 'base' and 'grid', got {type(doc).__name__}")
    unknown = set(doc) - {"name", "base", "fixed", "grid", "kind", "base_name"}
    if unknown:
        raise ValueError(f"{where}: unknown key {sorted(unknown)[0]!r}; keys: name, base, fixed, grid")
    base_spec = doc.get("base_name") if isinstance(doc.get("base"), dict) else doc.get("base")
    if base_spec is None:
        raise ValueError(f"{where}: missing 'base' (a hardware preset name, e.g. edgetpu-baseline or systolic)")
    try:
        base = hardware.preset(str(base_spec))
    except ValueError as exc:
        raise ValueError(f"{where}: base: {exc}") from None
    fixed = dict(doc.get("base") or {}) if isinstance(doc.get("base"), dict) else {}
    fixed.pop("technology", None)
    if not isinstance(doc.get("fixed") or {}, dict):
        raise ValueError(f"{where}: 'fixed' must be a mapping of field: value, got {doc.get('fixed')!r}")
    fixed.update(doc.get("fixed") or {})
    known = _settable_fields(base)
    for k, v in fixed.items():
        if k not in known:
            raise ValueError(f"{where}: fixed: unknown {_hw_kind(base)} field {k!r}; fields: {', '.join(known)}")
    try:
        base = base.replace(**fixed) if fixed else base
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: fixed: {str(exc).splitlines()[0]}") from None
    grid_doc = doc.get("grid")
    if not isinstance(grid_doc, dict) or not grid_doc:
        raise ValueError(f"{where}: 'grid' must map at least one field to a list of values")
    both = sorted(set(map(str, grid_doc)) & set(doc.get("fixed") or {}))
    if both:
        raise ValueError(f"{where}: {both[0]} is both fixed and swept (in 'fixed' and in 'grid'); keep one")
    grid = {str(k): tuple(_expand_values(str(k), v, where)) for k, v in grid_doc.items()}
    name = str(doc.get("name") or os.path.splitext(os.path.basename(where))[0] or "space")
    try:
        return SweepSpace(name, base, grid)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: {exc}") from None


def load_space(spec: Any) -> SweepSpace:
    """A :class:`SweepSpace` from a built-in name (:data:`BUILTIN_SPACES`), a YAML/TOML/JSON file, or a dict.

    File format (YAML shown; TOML and JSON hold the same keys)::

        name: small-edgetpu            # optional (default: the file name)
        base: edgetpu-baseline         # a hardware preset
        fixed: {io_bw_gbps: 20}        # optional: base fields changed but not swept
        grid:                          # swept fields, in order (the last varies fastest)
          pe_x: [1, 2, 4]
          simd: [32, 64]
          pe_mem_kib: {start: 512, stop: 2048, step: 512}   # stop included

    Raises:
        ValueError: unknown name, missing file, malformed file, unknown field or bad value (named).
    """
    if isinstance(spec, SweepSpace):
        return spec
    if isinstance(spec, dict):
        return _space_from_doc(spec, where="space")
    text = os.fspath(spec) if isinstance(spec, os.PathLike) else spec
    if not isinstance(text, str):
        raise TypeError(f"space must be a name, a file path, a dict or a SweepSpace, got {type(spec).__name__}")
    if text in BUILTIN_SPACES:
        return BUILTIN_SPACES[text]()
    suffix = os.path.splitext(text)[1].lower()
    if suffix not in (".yaml", ".yml", ".toml", ".json"):
        raise ValueError(f"unknown space {text!r}: give {', '.join(BUILTIN_SPACES)} or a .yaml/.toml/.json file")
    if not os.path.isfile(text):
        raise ValueError(f"space file {text!r} not found")
    doc = read_document(text)
    if isinstance(doc, dict) and ({"network", "hardware"} & set(doc)) and "grid" not in doc:
        raise ValueError(f"{text}: this is a search space file ([network]/[hardware], for codesign search); "
                         "codesign sweep takes a sweep space file with base and grid (see README, 'Space files')")
    space = _space_from_doc(doc, where=text)
    if not doc.get("name"):
        space = SweepSpace(os.path.splitext(os.path.basename(text))[0], space.base, space.grid)
    return space
