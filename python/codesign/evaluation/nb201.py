"""NAS-Bench-201 accuracies: a table lookup, the real trained accuracy of every cell.

The table (``codesign/data/nb201_accuracy.csv.gz``, 15,625 rows) holds each cell's test accuracy (percent) after
12 and after 200 training epochs on CIFAR-10, CIFAR-100 and ImageNet16-120, as NATS-Bench's topology space
records them (Dong et al., "NATS-Bench", TPAMI 2021; exported by the repository v-tao/nats-bench-landscape; API
MIT). Columns: ``index`` (the benchmark API's index), ``arch_str``, ``c10_test_12ep``, ``c100_test_12ep``,
``in16_test_12ep``, ``c10_test_200ep``, ``c100_test_200ep``, ``in16_test_200ep``. The 200-epoch figures are the
benchmark's headline ones (averaged over its seeds where it trained several).

``--accuracy nb201:cifar10`` (``cifar100``, ``imagenet16``; ``@12`` for the 12-epoch figure) selects one column:
:func:`parse_nb201_spec`.
"""
from __future__ import annotations

import csv
import gzip
import math
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

__all__ = ["NB201Accuracy", "parse_nb201_spec", "nb201_table", "NB201_COLUMNS"]

#: (dataset, epochs) -> column of the table.
NB201_COLUMNS: dict[tuple[str, int], str] = {
    (d, e): f"{p}_test_{e}ep"
    for d, p in (("cifar10", "c10"), ("cifar100", "c100"), ("imagenet16", "in16")) for e in (12, 200)
}


@lru_cache(maxsize=1)
def nb201_table() -> dict[str, Any]:
    """The packaged table: ``{"arch_str": list[str], "index": int array, column: float array (percent)}``.
    Read once per process (about 0.1 s)."""
    path = resources.files("codesign") / "data" / "nb201_accuracy.csv.gz"
    with resources.as_file(path) as p, gzip.open(p, "rt", encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        rows = list(reader)
    columns = dict(zip(header, zip(*rows))) if rows else {h: () for h in header}  # as csv.DictReader keys them
    out: dict[str, Any] = {"arch_str": list(columns["arch_str"]),
                           "index": np.fromiter(map(int, columns["index"]), dtype=np.int64, count=len(rows))}
    for col in NB201_COLUMNS.values():
        out[col] = np.fromiter(map(float, columns[col]), dtype=np.float64, count=len(rows))
    if len(set(out["arch_str"])) != len(rows) or len(rows) != 15625:  # pragma: no cover - damaged install
        raise ValueError(f"{path}: expected 15,625 distinct cells, got {len(rows)} rows")
    return out


@lru_cache(maxsize=1)
def _row_of() -> dict[str, int]:
    return {a: i for i, a in enumerate(nb201_table()["arch_str"])}


def parse_nb201_spec(spec: str) -> tuple[str, int]:
    """``"nb201:cifar10"`` / ``"nb201:cifar100@12"`` / ``"nb201"`` -> (dataset, epochs). Default: cifar10, 200.

    Raises ValueError naming the part that is wrong."""
    if not isinstance(spec, str) or not spec.lower().startswith("nb201"):
        raise ValueError(f"an NB201 accuracy is written nb201:DATASET[@EPOCHS], got {spec!r}")
    rest = spec[len("nb201"):]
    dataset, epochs = "cifar10", 200
    if rest:
        if not rest.startswith(":"):
            raise ValueError(f"an NB201 accuracy is written nb201:DATASET[@EPOCHS], got {spec!r}")
        body = rest[1:]
        name, sep, ep = body.partition("@")
        dataset = name.strip().lower() or dataset
        if sep:
            try:
                epochs = int(ep)
            except ValueError:
                raise ValueError(f"accuracy {spec!r}: epochs must be 12 or 200, got {ep!r}") from None
    if not any(d == dataset for d, _ in NB201_COLUMNS):
        raise ValueError(f"accuracy {spec!r}: dataset must be cifar10, cifar100 or imagenet16, got {dataset!r}")
    if (dataset, epochs) not in NB201_COLUMNS:
        raise ValueError(f"accuracy {spec!r}: epochs must be 12 or 200, got {epochs}")
    return dataset, epochs


class NB201Accuracy:
    """The trained test accuracy of NAS-Bench-201 cells, looked up (no training).

    Args:
        dataset: ``"cifar10"``, ``"cifar100"`` or ``"imagenet16"`` (ImageNet16-120).
        epochs: 200 (default, converged) or 12 (the benchmark's short schedule).

    :meth:`evaluate` takes an :class:`~codesign.space.nb201.NB201Candidate` (or an arch string) and returns
    ``{"accuracy": fraction in [0, 1]}``, the search's evaluator interface; :meth:`lookup` gives percent.
    """

    def __init__(self, dataset: str = "cifar10", epochs: int = 200) -> None:
        if (dataset, epochs) not in NB201_COLUMNS:
            raise ValueError(f"NB201Accuracy: dataset must be cifar10, cifar100 or imagenet16 and epochs 12 or 200, "
                             f"got dataset={dataset!r}, epochs={epochs!r}")
        self.dataset = dataset
        self.epochs = int(epochs)
        self.column = NB201_COLUMNS[(dataset, self.epochs)]

    @classmethod
    def from_spec(cls, spec: str) -> "NB201Accuracy":
        """From ``"nb201:cifar10@12"`` and the like (:func:`parse_nb201_spec`)."""
        return cls(*parse_nb201_spec(spec))

    def __repr__(self) -> str:
        return f"NB201Accuracy(dataset={self.dataset!r}, epochs={self.epochs})"

    def lookup(self, arch: Any) -> float:
        """Test accuracy in percent of one cell (candidate or arch string). ValueError for a string that is
        not a cell of the table."""
        text = arch if isinstance(arch, str) else getattr(arch, "arch_str", None)
        if text is None:
            raise ValueError(f"NB201Accuracy needs an NB201Candidate or an arch string, got {arch!r}")
        row = _row_of().get(text.strip())
        if row is None:
            raise ValueError(f"{text!r} is not an NB201 cell of the table")
        value = float(nb201_table()[self.column][row])
        if not math.isfinite(value):  # pragma: no cover - the table has no gaps
            raise ValueError(f"no {self.column} for {text!r}")
        return value

    def evaluate(self, arch: Any) -> dict[str, Any]:
        return {"accuracy": self.lookup(arch) / 100.0}

    def lookup_all(self, archs: Any) -> np.ndarray:
        """Percent accuracies of many cells (numpy array, same order)."""
        return np.array([self.lookup(a) for a in archs], dtype=np.float64)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "nb201", "dataset": self.dataset, "epochs": self.epochs, "column": self.column,
                "signal": f"NAS-Bench-201 {self.dataset} test accuracy after {self.epochs} epochs (table lookup)"}
