"""Search spaces: MobileNetV2-style networks (:mod:`.nas`), systolic arrays (:mod:`.hw`) and their product
(:mod:`.joint`). Importing this package needs numpy only."""
from __future__ import annotations

from ._base import CategoricalSpace, as_generator
from .hw import HW_FIELDS, HardwareSpace
from .joint import Candidate, JointSpace
from .nas import (
    NUM_STAGES,
    STAGE_CHANNELS,
    STAGE_DEPTHS,
    STAGE_STRIDES,
    NetworkCandidate,
    NetworkSpace,
    round_to_multiple,
)

__all__ = [
    "CategoricalSpace",
    "as_generator",
    "HW_FIELDS",
    "HardwareSpace",
    "Candidate",
    "JointSpace",
    "NUM_STAGES",
    "STAGE_CHANNELS",
    "STAGE_DEPTHS",
    "STAGE_STRIDES",
    "NetworkCandidate",
    "NetworkSpace",
    "round_to_multiple",
]
