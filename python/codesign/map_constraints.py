"""Mapping constraints of the Edge-TPU-like mapper, as Timeloop's: they narrow the map space, never widen it.

Per spatial level (``pe_x``, ``pe_y``, ``lanes``, ``simd``): the loop dimensions it may unroll (one: fixed; several:
allowed) and the units of the level used (``factor``); per tiled dimension (G, N, K, C, P, Q): a fixed temporal tile
count; the tile-loop order (``weight``, ``output`` or ``input``: which data space's tiles are fetched once, see
``cpp/include/codesign/mapper/mapping.hpp``); the lanes' stationarity (``ws`` or ``os``).

Text form (``codesign map --constraint`` and :meth:`MapConstraints.parse`), one constraint per string::

    pe_x=K          PE columns unroll K
    pe_y=P,Q        PE rows unroll P or Q
    simd=C          SIMD units reduce over C
    pe_x.factor=8   use 8 PE columns
    tiles.C=4       4 temporal tiles along C
    order=output    outputs complete in PE memory (C tile loop innermost)
    inner=ws        weight-stationary lanes

A constraint that no mapping can meet gives an infeasible result whose message names the constraints; a dimension
is never dropped (a level constrained to dimensions of extent one stays idle).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np

#: Spatial levels, outer to inner, and the dimensions each may unroll (the template's, mapper/mapper.hpp).
LEVELS = ("pe_x", "pe_y", "lanes", "simd")
LEVEL_DIMS = {"pe_x": "GNKPQ", "pe_y": "GNKPQ", "lanes": "GNKPQ", "simd": "KC"}
DIMS = "GNKCPQRS"
TILED_DIMS = "GNKCPQ"
ORDERS = ("weight", "output", "input")
INNER = ("ws", "os")
FIELD_COUNT = 16


@dataclass(frozen=True)
class MapConstraints:
    """Constraints on the map space; every field free by default.

    spatial: level name -> allowed dimension letters (e.g. ``{"pe_x": "K", "simd": "C"}``).
    factor: level name -> units of the level used (1 .. the level's size).
    tiles: dimension letter (G N K C P Q) -> fixed temporal tile count (>= 1).
    order: ``weight``, ``output`` or ``input`` (None: free). inner: ``ws`` or ``os`` (None: free).

    Raises:
        ValueError, TypeError: an unknown level or dimension, a dimension the level cannot unroll, a count below one.
    """

    spatial: dict[str, str] = field(default_factory=dict)
    factor: dict[str, int] = field(default_factory=dict)
    tiles: dict[str, int] = field(default_factory=dict)
    order: str | None = None
    inner: str | None = None

    def __post_init__(self) -> None:
        for name, kind in (("spatial", dict), ("factor", dict), ("tiles", dict)):
            if not isinstance(getattr(self, name), kind):
                raise TypeError(f"{name} must be a dict, got {getattr(self, name)!r}")
        for dim in self.tiles:
            if not isinstance(dim, str):
                raise TypeError(f"tiles: a dimension must be a letter such as 'C', got {dim!r}")
        upper = [d.upper() for d in self.tiles]
        if len(set(upper)) != len(upper):
            raise ValueError(f"tiles: a dimension is given twice: {', '.join(self.tiles)}")
        # stored upper-case, as the core's row reads them
        object.__setattr__(self, "tiles", {d.upper(): t for d, t in self.tiles.items()})
        for level, dims in self.spatial.items():
            _level(level)
            if not isinstance(dims, str) or not dims:
                raise ValueError(f"spatial[{level!r}] must be dimension letters such as 'K' or 'PQ', got {dims!r}")
            if len(set(dims)) != len(dims):
                raise ValueError(f"spatial[{level!r}]: a dimension is given twice in {dims!r}")
            bad = [d for d in dims if d not in LEVEL_DIMS[level]]
            if bad:
                raise ValueError(f"spatial[{level!r}]: {level} unrolls one of {', '.join(LEVEL_DIMS[level])}, "
                                 f"got {bad[0]!r}")
        for level, f in self.factor.items():
            _level(level)
            _count(f"factor[{level!r}]", f, most=2**16)
        for dim, t in self.tiles.items():
            if not isinstance(dim, str) or dim.upper() not in TILED_DIMS:
                raise ValueError(f"tiles: dimension must be one of {', '.join(TILED_DIMS)}, got {dim!r}")
            _count(f"tiles[{dim!r}]", t)
        if self.order is not None and self.order not in ORDERS:
            raise ValueError(f"order must be one of {', '.join(ORDERS)}, got {self.order!r}")
        if self.inner is not None and self.inner not in INNER:
            raise ValueError(f"inner must be one of {', '.join(INNER)}, got {self.inner!r}")

    @classmethod
    def parse(cls, items: Iterable[str]) -> "MapConstraints":
        """Constraints from their text form (module docstring); ValueError names the item it cannot read."""
        if isinstance(items, str) or not isinstance(items, (list, tuple)):
            raise TypeError(f"items must be a list of strings such as ['pe_x=K', 'tiles.C=4'], got {items!r}")
        spatial: dict[str, str] = {}
        factor: dict[str, int] = {}
        tiles: dict[str, int] = {}
        order = inner = None
        seen: set[str] = set()
        for item in items:
            if not isinstance(item, str):
                raise TypeError(f"constraint {item!r}: expected a string KEY=VALUE")
            key, sep, value = item.partition("=")
            key, value = key.strip(), value.strip()
            if not sep or not key or not value:
                raise ValueError(f"constraint {item!r}: expected KEY=VALUE, e.g. pe_x=K, tiles.C=4, order=output")
            canon = key.upper() if key.startswith("tiles.") else key
            if canon in seen:
                raise ValueError(f"constraint {item!r}: {key} is given twice")
            seen.add(canon)
            if key in LEVELS:
                dims = value.replace(",", "").replace(" ", "")
                if not (dims.isascii() and dims.isalpha()):
                    raise ValueError(f"constraint {item!r}: {key} takes dimension letters such as K or P,Q")
                try:
                    MapConstraints(spatial={key: dims.upper()})
                except ValueError as err:
                    raise ValueError(f"constraint {item!r}: {str(err).split(': ', 1)[-1]}") from None
                spatial[key] = dims.upper()
            elif key.endswith(".factor") and key[: -len(".factor")] in LEVELS:
                factor[key[: -len(".factor")]] = _int(item, value)
            elif key.startswith("tiles."):
                tiles[key[len("tiles."):].upper()] = _int(item, value)
            elif key == "order":
                order = value
            elif key == "inner":
                inner = value
            else:
                raise ValueError(f"constraint {item!r}: unknown key {key!r} (one of {', '.join(LEVELS)}, "
                                 f"LEVEL.factor, tiles.DIM, order, inner)")
        return cls(spatial, factor, {d.upper(): t for d, t in tiles.items()}, order, inner)

    def to_row(self) -> np.ndarray:
        """The int64 row of the C++ core (mapper/mapping.hpp, MapConstraints)."""
        row = np.zeros(FIELD_COUNT, np.int64)
        for i, level in enumerate(LEVELS):
            dims = self.spatial.get(level)
            row[i] = 0xFF if dims is None else sum(1 << DIMS.index(d) for d in set(dims.upper()))
            row[4 + i] = int(self.factor.get(level, 0))
        for i, d in enumerate(TILED_DIMS):
            row[8 + i] = int(self.tiles.get(d, 0))
        row[14] = -1 if self.order is None else ORDERS.index(self.order)
        row[15] = -1 if self.inner is None else INNER.index(self.inner)
        return row

    def describe(self) -> str:
        """The constraints in their text form, comma-separated (for messages)."""
        parts = [f"{lv}={d}" for lv, d in self.spatial.items()]
        parts += [f"{lv}.factor={f}" for lv, f in self.factor.items()]
        parts += [f"tiles.{d}={t}" for d, t in self.tiles.items()]
        parts += [f"order={self.order}"] * (self.order is not None) + [f"inner={self.inner}"] * (self.inner is not None)
        return ", ".join(parts) or "none"

    def __bool__(self) -> bool:
        return bool(self.spatial or self.factor or self.tiles or self.order or self.inner)


def _level(level: Any) -> None:
    if level not in LEVELS:
        raise ValueError(f"spatial level must be one of {', '.join(LEVELS)}, got {level!r}")


def _count(name: str, value: Any, most: int = 2**40) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if not 1 <= value <= most:
        raise ValueError(f"{name} must be between 1 and {most:,}, got {value}")


def _int(item: str, value: str) -> int:
    if not (value.isascii() and value.isdigit()):  # int() would take "1_0" and other scripts' digits
        raise ValueError(f"constraint {item!r}: {value!r} is not an integer (digits 0-9)")
    return int(value)
