"""SCALE-Sim v3 topology CSV files (conv and GEMM formats) -> :class:`~codesign.workload.Workload`."""
from __future__ import annotations

import csv
import dataclasses
import io
import os
import re
from collections.abc import Iterator
from typing import Any

from ._checks import MAX_DIM, read_text_bounded
from .layer import Layer
from .table import Workload, _unique_names

__all__ = ["from_scalesim_csv"]

_CONV_COLUMNS = ("Layer name", "IFMAP Height", "IFMAP Width", "Filter Height", "Filter Width",
                 "Channels", "Num Filter", "Strides")
_GEMM_COLUMNS = ("Layer", "M", "N", "K")
_INT_RE = re.compile(r"^\+?[0-9]+$")


#: Size and line limits of :func:`from_scalesim_csv` (far beyond any real topology: ResNet-50 is 54 lines).
MAX_CSV_BYTES: int = 16 << 20
MAX_CSV_LINES: int = 100_000


def from_scalesim_csv(path: str | os.PathLike[str], *, name: str | None = None) -> Workload:
    """Read a SCALE-Sim v3 topology CSV, keeping SCALE-Sim's conventions exactly.

    Two formats are recognised from the header row (the first non-blank line):

    * conv: ``Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels,
      Num Filter, Strides,`` (SCALE-Sim ignores the header's wording; here any header of at least
      8 non-empty cells whose 2nd..4th cells are not ``M, N, K`` is read as conv);
    * GEMM: ``Layer, M, N, K,`` (compared case-insensitively).

    A first row whose cells after the name are all integers is a layer row, not a header, and is an
    error (SCALE-Sim would silently skip that layer).

    Rows: cells are stripped of whitespace; blank rows and rows whose cells are all empty are
    skipped; columns after the 8th (conv) or 4th (GEMM) are ignored (e.g. SCALE-Sim's sparsity
    column, or the notes columns of its bundled ``Resnet50.csv``). Unlike SCALE-Sim, which drops the
    cell after the last comma, a row without a trailing comma keeps its last column.

    Conv rows follow SCALE-Sim: batch 1, no padding, one stride for both dimensions, and output
    size ``P = ceil((H - R + stride)/stride)``, ``Q = ceil((W - S + stride)/stride)`` (this can be
    one more than PyTorch's floor rule, e.g. H=14, R=3, stride 2 gives P=7). A depthwise layer
    written as ``Num Filter = 1`` with ``C`` channels (as in SCALE-Sim's ``mobilenet.csv``) stays a
    plain conv with ``groups = 1``, K = 1, as SCALE-Sim maps it. A layer whose name contains
    ``"DP"``, which SCALE-Sim splits into ``C`` single-channel layers of ``Num Filter`` filters
    each, becomes one grouped conv with ``groups = C``, ``c = C``, ``k = C * Num Filter`` (same
    MACs and weights as the split layers together).

    GEMM rows ``M, N, K`` become :meth:`Layer.gemm` ``(m=M, n=N, k=K)``; SCALE-Sim maps them to the
    conv ``H=M, W=K, R=1, S=K, C=1`` with the same MACs ``M*N*K`` and im2col shapes.

    Repeated layer names get ``#2``, ``#3``, ... appended (see :class:`Workload`).

    Args:
        path: the CSV file.
        name: the workload name; defaults to the file name without extension.

    Returns:
        A :class:`Workload` with ``source`` set to the path.

    Raises:
        ValueError: not a regular file (``/dev/zero``, a directory), over :data:`MAX_CSV_BYTES` bytes or
            :data:`MAX_CSV_LINES` lines, an unreadable header, a row with too few cells, an empty layer name, a cell
            that is not an integer >= 1, a filter larger than the ifmap, or no layers; bytes that
            are not UTF-8 or a malformed CSV record (e.g. a cell over the csv module's field size
            limit). The message names the file, the 1-based line number, the column and the value
            found.
        OSError: the file cannot be opened.
    """
    path_str = os.fspath(path)
    if name is None:
        name = os.path.splitext(os.path.basename(path_str))[0] or path_str
    layers: list[Layer] = []
    columns: tuple[str, ...] | None = None
    text = read_text_bounded(path_str, max_bytes=MAX_CSV_BYTES, what="SCALE-Sim topology CSV")
    if text.count("\n") > MAX_CSV_LINES:
        raise ValueError(f"{path_str}: more than the SCALE-Sim topology CSV limit of {MAX_CSV_LINES:,} lines")
    with io.StringIO(text, newline="") as f:
        reader = csv.reader(f)
        for row in _csv_rows(reader, path_str):
            lineno = reader.line_num
            cells = [cell.strip() for cell in row]
            if not any(cells):
                continue
            while not cells[-1]:  # the trailing comma SCALE-Sim rows end with, and empty extra columns
                cells.pop()
            where = f"{path_str}: line {lineno}"
            if columns is None:
                lowered = [cell.lower() for cell in cells]
                if len(cells) > 1 and all(_INT_RE.match(cell) for cell in cells[1:] if cell):
                    raise ValueError(f"{where}: expected the header row, got the layer row "
                                     f"{','.join(row)!r} (SCALE-Sim skips the first line)")
                if lowered[1:4] == ["m", "n", "k"]:
                    columns = _GEMM_COLUMNS
                elif len([cell for cell in cells if cell]) >= len(_CONV_COLUMNS):
                    columns = _CONV_COLUMNS
                else:
                    raise ValueError(
                        f"{where}: header must be the SCALE-Sim conv header "
                        f"({', '.join(_CONV_COLUMNS)}) or the GEMM header ({', '.join(_GEMM_COLUMNS)}),"
                        f" got {','.join(row)!r}")
                continue
            layers.append(_scalesim_row(cells, columns, where))
    if columns is None or not layers:
        raise ValueError(f"{path_str}: no layers found (a header row and at least one layer row are needed)")
    names = _unique_names(layer.name for layer in layers)
    layers = [layer if layer.name == nm else dataclasses.replace(layer, name=nm)
              for layer, nm in zip(layers, names)]
    return Workload(name, layers, source=path_str)


def _csv_rows(reader: Any, path: str) -> Iterator[list[str]]:
    """The rows of a csv.reader, with a malformed CSV (csv.Error, e.g. a cell over the field size limit) raised as a
    ValueError naming the file and the line."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ValueError(f"{path}: line {reader.line_num}: malformed CSV: {exc}") from None
        yield row


def _scalesim_row(cells: list[str], columns: tuple[str, ...], where: str) -> Layer:
    if len(cells) < len(columns):
        missing = columns[len(cells)]
        raise ValueError(f"{where}: column {missing!r} is missing (the row has {len(cells)} cells, "
                         f"{len(columns)} are needed), got row {','.join(cells)!r}")
    layer_name = cells[0]
    if not layer_name:
        raise ValueError(f"{where}: column {columns[0]!r} must be a non-empty layer name, got ''")
    values = []
    for col, cell in zip(columns[1:], cells[1:len(columns)]):
        if not _INT_RE.match(cell):
            raise ValueError(f"{where}: column {col!r} must be a positive integer, got {cell!r}")
        value = int(cell)
        if value < 1 or value > MAX_DIM:
            raise ValueError(f"{where}: column {col!r} must be a positive integer <= {MAX_DIM}, "
                             f"got {cell!r}")
        values.append(value)
    if columns is _GEMM_COLUMNS:
        m, n, k = values
        return Layer.gemm(layer_name, m=m, n=n, k=k)
    h, w, r, s, c, nf, stride = values
    if r > h:
        raise ValueError(f"{where}: column 'Filter Height' must be <= IFMAP Height = {h}, got {cells[3]!r}")
    if s > w:
        raise ValueError(f"{where}: column 'Filter Width' must be <= IFMAP Width = {w}, got {cells[4]!r}")
    p = -(-(h - r + stride) // stride)  # ceil((H - R + s)/s), SCALE-Sim's rule
    q = -(-(w - s + stride) // stride)
    groups, k = 1, nf
    if "DP" in layer_name:
        groups, k = c, c * nf
        if k > MAX_DIM:
            raise ValueError(f"{where}: column 'Num Filter' times 'Channels' = {k} exceeds {MAX_DIM}, "
                             f"got {cells[6]!r}")
    return Layer(layer_name, "conv", n=1, k=k, c=c, p=p, q=q, r=r, s=s, h=h, w=w,
                 stride_h=stride, stride_w=stride, groups=groups)
