"""Hardware search spaces: the systolic array (:class:`HardwareSpace`) and the Edge-TPU-like template
(:class:`EdgeTpuHardwareSpace`).

Systolic array:

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

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ._base import CategoricalSpace, checked_choices

if TYPE_CHECKING:  # pragma: no cover
    from codesign.hardware import SystolicArray

__all__ = ["HW_FIELDS", "EDGETPU_HW_FIELDS", "EDGETPU_HW_CHOICES", "HardwareSpace", "EdgeTpuHardwareSpace"]

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


def _finite(v: Any) -> bool:
    """A number that float() takes and keeps finite (a huge int would raise OverflowError there)."""
    try:
        return math.isfinite(float(v))
    except OverflowError:
        return False


def _positive_number(field: str, v: Any) -> None:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not _finite(v) or not v > 0:
        raise ValueError(f"{field} choices must be finite positive numbers, got {field}={v!r}")


def _positive_int(field: str, v: Any) -> None:
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise ValueError(f"{field} choices must be ints >= 1, got {field}={v!r}")


def _check_choices(field: str, values: Any, check: Any = _positive_number) -> tuple[Any, ...]:
    """:func:`~codesign.space._base.checked_choices`, by default of finite positive numbers."""
    return checked_choices(field, values, check)


def _check_corners(space: str, make: Any, choices: dict[str, tuple[Any, ...]]) -> None:
    """Build the two extreme designs of a space (every numeric decision at its smallest choice, then at its
    largest; the PE counts against the memories the other way round, since a larger array needs larger SRAMs):
    the configuration classes' range checks then fail here, naming the field and value, rather than on the
    first trial that draws the value."""
    grows = ("rows", "cols", "pe_x", "pe_y", "lanes", "simd")  # larger needs larger memories
    for big in (False, True):
        pick: dict[str, Any] = {}
        for f, opts in choices.items():
            if isinstance(opts[0], str):
                pick[f] = opts[0]
            else:
                pick[f] = (max if (f in grows) == big else min)(opts)
        try:
            make(**pick)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{space}: the choices give an invalid design ({exc})") from None


class HardwareSpace(CategoricalSpace["SystolicArray"]):
    """Space of :class:`codesign.hardware.SystolicArray` configurations (see the module docstring).

    All arguments are keyword-only tuples of choices (defaults in the module table) plus the fixed
    ``word_bytes`` (bytes per word) and ``clock_mhz`` (MHz). Raises ValueError naming a bad field.
    """

    kind = "systolic"

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
        rows = _check_choices("rows", rows, _positive_int)
        cols = _check_choices("cols", cols, _positive_int)

        def _dataflow(field: str, d: Any) -> None:
            if not isinstance(d, str) or d not in ("os", "ws", "is"):
                raise ValueError(f"dataflows must be among 'os', 'ws', 'is', got dataflow={d!r}")

        dataflows = _check_choices("dataflows", dataflows, _dataflow)
        if isinstance(word_bytes, bool) or not isinstance(word_bytes, int) or word_bytes < 1:
            raise ValueError(f"word_bytes must be a positive int, got word_bytes={word_bytes!r}")
        if isinstance(clock_mhz, bool) or not isinstance(clock_mhz, (int, float)) or not _finite(clock_mhz) \
                or not clock_mhz > 0:
            raise ValueError(f"clock_mhz must be a finite positive number, got clock_mhz={clock_mhz!r}")
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
        from codesign.hardware import SystolicArray

        _check_corners("HardwareSpace", lambda **kw: SystolicArray(**kw, word_bytes=word_bytes, clock_mhz=clock_mhz),
                       dict(zip(HW_FIELDS, self._choices)))

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

    @property
    def default(self) -> "SystolicArray":
        """The space's reference design: 32x32 weight-stationary with 64 KiB SRAMs and 8 words/cycle when those
        choices exist, else the first choice of each decision."""
        want = (32, 32, "ws", 64.0, 64.0, 64.0, 8.0)
        idx = []
        for w, opts in zip(want, self._choices):
            idx.append(next((i for i, o in enumerate(opts) if o == w), 0))
        return self.decode(idx)

    def key(self, candidate: "SystolicArray") -> tuple[Any, ...]:
        """Hashable identity of a configuration (its decision values)."""
        return tuple(self._values(candidate))


# =====================================================================================================
# Edge-TPU-like template
# =====================================================================================================
#: Decision names of :class:`EdgeTpuHardwareSpace` (the :class:`codesign.hardware.EdgeTpuConfig` fields they set).
EDGETPU_HW_FIELDS: tuple[str, ...] = ("pe_x", "pe_y", "lanes", "simd", "pe_mem_kib", "core_mem_kib", "io_bw_gbps")

#: The published value sets of the Edge-TPU-like template (FACTS.md, "unverified; best public evidence"):
#: PEs in x and y 1/2/4/6/8, compute lanes per PE 1/2/4/8, SIMD units per lane 16/32/64/128, PE memory
#: 0.5/1/2/3/4 MiB, core memory 8/16/32/64/128 KiB, I/O bandwidth 5/10/15/20/25 GB/s: 50,000 configurations.
EDGETPU_HW_CHOICES: dict[str, tuple[float, ...]] = {
    "pe_x": (1, 2, 4, 6, 8),
    "pe_y": (1, 2, 4, 6, 8),
    "lanes": (1, 2, 4, 8),
    "simd": (16, 32, 64, 128),
    "pe_mem_kib": (512.0, 1024.0, 2048.0, 3072.0, 4096.0),
    "core_mem_kib": (8.0, 16.0, 32.0, 64.0, 128.0),
    "io_bw_gbps": (5.0, 10.0, 15.0, 20.0, 25.0),
}
_INT_FIELDS = ("pe_x", "pe_y", "lanes", "simd")
#: Fields of EdgeTpuConfig that the space keeps fixed (taken from ``base``).
_FIXED = ("global_mem_kib", "clock_mhz", "data_type", "layer_overhead_us", "tile_overhead_cycles",
          "inference_overhead_us", "activation_buffers", "conv_op_us", "depthwise_op_us", "pool_op_us",
          "eltwise_op_us", "act_op_us", "other_op_us", "reserved_onchip_kib", "concat_op_us", "resize_op_us")


class EdgeTpuHardwareSpace(CategoricalSpace["EdgeTpuConfig"]):
    """Space of :class:`codesign.hardware.EdgeTpuConfig` configurations of the Edge-TPU-like template.

    Decisions (:data:`EDGETPU_HW_FIELDS`, default choices :data:`EDGETPU_HW_CHOICES`, the published value sets):
    ``pe_x``, ``pe_y`` (PEs), ``lanes`` (compute lanes per PE), ``simd`` (MAC units per lane), ``pe_mem_kib``
    (activation memory per PE, KiB), ``core_mem_kib`` (weight memory per PE, KiB), ``io_bw_gbps`` (DRAM / I/O
    bandwidth, GB/s). Every other field (clock, data type, global memory, overheads, activation buffering,
    technology) comes from ``base`` (default the ``edgetpu-baseline`` preset: 500 MHz, int8, the Edge TPU's
    fitted per-op costs, no host overhead), and :meth:`encode` checks them.

    Args (keyword-only): one tuple of choices per decision (same names), plus ``base``: an EdgeTpuConfig or a
    preset name.

    ``default`` is the published template baseline (4x4 PEs, 4 lanes, 64 SIMD, 2 MiB PE memory, 32 KiB core
    memory, 10 GB/s; 4096 MACs/cycle, 61.2 mm^2 with the 45/28 nm constants of :mod:`codesign.hardware`), a member
    of the default space. The default size is 5*5*4*4*5*5*5 = 50,000. Candidates are named like
    ``"4x4x4x64-pe2048-core32-io10"``.
    """

    kind = "edgetpu"

    def __init__(self, *, base: Any = "edgetpu-baseline", **choices: Sequence[float]) -> None:
        unknown = set(choices) - set(EDGETPU_HW_FIELDS)
        if unknown:
            raise ValueError(f"unknown Edge-TPU hardware decision(s) {sorted(unknown)}; known: {list(EDGETPU_HW_FIELDS)}")
        from codesign.hardware import EdgeTpuConfig, preset

        if isinstance(base, str):
            base = preset(base)
        if not isinstance(base, EdgeTpuConfig):
            raise ValueError(f"base must be an EdgeTpuConfig or an Edge-TPU preset name, got base={base!r}")
        self.base = base
        opts = []
        for f in EDGETPU_HW_FIELDS:
            if f in _INT_FIELDS:
                vals = _check_choices(f, choices.get(f, EDGETPU_HW_CHOICES[f]), _positive_int)
            else:
                vals = tuple(float(v) for v in _check_choices(f, choices.get(f, EDGETPU_HW_CHOICES[f])))
            opts.append(vals)
        self._names = EDGETPU_HW_FIELDS
        self._choices = tuple(opts)
        _check_corners("EdgeTpuHardwareSpace", base.replace, dict(zip(EDGETPU_HW_FIELDS, self._choices)))

    def __repr__(self) -> str:
        body = ", ".join(f"{n}={c}" for n, c in zip(self._names, self._choices))
        return f"EdgeTpuHardwareSpace({body}, base={self.base.name!r})"

    def _values(self, candidate: "EdgeTpuConfig") -> tuple[Any, ...]:
        from codesign.hardware import EdgeTpuConfig

        if not isinstance(candidate, EdgeTpuConfig):
            raise ValueError(f"expected an EdgeTpuConfig, got {type(candidate).__name__}: {candidate!r}")
        for f in _FIXED:
            if getattr(candidate, f) != getattr(self.base, f):
                raise ValueError(f"{f}={getattr(candidate, f)!r} differs from this space's fixed "
                                 f"{f}={getattr(self.base, f)!r}")
        if candidate.host != self.base.host:
            raise ValueError(f"host={candidate.host!r} differs from this space's fixed host={self.base.host!r}")
        if candidate.technology != self.base.technology:
            raise ValueError(f"technology={candidate.technology.name!r} differs from this space's fixed "
                             f"technology={self.base.technology.name!r}")
        return tuple(getattr(candidate, f) for f in EDGETPU_HW_FIELDS)

    @staticmethod
    def label(values: Sequence[Any]) -> str:
        """Readable id of decision values in :data:`EDGETPU_HW_FIELDS` order, e.g.
        ``"4x4x4x64-pe2048-core32-io10"`` (PEs x lanes x SIMD, PE memory KiB, core memory KiB, GB/s)."""
        px, py, ln, sd, pe, core, io = values
        return f"{px}x{py}x{ln}x{sd}-pe{pe:g}-core{core:g}-io{io:g}"

    def _build(self, values: tuple[Any, ...]) -> "EdgeTpuConfig":
        fields = dict(zip(EDGETPU_HW_FIELDS, values))
        return self.base.replace(**fields, name=self.label(values))

    @property
    def default(self) -> "EdgeTpuConfig":
        """The template baseline (4x4 PEs, 4 lanes, 64 SIMD, 2 MiB, 32 KiB, 10 GB/s), or the nearest member."""
        want = (4, 4, 4, 64, 2048.0, 32.0, 10.0)
        idx = []
        for w, opts in zip(want, self._choices):
            idx.append(min(range(len(opts)), key=lambda i: abs(float(opts[i]) - float(w))))
        return self.decode(idx)

    def key(self, candidate: "EdgeTpuConfig") -> tuple[Any, ...]:
        """Hashable identity of a configuration (its decision values)."""
        return tuple(self._values(candidate))

    def fields(self, candidate: "EdgeTpuConfig") -> dict[str, Any]:
        """``{field: value}`` of the decisions plus the fixed fields (validated)."""
        out = self.decisions(candidate)
        for f in _FIXED:
            out[f] = getattr(self.base, f)
        return out
