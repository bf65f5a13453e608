"""timm models by name -> :class:`~codesign.workload.Workload`: :func:`from_timm`."""
from __future__ import annotations

import difflib

from ._checks import _as_int, _describe, _pair
from .table import Workload
from .torch_import import from_torch
from .torch_layers import _OPS_CHOICES

__all__ = ["from_timm"]


def from_timm(name: str, *, resolution: int | tuple[int, int] | None = None, batch: int = 1,
              ops: str = "all") -> Workload:
    """Build a timm model by name with random weights (nothing is downloaded) and import it.

    Calls ``timm.create_model(name, pretrained=False)`` then :func:`from_torch` with input shape
    ``(batch, in_chans, H, W)``; ``in_chans`` and, unless ``resolution`` is given, ``H, W`` come from the
    model's pretrained config (``pretrained_cfg["input_size"]``, e.g. 256 x 256 for ``mobilevit_s``; 3 x 224 x
    224 when absent). The shape used is :attr:`Workload.input_shape`. Models with a
    fixed input size (e.g. ViTs) need their default resolution.

    Args:
        name: a timm model name, e.g. ``"resnet50"`` or ``"mobilenetv2_100"``.
        resolution: input side in pixels, or an ``(H, W)`` pair; None (default): the model's own.
        batch: batch size N.
        ops: ``"all"`` (default: also pooling, adds, SE multiplies, fused activations) or
            ``"mac"`` (Conv2d and Linear only), as :func:`from_torch`.

    Returns:
        A :class:`Workload` named ``name`` with ``source = "timm:<name>"`` and :attr:`Workload.input_shape`
        ``(batch, in_chans, H, W)``.

    Raises:
        ValueError: unknown model name (the message lists close matches), bad resolution or batch.
        ImportError: timm or torch is not installed.
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"from_timm name must be a non-empty str, got {_describe(name)}")
    if resolution is not None:
        rh, rw = _pair("from_timm", "resolution", resolution, 1)
    batch = _as_int("from_timm", "batch", batch, 1)
    if not isinstance(ops, str) or ops not in _OPS_CHOICES:
        raise ValueError(f"from_timm ops must be one of {_OPS_CHOICES}, got {_describe(ops)}")
    try:
        import timm
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("from_timm needs timm: pip install 'codesign[torch]'") from exc
    if not timm.is_model(name):
        close = difflib.get_close_matches(name, timm.list_models(), n=5, cutoff=0.6)
        hint = f"close matches: {', '.join(close)}" if close else "no close matches"
        raise ValueError(f"from_timm: unknown timm model name {name!r}; {hint}")
    model = timm.create_model(name, pretrained=False)
    cfg = getattr(model, "pretrained_cfg", None) or getattr(model, "default_cfg", None) or {}
    input_size = cfg.get("input_size") if isinstance(cfg, dict) else None
    in_chans = int(input_size[0]) if input_size else 3
    if resolution is None:
        rh, rw = (int(input_size[1]), int(input_size[2])) if input_size and len(input_size) == 3 else (224, 224)
    wl = from_torch(model, (batch, in_chans, rh, rw), name=name, ops=ops)
    return Workload(name, wl.layers, params=wl.params, source=f"timm:{name}", input_shape=wl.input_shape)
