"""Many Edge-TPU-like configurations at once, column-wise: the C++ rows, areas and peak throughputs of a block of
configurations that differ from one base in a few fields, without building one :class:`EdgeTpuConfig` each.

A sweep chunk holds about a thousand configurations; building and validating each as an object cost about
90 us, more than mapping it. Here each distinct value of a varied field is validated once, by the class itself
(``base.replace(field=value)``), and the rows come from the same formula the class uses
(:func:`codesign.hardware._edgetpu_row`, fed arrays), so they are bit-identical to the objects' own. The checks
that join fields (a row entry of 1e18 or more) are made on the rows; a configuration that fails any check is
built as an object after all, so its error message is the class's own, word for word.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .hardware import (DATA_TYPES, HOST_CPUS, MEMORY_LEVELS, EdgeTpuConfig, _edgetpu_area_mm2, _edgetpu_numbers,
                       _edgetpu_row, _edgetpu_sram_kib, _peak_tops, _ROW_LIMITS)

__all__ = ["EdgeTpuBlock", "edgetpu_block"]

_INT_FIELDS = ("pe_x", "pe_y", "lanes", "simd")


@dataclass
class EdgeTpuBlock:
    """A configurations, each ``base`` with the fields of ``columns`` set to its entries.

    Attributes:
        rows: float64 (A, len(EDGETPU_FIELDS)), the C++ rows (rows of invalid configurations are zeros).
        energy: float64 (1, 8) or (A, 8), the technology's energy rows (one if all equal).
        area_mm2, peak_tops: float64 (A,); NaN for an invalid configuration.
        errors: (A,) the first line of the class's error for an invalid configuration, or "".
    """

    base: EdgeTpuConfig
    columns: dict[str, np.ndarray]
    names: list[str]
    rows: np.ndarray
    energy: np.ndarray
    area_mm2: np.ndarray
    peak_tops: np.ndarray
    errors: list[str]

    def __len__(self) -> int:
        return len(self.names)

    @property
    def ok(self) -> np.ndarray:
        return np.array([not e for e in self.errors], dtype=bool)

    def config(self, j: int) -> EdgeTpuConfig:
        """Configuration ``j`` as an object (raises the class's own error for an invalid one)."""
        return self.base.replace(name=self.names[j], **{k: v[j].item() if hasattr(v[j], "item") else v[j]
                                                        for k, v in self.columns.items()})


def _distinct(values: np.ndarray) -> tuple[list[Any], np.ndarray]:
    """(distinct values as Python objects, index of each entry's value)."""
    if values.dtype.kind in "iu" or (values.dtype.kind == "f" and not np.isnan(values).any()):
        distinct, index = np.unique(values, return_inverse=True)
        return distinct.tolist(), index.reshape(-1)
    vals = values.tolist()
    first: dict[Any, int] = {}
    index = np.fromiter((first.setdefault((type(v), v), len(first)) for v in vals), dtype=np.int64, count=len(vals))
    return [key[1] for key in first], index


def edgetpu_block(base: EdgeTpuConfig, columns: dict[str, Any], names: list[str]) -> EdgeTpuBlock:
    """The block of configurations ``base.replace(name=names[j], **{k: columns[k][j]})``, j < A.

    Args:
        base: a validated :class:`EdgeTpuConfig`.
        columns: ``{field: (A,) values}`` for the fields that vary (an init field of EdgeTpuConfig other than
            ``name`` and ``technology``).
        names: (A,) configuration names.

    Raises:
        TypeError: ``base`` is not an EdgeTpuConfig. ValueError: an unknown field or a column of another length.
        An invalid configuration is not an error: its ``errors`` entry says why.
    """
    if not isinstance(base, EdgeTpuConfig):
        raise TypeError(f"base must be a codesign.EdgeTpuConfig, got {type(base).__name__}")
    if not isinstance(columns, dict):
        raise TypeError(f"columns must be a dict of field: (A,) values, got {type(columns).__name__}")
    if not isinstance(names, (list, tuple)) or not all(isinstance(x, str) for x in names):
        raise TypeError(f"names must be a list of str, got {names!r:.80}")
    n = len(names)
    # a list keeps each value's own type (np.asarray would turn ["4", 2] into two strings)
    cols = {k: v if isinstance(v, np.ndarray) else np.array(list(v), dtype=object) for k, v in columns.items()}
    for k, v in cols.items():
        if k in ("name", "technology", "_row") or k not in EdgeTpuConfig.__dataclass_fields__:
            raise ValueError(f"columns: {k!r} is not a field an EdgeTpuConfig block can vary")
        if v.shape != (n,):
            raise ValueError(f"columns[{k!r}] must have shape ({n},), got {v.shape}")
    if n == 0:
        return EdgeTpuBlock(base, cols, [], np.zeros((0, len(base.to_row()))), np.array([base.energy_row()]),
                            np.zeros(0), np.zeros(0), [])
    numbers: dict[str, Any] = _edgetpu_numbers(base)
    data_type: Any = base.data_type
    suspect = np.zeros(n, dtype=bool)  # a value the class refused beside the base's other fields
    for k, v in cols.items():
        distinct, index = _distinct(v)
        coerced: list[Any] = []
        for value in distinct:
            try:
                coerced.append(getattr(base.replace(**{k: value}), k))
            except (TypeError, ValueError):
                coerced.append(None)
        bad = np.array([c is None for c in coerced], dtype=bool)
        suspect |= bad[index]
        good = [c if c is not None else getattr(base, k) for c in coerced]
        if k == "data_type":
            data_type = np.array(good, dtype=object)[index]
            numbers["word"] = np.array([DATA_TYPES[d][0] for d in good], dtype=np.float64)[index]
            numbers["psum"] = np.array([DATA_TYPES[d][1] for d in good], dtype=np.float64)[index]
        elif k == "host":
            hosts = [HOST_CPUS[h] if isinstance(h, str) else h for h in good]
            for key, attr in (("host_gmacs", "gmacs"), ("host_gbps", "gbps"), ("host_op_us", "op_us")):
                numbers[key] = np.array([0.0 if h is None else getattr(h, attr) for h in hosts])[index]
        elif k in ("w_mem", "i_mem", "o_mem"):
            numbers[k] = np.array([MEMORY_LEVELS[m] for m in good], dtype=np.float64)[index]
        else:
            numbers[k] = np.array(good, dtype=np.int64 if k in _INT_FIELDS else np.float64)[index]
    rows = np.zeros((n, len(base.to_row())), dtype=np.float64)
    for i, entry in enumerate(_edgetpu_row(numbers, np.float64)):
        rows[:, i] = entry
    with np.errstate(invalid="ignore"):
        fine = ~suspect & (rows[:, [lim[1] for lim in _ROW_LIMITS]] < 1e18).all(axis=1)
    t = base.technology
    macs = numbers["pe_x"] * numbers["pe_y"] * numbers["lanes"] * numbers["simd"]
    sram = _edgetpu_sram_kib(numbers["pe_x"] * numbers["pe_y"], numbers["core_mem_kib"], numbers["pe_mem_kib"],
                             numbers["global_mem_kib"])
    if isinstance(data_type, np.ndarray):
        mac_mm2 = np.array([t.mac_mm2[d] for d in data_type.tolist()])
        energy = np.array([t.energy_row(d) for d in data_type.tolist()], dtype=np.float64)
    else:
        mac_mm2 = t.mac_mm2[data_type]
        energy = np.array([base.energy_row()], dtype=np.float64)
    area = np.broadcast_to(np.asarray(_edgetpu_area_mm2(macs, sram, t, mac_mm2), dtype=np.float64), (n,)).copy()
    peak = np.broadcast_to(np.asarray(_peak_tops(macs, numbers["clock_mhz"]), dtype=np.float64), (n,)).copy()
    errors = [""] * n
    block = EdgeTpuBlock(base, cols, list(names), rows, energy, area, peak, errors)
    for j in np.flatnonzero(~fine).tolist():  # the class judges these itself, with its own words
        try:
            hw = block.config(j)
        except (TypeError, ValueError) as exc:
            errors[j] = str(exc).splitlines()[0]
            rows[j], area[j], peak[j] = 0.0, np.nan, np.nan
            continue
        rows[j] = hw.to_row()
        area[j], peak[j] = hw.area_mm2, hw.peak_tops
        if energy.shape[0] > 1:
            energy[j] = hw.energy_row()
    if energy.shape[0] > 1 and (energy == energy[:1]).all():
        block.energy = energy[:1]
    return block
