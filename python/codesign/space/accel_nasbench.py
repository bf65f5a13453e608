"""The Accel-NASBench network space: MnasNet-style blocks on an EfficientNet-B0 skeleton.

Accel-NASBench (Ahmad, Zhang, Liu, Elsayed, Ren, Hoi and Seale, "Accel-NASBench: Sustainable Benchmarking for
Accelerator-Aware NAS", 2024; code ``afzalxo/Accel-NASBench`` and ``afzalxo/ANB-DatasetCollection``, Apache-2.0)
trained 4,138 networks of this space on ImageNet with a shortened (proxy) schedule. Its rows
(``codesign/data/accel_nasbench.csv``) carry the dataset's own column names ``block{i}_e``, ``block{i}_k``,
``block{i}_l``, ``block{i}_se``; :meth:`AccelNasBenchSpace.to_row` / :meth:`~AccelNasBenchSpace.from_row`
convert.

Reconstruction of the base network (source: ``ANB-DatasetCollection`` ``searchables/searchables.py``, class
``Searchables``, and ``models/accelbenchnet.py``, ``AccelNASBenchNet`` / ``MBConv``; the same strides and channels
in ``Accel-NASBench`` ``configurationspaces/searchspaces.py``):

* stem: 3x3 conv, stride 2, 32 channels, BatchNorm, activation;
* 7 blocks of MBConv layers, output channels 16/24/40/80/112/192/320, first-layer strides 1/2/2/2/1/2/1
  (EfficientNet-B0's); per block: expansion ``e`` in {1, 4, 6}, depthwise kernel ``k`` in {3, 5}, layers ``l``
  in {1, 2, 3} (block 5, the 192-channel one: {1, 2, 3, 4}, "to conform to effnetb0"), squeeze-excite on/off.
  An MBConv layer is a 1x1 expansion conv to ``make_divisible(in * e, 8)`` channels (left out when ``e = 1``),
  a KxK depthwise conv, the optional SE, a 1x1 projection (no activation), and a residual add when the stride is
  1 and the channels are equal - timm's ``ir`` block, or ``ds`` for ``e = 1``;
* SE: squeeze channels ``max(1, in // 4)`` of the layer's *input* channels (every input here is a multiple of 4,
  so this is timm's ``se0.25``), reduce and expand 1x1 convs with bias;
* head: 1x1 conv to 4 x 320 = 1280 channels, BatchNorm, activation; global average pool; dropout 0.2; a
  1280 x 1000 linear classifier;
* activation: ReLU (``activation_fn = relu`` in the collection's training configs ``configs/conf_*.cfg`` and its
  throughput scripts). The original gates SE with a hard sigmoid when the activation is ReLU; the timm model
  built here gates with timm's default sigmoid (same shapes, MACs and parameters; the workload's SE expand conv
  carries ``act="sigmoid"``).

Checked row by row (``tests/test_accel_nasbench.py``): the workload's parameter count equals the dataset's
``params`` column on all 4,138 rows, and :func:`thop_macs` of the workload - the workload's conv and linear MACs
plus thop's extra terms, see there - equals its ``macs`` column on all rows (to float rounding). The dataset's
``macs`` are *not* the conv/linear MACs alone: they were counted with ``thop.profile`` (``thop==0.1.1.post2211291114``,
``measure_throughput_gpu.py`` ``profile_model``), which also counts 4 operations per BatchNorm output element and
``(H*W + 1) * C`` per adaptive average pool; the workload's :attr:`~codesign.workload.Workload.macs` are 4-12 %
below the column for that reason.

The space has (3*2*3*2)^6 * (3*2*4*2) = 104,485,552,128 members; EfficientNet-B0's body (expansions
1,6,6,6,6,6,6, kernels 3,3,5,3,5,5,3, layers 1,2,2,3,3,4,1, SE everywhere; ``Searchables.efficientnet_b0_conf``)
is :attr:`AccelNasBenchSpace.reference`. Needs numpy; pandas only to read rows from a DataFrame.
"""
from __future__ import annotations

import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from ._base import not_a_choice, py_scalar
from .blocks import BlockSpec, NetworkDef
from .nas import NetworkSpaceBase

if TYPE_CHECKING:  # pragma: no cover
    from codesign.workload import Workload

__all__ = ["ANB_NUM_BLOCKS", "ANB_CHANNELS", "ANB_STRIDES", "ANB_FIELDS", "ANB_CHOICES", "ANB_COLUMNS",
           "AccelNasBenchCandidate", "AccelNasBenchSpace", "decision_matrix", "thop_macs"]

ANB_NUM_BLOCKS = 7
#: Output channels of the 7 blocks (``Searchables.och``); the stem has 32 (``Searchables.ich[0]``).
ANB_CHANNELS: tuple[int, ...] = (16, 24, 40, 80, 112, 192, 320)
#: Stride of each block's first layer (``Searchables.strides``).
ANB_STRIDES: tuple[int, ...] = (1, 2, 2, 2, 1, 2, 1)
ANB_STEM = 32
ANB_HEAD = 1280
#: SE squeeze channels = a quarter of the layer's input channels.
ANB_SE_RATIO = 0.25
#: Per-block fields, in decision order: expansion, kernel, layers, squeeze-excite.
ANB_FIELDS: tuple[str, ...] = ("e", "k", "l", "se")
_LAYERS = (1, 2, 3)
_LAYERS_BLOCK5 = (1, 2, 3, 4)
#: Choices of each field per block (``configurationspaces/effnet_configspace.json``; SE listed off first).
ANB_CHOICES: tuple[dict[str, tuple[Any, ...]], ...] = tuple(
    {"e": (1, 4, 6), "k": (3, 5), "l": _LAYERS_BLOCK5 if b == 5 else _LAYERS, "se": (False, True)}
    for b in range(ANB_NUM_BLOCKS))
#: The dataset's architecture columns, in decision order: ``block0_e, block0_k, block0_l, block0_se, ...``.
ANB_COLUMNS: tuple[str, ...] = tuple(f"block{b}_{f}" for b in range(ANB_NUM_BLOCKS) for f in ANB_FIELDS)


@dataclass(frozen=True)
class AccelNasBenchCandidate:
    """One network of the Accel-NASBench space: per-block tuples of length 7 (frozen, hashable).

    Attributes:
        e: expansion ratio per block (1, 4 or 6). k: depthwise kernel per block (3 or 5).
        l: layers per block (1-3; block 5: 1-4). se: squeeze-excite per block (bool).
    """

    e: tuple[int, ...]
    k: tuple[int, ...]
    l: tuple[int, ...]  # noqa: E741 - the dataset's own name
    se: tuple[bool, ...]

    def __post_init__(self) -> None:
        for name in ANB_FIELDS:
            value = getattr(self, name)
            if isinstance(value, (str, bytes)):
                raise ValueError(f"AccelNasBenchCandidate.{name} must be a sequence of 7 values, got {value!r}")
            try:
                value = tuple(py_scalar(v) for v in value)
            except TypeError:
                raise ValueError(f"AccelNasBenchCandidate.{name} must be a sequence of 7 values, "
                                 f"got {value!r}") from None
            if len(value) != ANB_NUM_BLOCKS:
                raise ValueError(f"AccelNasBenchCandidate.{name} must have 7 entries (one per block), got "
                                 f"{len(value)}: {value!r}")
            object.__setattr__(self, name, value)

    @classmethod
    def efficientnet_b0(cls) -> "AccelNasBenchCandidate":
        """EfficientNet-B0's body in this space (``Searchables.efficientnet_b0_conf``)."""
        return cls(e=(1, 6, 6, 6, 6, 6, 6), k=(3, 3, 5, 3, 5, 5, 3), l=(1, 2, 2, 3, 3, 4, 1), se=(True,) * 7)


def _column_value(col: str, value: Any, options: tuple[Any, ...]) -> Any:
    """A dataset cell as the decision value: ints for e/k/l (an integral float or numpy int accepted), bools
    for se (``True``/``False``, numpy bools, or the strings ``"True"``/``"False"`` of a CSV read as text)."""
    v = py_scalar(value)
    if isinstance(options[0], bool):
        if isinstance(v, str) and v.strip() in ("True", "False"):
            return v.strip() == "True"
        if isinstance(v, bool):
            return v
    elif not isinstance(v, bool) and isinstance(v, numbers.Real):
        if float(v).is_integer() and int(v) in options:
            return int(v)
    raise ValueError(f"column {col}: {not_a_choice(col, value, options)}")


class AccelNasBenchSpace(NetworkSpaceBase[AccelNasBenchCandidate]):
    """The Accel-NASBench space (see the module docstring): 28 decisions ``block{i}.e``, ``block{i}.k``,
    ``block{i}.l``, ``block{i}.se`` for i = 0..6, in that order; 104,485,552,128 networks. No settings."""

    kind = "accel-nasbench"

    def __init__(self) -> None:
        self._names = tuple(f"block{b}.{f}" for b in range(ANB_NUM_BLOCKS) for f in ANB_FIELDS)
        self._choices = tuple(ANB_CHOICES[b][f] for b in range(ANB_NUM_BLOCKS) for f in ANB_FIELDS)

    def __repr__(self) -> str:
        return "AccelNasBenchSpace()"

    def _values(self, candidate: AccelNasBenchCandidate) -> tuple[Any, ...]:
        if not isinstance(candidate, AccelNasBenchCandidate):
            raise ValueError(f"expected an AccelNasBenchCandidate, got {type(candidate).__name__}: {candidate!r}")
        return tuple(getattr(candidate, f)[b] for b in range(ANB_NUM_BLOCKS) for f in ANB_FIELDS)

    def _build(self, values: tuple[Any, ...]) -> AccelNasBenchCandidate:
        per = {f: tuple(values[b * 4 + i] for b in range(ANB_NUM_BLOCKS)) for i, f in enumerate(ANB_FIELDS)}
        return AccelNasBenchCandidate(**per)

    @property
    def reference(self) -> AccelNasBenchCandidate:
        """EfficientNet-B0's body (:meth:`AccelNasBenchCandidate.efficientnet_b0`)."""
        return self.validate(AccelNasBenchCandidate.efficientnet_b0())

    # -- dataset rows --------------------------------------------------------------------------------------
    def to_row(self, candidate: AccelNasBenchCandidate) -> dict[str, Any]:
        """``{column: value}`` with the dataset's column names (:data:`ANB_COLUMNS`, in order): ``block{i}_e``,
        ``_k``, ``_l`` as int, ``block{i}_se`` as bool."""
        values = self._values(self.validate(candidate))
        return dict(zip(ANB_COLUMNS, values))

    def from_row(self, row: Any) -> AccelNasBenchCandidate:
        """The candidate of a dataset row: a mapping or a pandas Series (e.g. ``df.iloc[i]``) holding the 28
        :data:`ANB_COLUMNS` (other columns are ignored). Raises ValueError naming the first missing column,
        or the column and the value that is none of its choices."""
        if not (isinstance(row, Mapping) or hasattr(row, "keys")):
            raise ValueError(f"row must be a mapping or a pandas Series of the columns {ANB_COLUMNS[0]}..., "
                             f"got {type(row).__name__}")
        keys = set(row.keys())
        missing = [c for c in ANB_COLUMNS if c not in keys]
        if missing:
            raise ValueError(f"row lacks the column(s) {missing}")
        values = tuple(_column_value(col, row[col], opts) for col, opts in zip(ANB_COLUMNS, self._choices))
        return self._build(values)

    # -- network -------------------------------------------------------------------------------------------
    def network_def(self, candidate: AccelNasBenchCandidate) -> NetworkDef:
        self.validate(candidate)
        stages = []
        for b in range(ANB_NUM_BLOCKS):
            e = candidate.e[b]
            stages.append((BlockSpec(
                type="ds" if e == 1 else "ir", repeat=candidate.l[b], kernel=candidate.k[b], stride=ANB_STRIDES[b],
                out=ANB_CHANNELS[b], exp=float(e), se=ANB_SE_RATIO if candidate.se[b] else 0.0,
            ).to_string(),))
        return NetworkDef(tuple(stages), stem_size=ANB_STEM, num_features=ANB_HEAD, act="relu",
                          name=self.short_name(candidate))

    def short_name(self, candidate: AccelNasBenchCandidate) -> str:
        """Per block ``e{e}k{k}l{l}`` (plus ``se`` when on), joined by ``-``."""
        self.validate(candidate)
        return "-".join(f"e{candidate.e[b]}k{candidate.k[b]}l{candidate.l[b]}" + ("se" if candidate.se[b] else "")
                        for b in range(ANB_NUM_BLOCKS))

    def dataset_macs(self, candidate: AccelNasBenchCandidate) -> int:
        """The candidate's operation count as the dataset's ``macs`` column counts it (:func:`thop_macs` of its
        ImageNet workload; divide by 1e6 for the column's unit)."""
        return thop_macs(self.workload(candidate))

    def dataset_sizes(self, decisions: np.ndarray) -> np.ndarray:
        """``(n, 2)`` float64: thop MACs and parameters, in millions (the dataset's ``macs`` / ``params``
        columns), of the networks whose decisions are the rows of ``decisions`` (``(n, 28)``, as
        :func:`decision_matrix` gives), vectorised.

        A block's input channels and resolution do not depend on the other blocks' settings, so both counts
        are a constant plus one term per block: the reference network's count plus, per block, the change
        when that block alone takes the row's setting (a table of 7 x 48 workloads built once per process).
        Equal to :meth:`dataset_macs` / ``workload().params`` of each candidate (tested on all dataset rows).
        """
        d = np.asarray(decisions, dtype=np.float64)
        if d.ndim != 2 or d.shape[1] != len(ANB_COLUMNS):
            raise ValueError(f"decisions must be an (n, {len(ANB_COLUMNS)}) array, got shape {d.shape}")
        base, table = _size_table()
        out = np.tile(base, (d.shape[0], 1))
        for b in range(ANB_NUM_BLOCKS):
            block = d[:, 4 * b:4 * b + 4]
            for key in {tuple(r) for r in block.tolist()}:
                ek = (b, int(key[0]), int(key[1]), int(key[2]), bool(key[3]))
                if ek not in table:
                    raise ValueError(f"decisions row has block {b} = (e, k, l, se) {key}, not a setting of the space")
                out[np.all(block == key, axis=1)] += table[ek]
        return out / 1e6


@lru_cache(maxsize=1)
def _size_table() -> tuple[np.ndarray, dict[tuple[int, int, int, int, bool], np.ndarray]]:
    """(reference's [thop MACs, params], {(block, e, k, l, se): change of both when only that block changes})."""
    space = AccelNasBenchSpace()
    ref = space.reference
    wl = space.workload(ref)
    base = np.array([thop_macs(wl), wl.params], dtype=np.float64)
    table: dict[tuple[int, int, int, int, bool], np.ndarray] = {}
    for b in range(ANB_NUM_BLOCKS):
        for e in ANB_CHOICES[b]["e"]:
            for k in ANB_CHOICES[b]["k"]:
                for n_layers in ANB_CHOICES[b]["l"]:
                    for se in ANB_CHOICES[b]["se"]:
                        fields = {f: list(getattr(ref, f)) for f in ANB_FIELDS}
                        for f, v in zip(ANB_FIELDS, (e, k, n_layers, se)):
                            fields[f][b] = v
                        w = space.workload(AccelNasBenchCandidate(**fields))
                        table[(b, e, k, n_layers, se)] = np.array([thop_macs(w), w.params], dtype=np.float64) - base
    return base, table


def decision_matrix(df: Any) -> np.ndarray:
    """The 28 decisions of each row of a pandas DataFrame ``df`` as an ``(n, 28)`` float64 matrix (columns
    :data:`ANB_COLUMNS`, in that order; se as 0/1; other columns ignored), checked: a missing column, or a value
    that is none of its column's choices, raises ValueError naming the column (and the value and row)."""
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"expected a pandas DataFrame with the columns {ANB_COLUMNS[0]} ... {ANB_COLUMNS[-1]}, "
                         f"got {type(df).__name__}")
    missing = [c for c in ANB_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"DataFrame lacks the Accel-NASBench column(s) {missing}")
    out = np.empty((len(df), len(ANB_COLUMNS)), dtype=np.float64)
    for j, col in enumerate(ANB_COLUMNS):
        options = ANB_CHOICES[j // 4][ANB_FIELDS[j % 4]]
        s = df[col]
        if isinstance(options[0], bool):
            if pd.api.types.is_bool_dtype(s.dtype):
                out[:, j] = s.to_numpy(dtype=np.float64)
                continue
        elif pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
            v = s.to_numpy(dtype=np.float64)
            bad = ~np.isin(v, np.asarray(options, dtype=np.float64))
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise ValueError(f"column {col}: value {py_scalar(s.iloc[i])!r} (row {s.index[i]!r}) is not one of "
                                 f"the allowed choices {list(options)}")
            out[:, j] = v
            continue
        for i, value in enumerate(s.tolist()):  # object columns (bools as text, mixed types, ...), a bool e/k/l
            try:
                out[i, j] = float(_column_value(col, value, options))
            except ValueError as exc:
                raise ValueError(f"{exc} (row {s.index[i]!r})") from None
    return out


def thop_macs(workload: "Workload") -> int:
    """A workload's operations counted as ``thop.profile`` 0.1.1 counts them, for comparison with tables made
    with it (Accel-NASBench's ``macs`` column).

    thop counts per conv/linear layer its MACs (bias not counted), per BatchNorm ``4 * N*K*P*Q`` (``2 * numel``,
    doubled for the affine scale and shift), per ``AdaptiveAvgPool2d`` ``(H*W + 1) * N*C``, and nothing for
    activations, residual adds and the SE multiply (functional ops). In the networks of the ``NetworkDef``
    family every conv is followed by a BatchNorm except the SE block's two convs (``*.se.conv_*``, biased, no
    BatchNorm) and every pool is a global average pool, so::

        thop_macs = workload.macs + 4 * sum(N*K*P*Q of the convs outside SE) + sum((H*W + 1) * N*C of the pools)

    Source: thop ``profile.py`` / ``vision/basic_hooks.py`` (``count_convNd``, ``count_normalization``,
    ``count_adap_avgpool``, ``count_linear``; pytorch-OpCounter). Returns an int (operations, not millions).
    """
    total = workload.macs
    for layer in workload.layers:
        if layer.kind == "conv" and ".se." not in layer.name:
            total += 4 * layer.n * layer.k * layer.p * layer.q
        elif layer.kind == "pool":
            total += (layer.h * layer.w + 1) * layer.n * layer.c
    return int(total)
