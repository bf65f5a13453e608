"""Systolic-array hardware search space.

Eight categorical decisions, named after the :class:`codesign.hardware.SystolicArray` fields they set:

=========================  =========================  =================================================
decision                   default choices            unit / meaning
=========================  =========================  =================================================
rows                       8, 16, 32, 64, 128         PE-array rows
cols                       8, 16, 32, 64, 128         PE-array columns
dataflow                   "os", "ws", "is"           output / weight / input stationary
ifmap_sram_kib             32, 64, 128, 256, 512      input-feature-map SRAM, KiB
filter_sram_kib            32, 64, 128, 256, 512      filter (weight) SRAM, KiB
ofmap_sram_kib             32, 64, 128, 256, 512      output-feature-map SRAM, KiB
dram_bw_words_per_cycle    4, 8, 16, 32               off-chip bandwidth, words per clock cycle
=========================  =========================  =================================================

(7 decisions; the default size is ``5*5*3*5*5*5*4 == 37_500``.) ``word_bytes`` and ``clock_mhz`` are fixed per
space (defaults 1 byte, 1000 MHz). Candidates are :class:`codesign.hardware.SystolicArray` instances whose
``name`` is a readable id of the decisions (e.g. ``"32x32-ws-i64-f64-o64-bw8"``); :meth:`HardwareSpace.encode`
ignores ``name`` but checks ``word_bytes`` and ``clock_mhz``.

``codesign.hardware`` is imported on first use, so ``import codesign.space`` stays cheap.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ._base import CategoricalSpace

if TYPE_CHECKING:  # pragma: no cover
    from codesign.hardware import SystolicArray

__all__ = ["HW_FIELDS", "HardwareSpace"]

#: Decision names, in encoding order (also the SystolicArray fields they set).
HW_FIELDS: tuple[str, ...] = (
    "rows",
    "cols",
    "dataflow",
    "ifmap_sram_kib",
    "filter_sram_kib",
    "ofmap_sram_kib",
    "dram_bw_words_per_cycle",
)


def _check_choices(field: str, values: Sequence[Any], *, positive: bool = True) -> tuple[Any, ...]:
    values = tuple(values)
    if not values:
        raise ValueError(f"{field} must have at least one choice")
    if len(set(values)) != len(values):
        raise ValueError(f"{field} has duplicate choices: {values!r}")
    if positive:
        for v in values:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
                raise ValueError(f"{field} choices must be positive numbers, got {field}={v!r}")
    return values


class HardwareSpace(CategoricalSpace["SystolicArray"]):
    """Space of :class:`codesign.hardware.SystolicArray` configurations (see the module docstring).

    All arguments are keyword-only tuples of choices (defaults in the module table) plus the fixed
    ``word_bytes`` (bytes per word) and ``clock_mhz`` (MHz). Raises ValueError naming a bad field.
    """

    def __init__(
        self,
        *,
        rows: Sequence[int] = (8, 16, 32, 64, 128),
        cols: Sequence[int] = (8, 16, 32, 64, 128),
        dataflows: Sequence[str] = ("os", "ws", "is"),
        ifmap_sram_kib: Sequence[float] = (32, 64, 128, 256, 512),
        filter_sram_kib: Sequence[float] = (32, 64, 128, 256, 512),
        ofmap_sram_kib: Sequence[float] = (32, 64, 128, 256, 512),
        dram_bw_words_per_cycle: Sequence[float] = (4, 8, 16, 32),
        word_bytes: int = 1,
        clock_mhz: float = 1000.0,
    ) -> None:
        rows = _check_choices("rows", rows)
        cols = _check_choices("cols", cols)
        for field, vals in (("rows", rows), ("cols", cols)):
            for v in vals:
                if not isinstance(v, int):
                    raise ValueError(f"{field} choices must be ints, got {field}={v!r}")
        dataflows = _check_choices("dataflows", dataflows, positive=False)
        for d in dataflows:
            if d not in ("os", "ws", "is"):
                raise ValueError(f"dataflows must be among 'os', 'ws', 'is', got dataflow={d!r}")
        if isinstance(word_bytes, bool) or not isinstance(word_bytes, int) or word_bytes < 1:
            raise ValueError(f"word_bytes must be a positive int, got word_bytes={word_bytes!r}")
        if isinstance(clock_mhz, bool) or not isinstance(clock_mhz, (int, float)) or not clock_mhz > 0:
            raise ValueError(f"clock_mhz must be positive, got clock_mhz={clock_mhz!r}")
        self.word_bytes = word_bytes
        self.clock_mhz = float(clock_mhz)
        self._names = HW_FIELDS
        self._choices = (
            rows,
            cols,
            dataflows,
            tuple(float(v) for v in _check_choices("ifmap_sram_kib", ifmap_sram_kib)),
            tuple(float(v) for v in _check_choices("filter_sram_kib", filter_sram_kib)),
            tuple(float(v) for v in _check_choices("ofmap_sram_kib", ofmap_sram_kib)),
            tuple(float(v) for v in _check_choices("dram_bw_words_per_cycle", dram_bw_words_per_cycle)),
        )

    def __repr__(self) -> str:
        body = ", ".join(f"{n}={c}" for n, c in zip(self._names, self._choices))
        return f"HardwareSpace({body}, word_bytes={self.word_bytes}, clock_mhz={self.clock_mhz:g})"

    def _values(self, candidate: "SystolicArray") -> tuple[Any, ...]:
        try:
            values = tuple(getattr(candidate, f) for f in HW_FIELDS)
            word_bytes = candidate.word_bytes
            clock_mhz = candidate.clock_mhz
        except AttributeError:
            raise ValueError(
                f"expected a SystolicArray with fields {HW_FIELDS}, got {type(candidate).__name__}: {candidate!r}"
            ) from None
        if word_bytes != self.word_bytes:
            raise ValueError(f"word_bytes={word_bytes!r} differs from this space's fixed word_bytes={self.word_bytes}")
        if float(clock_mhz) != self.clock_mhz:
            raise ValueError(f"clock_mhz={clock_mhz!r} differs from this space's fixed clock_mhz={self.clock_mhz:g}")
        return values

    @staticmethod
    def label(values: Sequence[Any]) -> str:
        """Readable id of decision values in :data:`HW_FIELDS` order, e.g. ``"32x32-ws-i64-f64-o64-bw8"``."""
        r, c, df, i, f, o, bw = values
        return f"{r}x{c}-{df}-i{i:g}-f{f:g}-o{o:g}-bw{bw:g}"

    def _build(self, values: tuple[Any, ...]) -> "SystolicArray":
        from codesign.hardware import SystolicArray

        fields = dict(zip(HW_FIELDS, values))
        return SystolicArray(
            **fields, word_bytes=self.word_bytes, clock_mhz=self.clock_mhz, name=self.label(values)
        )

    def fields(self, candidate: "SystolicArray") -> dict[str, Any]:
        """``{field: value}`` of the seven decisions plus ``word_bytes`` and ``clock_mhz`` (validated)."""
        out = self.decisions(candidate)
        out["word_bytes"] = self.word_bytes
        out["clock_mhz"] = self.clock_mhz
        return out
