"""Hardware descriptions: systolic arrays, their presets, SCALE-Sim config files, and an area proxy.

A :class:`SystolicArray` is a frozen, hashable value. Sizes are in KiB of the given word size; the C++ core
works in words (``ifmap_sram_words`` etc.). Everything here needs numpy only.
"""
from __future__ import annotations

import configparser
import dataclasses
import math
import os
import re
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

__all__ = [
    "ARCH_FIELDS",
    "DATAFLOWS",
    "PRESETS",
    "EDGETPU_PRESETS",
    "PRESET_ALIASES",
    "EdgeTpuConfig",
    "HOST_CPUS",
    "HostCpu",
    "OP_COST_FIELDS",
    "Technology",
    "TECH_45NM",
    "ScaleSimConfig",
    "SystolicArray",
    "from_scalesim_cfg",
    "from_zigzag_yaml",
    "preset",
    "read_scalesim_cfg",
]

#: Column order of the float64 rows the C++ batch call takes (``SystolicArray.to_row()``).
ARCH_FIELDS = (
    "rows",
    "cols",
    "dataflow",
    "ifmap_sram_words",
    "filter_sram_words",
    "ofmap_sram_words",
    "dram_bw_words_per_cycle",
)
#: Dataflows in the order of the C++ enum: output-, weight-, input-stationary.
DATAFLOWS = ("os", "ws", "is")

# --- Area proxy constants -------------------------------------------------------------------------------
# Source: Jouppi et al., "In-Datacenter Performance Analysis of a Tensor Processing Unit", ISCA 2017, Fig. 2
# (floorplan): TPU v1 die <= 331 mm^2 in 28 nm; the 256x256 8-bit matrix unit takes 24% of it and the 24 MiB
# unified buffer 29%. Hence about 0.00121 mm^2 per 8-bit MAC and 0.0039 mm^2 per KiB of SRAM (28 nm).
MAC_AREA_MM2_INT8 = 0.24 * 331.0 / 65536.0
SRAM_AREA_MM2_PER_KIB = 0.29 * 331.0 / (24 * 1024)
#: Fixed area for control, DMA and host interface (an assumption: 1 mm^2; no public breakdown).
FIXED_AREA_MM2 = 1.0


def _positive_int(name: str, value: Any, *, limit: int = 1 << 20) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            value = int(value)
        else:
            raise TypeError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if value < 1 or value > limit:
        raise ValueError(f"{name} must be between 1 and {limit}, got {value}")
    return value


def _positive_float(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value) or value <= 0.0:
        raise ValueError(f"{name} must be a finite number > 0, got {value}")
    return value


def _clock(name: str, value: Any) -> float:
    """A clock in MHz between 1 Hz and 1 PHz, so that cycles / clock stays finite (a denormal clock made
    latency_ms infinite)."""
    value = _positive_float(name, value)
    if not 1e-6 <= value <= 1e9:
        raise ValueError(f"{name} must be between 1e-06 and 1e+09 MHz, got {value:g}")
    return value


@dataclass(frozen=True)
class SystolicArray:
    """A ``rows x cols`` systolic PE array with ifmap, filter and ofmap SRAMs and one DRAM interface.

    Each SRAM is double-buffered (half holds the active tile, half is filled or drained behind it). The
    model is described in ``cpp/include/codesign/model/systolic_cost.hpp`` and in :mod:`codesign.cost`.

    Attributes:
        rows, cols: PE rows (SCALE-Sim ``ArrayHeight``) and columns (``ArrayWidth``), 1..2^20.
        dataflow: ``"os"``, ``"ws"`` or ``"is"`` (output-, weight-, input-stationary).
        ifmap_sram_kib, filter_sram_kib, ofmap_sram_kib: SRAM capacities in KiB (1024 bytes). Each must hold,
            in each half, one array row/column of words: ``kib * 1024 / word_bytes >= 2 * max(rows, cols)``.
        dram_bw_words_per_cycle: DRAM interface bandwidth in words per cycle, shared by reads and writes.
        word_bytes: bytes per operand word (1 = int8, SCALE-Sim's fixed choice).
        clock_mhz: clock in MHz, used only to turn cycles into ``latency_ms``.
        name: a label for reports.

    Raises:
        TypeError, ValueError: a field of the wrong type or out of range; the message names it.
    """

    rows: int = 32
    cols: int = 32
    dataflow: str = "ws"
    ifmap_sram_kib: float = 64.0
    filter_sram_kib: float = 64.0
    ofmap_sram_kib: float = 64.0
    dram_bw_words_per_cycle: float = 10.0
    word_bytes: int = 1
    clock_mhz: float = 1000.0
    name: str = "custom"
    _row: tuple = field(default=(), init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "rows", _positive_int("rows", self.rows))
        set_(self, "cols", _positive_int("cols", self.cols))
        if not isinstance(self.dataflow, str) or self.dataflow.lower() not in DATAFLOWS:
            raise ValueError(f"dataflow must be one of {', '.join(DATAFLOWS)}, got {self.dataflow!r}")
        set_(self, "dataflow", self.dataflow.lower())
        set_(self, "word_bytes", _positive_int("word_bytes", self.word_bytes, limit=16))
        edge = max(self.rows, self.cols)
        for name in ("ifmap_sram_kib", "filter_sram_kib", "ofmap_sram_kib"):
            kib = _positive_float(name, getattr(self, name))
            set_(self, name, kib)
            if kib * 1024 / self.word_bytes > 9e15:  # before int(): kib * 1024 may be inf
                raise ValueError(f"{name} must be below 9e15 words, got {kib:g} KiB")
            words = int(kib * 1024 // self.word_bytes)
            if words < 2 * edge:
                need = 2 * edge * self.word_bytes / 1024
                raise ValueError(
                    f"{name}={kib:g} is too small: each half of the double-buffered SRAM must hold one array "
                    f"row/column of {edge} words, so it needs at least {need:g} KiB"
                )
            if words > 9e15:
                raise ValueError(f"{name} must be below 9e15 words, got {kib:g} KiB")
        set_(self, "dram_bw_words_per_cycle", _positive_float("dram_bw_words_per_cycle", self.dram_bw_words_per_cycle))
        if self.dram_bw_words_per_cycle > 9e15:
            raise ValueError(f"dram_bw_words_per_cycle must be below 9e15, got {self.dram_bw_words_per_cycle:g}")
        set_(self, "clock_mhz", _clock("clock_mhz", self.clock_mhz))
        if not isinstance(self.name, str):
            raise TypeError(f"name must be a string, got {self.name!r}")
        set_(
            self,
            "_row",
            (
                float(self.rows),
                float(self.cols),
                float(DATAFLOWS.index(self.dataflow)),
                float(self.ifmap_sram_words),
                float(self.filter_sram_words),
                float(self.ofmap_sram_words),
                self.dram_bw_words_per_cycle,
            ),
        )

    # -- derived quantities ---------------------------------------------------------------------------
    @property
    def ifmap_sram_words(self) -> int:
        return int(self.ifmap_sram_kib * 1024 // self.word_bytes)

    @property
    def filter_sram_words(self) -> int:
        return int(self.filter_sram_kib * 1024 // self.word_bytes)

    @property
    def ofmap_sram_words(self) -> int:
        return int(self.ofmap_sram_kib * 1024 // self.word_bytes)

    @property
    def pes(self) -> int:
        """Number of PEs (= MACs per cycle at full utilization)."""
        return self.rows * self.cols

    @property
    def sram_kib(self) -> float:
        """Total on-chip SRAM in KiB."""
        return self.ifmap_sram_kib + self.filter_sram_kib + self.ofmap_sram_kib

    @property
    def peak_tops(self) -> float:
        """Peak throughput in tera-operations per second (2 ops per MAC)."""
        return 2.0 * self.pes * self.clock_mhz * 1e6 / 1e12

    @property
    def area_mm2(self) -> float:
        """Area proxy in mm^2 (28 nm): PEs x MAC area + SRAM KiB x SRAM area + fixed overhead.

        Constants from the TPU v1 floorplan (Jouppi et al., ISCA 2017): 0.00121 mm^2 per 8-bit MAC,
        0.0039 mm^2 per KiB of SRAM; MAC area grows with the square of the word width (array multiplier);
        1 mm^2 fixed overhead (assumption). A proxy for ranking designs under an area budget, not a layout.
        """
        mac = MAC_AREA_MM2_INT8 * self.word_bytes**2
        return self.pes * mac + self.sram_kib * SRAM_AREA_MM2_PER_KIB + FIXED_AREA_MM2

    def to_row(self) -> tuple[float, ...]:
        """The float64 row of the C++ batch call, in :data:`ARCH_FIELDS` order."""
        return self._row

    def replace(self, **changes: Any) -> "SystolicArray":
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.init}


#: Built-in systolic-array presets. ``google`` (also ``tpu-v1-systolic``) and ``scale`` mirror SCALE-Sim v3's
#: bundled configs (TPU-v1-like 256x256 and its 32x32 example); ``tiny8x8`` and ``eyeriss-systolic`` likewise.
#: TPU v1 runs at 700 MHz (Jouppi et al. 2017). Names of presets modelled on a real chip end in the cost model
#: they use: ``-systolic`` here, ``-template`` for the Edge-TPU-like template (:data:`EDGETPU_PRESETS`).
PRESETS: dict[str, SystolicArray] = {
    "systolic": SystolicArray(32, 32, "ws", 64, 64, 64, 10.0, name="systolic"),
    "google": SystolicArray(256, 256, "os", 6144, 6144, 2048, 10.0, clock_mhz=700.0, name="google"),
    "scale": SystolicArray(32, 32, "ws", 64, 64, 64, 10.0, name="scale"),
    "tiny8x8": SystolicArray(8, 8, "os", 16, 16, 16, 10.0, name="tiny8x8"),
    "eyeriss-systolic": SystolicArray(12, 14, "ws", 36, 36, 36, 10.0, clock_mhz=200.0, name="eyeriss-systolic"),
}
PRESETS["tpu-v1-systolic"] = PRESETS["google"]


@dataclass(frozen=True)
class ScaleSimConfig:
    """What a SCALE-Sim v3 ``.cfg`` file says, beyond the array itself.

    ``interface`` is ``"USER"`` or ``"CALC"`` (``[run_presets] InterfaceBandwidth``). In USER mode SCALE-Sim
    feeds ifmap and filter SRAMs at ``ifmap_bw``/``filter_bw`` words per cycle (the ``[layout]`` bank
    bandwidths) and drains ofmap at ``ofmap_bw`` (``Bandwidth``); see shared/reference/scalesim/MODEL.md s.6.
    """

    array: SystolicArray
    interface: str
    ifmap_bw: int
    filter_bw: int
    ofmap_bw: int
    path: str


#: Config keys of [architecture_presets] behind each SystolicArray field (to point at the line of a bad value).
_CFG_KEYS = {"rows": "ArrayHeight", "cols": "ArrayWidth", "dataflow": "Dataflow", "ifmap_sram_kib": "IfmapSramSzkB",
             "filter_sram_kib": "FilterSramSzkB", "ofmap_sram_kib": "OfmapSramSzkB",
             "dram_bw_words_per_cycle": "Bandwidth"}
_CFG_SECTION_RE = re.compile(r"^\s*\[([^\]]+)\]")
_CFG_KEY_RE = re.compile(r"^\s*([^:=\s#;\[][^:=]*?)\s*[:=]")


def _cfg_lines(text: str) -> dict[tuple[str, str], int]:
    """(section, key) -> 1-based line number of the key, and (section, "") -> the section header's line."""
    lines: dict[tuple[str, str], int] = {}
    section = ""
    for i, line in enumerate(text.splitlines(), start=1):
        m = _CFG_SECTION_RE.match(line)
        if m:
            section = m.group(1).strip()
            lines.setdefault((section, ""), i)
            continue
        m = _CFG_KEY_RE.match(line)
        if m and section:
            lines.setdefault((section, m.group(1).strip()), i)
    return lines


def _cfg_parse_error(exc: configparser.Error) -> str:
    """One line for a configparser error: where, then what."""
    if isinstance(exc, configparser.MissingSectionHeaderError):
        return f"line {exc.lineno}: malformed SCALE-Sim config: no [section] header before {exc.line.strip()!r}"
    if isinstance(exc, configparser.DuplicateOptionError):
        return f"line {exc.lineno}: malformed SCALE-Sim config: key {exc.option!r} appears twice in [{exc.section}]"
    if isinstance(exc, configparser.DuplicateSectionError):
        return f"line {exc.lineno}: malformed SCALE-Sim config: section [{exc.section}] appears twice"
    if isinstance(exc, configparser.ParsingError) and exc.errors:
        lineno, line = exc.errors[0]
        return f"line {lineno}: malformed SCALE-Sim config: cannot parse {str(line).strip()!r}"
    return "malformed SCALE-Sim config: " + " ".join(str(exc).split())


class _Cfg:
    """A parsed config file that answers bad values with the file and line."""

    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.lines = _cfg_lines(text)
        self.cp = configparser.ConfigParser(inline_comment_prefixes=("#", ";"))
        self.cp.optionxform = str  # type: ignore[assignment, method-assign]
        try:
            self.cp.read_string(text, source=path)
        except configparser.Error as exc:
            raise ValueError(f"{path}: {_cfg_parse_error(exc)}") from None

    def where(self, section: str, key: str) -> str:
        line = self.lines.get((section, key))
        return f"{self.path}: line {line}: [{section}] {key}" if line else f"{self.path}: [{section}] {key}"

    def raw(self, section: str, key: str, fallback: str | None = None) -> str:
        if not self.cp.has_section(section):
            if fallback is not None:
                return fallback
            raise ValueError(f"{self.path}: missing section [{section}]")
        if not self.cp.has_option(section, key):
            if fallback is not None:
                return fallback
            at = self.lines.get((section, ""))
            raise ValueError(f"{self.path}: missing key {key!r} in [{section}]" + (f" (the section starts at line {at})" if at else ""))
        try:
            return self.cp.get(section, key).strip()
        except configparser.Error as exc:  # e.g. a bad %(interpolation)s
            raise ValueError(f"{self.where(section, key)}: {exc}") from None

    def get(self, section: str, key: str, kind: type = int, fallback: str | None = None) -> Any:
        raw = self.raw(section, key, fallback)
        try:
            return kind(raw)
        except ValueError:
            raise ValueError(f"{self.where(section, key)} must be {kind.__name__}, got {raw!r}") from None


def read_scalesim_cfg(path: str | os.PathLike[str], *, clock_mhz: float = 1000.0) -> ScaleSimConfig:
    """Read a SCALE-Sim v3 ``.cfg`` file (``[architecture_presets]``, ``[layout]``, ``[run_presets]``).

    SRAM sizes ``*SramSzkB`` are kilo-words of one byte (SCALE-Sim fixes ``word_size = 1``), read as KiB.

    Raises:
        FileNotFoundError: no such file. ValueError: a file that is not UTF-8 text, malformed, or has a missing
            section/key or a bad value; the message names the file, the line (where there is one) and the value.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"SCALE-Sim config not found: {path}")
    with open(path, "rb") as fh:
        data = fh.read(1 << 24)  # 16 MiB: far beyond any real config
        if fh.read(1):
            raise ValueError(f"{path}: not a SCALE-Sim config: larger than 16 MiB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ValueError(f"{path}: line {line}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    cfg = _Cfg(path, text)
    sec = "architecture_presets"
    df = cfg.get(sec, "Dataflow", str).lower()
    bandwidth = cfg.get(sec, "Bandwidth", str).split(",")[0].strip()
    try:
        bw_value = float(bandwidth)
        if not math.isfinite(bw_value):
            raise ValueError
        bw = int(bw_value)
    except ValueError:
        raise ValueError(f"{cfg.where(sec, 'Bandwidth')} must be a finite number, got {bandwidth!r}") from None
    name = cfg.raw("general", "run_name", fallback=os.path.splitext(os.path.basename(path))[0])
    fields = dict(
        rows=cfg.get(sec, "ArrayHeight"),
        cols=cfg.get(sec, "ArrayWidth"),
        dataflow=df,
        ifmap_sram_kib=cfg.get(sec, "IfmapSramSzkB", float),
        filter_sram_kib=cfg.get(sec, "FilterSramSzkB", float),
        ofmap_sram_kib=cfg.get(sec, "OfmapSramSzkB", float),
        dram_bw_words_per_cycle=bw,
    )
    try:
        array = SystolicArray(**fields, word_bytes=1, clock_mhz=clock_mhz, name=name)
    except (TypeError, ValueError) as exc:
        field_name = str(exc).split(" ", 1)[0].split("=", 1)[0]
        key = _CFG_KEYS.get(field_name)
        raise ValueError(f"{cfg.where(sec, key) if key else path}: {exc}") from None
    interface = cfg.raw("run_presets", "InterfaceBandwidth", fallback="CALC").upper()
    if interface not in ("USER", "CALC"):
        raise ValueError(f"{cfg.where('run_presets', 'InterfaceBandwidth')} must be USER or CALC, got {interface!r}")
    ifmap_bw = cfg.get("layout", "IfmapSRAMBankBandwidth", int, fallback=str(bw))
    filter_bw = cfg.get("layout", "FilterSRAMBankBandwidth", int, fallback=str(bw))
    return ScaleSimConfig(array, interface, ifmap_bw, filter_bw, bw, path)


def from_zigzag_yaml(hardware_yaml: str | os.PathLike[str], mapping_yaml: str | os.PathLike[str]) -> Any:
    """The :class:`EdgeTpuConfig` a ZigZag hardware YAML and its mapping YAML describe: the default spatial
    mapping's OX/OY become the PE grid, K the lanes, C the SIMD units; the largest on-chip weight memory the core
    memory, the largest activation memory the PE memory; the DRAM port's bits per cycle the I/O link at 1 GHz;
    energies from the YAML's per-access costs (see :func:`codesign.zigzag_hardware.read_zigzag_hardware`, which
    also returns those prices and the memory names).

    Raises:
        ValueError: a file that is not such a YAML (one line naming it). ImportError: PyYAML missing.
    """
    from .zigzag_hardware import read_zigzag_hardware

    return read_zigzag_hardware(hardware_yaml, mapping_yaml)["config"]


def from_scalesim_cfg(path: str | os.PathLike[str], *, clock_mhz: float = 1000.0) -> SystolicArray:
    """The :class:`SystolicArray` a SCALE-Sim v3 ``.cfg`` file describes (see :func:`read_scalesim_cfg`)."""
    return read_scalesim_cfg(path, clock_mhz=clock_mhz).array


# ===================================================================================================
# The Edge-TPU-like template
# ===================================================================================================

#: Column order of the float64 rows of the C++ Edge-TPU batch call (``EdgeTpuConfig.to_row()``).
EDGETPU_FIELDS = (
    "pe_x", "pe_y", "lanes", "simd", "core_mem_bytes", "pe_mem_bytes", "global_mem_bytes", "io_bytes_per_cycle",
    "clock_mhz", "act_bytes", "weight_bytes", "psum_bytes", "layer_overhead_cycles", "tile_overhead_cycles",
    "inference_overhead_cycles", "activation_buffers",
    "conv_op_cycles", "depthwise_op_cycles", "pool_op_cycles", "eltwise_op_cycles", "act_op_cycles", "other_op_cycles",
    "host_macs_per_cycle", "host_bytes_per_cycle", "host_op_cycles", "reserved_onchip_bytes",
    "w_level", "i_level", "o_level",
    "concat_op_cycles", "resize_op_cycles",
)
#: EdgeTpuConfig fields of the per-op fixed costs (us), in row order (the last two, added later, at the row's end).
OP_COST_FIELDS = ("conv_op_us", "depthwise_op_us", "pool_op_us", "eltwise_op_us", "act_op_us", "other_op_us",
                  "concat_op_us", "resize_op_us")
#: Row index of each per-op cost's cycles.
_OP_COST_COLUMNS = {f: EDGETPU_FIELDS.index(f.replace("_op_us", "_op_cycles")) for f in OP_COST_FIELDS}
#: Memories that can hold a data space's tiles in a PE (the template's memory roles; ``bypass``: no tile, every
#: access served by the on-chip source). Codes of the C++ row (arch/edgetpu.hpp, MemLevel).
MEMORY_LEVELS = {"core": 0, "pe": 1, "bypass": 2}
#: Data types of the template: (activation/weight bytes, partial-sum bytes).
DATA_TYPES = {"int8": (1, 4), "bf16": (2, 4), "fp32": (4, 4)}


def _check_constant(field: str, value: Any, positive: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{field} must be a number, got {value!r}")
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        raise ValueError(f"{field} must be a finite number {'> 0' if positive else '>= 0'}, got {value!r}")


@dataclass(frozen=True)
class Technology:
    """Energy and area constants of one technology, kept apart from the accelerator's structure.

    Energy (pJ): ``mac_pj[data_type]`` per MAC (multiply + accumulate), ``vector_op_pj`` per vector-unit
    operation, SRAM ``sram_pj_per_byte_ref`` per byte accessed at ``sram_ref_kib`` of capacity, growing with the
    square root of capacity (a CACTI-like rule: wordline/bitline length grows with the side of the array),
    ``dram_pj_per_byte`` per byte over the DRAM / host link. Leakage (mW): ``leak_mw_per_kib`` of SRAM and
    ``leak_mw_per_mac`` per MAC unit. Area (mm^2): ``mac_mm2[data_type]`` per MAC unit, ``sram_mm2_per_kib``,
    ``fixed_mm2`` for control, DMA and I/O.
    """

    name: str
    mac_pj: dict
    vector_op_pj: float
    sram_pj_per_byte_ref: float
    sram_ref_kib: float
    dram_pj_per_byte: float
    leak_mw_per_kib: float
    leak_mw_per_mac: float
    mac_mm2: dict
    sram_mm2_per_kib: float
    fixed_mm2: float
    onchip_bytes_per_cycle: float = 0.0  # per PE, for on-chip tile fills (0: lanes * simd bytes per cycle)
    sources: str = ""

    def __post_init__(self) -> None:
        """Every constant a finite number, > 0 for the SRAM reference (a divisor), >= 0 for the rest; ``mac_pj``
        and ``mac_mm2`` give one for each data type. ValueError / TypeError naming the field and the value."""
        if not isinstance(self.name, str):
            raise TypeError(f"Technology.name must be a string, got {self.name!r}")
        for field in ("mac_pj", "mac_mm2"):
            table = getattr(self, field)
            if not isinstance(table, dict):
                raise TypeError(f"Technology.{field} must be a dict of data type -> number, got {table!r}")
            missing = [t for t in DATA_TYPES if t not in table]
            if missing:
                raise ValueError(f"Technology.{field} must give every data type ({', '.join(DATA_TYPES)}), "
                                 f"missing {', '.join(missing)}")
            for dtype, value in table.items():
                _check_constant(f"Technology.{field}[{dtype!r}]", value)
        for field in ("vector_op_pj", "sram_pj_per_byte_ref", "dram_pj_per_byte", "leak_mw_per_kib",
                      "leak_mw_per_mac", "sram_mm2_per_kib", "fixed_mm2", "onchip_bytes_per_cycle"):
            _check_constant(f"Technology.{field}", getattr(self, field))
        _check_constant("Technology.sram_ref_kib", self.sram_ref_kib, positive=True)

    def sram_pj_per_byte(self, kib: float) -> float:
        """SRAM access energy in pJ per byte for a memory of ``kib`` KiB (square-root law)."""
        return self.sram_pj_per_byte_ref * math.sqrt(kib / self.sram_ref_kib)

    def energy_row(self, data_type: str) -> tuple[float, ...]:
        return (self.mac_pj[data_type], self.vector_op_pj * DATA_TYPES[data_type][0], self.sram_pj_per_byte_ref,
                self.sram_ref_kib * 1024.0, self.dram_pj_per_byte, self.leak_mw_per_kib, self.leak_mw_per_mac,
                self.onchip_bytes_per_cycle)


#: 45 nm energies (Horowitz, "Computing's energy problem", ISSCC 2014): int8 mult 0.2 pJ + int32 add 0.1 pJ
#: per int8 MAC; fp16 mult 1.1 + fp32 add 0.9 for bf16; fp32 mult 3.7 + add 0.9; a 64-bit read of an 8 KB SRAM
#: 10 pJ (1.25 pJ/byte), 32 KB 20 pJ (the square-root law gives 2.5 pJ/byte: it agrees); DRAM 1.3-2.6 nJ per
#: 64 bits (midpoint 1.95 nJ = 244 pJ/byte). Leakage is an assumption (5 uW per KiB of SRAM, 1 uW per MAC).
#: Area at 28 nm: 0.00121 mm^2 per int8 MAC unit (TPU v1 floorplan: 24% of <= 331 mm^2 for 65,536 MACs, Jouppi
#: et al., ISCA 2017), x4 for 16-bit and x16 for 32-bit (array-multiplier area grows with the square of the
#: width); SRAM 0.00166 mm^2 per KiB (a 0.127 um^2 28 nm 6T bitcell x 8192 bits x 1.6 for periphery, an
#: assumption); 1 mm^2 fixed (assumption).
TECH_45NM = Technology(
    name="horowitz45",
    mac_pj={"int8": 0.3, "bf16": 2.0, "fp32": 4.6},
    vector_op_pj=0.1,
    sram_pj_per_byte_ref=1.25,
    sram_ref_kib=8.0,
    dram_pj_per_byte=244.0,
    leak_mw_per_kib=0.005,
    leak_mw_per_mac=0.001,
    mac_mm2={"int8": 0.00121, "bf16": 0.00484, "fp32": 0.0194},
    sram_mm2_per_kib=0.00166,
    fixed_mm2=1.0,
    sources="Horowitz ISSCC 2014 (energy, 45 nm); Jouppi et al. ISCA 2017 (MAC area, 28 nm); see docstring",
)


@dataclass(frozen=True)
class HostCpu:
    """The host CPU that runs the ops an Edge TPU cannot (and everything after the first of them).

    A roofline: a layer takes ``op_us + max(work / (gmacs * 1e9), bytes / (gbps * 1e9))`` seconds, with work its
    MACs (vector operations for non-MAC layers) and bytes its input, output and parameters. Attributes:
    ``name``; ``gmacs``: sustained int8 MACs per second, in G; ``gbps``: sustained memory bandwidth, GB/s;
    ``op_us``: per-op cost of the interpreter (TFLite kernel dispatch), us. Host energy is not modelled.

    Raises:
        TypeError, ValueError: a field out of range; the message names it.
    """

    name: str
    gmacs: float
    gbps: float
    op_us: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise TypeError(f"name must be a string, got {self.name!r}")
        for name in ("gmacs", "gbps"):
            object.__setattr__(self, name, _positive_float(name, getattr(self, name)))
        if isinstance(self.op_us, bool) or not isinstance(self.op_us, (int, float)) or not math.isfinite(self.op_us) \
                or self.op_us < 0:
            raise ValueError(f"op_us must be a finite number >= 0, got {self.op_us!r}")
        object.__setattr__(self, "op_us", float(self.op_us))


#: Host CPUs of the Coral rigs (assumptions from public specifications, not measurements). Cortex-A53: the Coral
#: Dev Board's NXP i.MX 8M, 4 cores at 1.5 GHz; ARMv8.0 NEON has no int8 dot product, so about 8 int8 MACs per
#: cycle per core (SMLAL on 8 lanes of 16 bits) at 1.5 GHz x 4 cores x ~33% sustained = 16 GMAC/s is its roof and
#: 4 GMAC/s a sustained figure; LPDDR4 at 3.2 GB/s peak per 32-bit channel, ~2 GB/s sustained; 20 us per op
#: (TFLite kernel dispatch on an in-order core). x86 desktop: 8 AVX2 cores, VPMADDUBSW gives 32 int8 MACs per
#: cycle per core at ~3.5 GHz = 900 GMAC/s peak; a TFLite-like interpreter sustains about 50 GMAC/s; DDR4 dual
#: channel ~20 GB/s sustained; 5 us per op.
HOST_CPUS: dict[str, HostCpu] = {
    "cortex-a53": HostCpu("cortex-a53", gmacs=4.0, gbps=2.0, op_us=20.0),
    "x86-desktop": HostCpu("x86-desktop", gmacs=50.0, gbps=20.0, op_us=5.0),
}


def _edgetpu_numbers(c: Any) -> dict[str, Any]:
    """The numbers the C++ row is made of, from a validated configuration ``c`` (its fields, the data type's
    word and partial-sum bytes, the host's roofline (0 without a host) and the memory roles' codes)."""
    n = {k: getattr(c, k) for k in ("pe_x", "pe_y", "lanes", "simd", "core_mem_kib", "pe_mem_kib", "global_mem_kib",
                                      "io_bw_gbps", "clock_mhz", "layer_overhead_us", "tile_overhead_cycles",
                                      "inference_overhead_us", "activation_buffers", "reserved_onchip_kib",
                                      *OP_COST_FIELDS)}
    n["word"], n["psum"] = DATA_TYPES[c.data_type]
    host = c.host
    n["host_gmacs"], n["host_gbps"], n["host_op_us"] = (0.0, 0.0, 0.0) if host is None else (
        host.gmacs, host.gbps, host.op_us)
    for k in ("w_mem", "i_mem", "o_mem"):
        n[k] = MEMORY_LEVELS[getattr(c, k)]
    return n


def _edgetpu_row(n: Any, f: Any = float) -> list[Any]:
    """The C++ batch row (:data:`EDGETPU_FIELDS` order) from :func:`_edgetpu_numbers`: each entry a float, or an
    (A,) float64 array where ``n`` holds arrays (a block of configurations, ``codesign.hardware_block``, passes
    ``f=np.float64``). One formula for both, so a block's rows are bit-identical to its configurations' own."""
    cyc_per_us = n["clock_mhz"]
    row = [
        f(n["pe_x"]), f(n["pe_y"]), f(n["lanes"]), f(n["simd"]), n["core_mem_kib"] * 1024.0,
        n["pe_mem_kib"] * 1024.0, n["global_mem_kib"] * 1024.0, n["io_bw_gbps"] * 1e9 / (n["clock_mhz"] * 1e6),
        f(n["clock_mhz"]), f(n["word"]), f(n["word"]), f(n["psum"]), n["layer_overhead_us"] * cyc_per_us,
        f(n["tile_overhead_cycles"]), n["inference_overhead_us"] * cyc_per_us, f(n["activation_buffers"]),
        *(0.0,) * 6,  # the first six per-op costs, set below
        n["host_gmacs"] * 1e3 / cyc_per_us, n["host_gbps"] * 1e3 / cyc_per_us, n["host_op_us"] * cyc_per_us,
        n["reserved_onchip_kib"] * 1024.0, f(n["w_mem"]), f(n["i_mem"]), f(n["o_mem"]),
        0.0, 0.0,  # concat and resize op costs, set below
    ]
    for name, i in _OP_COST_COLUMNS.items():
        row[i] = n[name] * cyc_per_us
    return row


#: Row entries the core refuses at 1e18 or more, with the field that sets each and its unit.
_ROW_LIMITS = (("io_bw_gbps", 7, "bytes per cycle"), ("layer_overhead_us", 12, "cycles"),
               ("tile_overhead_cycles", 13, "cycles"), ("inference_overhead_us", 14, "cycles"),
               ("activation_buffers", 15, "working sets"), *((f, i, "cycles") for f, i in _OP_COST_COLUMNS.items()),
               ("host", 22, "MACs per cycle"), ("host", 23, "bytes per cycle"), ("host", 24, "cycles"),
               ("reserved_onchip_kib", 25, "bytes"))
# The row fields converted through the clock (a time or a rate per second, as cycles or bytes per cycle).
_CLOCKED = {"io_bw_gbps", "layer_overhead_us", "inference_overhead_us", "host", *(f for f in _OP_COST_COLUMNS)}


def _edgetpu_row_too_large(row: Sequence[float]) -> tuple[str, int, str] | None:
    """The first entry of ``row`` (one configuration's) the core would refuse, as (field, index, unit), or None."""
    return next((lim for lim in _ROW_LIMITS if not row[lim[1]] < 1e18), None)


def _edgetpu_sram_kib(pes: Any, core_mem_kib: Any, pe_mem_kib: Any, global_mem_kib: Any) -> Any:
    return pes * (core_mem_kib + pe_mem_kib) + global_mem_kib


def _edgetpu_area_mm2(macs_per_cycle: Any, sram_kib: Any, t: "Technology", mac_mm2: Any) -> Any:
    return macs_per_cycle * mac_mm2 + sram_kib * t.sram_mm2_per_kib + t.fixed_mm2


def _peak_tops(macs_per_cycle: Any, clock_mhz: Any) -> Any:
    return 2.0 * macs_per_cycle * clock_mhz * 1e6 / 1e12


@dataclass(frozen=True)
class EdgeTpuConfig:
    """One configuration of the Edge-TPU-like template (Google's 2021 co-design work; FACTS.md).

    Structure: ``pe_x x pe_y`` PEs; each PE has ``lanes`` compute lanes of ``simd`` MAC units
    (MACs per cycle = pe_x * pe_y * lanes * simd), a core memory (``core_mem_kib``, weights) and a PE memory
    (``pe_mem_kib``, activations and partial sums); an optional shared global memory (``global_mem_kib``);
    an I/O link to DRAM or the host at ``io_bw_gbps`` GB/s (1e9 bytes/s). On-chip memory (global + all PE
    memories) caches parameters when they fit and holds activations between layers.

    Timing: ``clock_mhz``; ``layer_overhead_us`` per layer, ``tile_overhead_cycles`` per temporal tile and
    ``inference_overhead_us`` per inference are fixed costs (calibrated for the ``edgetpu`` preset).
    ``activation_buffers``: how many times the largest layer's (input + output) the compiler keeps on chip for
    activations (2: ping-pong buffers); the rest of the on-chip memory caches parameters.
    ``data_type``: ``int8`` (default), ``bf16`` or ``fp32``. ``technology``: energy and area constants.

    Per-op fixed costs (us, on top of ``layer_overhead_us``; :data:`OP_COST_FIELDS`): ``conv_op_us`` (dense conv,
    FC, GEMM), ``depthwise_op_us`` (grouped conv), ``pool_op_us``, ``eltwise_op_us`` (add, gate multiply; an
    un-fused batch norm pays it twice, as TFLite lowers it to a MUL and an ADD), ``act_op_us`` (a stand-alone
    activation: one not fused into the op before it), ``other_op_us`` (softmax, normalisation, matmul; NMS on a
    device without a host), ``concat_op_us`` (a concatenation), ``resize_op_us`` (nearest or bilinear resize). They model the device's own cost per op (issue, pipeline fill and drain,
    synchronisation), which dominates small networks (benchmarks/edgetpu_calibration/).

    ``host``: a :class:`HostCpu` (or a name in :data:`HOST_CPUS`) that runs, as the Edge TPU compiler arranges,
    the first op the device cannot run (an activation-by-activation matmul, GELU, NMS, a resize of a batch over
    one) and every op after it; its
    input crosses the I/O link. ``None``: no host segment, every op on the device (the generic template).
    ``reserved_onchip_kib``: on-chip memory already holding the cached parameters of other models co-compiled
    on the same device (:func:`codesign.edgetpu_deploy.cocompile` sets it).

    Memory roles (as Timeloop's and ZigZag's per-level keep/bypass): ``w_mem``, ``i_mem``, ``o_mem`` name the
    memory that holds the weight, input and output (partial-sum) tiles in a PE: ``core``, ``pe`` or ``bypass``
    (no tile; every access goes to the on-chip source, the global memory or the PE memories, at its energy per
    byte; a global memory smaller than one PE memory is read at a PE memory's energy per byte, as what it cannot
    hold sits in the PE memories). The cached parameters are read from the same source. A memory holding several
    data spaces is shared: their tiles together fit half of it, the mapper
    choosing the split through the tile counts. Default: weights in core memory, inputs and outputs in PE memory.
    An activation-by-activation matmul's second operand follows ``i_mem``.

    Raises:
        TypeError, ValueError: a field out of range; the message names it.
    """

    pe_x: int = 4
    pe_y: int = 4
    lanes: int = 4
    simd: int = 64
    core_mem_kib: float = 32.0
    pe_mem_kib: float = 2048.0
    global_mem_kib: float = 0.0
    io_bw_gbps: float = 10.0
    clock_mhz: float = 500.0
    data_type: str = "int8"
    layer_overhead_us: float = 0.0
    tile_overhead_cycles: float = 0.0
    inference_overhead_us: float = 0.0
    activation_buffers: float = 2.0
    w_mem: str = "core"
    i_mem: str = "pe"
    o_mem: str = "pe"
    technology: Technology = field(default=TECH_45NM, hash=False)
    name: str = "edgetpu-template"
    conv_op_us: float = 0.0
    depthwise_op_us: float = 0.0
    pool_op_us: float = 0.0
    eltwise_op_us: float = 0.0
    act_op_us: float = 0.0
    other_op_us: float = 0.0
    host: HostCpu | None = None
    reserved_onchip_kib: float = 0.0
    concat_op_us: float = 0.0
    resize_op_us: float = 0.0
    _row: tuple = field(default=(), init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        for name in ("pe_x", "pe_y", "lanes"):
            set_(self, name, _positive_int(name, getattr(self, name), limit=4096))
        set_(self, "simd", _positive_int("simd", self.simd, limit=65536))
        for name in ("core_mem_kib", "pe_mem_kib", "io_bw_gbps", "clock_mhz", "activation_buffers"):
            set_(self, name, _positive_float(name, getattr(self, name)))
        set_(self, "clock_mhz", _clock("clock_mhz", self.clock_mhz))
        if isinstance(self.host, str):
            if self.host not in HOST_CPUS:
                raise ValueError(f"host must be a codesign.hardware.HostCpu or one of {', '.join(HOST_CPUS)}, "
                                 f"got {self.host!r}")
            set_(self, "host", HOST_CPUS[self.host])
        if self.host is not None and not isinstance(self.host, HostCpu):
            raise TypeError(f"host must be a codesign.hardware.HostCpu, a name in HOST_CPUS or None, got {self.host!r}")
        for name in ("global_mem_kib", "layer_overhead_us", "tile_overhead_cycles", "inference_overhead_us",
                     *OP_COST_FIELDS, "reserved_onchip_kib"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
                raise TypeError(f"{name} must be a number, got {value!r}")
            if not math.isfinite(float(value)) or float(value) < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {value}")
            set_(self, name, float(value))
        if not isinstance(self.data_type, str) or self.data_type not in DATA_TYPES:
            raise ValueError(f"data_type must be one of {', '.join(DATA_TYPES)}, got {self.data_type!r}")
        if not isinstance(self.technology, Technology):
            raise TypeError(f"technology must be a codesign.hardware.Technology, got {self.technology!r}")
        for name in ("w_mem", "i_mem", "o_mem"):
            value = getattr(self, name)
            if not isinstance(value, str) or value not in MEMORY_LEVELS:
                raise ValueError(f"{name} must be one of {', '.join(MEMORY_LEVELS)}, got {value!r}")
        for name in ("core_mem_kib", "pe_mem_kib", "global_mem_kib"):
            if getattr(self, name) > 1e12:
                raise ValueError(f"{name} must be below 1e12 KiB, got {getattr(self, name):g}")
        set_(self, "_row", tuple(_edgetpu_row(_edgetpu_numbers(self))))
        bad = _edgetpu_row_too_large(self._row)
        if bad is not None:  # the core refuses row values of 1e18 or more (an "invalid architecture"): name it
            name, i, unit = bad
            value = getattr(self, name)
            shown = f"{value:g}" if isinstance(value, float) else repr(value)
            at = f"at clock_mhz={self.clock_mhz:g} " if name in _CLOCKED else ""
            raise ValueError(f"{name}={shown} is too large: {at}it is {self._row[i]:g} {unit}, and the model "
                             f"takes below 1e18")
        if not self._row[7] >= 1e-9:  # bytes per cycle: below it, one layer's transfer overflows the counts
            raise ValueError(f"io_bw_gbps={self.io_bw_gbps:g} is too small: at clock_mhz={self.clock_mhz:g} it is "
                             f"{self._row[7]:g} bytes per cycle, and the model takes at least 1e-9")

    @property
    def pes(self) -> int:
        return self.pe_x * self.pe_y

    @property
    def macs_per_cycle(self) -> int:
        """pe_x * pe_y * lanes * simd."""
        return self.pe_x * self.pe_y * self.lanes * self.simd

    @property
    def peak_tops(self) -> float:
        """Peak tera-operations per second (2 per MAC)."""
        return _peak_tops(self.macs_per_cycle, self.clock_mhz)

    @property
    def sram_kib(self) -> float:
        """All on-chip SRAM in KiB (core and PE memories of every PE, plus the global memory)."""
        return _edgetpu_sram_kib(self.pes, self.core_mem_kib, self.pe_mem_kib, self.global_mem_kib)

    @property
    def onchip_kib(self) -> float:
        """On-chip memory that caches parameters and holds activations (global + PE memories), KiB."""
        return self.pes * self.pe_mem_kib + self.global_mem_kib

    @property
    def area_mm2(self) -> float:
        """Area in mm^2: MAC units x MAC area + SRAM KiB x SRAM area + fixed overhead (``technology``)."""
        return _edgetpu_area_mm2(self.macs_per_cycle, self.sram_kib, self.technology, self.technology.mac_mm2[self.data_type])

    def to_row(self) -> tuple[float, ...]:
        """The float64 row of the C++ batch call, in :data:`EDGETPU_FIELDS` order."""
        return self._row

    def energy_row(self) -> tuple[float, ...]:
        return self.technology.energy_row(self.data_type)

    def replace(self, **changes: Any) -> "EdgeTpuConfig":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
               if f.init and f.name not in ("technology", "host")}
        out["technology"] = self.technology.name
        out["host"] = None if self.host is None else dataclasses.asdict(self.host)
        return out


#: Eyeriss-like technology, from Timeloop's Eyeriss exercise energy table (Accelergy, 45 nm, 16-bit words;
#: shared/reference/timeloop/): MAC 2.2 pJ; 128 KiB global buffer 52.6 pJ per 64-bit read = 6.6 pJ/byte (the
#: reference point of the square-root law); DRAM (LPDDR4) 512 pJ per 64-bit access = 64 pJ/byte. Leakage and
#: area as in :data:`TECH_45NM`.
TECH_EYERISS = dataclasses.replace(
    TECH_45NM, name="eyeriss45", mac_pj={"int8": 1.1, "bf16": 2.2, "fp32": 4.4}, vector_op_pj=0.2,
    sram_pj_per_byte_ref=6.6, sram_ref_kib=128.0, dram_pj_per_byte=64.0,
    sources="Timeloop eyeriss_like exercise ERT (Accelergy, 45 nm)",
)

#: Edge-TPU-like presets.
#:
#: ``edgetpu`` is the Coral USB Accelerator (4x4 PEs x 4 lanes x 64 SIMD = 4096 MACs/cycle at 500 MHz = 4 TOPS
#: int8; 16 x 512 KiB = 8 MiB on-chip memory; USB 3.0 link at 0.5 GB/s payload: 5 Gbit/s less its 8b/10b line code,
#: which ResNet-50's streamed parameters pin down; one on-chip working set of activations; an x86 desktop host).
#: Its fixed costs were fitted by benchmarks/edgetpu_calibration/calibrate.py (codesign.edgetpu_calibration: NNLS
#: of the relative error over the 500 measured NB201 cells of tests/data/nasbench/ and the five Coral models of
#: tests/data/coral/ together, one per-inference cost per rig): per op 3.92 us per conv / FC, 17.30 us per pooling,
#: 5.43 us per add / multiply (an un-fused batch norm pays it twice), 54.36 us per concatenation (identified by
#: Inception v1's nine concatenations alone: the only measured network that has any); depthwise convs and
#: stand-alone activations fit at 0 (their mapped time already covers them); softmax / norm / resize are not in any
#: measured network (0); 1357 us per inference (host invocation and the USB round trip). ``edgetpu-devboard`` is
#: the Coral Dev Board: the same chip on PCIe (0.415 GB/s fitted on ResNet-50's Dev Board time), 1413 us per
#: inference (fitted on the Dev Board column), a Cortex-A53 host.
#: ``edgetpu-eagle-rig`` is the rig of the NB201 latency data set (Eagle / BRP-NAS): the same device costs with
#: that rig's fitted 413 us per inference; its host is not documented (no host segment).
#: ``edgetpu-baseline`` is the published template baseline (4x4 PEs, 4 lanes, 64 SIMD, 2 MiB PE memory,
#: 32 KiB core memory), on-SoC (no host overhead) with a 10 GB/s DRAM interface and the Edge TPU's fitted per-op
#: costs. ``tpu-v1-template`` is a
#: 256x256 weight-stationary TPU v1 in template terms (28 MiB unified buffer + accumulators, 30 GB/s DDR3,
#: 700 MHz; Jouppi et al. 2017). ``eyeriss-template`` mirrors Timeloop's Eyeriss exercise: 14x12 PEs of one 16-bit
#: MAC, 384 B weight scratchpads, a 128 KiB global buffer and its energy table (:data:`TECH_EYERISS`); the
#: row-stationary dataflow itself is not reproduced by this template.
EDGETPU_PRESETS: dict[str, EdgeTpuConfig] = {
    "edgetpu": EdgeTpuConfig(4, 4, 4, 64, core_mem_kib=32, pe_mem_kib=512, io_bw_gbps=0.5, clock_mhz=500,
                             inference_overhead_us=1356.7, activation_buffers=1.0, conv_op_us=3.92, pool_op_us=17.30,
                             eltwise_op_us=5.43, concat_op_us=54.36, host="x86-desktop", name="edgetpu"),
    "edgetpu-baseline": EdgeTpuConfig(4, 4, 4, 64, core_mem_kib=32, pe_mem_kib=2048, io_bw_gbps=10.0, clock_mhz=500,
                                      activation_buffers=1.0, conv_op_us=3.92, pool_op_us=17.30, eltwise_op_us=5.43,
                                      concat_op_us=54.36, name="edgetpu-baseline"),
    "tpu-v1-template": EdgeTpuConfig(1, 1, 256, 256, core_mem_kib=256, pe_mem_kib=28 * 1024, io_bw_gbps=30.0,
                                     clock_mhz=700, activation_buffers=1.0, name="tpu-v1-template"),
    "eyeriss-template": EdgeTpuConfig(14, 12, 1, 1, core_mem_kib=0.375, pe_mem_kib=1.0, global_mem_kib=128,
                                      io_bw_gbps=1.6, clock_mhz=200, data_type="bf16", activation_buffers=1.0,
                                      technology=TECH_EYERISS, name="eyeriss-template"),
}
EDGETPU_PRESETS["edgetpu-devboard"] = EDGETPU_PRESETS["edgetpu"].replace(
    io_bw_gbps=0.415, inference_overhead_us=1412.7, host="cortex-a53", name="edgetpu-devboard")
EDGETPU_PRESETS["edgetpu-eagle-rig"] = EDGETPU_PRESETS["edgetpu"].replace(
    inference_overhead_us=412.8, host=None, name="edgetpu-eagle-rig")

#: Earlier preset names, kept as aliases (issue 16: ``tpu-v1`` / ``tpu-v1-like`` and ``eyeriss`` / ``eyeriss-like``
#: differed by a suffix only and did not say which model they were).
PRESET_ALIASES: dict[str, str] = {"tpu-v1": "tpu-v1-systolic", "eyeriss": "eyeriss-systolic",
                                  "tpu-v1-like": "tpu-v1-template", "eyeriss-like": "eyeriss-template"}


def preset(name: str, **overrides: Any) -> Any:
    """A hardware preset by name: a :class:`SystolicArray` (:data:`PRESETS`) or an :class:`EdgeTpuConfig`
    (:data:`EDGETPU_PRESETS`), optionally with fields overridden.

    Raises:
        ValueError: unknown name (the message lists the known ones).
    """
    key = str(name).lower()
    key = PRESET_ALIASES.get(key, key)
    table: dict[str, Any] = {**PRESETS, **EDGETPU_PRESETS}
    if key not in table:
        raise ValueError(f"unknown hardware preset {name!r}; systolic arrays: {', '.join(PRESETS)}; Edge-TPU-like "
                         f"template: {', '.join(EDGETPU_PRESETS)} (older names: {', '.join(PRESET_ALIASES)})")
    hw = table[key]
    return hw.replace(**overrides) if overrides else hw
