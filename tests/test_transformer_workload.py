"""Workloads beyond CNNs: activation-by-activation matmuls, attention, transformer layers, vector layers, layouts,
the importer's warnings, and both cost models on them.

MAC counts are checked against hand counts (closed forms written out below) and against published figures.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import codesign
from codesign import Layer, SystolicArray, Workload, evaluate
from codesign.workload import from_timm, from_torch

torch = pytest.importorskip("torch")
nn, F = torch.nn, torch.nn.functional


def _kinds(wl: Workload) -> dict[str, int]:
    out: dict[str, int] = {}
    for lay in wl:
        out[lay.kind] = out.get(lay.kind, 0) + lay.macs
    return out


# ============================================================================ the matmul layer and the cost models

def test_matmul_layer_closed_form():
    # 6 heads of (197 x 64) @ (64 x 197): batch 6, M = 197, K = 64, N = 197
    mm = Layer.matmul("qk", m=197, n=197, k=64, batch=6)
    assert mm.macs == 6 * 197 * 197 * 64
    assert mm.weights == 0 and mm.operand_words == 6 * 64 * 197  # the second operand is an activation
    assert (mm.gemm_m, mm.gemm_n, mm.gemm_k, mm.groups) == (197, 197, 64, 6)
    assert mm.op_code == 4 and mm.is_mac
    wl = Workload("w", [Layer.fc("f", in_features=64, out_features=64, n=197), mm])
    assert wl.weights == wl.params == 64 * 64  # a matmul holds no parameters
    with pytest.raises(ValueError, match="Layer.matmul.batch must be a positive int, got 0"):
        Layer.matmul("x", m=1, n=1, k=1, batch=0)
    with pytest.raises(ValueError, match="Layer.n must be 1 for kind 'matmul', got 2"):
        Layer("x", "matmul", n=2, k=4, c=4, p=3, q=1, r=1, s=1, h=3, w=1, groups=2)


def test_vector_kinds_ops():
    # ops per element: add/mul/act 1, softmax 5, norm 5 (ELEMENTWISE_OPS; the C++ core uses the same)
    for kind, per in (("add", 1), ("softmax", 5), ("norm", 5), ("act", 1)):
        lay = Layer.elementwise(kind, kind, c=192, h=197, n=2)
        assert lay.ops == per * 2 * 192 * 197 and lay.macs == 0 and lay.weights == 0
    with pytest.raises(ValueError, match="Layer.elementwise kind must be one of"):
        Layer.elementwise("conv", "x", c=1)


def test_systolic_matmul_is_scalesims_gemm_view_per_group():
    # SCALE-Sim's GEMM view of one head, run once per head: the same cost as a grouped 1x1 conv with one group per
    # head (each group its own second operand) and, per head, as a plain GEMM of that head's shape
    mm = Layer.matmul("qk", m=197, n=197, k=64, batch=3)
    grouped = Layer.conv("g", c=3 * 64, k=3 * 197, h=197, w=1, r=1, s=1, groups=3)
    one = Layer.gemm("one", m=197, n=197, k=64)
    for df in ("os", "ws", "is"):
        hw = SystolicArray(rows=16, cols=16, dataflow=df)
        a, b, c = evaluate(mm, hw), evaluate(grouped, hw), evaluate(one, hw)
        assert a.to_dict() | {"name": "g"} == b.to_dict()
        assert a.stall_free_cycles == 3 * c.stall_free_cycles and a.macs == 3 * c.macs


def test_edgetpu_keeps_the_matmul_operand_in_pe_memory():
    hw = codesign.preset("edgetpu-baseline")
    fc = Layer.fc("f", in_features=192, out_features=192, n=197)
    mm = Layer.matmul("qk", m=197, n=197, k=64, batch=3)
    grouped = Layer.conv("g", c=3 * 64, k=3 * 197, h=197, w=1, r=1, s=1, groups=3)
    a = evaluate(Workload("a", [fc, mm]), hw)
    b = evaluate(Workload("b", [fc, grouped]), hw)
    ra, rb = a.layer(1), b.layer(1)
    assert ra["macs"] == rb["macs"] == mm.macs
    # the weights of the grouped conv come through core memory and are parameters; the matmul's operand does not
    assert rb["core_mem_bytes"] > 0 and rb["onchip_w_bytes"] > 0
    assert ra["core_mem_bytes"] == 0 and ra["onchip_w_bytes"] == 0 and ra["dram_w_bytes"] == 0
    assert ra["pe_mem_bytes"] > rb["pe_mem_bytes"]  # its reads are PE-memory reads instead
    assert a.totals["params_bytes"] == 192 * 192 and b.totals["params_bytes"] == 192 * 192 + 3 * 64 * 197
    # a matmul whose input spills reads its second operand from DRAM like the input
    first = evaluate(Workload("c", [mm]), hw).layer(0)  # the network input arrives from the host
    assert first["input_spilled"] == 1 and first["dram_w_bytes"] == 3 * 64 * 197  # int8: 1 byte


def test_vector_layers_cost_their_ops_on_edgetpu():
    hw = codesign.preset("edgetpu-baseline")
    fc = Layer.fc("f", in_features=64, out_features=64, n=50)
    sm = Layer.elementwise("softmax", "sm", c=64, h=50)
    norm = Layer.elementwise("norm", "ln", c=64, h=50)
    r = evaluate(Workload("v", [fc, sm, norm]), hw)
    width = hw.pe_x * hw.pe_y * hw.simd
    assert r.layer(1)["ops"] == 5 * 64 * 50 and r.layer(1)["vector_cycles"] == math.ceil(5 * 64 * 50 / width)
    assert r.layer(2)["ops"] == 5 * 64 * 50
    assert all(evaluate(lay, SystolicArray()).cycles == 0 for lay in (sm, norm))  # vector layers: not the array's


# ============================================================================ attention, every way torch writes it

class _Attention(nn.Module):
    """Self-attention written out: a fused qkv Linear, heads, scores by ``how``, softmax, output projection."""

    def __init__(self, d: int, heads: int, how: str):
        super().__init__()
        self.heads, self.how = heads, how
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)

    def forward(self, x):
        b, n, d = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4).unbind(0)
        if self.how == "sdpa":
            y = F.scaled_dot_product_attention(q, k, v)
        else:
            if self.how == "matmul":
                a = torch.matmul(q, k.transpose(-2, -1))
            elif self.how == "at":
                a = q @ k.transpose(-2, -1)
            else:  # bmm over (batch x heads)
                a = torch.bmm(q.reshape(b * self.heads, n, -1), k.reshape(b * self.heads, n, -1).transpose(1, 2))
                a = a.reshape(b, self.heads, n, n)
            a = (a * 0.125).softmax(dim=-1)
            y = a @ v
        return self.proj(y.transpose(1, 2).reshape(b, n, d))


@pytest.mark.parametrize("how", ["matmul", "at", "bmm", "sdpa"])
def test_attention_matmuls_every_form(how):
    b, n, d, h = 2, 10, 32, 4
    wl = from_torch(_Attention(d, h, how), (b, n, d))
    mms = [lay for lay in wl if lay.kind == "matmul"]
    assert len(mms) == 2
    qk, av = mms
    # QK^T: batch b*h of (n x d/h) @ (d/h x n); AV: (n x n) @ (n x d/h)
    assert (qk.groups, qk.gemm_m, qk.gemm_k, qk.gemm_n) == (b * h, n, d // h, n)
    assert (av.groups, av.gemm_m, av.gemm_k, av.gemm_n) == (b * h, n, n, d // h)
    assert wl.macs == b * n * d * 3 * d + 2 * b * h * n * n * (d // h) + b * n * d * d
    sm = [lay for lay in wl if lay.kind == "softmax"]
    assert len(sm) == 1 and sm[0].ops == 5 * b * h * n * n
    assert wl.weights == 3 * d * d + d * d  # the matmuls hold no parameters


def test_a_parameter_matmul_is_a_weight_layer():
    class Proj(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.zeros(16, 24))

        def forward(self, x):
            return x @ self.w

    wl = from_torch(Proj(), (3, 5, 16))
    assert [(lay.kind, lay.n, lay.c, lay.k) for lay in wl] == [("fc", 15, 16, 24)]
    assert wl.weights == 16 * 24


def test_multihead_attention_and_transformer_layers():
    d, h, ff, n, b = 64, 4, 128, 10, 2
    proj = 4 * b * n * d * d              # q, k, v and out projections
    attn = 2 * b * h * n * n * (d // h)   # QK^T and AV
    mlp = 2 * b * n * d * ff

    class Wrap(nn.Module):
        def __init__(self, batch_first=True):
            super().__init__()
            self.mha = nn.MultiheadAttention(d, h, batch_first=batch_first)

        def forward(self, x):
            return self.mha(x, x, x, need_weights=False)[0]

    wl = from_torch(Wrap(), (b, n, d))
    assert wl.macs == proj + attn
    assert [lay.name for lay in wl] == ["mha.q_proj", "mha.k_proj", "mha.v_proj", "mha.qk", "mha.softmax", "mha.av",
                                        "mha.out_proj"]
    # sequence-first
    assert from_torch(Wrap(batch_first=False), (n, b, d)).macs == proj + attn
    # the encoder layer in eval mode (its fast path calls no Linear): traced without it
    enc = nn.TransformerEncoderLayer(d, h, ff, batch_first=True)
    wl = from_torch(enc, (b, n, d))
    assert wl.macs == proj + attn + mlp
    kinds = [lay.kind for lay in wl]
    assert kinds.count("norm") == 2 and kinds.count("add") == 2 and kinds.count("softmax") == 1
    assert wl["linear1"].act == "relu"
    stack = nn.TransformerEncoder(nn.TransformerEncoderLayer(d, h, ff, batch_first=True), 2, enable_nested_tensor=False)
    assert from_torch(stack, (b, n, d)).macs == 2 * (proj + attn + mlp)
    # decoder layer: self-attention, cross-attention on a memory of the same length, MLP
    dec = nn.TransformerDecoderLayer(d, h, ff, batch_first=True)

    class Dec(nn.Module):
        def __init__(self):
            super().__init__()
            self.dec = dec

        def forward(self, x):
            return self.dec(x, x)

    assert from_torch(Dec(), (b, n, d)).macs == 2 * (proj + attn) + mlp


def test_gpt2_small_block_hand_count():
    # GPT-2 small: d = 768, 12 heads, MLP 3072, causal attention over L tokens (costed dense)
    d, heads, L = 768, 12, 64

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1, self.ln_2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.c_attn, self.c_proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
            self.c_fc, self.mlp_proj = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)
            self.register_buffer("bias", torch.tril(torch.ones(L, L)).view(1, 1, L, L))

        def forward(self, x):
            b, t, _ = x.shape
            q, k, v = self.c_attn(self.ln_1(x)).split(d, dim=2)
            q, k, v = (z.view(b, t, heads, d // heads).transpose(1, 2) for z in (q, k, v))
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(d // heads))
            att = att.masked_fill(self.bias[:, :, :t, :t] == 0, float("-inf"))
            y = F.softmax(att, dim=-1) @ v
            x = x + self.c_proj(y.transpose(1, 2).contiguous().view(b, t, d))
            return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x))))

    with pytest.warns(UserWarning, match="recorded one forward pass"):  # fx cannot slice the mask by a traced t
        wl = from_torch(Block(), (1, L, d))
    hand = L * d * 3 * d + 2 * heads * L * L * (d // heads) + L * d * d + 2 * L * d * 4 * d
    # 3*768^2*64 + 2*12*64^2*64 + 768^2*64 + 2*768*3072*64
    assert hand == 113_246_208 + 6_291_456 + 37_748_736 + 301_989_888 == 459_276_288
    assert wl.macs == hand
    assert _kinds(wl)["matmul"] == 2 * heads * L * L * (d // heads)
    assert wl["c_fc"].act == "gelu"
    norms = [lay for lay in wl if lay.kind == "norm"]
    adds = [lay for lay in wl if lay.kind == "add"]
    assert len(norms) == 2 and len(adds) == 2
    # (B, N, D) token tensors: n = B, c = D, h = N
    assert (adds[0].n, adds[0].c, adds[0].h, adds[0].w) == (1, d, L, 1)
    assert (norms[0].c, norms[0].h) == (d, L)


# ============================================================================ layouts

def test_layout_read_from_the_tensor():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 1)
            self.fc = nn.Linear(8, 8)

        def forward(self, x):
            y = self.conv(x)
            y = y + y.sigmoid()                     # NCHW: c = 8, h = 5, w = 6
            z = y.permute(0, 2, 3, 1)               # NHWC (N, H, W, C)
            z = z + self.fc(z)                      # channels last: c = 8, h = 5, w = 6
            t = z.flatten(1, 2)                     # tokens (N, H*W, C)
            return t + t.relu()                     # c = 8, h = 30

    wl = from_torch(Net(), (2, 3, 5, 6))
    adds = [(lay.n, lay.c, lay.h, lay.w) for lay in wl if lay.kind == "add"]
    assert adds == [(2, 8, 5, 6), (2, 8, 5, 6), (2, 8, 30, 1)]


# ============================================================================ warnings

def test_unplaced_ops_are_listed_with_counts_and_macs():
    class Odd(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1d = nn.Conv1d(4, 8, 3)
            self.fc = nn.Linear(6, 6)

        def forward(self, x):                    # x: (2, 4, 8)
            y = self.conv1d(x)                   # (2, 8, 6): not captured, MACs 2*8*6 * 4*3 = 1152
            y = torch.cumsum(y, dim=-1)          # not placed
            y = torch.cumsum(y, dim=-1)
            return self.fc(y)

    with pytest.warns(UserWarning) as rec:
        wl = from_torch(Odd(), (2, 4, 8))
    msgs = [str(w.message) for w in rec]
    assert any("Odd: 3 operations not placed in the workload: cumsum x2, Conv1d x1 (1,152 MACs)" in m for m in msgs), msgs
    assert wl.names == ["fc"]


def test_hook_fallback_says_what_it_cannot_see(monkeypatch):
    import codesign.workload.torch_import as ti

    class Branchy(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(8, 8)

        def forward(self, x):
            if x.sum() > 0:
                x = -x
            return self.fc(x) + x

    def broken(*args, **kwargs):
        raise RuntimeError("no recording")

    monkeypatch.setattr(ti, "_capture_run_all", broken)
    with pytest.warns(UserWarning, match=r"Branchy: torch\.fx could not trace the model \(TraceError.*used forward "
                                         r"hooks instead, which see module calls only: functional calls are not "
                                         r"captured: \+, -, \*, /"):
        wl = from_torch(Branchy(), (2, 8))
    assert wl.names == ["fc"]  # the add is not seen


def test_no_warning_for_data_movement_and_constants():
    class Clean(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(8, 8)
            self.pos = nn.Parameter(torch.zeros(1, 4, 8))

        def forward(self, x):
            x = torch.cat([x, x], dim=1)[:, :4] + self.pos   # a concatenation, movement, a constant add (folds)
            return self.fc(x.transpose(1, 2).contiguous().transpose(1, 2)) * 0.5

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        wl = from_torch(Clean(), (2, 4, 8))
    assert wl.names == ["cat", "fc"]  # a concatenation copies its inputs: a layer (issue 14), not movement
    assert wl["cat"] == Layer.elementwise("concat", "cat", c=8, h=8, n=2)  # (2, 8, 8) tokens: n=2, h=8, c=8


# ============================================================================ timm: input size and published figures

def test_from_timm_uses_the_models_own_input_size():
    pytest.importorskip("timm")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # mobilevit cannot be traced by torch.fx: the recorded pass is used
        wl = from_timm("mobilevit_xxs")  # pretrained_cfg input_size (3, 256, 256)
        assert wl.input_shape == (1, 3, 256, 256)
        assert from_timm("mobilevit_xxs", resolution=224).input_shape == (1, 3, 224, 224)
    assert from_timm("resnet18", batch=2).input_shape == (2, 3, 224, 224)


def test_vit_tiny_hand_count():
    pytest.importorskip("timm")
    wl = from_timm("vit_tiny_patch16_224")
    n, d, depth = 197, 192, 12  # 196 patches + class token; 3 heads of 64
    patch = 196 * d * 3 * 16 * 16
    block = n * d * 3 * d + 2 * n * n * d + n * d * d + 2 * n * d * 4 * d
    assert wl.macs == patch + depth * block + d * 1000
    assert _kinds(wl)["matmul"] == depth * 2 * n * n * d  # 14% of the total
    assert sum(lay.kind == "norm" for lay in wl) == 2 * depth + 1


# Published MACs (multiply-accumulates; the papers write "FLOPs"), attention included:
#   DeiT-Tiny (= ViT-Tiny/16), 224 px: 1.3 G      Touvron et al., ICML 2021, Table 1 (rounded to 0.1 G)
#   MobileViT-S, 256 px: 2.0 G                    Mehta & Rastegari, ICLR 2022 (timm model card: 2.0 GMACs)
#   LeViT-128S, 224 px: 305 M                     Graham et al., ICCV 2021, Table 1
#   Swin-T, 224 px: 4.5 G                         Liu et al., ICCV 2021, Table 1
#   EfficientViT-B0 (MIT), 224 px: 0.10 G         Cai et al., ICCV 2023, Table 1
# DeiT's 1.3 G is rounded; the hand count above (1.254 G) is the exact check for ViT/DeiT-Tiny.
PUBLISHED_GMACS = {"mobilevit_s": 2.0, "levit_128s": 0.305, "swin_tiny_patch4_window7_224": 4.5,
                   "efficientvit_b0": 0.10}


@pytest.mark.parametrize("name", sorted(PUBLISHED_GMACS))
def test_published_macs_within_two_percent(name):
    pytest.importorskip("timm")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the fx fallback note for mobilevit_s / efficientvit_b0
        wl = from_timm(name)
    assert wl.macs / 1e9 == pytest.approx(PUBLISHED_GMACS[name], rel=0.02)
    assert _kinds(wl).get("matmul", 0) > 0  # attention is counted
    # both cost models take every layer
    assert evaluate(wl, SystolicArray()).totals["cycles"] > 0
    etpu = evaluate(wl, codesign.preset("edgetpu-baseline"))
    assert np.isfinite(etpu.totals["latency_ms"]) and etpu.totals["macs"] == wl.macs
