"""Search spaces: network spaces (:mod:`.nas`: ``mobilenetv2``, ``edgetpu``, ``edgetpu-gc``, ``fbnet``;
:mod:`.accel_nasbench`: ``accel-nasbench``), hardware spaces (:mod:`.hw`: systolic arrays and the Edge-TPU-like
template), their product and restrictions (:mod:`.joint`), named spaces and space files (:mod:`.registry`), and the
block-string -> model / workload machinery (:mod:`.blocks`).
Importing this package needs numpy only."""
from __future__ import annotations

from ._base import CategoricalSpace, as_generator
from .accel_nasbench import AccelNasBenchCandidate, AccelNasBenchSpace
from .blocks import BlockSpec, NetworkDef, parse_block
from .hw import EDGETPU_HW_CHOICES, EDGETPU_HW_FIELDS, HW_FIELDS, EdgeTpuHardwareSpace, HardwareSpace
from .joint import Candidate, JointSpace, SubSpace, hw_key
from .nas import (
    EDGETPU_BLOCKS,
    EDGETPU_STAGES,
    GC_GROUP_CHANNELS,
    FBNET_LAYERS,
    FBNET_OPS,
    NUM_STAGES,
    STAGE_CHANNELS,
    STAGE_DEPTHS,
    STAGE_STRIDES,
    EdgeTpuNetCandidate,
    EdgeTpuNetworkSpace,
    FBNetCandidate,
    FBNetSpace,
    NetworkCandidate,
    NetworkSpace,
    NetworkSpaceBase,
    round_to_multiple,
)
from .nb201 import NB201_EDGES, NB201_OPS, NB201Candidate, NB201Space
from .registry import HARDWARE_SPACES, NETWORK_SPACES, hardware_space, load_space_file, network_space, space_from_dict

__all__ = [
    "NB201_OPS",
    "NB201_EDGES",
    "NB201Candidate",
    "NB201Space",
    "CategoricalSpace",
    "as_generator",
    "BlockSpec",
    "NetworkDef",
    "parse_block",
    "HW_FIELDS",
    "EDGETPU_HW_FIELDS",
    "EDGETPU_HW_CHOICES",
    "HardwareSpace",
    "EdgeTpuHardwareSpace",
    "Candidate",
    "JointSpace",
    "SubSpace",
    "hw_key",
    "NUM_STAGES",
    "STAGE_CHANNELS",
    "STAGE_DEPTHS",
    "STAGE_STRIDES",
    "EDGETPU_STAGES",
    "EDGETPU_BLOCKS",
    "GC_GROUP_CHANNELS",
    "FBNET_LAYERS",
    "FBNET_OPS",
    "NetworkCandidate",
    "NetworkSpace",
    "NetworkSpaceBase",
    "EdgeTpuNetCandidate",
    "EdgeTpuNetworkSpace",
    "FBNetCandidate",
    "FBNetSpace",
    "AccelNasBenchCandidate",
    "AccelNasBenchSpace",
    "round_to_multiple",
    "NETWORK_SPACES",
    "HARDWARE_SPACES",
    "network_space",
    "hardware_space",
    "load_space_file",
    "space_from_dict",
]
