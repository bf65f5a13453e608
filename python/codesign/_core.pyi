"""Type stubs of the private C++ extension (see cpp/bindings/)."""
import numpy as np
import numpy.typing as npt

SYSTOLIC_INT_FIELDS: tuple[str, ...]
SYSTOLIC_FLOAT_FIELDS: tuple[str, ...]
LAYER_FIELD_COUNT: int
ARCH_FIELD_COUNT: int
STATUS_NAMES: tuple[str, ...]

def systolic_batch(
    layers: npt.NDArray[np.int64], archs: npt.NDArray[np.float64], threads: int = 0
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int64], npt.NDArray[np.float64]]: ...
