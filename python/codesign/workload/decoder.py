"""Generative decoders at the edge: one decoding step with a KV cache, and the prefill of a prompt, as workloads.

A pre-norm decoder block (GPT-2's): LayerNorm, the q/k/v projection, ``Q K^T`` over the cached keys, softmax,
``A V`` over the cached values, the output projection, a residual add, LayerNorm, the MLP (``d_ff`` wide, its
activation fused) and a residual add. In a decoding step one new token (per sequence) attends to ``kv_len``
cached keys and values: every weight is read once for ``batch`` rows of work, which makes the step memory bound on
most edge accelerators, and the KV cache is an activation (the second operand of the two matmuls), never a
parameter. The prefill runs the same block on ``seq_len`` tokens at once, its attention costed dense (a causal
mask skips no work on an array without sparsity support).

MACs per block and token (decoding step, ``d = d_model``, ``L = kv_len``): ``4 d^2 + 2 d d_ff + 2 L d``.
"""
from __future__ import annotations

from ._checks import _as_int
from .layer import ACTIVATIONS, Layer
from .table import Workload

__all__ = ["decoder_step", "decoder_prefill"]


def _block(prefix: str, *, d: int, heads: int, d_ff: int, tokens: int, keys: int, batch: int, act: str) -> list[Layer]:
    rows = batch * tokens
    dh = d // heads
    return [
        Layer.elementwise("norm", f"{prefix}.ln_1", c=d, h=tokens, n=batch),
        Layer.fc(f"{prefix}.attn.qkv", in_features=d, out_features=3 * d, n=rows),
        Layer.matmul(f"{prefix}.attn.qk", m=tokens, n=keys, k=dh, batch=batch * heads),
        Layer.elementwise("softmax", f"{prefix}.attn.softmax", c=keys, h=heads * tokens, n=batch),
        Layer.matmul(f"{prefix}.attn.av", m=tokens, n=dh, k=keys, batch=batch * heads),
        Layer.fc(f"{prefix}.attn.proj", in_features=d, out_features=d, n=rows),
        Layer.elementwise("add", f"{prefix}.add_1", c=d, h=tokens, n=batch),
        Layer.elementwise("norm", f"{prefix}.ln_2", c=d, h=tokens, n=batch),
        Layer.fc(f"{prefix}.mlp.fc", in_features=d, out_features=d_ff, n=rows, act=act),
        Layer.fc(f"{prefix}.mlp.proj", in_features=d_ff, out_features=d, n=rows),
        Layer.elementwise("add", f"{prefix}.add_2", c=d, h=tokens, n=batch),
    ]


def _decoder(kind: str, *, d_model: int, heads: int, d_ff: int | None, layers: int, tokens: int, keys: int,
             batch: int, vocab: int, act: str, name: str | None) -> Workload:
    owner = f"decoder_{kind}"
    d = _as_int(owner, "d_model", d_model, 1)
    heads = _as_int(owner, "heads", heads, 1)
    if d % heads:
        raise ValueError(f"{owner}: d_model = {d} must be divisible by heads = {heads}")
    d_ff = 4 * d if d_ff is None else _as_int(owner, "d_ff", d_ff, 1)
    layers = _as_int(owner, "layers", layers, 1)
    batch = _as_int(owner, "batch", batch, 1)
    vocab = _as_int(owner, "vocab", vocab, 0)
    if act not in ACTIVATIONS:
        raise ValueError(f"{owner}: act must be one of {ACTIVATIONS}, got {act!r}")
    out: list[Layer] = []
    for i in range(layers):
        out += _block(f"h.{i}", d=d, heads=heads, d_ff=d_ff, tokens=tokens, keys=keys, batch=batch, act=act)
    out.append(Layer.elementwise("norm", "ln_f", c=d, h=tokens, n=batch))
    if vocab:
        out.append(Layer.fc("lm_head", in_features=d, out_features=vocab, n=batch * tokens))
    label = f"decoder_{kind}_d{d}_L{keys}" if name is None else name
    return Workload(label, out, source=f"codesign.workload.decoder_{kind}", input_shape=(batch, tokens, d))


def decoder_step(*, d_model: int, heads: int, kv_len: int, d_ff: int | None = None, layers: int = 1,
                 batch: int = 1, vocab: int = 0, act: str = "gelu", name: str | None = None) -> Workload:
    """One decoding step: ``batch`` new tokens (one per sequence) through ``layers`` pre-norm decoder blocks, each
    token attending to a KV cache of ``kv_len`` keys and values (the cache includes the new token's).

    Args:
        d_model: model width ``d``; heads: attention heads (``d_model`` divisible by it).
        kv_len: cached keys per sequence ``L`` (>= 1).
        d_ff: MLP width (default ``4 * d_model``); layers: decoder blocks; batch: sequences decoded together.
        vocab: the output projection's width (0: no LM head); act: the MLP's activation (:data:`ACTIVATIONS`).
        name: the workload name (default ``decoder_step_d{d}_L{kv_len}``).

    Returns:
        A :class:`Workload` with ``input_shape = (batch, 1, d_model)``; its ``params`` are the projection weights
        (``layers * (4 d^2 + 2 d d_ff) + d * vocab``), the KV cache is the second operand of the ``"matmul"``
        layers (:attr:`Layer.operand_words`: ``batch * d * kv_len`` each).

    Raises:
        ValueError: a size < 1 (``vocab`` < 0), ``d_model`` not divisible by ``heads``, an unknown ``act``.
    """
    kv_len = _as_int("decoder_step", "kv_len", kv_len, 1)
    return _decoder("step", d_model=d_model, heads=heads, d_ff=d_ff, layers=layers, tokens=1, keys=kv_len,
                    batch=batch, vocab=vocab, act=act, name=name)


def decoder_prefill(*, d_model: int, heads: int, seq_len: int, d_ff: int | None = None, layers: int = 1,
                    batch: int = 1, vocab: int = 0, act: str = "gelu", name: str | None = None) -> Workload:
    """The prefill of a ``seq_len``-token prompt: the blocks of :func:`decoder_step` on all tokens at once, each
    attending to every prompt token (dense; the causal mask saves no work on the array). Arguments and errors as
    :func:`decoder_step`; ``input_shape = (batch, seq_len, d_model)``."""
    seq_len = _as_int("decoder_prefill", "seq_len", seq_len, 1)
    return _decoder("prefill", d_model=d_model, heads=heads, d_ff=d_ff, layers=layers, tokens=seq_len, keys=seq_len,
                    batch=batch, vocab=vocab, act=act, name=name)
