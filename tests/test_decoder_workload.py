"""codesign.workload.decoder_step / decoder_prefill: hand counts, the KV cache as an activation, and what the
Edge-TPU template makes of a decoding step (memory bound, parameters streamed)."""
from __future__ import annotations

import pytest

import codesign
from codesign.workload import decoder_prefill, decoder_step

D, H, FF, LAYERS = 768, 12, 3072, 12  # GPT-2 small


def test_decoder_step_hand_count():
    L = 256
    wl = decoder_step(d_model=D, heads=H, kv_len=L, layers=LAYERS, vocab=50257)
    per_block = 4 * D * D + 2 * D * FF + 2 * L * D  # projections, MLP, Q K^T and A V over L cached keys
    assert wl.macs == LAYERS * per_block + D * 50257
    assert wl.params == wl.weights == LAYERS * (4 * D * D + 2 * D * FF) + D * 50257  # the KV cache is not a parameter
    mms = [lay for lay in wl if lay.kind == "matmul"]
    assert len(mms) == 2 * LAYERS and all(lay.operand_words == D * L for lay in mms)  # the cache, read per step
    qk = mms[0]
    assert (qk.groups, qk.gemm_m, qk.gemm_k, qk.gemm_n) == (H, 1, D // H, L)
    assert wl.input_shape == (1, 1, D) and wl["h.0.mlp.fc"].act == "gelu"


def test_decoder_prefill_hand_count_and_torch_agree():
    torch = pytest.importorskip("torch")
    L = 32
    wl = decoder_prefill(d_model=64, heads=4, seq_len=L, layers=1)
    assert wl.macs == L * (4 * 64 * 64 + 2 * 64 * 256) + 2 * L * L * 64
    # the same block written in torch (nn.TransformerEncoderLayer, pre-norm, GELU) gives the same MACs
    blk = torch.nn.TransformerEncoderLayer(64, 4, 256, activation="gelu", batch_first=True, norm_first=True)
    ref = codesign.from_torch(blk, (1, L, 64))
    assert ref.macs == wl.macs
    def kinds(w):  # torch's MHA projects q, k and v apart: compare the other layers
        return sorted(lay.kind for lay in w if lay.kind != "fc" and lay.name != "ln_f")

    assert kinds(ref) == kinds(wl)


def test_decoder_step_is_memory_bound_and_streams_parameters_on_edgetpu():
    hw = codesign.preset("edgetpu-baseline")
    step = codesign.evaluate(decoder_step(d_model=D, heads=H, kv_len=512, layers=LAYERS), hw)
    prefill = codesign.evaluate(decoder_prefill(d_model=D, heads=H, seq_len=512, layers=LAYERS), hw)
    t = step.totals
    # 85 MB of int8 weights do not fit 8 MiB on chip: most are streamed on every step
    assert t["params_bytes"] == LAYERS * (4 * D * D + 2 * D * FF)
    assert t["streamed_params_bytes"] > 0.5 * t["params_bytes"]
    assert step.totals["utilization"] < 0.05 < prefill.totals["utilization"]
    # per token, prefill is far cheaper than decoding one token at a time
    assert prefill.totals["latency_ms"] / 512 < step.totals["latency_ms"] / 10


def test_decoder_errors():
    with pytest.raises(ValueError, match="d_model = 100 must be divisible by heads = 12"):
        decoder_step(d_model=100, heads=12, kv_len=8)
    with pytest.raises(ValueError, match=r"decoder_step\.kv_len must be a positive int, got 0"):
        decoder_step(d_model=64, heads=4, kv_len=0)
    with pytest.raises(ValueError, match="act must be one of"):
        decoder_prefill(d_model=64, heads=4, seq_len=8, act="mish")


def test_decoder_step_from_torch_with_the_kv_cache_as_inputs():
    torch = pytest.importorskip("torch")
    nn = torch.nn
    d, heads, L = 64, 4, 48

    class Step(nn.Module):  # one token; the cached keys and values are inputs (activations), not buffers
        def __init__(self):
            super().__init__()
            self.ln_1, self.ln_2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
            self.fc, self.out = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

        def forward(self, x, k_cache, v_cache):
            b = x.shape[0]
            q, k, v = self.qkv(self.ln_1(x)).split(d, dim=-1)
            q, k, v = (z.view(b, 1, heads, d // heads).transpose(1, 2) for z in (q, k, v))
            k = torch.cat([k_cache, k], dim=2)
            v = torch.cat([v_cache, v], dim=2)
            y = torch.softmax(q @ k.transpose(-2, -1), dim=-1) @ v
            x = x + self.proj(y.transpose(1, 2).reshape(b, 1, d))
            return x + self.out(torch.nn.functional.gelu(self.fc(self.ln_2(x))))

    cache = (1, heads, L - 1, d // heads)  # L - 1 cached, the new token's k/v appended: L keys
    wl = codesign.from_torch(Step(), [(1, 1, d), cache, cache])
    ref = decoder_step(d_model=64, heads=4, kv_len=L)
    assert wl.macs == ref.macs  # 4 d^2 + 2 d d_ff + 2 L d
    assert wl.input_shape == (1, 1, d)
    assert sorted(lay.operand_words for lay in wl if lay.kind == "matmul") == [d * L, d * L]
    with pytest.raises(ValueError, match="several inputs"):
        codesign.from_torch(Step(), [(1, 1, d), cache, cache], ops="mac")
