"""Workloads: the layers of a network, in the terms an accelerator model needs.

A :class:`Layer` is one convolution, fully connected layer, matrix multiply or activation-by-activation matmul
(the MAC kinds), or one pooling, elementwise op, softmax, norm, stand-alone activation, concatenation, resize,
un-fused batch norm or detection NMS (the vector kinds),
described with the standard loop bounds of the field:

=====  ==========================================  =====  =======================================
field  meaning                                     field  meaning
=====  ==========================================  =====  =======================================
N      batch                                       R, S   filter rows, filter cols
K      output channels (filters)                   H, W   input (ifmap) rows, cols, unpadded
C      input channels                              P, Q   output (ofmap) rows, cols
=====  ==========================================  =====  =======================================

plus stride, padding and dilation per spatial dimension, the group count (``groups == C == K`` is a
depthwise convolution) and the activation function applied to the layer's output (:data:`ACTIVATIONS`).
A :class:`Workload` is an ordered, immutable sequence of uniquely named layers; :meth:`Workload.to_array`
gives the int64 table (one row per layer, columns :data:`LAYER_FIELDS`: the 16 loop bounds, then the
operation code :data:`OP_CODES` and the activation code) that the C++ cost model reads.

Modules, one per concept and per source: ``layer`` (:class:`Layer`, the code tables), ``layer_kinds`` (what each
kind requires of the fields, NMS work), ``table`` (:class:`Workload`), ``scalesim_csv`` (:func:`from_scalesim_csv`:
SCALE-Sim v3 topology files, SCALE-Sim's own conventions), ``torch_import`` (:func:`from_torch`; the capture
through torch.fx in ``fx_capture``/``fx_graph``, from one recorded forward pass in ``run_capture``, from forward
hooks in ``hook_capture``; the shape rules in ``torch_layers`` and ``tensor_ops``), ``timm_import``
(:func:`from_timm`: a timm model by name, random weights, its own input size), ``onnx_import`` (:func:`from_onnx`;
shape folding in ``onnx_fold``), ``zigzag_yaml`` (:func:`from_zigzag_yaml`: ZigZag's workload YAML) and ``decoder``
(:func:`decoder_step`, :func:`decoder_prefill`: generative decoder blocks).

Only the standard library and numpy are imported here; torch, timm, onnx and PyYAML are imported inside the
functions that need them.
"""
from __future__ import annotations

# One module per concept and per source; every public name is re-exported here, as before the split.
from ._checks import MAX_DIM
from .fx_capture import _capture_fx
from .fx_graph import _capture_fx_all
from .hook_capture import _capture_hooks, _capture_hooks_all
from .decoder import decoder_prefill, decoder_step
from .layer import ACTIVATIONS, ELEMENTWISE_OPS, LAYER_FIELDS, LAYER_KINDS, MAC_KINDS, OP_CODES, RESIZE_TAPS, Layer
from .onnx_import import MAX_ONNX_BYTES, from_onnx
from .scalesim_csv import from_scalesim_csv
from .table import Workload, _rebuild_workload, _unique_names
from .timm_import import from_timm
from .torch_import import from_torch
from .zigzag_yaml import from_zigzag_yaml

__all__ = [
    "ACTIVATIONS",
    "ELEMENTWISE_OPS",
    "LAYER_FIELDS",
    "LAYER_KINDS",
    "MAC_KINDS",
    "OP_CODES",
    "RESIZE_TAPS",
    "MAX_DIM",
    "Layer",
    "Workload",
    "from_scalesim_csv",
    "from_torch",
    "from_timm",
    "from_onnx",
    "decoder_step",
    "decoder_prefill",
    "from_zigzag_yaml",
    "MAX_ONNX_BYTES",
]
