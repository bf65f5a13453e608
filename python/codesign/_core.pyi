"""Type stubs of the private C++ extension (see cpp/bindings/)."""
import numpy as np
import numpy.typing as npt

SYSTOLIC_INT_FIELDS: tuple[str, ...]
SYSTOLIC_FLOAT_FIELDS: tuple[str, ...]
LAYER_FIELD_COUNT: int
ARCH_FIELD_COUNT: int
STATUS_NAMES: tuple[str, ...]
SYSTOLIC_TOTAL_FIELDS: tuple[str, ...]

def systolic_batch(
    layers: npt.NDArray[np.int64], archs: npt.NDArray[np.float64], threads: int = 0
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int64], npt.NDArray[np.float64]]: ...

def systolic_totals(
    layers: npt.NDArray[np.int64], archs: npt.NDArray[np.float64], threads: int = 0
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int64], npt.NDArray[np.int64]]: ...

EDGETPU_OUT_FIELDS: tuple[str, ...]
EDGETPU_TOTAL_FIELDS: tuple[str, ...]
EDGETPU_ARCH_FIELD_COUNT: int
ENERGY_FIELD_COUNT: int
DIM_NAMES: tuple[str, ...]

def edgetpu_batch(
    layers: npt.NDArray[np.int64],
    archs: npt.NDArray[np.float64],
    energy: npt.NDArray[np.float64],
    metric: int = 0,
    budget: int = 0,
    patience: int = 0,
    seed: int = 0,
    threads: int = 0,
    constraints: npt.NDArray[np.int64] | None = None,
    complete: bool = False,
    memo: bool = True,
    totals_only: bool = False,
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float64] | None, npt.NDArray[np.float64]]: ...
def edgetpu_map_space(
    layer: npt.NDArray[np.int64],
    arch: npt.NDArray[np.float64],
    energy: npt.NDArray[np.float64],
    weights_cached: bool = True,
    input_spilled: bool = False,
    output_spilled: bool = False,
    constraints: npt.NDArray[np.int64] | None = None,
    max_mappings: int = 2000000,
) -> tuple[int, npt.NDArray[np.int32], npt.NDArray[np.float64]]: ...
def edgetpu_map_layer(
    layer: npt.NDArray[np.int64],
    arch: npt.NDArray[np.float64],
    energy: npt.NDArray[np.float64],
    weights_cached: bool = True,
    input_spilled: bool = False,
    output_spilled: bool = False,
    metric: int = 0,
    budget: int = 0,
    patience: int = 0,
    seed: int = 0,
    constraints: npt.NDArray[np.int64] | None = None,
    complete: bool = False,
) -> tuple[int, npt.NDArray[np.float64]]: ...
def edgetpu_smallest_tile(
    layer: npt.NDArray[np.int64], arch: npt.NDArray[np.float64]
) -> tuple[int, float, float, bool]: ...

MAP_CONSTRAINT_FIELD_COUNT: int
