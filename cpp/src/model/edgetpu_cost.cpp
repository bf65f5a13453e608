#include "codesign/model/edgetpu_cost.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "edgetpu_internal.hpp"

namespace codesign {

using namespace detail;

const char* const kEdgeTpuNames[kEdgeTpuOutFields] = {
    "cycles", "compute_cycles", "vector_cycles", "io_cycles", "fill_cycles", "overhead_cycles",
    "macs", "ops", "utilization", "memory_bound",
    "dram_w_bytes", "dram_i_bytes", "dram_o_bytes", "core_mem_bytes", "pe_mem_bytes", "onchip_w_bytes",
    "energy_pj", "mac_pj", "vector_pj", "core_w_pj", "pe_i_pj", "pe_o_pj", "onchip_w_pj",
    "dram_w_pj", "dram_i_pj", "dram_o_pj", "leak_pj",
    "weights_cached", "input_spilled", "output_spilled",
    "map_pe_x", "map_pe_y", "map_lanes", "map_simd", "weight_tiles", "spatial_tiles", "order", "inner",
    "mappings_evaluated", "map_space_size",
    "on_host", "cached_w_bytes", "streamed_w_bytes", "transfer_cycles",
};

namespace {


// Where the second operand of a MAC layer lives. Weights (Op::Mac) are parameters held in core memory, cached
// on chip or streamed; an activation-by-activation matmul's second operand (Op::MatMul) is an earlier layer's
// output and lives in PE memory with the other activations, at the activation word size.
double w_word_bytes(const Layer& l, const EdgeTpuArch& a) {
    return double(l.operand_is_activation() ? a.act_bytes : a.weight_bytes);
}
double w_capacity_bytes(const Layer& l, const EdgeTpuArch& a) {
    return l.operand_is_activation() ? a.pe_mem_bytes : a.core_mem_bytes;
}

struct Shape {
    double d[kDims];
};

Shape layer_shape(const Layer& l) {
    Shape s{};
    s.d[DimG] = static_cast<double>(l.groups);
    s.d[DimN] = static_cast<double>(l.n);
    s.d[DimK] = static_cast<double>(l.k / l.groups);
    s.d[DimC] = static_cast<double>(l.c / l.groups);
    s.d[DimP] = static_cast<double>(l.p);
    s.d[DimQ] = static_cast<double>(l.q);
    s.d[DimR] = static_cast<double>(l.r);
    s.d[DimS] = static_cast<double>(l.s);
    return s;
}

double in_extent(double out, double taps, double stride, double dilation, double size, double pad) {
    return std::min((out - 1.0) * stride + (taps - 1.0) * dilation + 1.0, size + 2.0 * pad);
}

constexpr std::int32_t kPeDims[] = {DimG, DimN, DimK, DimP, DimQ};
constexpr std::int32_t kSimdDims[] = {DimK, DimC};

double level_size(const EdgeTpuArch& a, int level) {
    switch (level) {
        case 0: return static_cast<double>(a.pe_x);
        case 1: return static_cast<double>(a.pe_y);
        case 2: return static_cast<double>(a.lanes);
        default: return static_cast<double>(a.simd);
    }
}

// Per-PE footprints in bytes for a spatial assignment and tiling.
struct Tiles {
    double share[kDims];  // per-PE extent of each dimension
    double w_pe, i_pe, o_pe;
    double k_units;       // G*K per PE: the granularity of weight tiles before C is split
};

Tiles per_pe(const Layer& l, const Shape& s, const EdgeTpuArch& a, const std::int32_t* spatial) {
    Tiles t{};
    double upe[kDims];
    std::fill(upe, upe + kDims, 1.0);
    upe[spatial[0]] *= static_cast<double>(a.pe_x);
    upe[spatial[1]] *= static_cast<double>(a.pe_y);
    for (int d = 0; d < kDims; ++d) t.share[d] = dceil(s.d[d], upe[d]);
    const double rows = in_extent(t.share[DimP], s.d[DimR], double(l.stride_h), double(l.dilation_h), double(l.h), double(l.pad_h));
    const double cols = in_extent(t.share[DimQ], s.d[DimS], double(l.stride_w), double(l.dilation_w), double(l.w), double(l.pad_w));
    t.k_units = t.share[DimG] * t.share[DimK];
    t.w_pe = t.k_units * t.share[DimC] * s.d[DimR] * s.d[DimS] * w_word_bytes(l, a);
    t.i_pe = t.share[DimN] * t.share[DimG] * t.share[DimC] * rows * cols * double(a.act_bytes);
    t.o_pe = t.share[DimN] * t.k_units * t.share[DimP] * t.share[DimQ] * double(a.act_bytes);
    return t;
}

// Working set in PE memory of one activation tile: input rows for p_tile output rows plus the output tile (plus,
// for an activation-by-activation matmul, its second-operand tile).
double pe_tile_bytes(const Layer& l, const Tiles& t, const EdgeTpuArch& a, double kt, double pt) {
    const double c_tiles = std::max(1.0, dceil(kt, t.k_units));
    const double k_tile = dceil(t.k_units, std::min(kt, t.k_units));
    const double c_tile = dceil(t.share[DimC], c_tiles);
    const double p_tile = dceil(t.share[DimP], pt);
    const double rows = in_extent(p_tile, double(l.r), double(l.stride_h), double(l.dilation_h), double(l.h), double(l.pad_h));
    const double cols = in_extent(t.share[DimQ], double(l.s), double(l.stride_w), double(l.dilation_w), double(l.w), double(l.pad_w));
    const double in = t.share[DimN] * c_tile * rows * cols * double(a.act_bytes) * (t.share[DimG] > 1 ? dceil(t.share[DimG], std::min(kt, t.share[DimG])) : 1.0);
    const double ob = c_tiles > 1.0 ? double(a.psum_bytes) : double(a.act_bytes);
    const double out = t.share[DimN] * k_tile * p_tile * t.share[DimQ] * ob;
    return in + out + (l.operand_is_activation() ? t.w_pe / kt : 0.0);
}

// Smallest weight-tile count whose tile fits half the core memory (PE memory for a matmul's activation operand;
// 0 if even one channel does not fit).
double min_weight_tiles(const Layer& l, const Tiles& t, const EdgeTpuArch& a) {
    const double half = w_capacity_bytes(l, a) / 2.0;
    const double one_channel = double(l.r) * double(l.s) * w_word_bytes(l, a);
    if (one_channel > half) return 0.0;
    const double max_tiles = t.k_units * t.share[DimC];
    const double kt = std::max(1.0, dceil(t.w_pe, half));
    if (kt <= t.k_units) return kt;
    // Split C too: tiles are (one K unit) x (C / c_tiles).
    const double c_per_tile = std::floor(half / one_channel);
    return std::min(max_tiles, t.k_units * dceil(t.share[DimC], c_per_tile));
}

// Smallest activation-tile count (split along P) that fits half the PE memory for kt weight tiles (0: none).
double min_spatial_tiles(const Layer& l, const Tiles& t, const EdgeTpuArch& a, double kt) {
    const double half = a.pe_mem_bytes / 2.0;
    double pt = 1.0;
    while (true) {
        if (pe_tile_bytes(l, t, a, kt, pt) <= half) return pt;
        if (pt >= t.share[DimP]) return 0.0;
        pt = std::min(t.share[DimP], pt * 2.0);
    }
}

}  // namespace

namespace {

// Per-layer quantities that do not depend on the mapping.
struct Prep {
    Shape s;
    double macs, out_elems, w_layer, i_layer;
};

Prep prepare(const Layer& l, const EdgeTpuArch& a) {
    Prep p;
    p.s = layer_shape(l);
    const Shape& s = p.s;
    p.macs = s.d[DimG] * s.d[DimN] * s.d[DimK] * s.d[DimC] * s.d[DimP] * s.d[DimQ] * s.d[DimR] * s.d[DimS];
    p.out_elems = s.d[DimG] * s.d[DimN] * s.d[DimK] * s.d[DimP] * s.d[DimQ];
    p.w_layer = s.d[DimG] * s.d[DimK] * s.d[DimC] * s.d[DimR] * s.d[DimS] * w_word_bytes(l, a);
    Checked ck;
    const std::int64_t words = l.ifmap_unique_words(ck);
    if (ck.overflow) {  // beyond int64 words: the same product in floating point (finite, as every other field)
        const double rows = double(touched_positions(l.p, l.r, l.stride_h, l.dilation_h, l.h, l.pad_h));
        const double cols = double(touched_positions(l.q, l.s, l.stride_w, l.dilation_w, l.w, l.pad_w));
        p.i_layer = double(l.n) * double(l.c) * rows * cols * double(a.act_bytes);
    } else {
        p.i_layer = static_cast<double>(words) * double(a.act_bytes);
    }
    return p;
}

// What a spatial unrolling fixes: the temporal extent t[d] of every dimension per MAC unit, the compute cycles
// (their product), and the in-PE reuse of the lanes and SIMD levels: how many MACs share one weight read (N, P, Q
// unrolled), one input read (K unrolled), and how many partial sums one reduction combines (C unrolled).
struct Unrolled {
    double t[kDims];
    double compute;
    double bw_w, bw_i, red_o;
};

Unrolled unroll(const Shape& s, const EdgeTpuArch& a, const Mapping& m) {
    Unrolled u{};
    double U[kDims];
    std::fill(U, U + kDims, 1.0);
    for (int lev = 0; lev < kSpatialLevels; ++lev) U[m.spatial[lev]] *= level_size(a, lev);
    u.compute = 1.0;
    for (int d = 0; d < kDims; ++d) {
        u.t[d] = dceil(s.d[d], U[d]);
        u.compute *= u.t[d];
    }
    u.bw_w = u.bw_i = u.red_o = 1.0;
    for (int lev = 2; lev < kSpatialLevels; ++lev) {
        const std::int32_t d = m.spatial[lev];
        const double sz = std::min(level_size(a, lev), s.d[d]);
        if (d == DimN || d == DimP || d == DimQ) u.bw_w *= sz;
        if (d == DimK) u.bw_i *= sz;
        if (d == DimC) u.red_o *= sz;
    }
    return u;
}

EdgeTpuCost evaluate_prepared(const Layer& l, const Prep& p, const Tiles& tl, const EdgeTpuArch& a, const EnergyTable& e,
                              const LayerContext& ctx, const Mapping& m) {
    EdgeTpuCost c;
    double* v = c.v;
    const Unrolled u = unroll(p.s, a, m);
    const double* t = u.t;
    const double compute = u.compute;
    const double macs = p.macs;
    const double kt = static_cast<double>(m.weight_tiles);
    const double pt = static_cast<double>(m.spatial_tiles);
    if (tl.w_pe / kt > w_capacity_bytes(l, a) / 2.0 + 1e-9 || pe_tile_bytes(l, tl, a, kt, pt) > a.pe_mem_bytes / 2.0 + 1e-9) {
        c.status = Status::NoMapping;
        return c;
    }
    const double ab = double(a.act_bytes), wb = double(a.weight_bytes), pb = double(a.psum_bytes);
    const double pes = static_cast<double>(a.pes());
    const double out_elems = p.out_elems;
    const double w_layer = p.w_layer;
    const double i_layer = p.i_layer;

    // Reloads: weights per activation tile when activation tiles are outer and weights are tiled;
    // activations per weight tile when weight tiles are outer and activations are tiled.
    const double w_loads = (kt <= 1.0 || m.order == 0) ? 1.0 : pt;
    const double i_loads = (pt <= 1.0 || m.order == 1) ? 1.0 : kt;

    // Off-chip traffic (DRAM or host link). A matmul's activation operand spills with the layer's input; on chip
    // it is already in PE memory, so nothing is moved from a parameter store.
    const bool act_w = l.operand_is_activation();
    const bool w_offchip = act_w ? ctx.input_spilled : !ctx.weights_cached;
    v[F_dram_w_bytes] = w_offchip ? w_layer * w_loads : 0.0;
    v[F_dram_i_bytes] = ctx.input_spilled ? i_layer * i_loads : 0.0;
    v[F_dram_o_bytes] = ctx.output_spilled ? out_elems * ab : 0.0;
    v[F_onchip_w_bytes] = (!act_w && ctx.weights_cached) ? w_layer * w_loads : 0.0;

    // Spatial broadcast / reduction inside a PE (lanes and SIMD levels).
    const double bw_w = u.bw_w, bw_i = u.bw_i, red_o = u.red_o;
    const double reduction_steps = t[DimC] * t[DimR] * t[DimS];
    double core_reads, psum_bytes_moved;
    if (m.inner == 0) {  // weight-stationary lanes: a weight serves the lane's N, P, Q loop
        core_reads = macs / (bw_w * t[DimN] * t[DimP] * t[DimQ]) * wb;
        psum_bytes_moved = reduction_steps > 1.0 ? 2.0 * (macs / red_o) * pb : out_elems * ab;
    } else {  // output-stationary lanes: the accumulator holds an output over its reduction loop
        core_reads = macs / bw_w * wb;
        const double c_tiles = std::max(1.0, dceil(kt, tl.k_units));
        psum_bytes_moved = c_tiles > 1.0 ? 2.0 * c_tiles * out_elems * pb : out_elems * ab;
    }
    const double core_writes = tl.w_pe * pes * w_loads;
    const double pe_i_reads = macs / bw_i * ab;
    const double pe_i_writes = tl.i_pe * pes * i_loads;
    // The second operand's reads and tile writes: core memory for weights, PE memory for a matmul's activation.
    const double w_bytes_moved = core_reads + core_writes;
    v[F_core_mem_bytes] = act_w ? 0.0 : w_bytes_moved;
    v[F_pe_mem_bytes] = pe_i_reads + pe_i_writes + psum_bytes_moved + (act_w ? w_bytes_moved : 0.0);

    // Time.
    v[F_macs] = macs;
    v[F_ops] = macs;
    v[F_compute_cycles] = compute;
    v[F_vector_cycles] = std::ceil(out_elems * kActOps[static_cast<int>(l.act)] / (pes * double(a.simd)));
    v[F_io_cycles] = (v[F_dram_w_bytes] + v[F_dram_i_bytes] + v[F_dram_o_bytes]) / a.io_bytes_per_cycle;
    const double onchip_bw = e.onchip_bytes_per_cycle > 0 ? e.onchip_bytes_per_cycle : double(a.simd * a.lanes);
    const double w_first = tl.w_pe / kt;  // per PE
    const double i_first = tl.i_pe / pt;
    const double fill_w = w_offchip ? (w_layer / kt) / a.io_bytes_per_cycle : w_first / onchip_bw;
    const double fill_i = ctx.input_spilled ? (i_layer / pt) / a.io_bytes_per_cycle : i_first / onchip_bw;
    const double fill_io = (w_offchip ? fill_w : 0.0) + (ctx.input_spilled ? fill_i : 0.0);
    v[F_fill_cycles] = std::ceil(fill_w + fill_i);
    v[F_overhead_cycles] = a.layer_overhead_cycles + a.tile_overhead_cycles * kt * pt;

    // Energy.
    const double e_core = e.sram_pj_per_byte(a.core_mem_bytes);
    const double e_pe = e.sram_pj_per_byte(a.pe_mem_bytes);
    const double e_src = e.sram_pj_per_byte(a.global_mem_bytes > 0 ? a.global_mem_bytes : a.pe_mem_bytes);
    v[F_mac_pj] = macs * e.mac_pj;
    v[F_vector_pj] = out_elems * kActOps[static_cast<int>(l.act)] * e.vector_op_pj;
    v[F_core_w_pj] = act_w ? 0.0 : w_bytes_moved * e_core;
    v[F_pe_i_pj] = (pe_i_reads + pe_i_writes + (act_w ? w_bytes_moved : 0.0)) * e_pe;
    v[F_pe_o_pj] = psum_bytes_moved * e_pe;
    v[F_onchip_w_pj] = v[F_onchip_w_bytes] * e_src;
    v[F_dram_w_pj] = v[F_dram_w_bytes] * e.dram_pj_per_byte;
    v[F_dram_i_pj] = v[F_dram_i_bytes] * e.dram_pj_per_byte;
    v[F_dram_o_pj] = v[F_dram_o_bytes] * e.dram_pj_per_byte;
    v[F_weights_cached] = ctx.weights_cached;
    v[F_input_spilled] = ctx.input_spilled;
    v[F_output_spilled] = ctx.output_spilled;
    fill_mapping_fields(c, m);
    finish(c, a, e, v[F_compute_cycles] + v[F_vector_cycles], fill_io);
    flag_nonfinite(c);
    return c;
}

}  // namespace

EdgeTpuCost evaluate_edgetpu_mapping(const Layer& l, const EdgeTpuArch& a, const EnergyTable& e, const LayerContext& ctx,
                                     const Mapping& m) {
    if (*l.invalid_field() != '\0') {
        EdgeTpuCost bad;
        bad.status = Status::InvalidLayer;
        return bad;
    }
    if (!l.is_mac()) return evaluate_vector_layer(l, a, e, ctx);
    bool legal = m.weight_tiles >= 1 && m.spatial_tiles >= 1 && (m.order == 0 || m.order == 1) &&
                 (m.inner == 0 || m.inner == 1);
    for (const std::int32_t d : m.spatial) legal = legal && d >= 0 && d < kDims;
    if (!legal) {  // a mapping from outside the map space (the C++ API takes any)
        EdgeTpuCost bad;
        bad.status = Status::NoMapping;
        return bad;
    }
    const Prep p = prepare(l, a);
    return evaluate_prepared(l, p, per_pe(l, p.s, a, m.spatial), a, e, ctx, m);
}

namespace {

// Spatial unrollings worth trying: per level, the allowed dimensions larger than one (else one idle choice);
// on a square PE grid (d0, d1) and (d1, d0) are the same.
template <typename Fn>
void for_each_spatial(const Shape& s, const EdgeTpuArch& a, Fn&& fn) {
    std::int32_t choices[kSpatialLevels][5];
    int n_choices[kSpatialLevels];
    for (int lev = 0; lev < kSpatialLevels; ++lev) {
        const std::int32_t* dims = lev == 3 ? kSimdDims : kPeDims;
        const int nd = lev == 3 ? 2 : 5;
        n_choices[lev] = 0;
        for (int i = 0; i < nd; ++i)
            if (s.d[dims[i]] > 1.0) choices[lev][n_choices[lev]++] = dims[i];
        if (n_choices[lev] == 0) choices[lev][n_choices[lev]++] = lev == 3 ? DimC : DimK;
    }
    Mapping m;
    for (int i0 = 0; i0 < n_choices[0]; ++i0)
        for (int i1 = 0; i1 < n_choices[1]; ++i1) {
            const std::int32_t d0 = choices[0][i0], d1 = choices[1][i1];
            if (a.pe_x == a.pe_y && d1 < d0) continue;
            for (int i2 = 0; i2 < n_choices[2]; ++i2)
                for (int i3 = 0; i3 < n_choices[3]; ++i3) {
                    m.spatial[0] = d0, m.spatial[1] = d1, m.spatial[2] = choices[2][i2], m.spatial[3] = choices[3][i3];
                    fn(m);
                }
        }
}

// Temporal choices for one spatial unrolling: weight tiles (the fewest that fit half the core memory, x2, x4),
// activation tiles (likewise for half the PE memory), the order of the two tile loops when both are tiled, and
// the lane stationarity. Calls fn(mapping) for each.
template <typename Fn>
void for_each_tiling(const Layer& l, const Tiles& tl, const EdgeTpuArch& a, Mapping m, Fn&& fn) {
    const double kt0 = min_weight_tiles(l, tl, a);
    if (kt0 <= 0.0) return;
    const double kt_max = tl.k_units * tl.share[DimC];
    for (int ki = 0; ki < 3; ++ki) {
        const double kt = std::min(kt_max, kt0 * double(1 << ki));
        if (ki > 0 && kt <= kt0 * double(1 << (ki - 1))) break;
        const double pt0 = min_spatial_tiles(l, tl, a, kt);
        if (pt0 <= 0.0) continue;
        for (int pi = 0; pi < 3; ++pi) {
            const double pt = std::min(tl.share[DimP], pt0 * double(1 << pi));
            if (pi > 0 && pt <= pt0 * double(1 << (pi - 1))) break;
            const bool both_tiled = kt > 1.0 && pt > 1.0;
            for (std::int32_t order = 0; order < (both_tiled ? 2 : 1); ++order)
                for (std::int32_t inner = 0; inner < 2; ++inner) {
                    m.weight_tiles = static_cast<std::int64_t>(kt);
                    m.spatial_tiles = static_cast<std::int64_t>(pt);
                    m.order = order;
                    m.inner = inner;
                    fn(m);
                }
        }
    }
}

// Calls fn(mapping, tiles) for every legal mapping of a MAC layer.
template <typename Fn>
void for_each_mapping(const Layer& l, const Shape& s, const EdgeTpuArch& a, Fn&& fn) {
    for_each_spatial(s, a, [&](const Mapping& sp) {
        const Tiles tl = per_pe(l, s, a, sp.spatial);
        for_each_tiling(l, tl, a, sp, [&](const Mapping& m) { fn(m, tl); });
    });
}

// Lower bounds of a spatial unrolling's latency (cycles) and energy (pJ) over all its tilings (weight and
// activation tile counts, loop order, lane stationarity). Latency: compute and vector cycles plus the per-layer
// overhead. Energy: MAC, vector and leakage energy over that time, plus every memory term of evaluate_prepared at
// its smallest over the tilings: each weight and input byte loaded once (w_loads = i_loads = 1) from its source
// (cached weights from on-chip memory, streamed ones and spilled inputs over the I/O link) into the core / PE
// memories, the core-memory weight reads of weight-stationary lanes (never more than output-stationary ones), the
// PE-memory input reads (tiling-independent), and the cheaper of the two lane stationarities' partial-sum traffic
// (output-stationary moves at least one output per element: min(act_bytes, 2 psum_bytes) per output).
void spatial_bounds(const Layer& l, const Prep& p, const Tiles& tl, const EdgeTpuArch& a, const EnergyTable& e,
                    const LayerContext& ctx, const Mapping& m, double& lb_cycles, double& lb_energy) {
    const Unrolled u = unroll(p.s, a, m);
    const double* t = u.t;
    const double act_ops = p.out_elems * kActOps[static_cast<int>(l.act)];
    lb_cycles = u.compute + std::ceil(act_ops / (static_cast<double>(a.pes()) * double(a.simd))) + a.layer_overhead_cycles;
    const double sram_kib = a.onchip_bytes() / 1024.0 + static_cast<double>(a.pes()) * a.core_mem_bytes / 1024.0;
    const double leak_mw = e.leak_mw_per_kib * sram_kib + e.leak_mw_per_mac * static_cast<double>(a.macs_per_cycle());

    const double ab = double(a.act_bytes), wb = double(a.weight_bytes), pb = double(a.psum_bytes);
    const double pes = static_cast<double>(a.pes());
    const double bw_w = u.bw_w, bw_i = u.bw_i, red_o = u.red_o;
    const double core_reads = p.macs / (bw_w * t[DimN] * t[DimP] * t[DimQ]) * wb;
    const double core_writes = tl.w_pe * pes;
    const double pe_i = p.macs / bw_i * ab + tl.i_pe * pes;
    const double psum_ws = t[DimC] * t[DimR] * t[DimS] > 1.0 ? 2.0 * (p.macs / red_o) * pb : p.out_elems * ab;
    const double psum = std::min(psum_ws, p.out_elems * std::min(ab, 2.0 * pb));
    const double e_pe = e.sram_pj_per_byte(a.pe_mem_bytes);
    const double e_core = l.operand_is_activation() ? e_pe : e.sram_pj_per_byte(a.core_mem_bytes);
    const double e_src = e.sram_pj_per_byte(a.global_mem_bytes > 0 ? a.global_mem_bytes : a.pe_mem_bytes);
    const bool act_w = l.operand_is_activation();
    const bool w_offchip = act_w ? ctx.input_spilled : !ctx.weights_cached;
    const double offchip = (w_offchip ? p.w_layer : 0.0) + (ctx.input_spilled ? p.i_layer : 0.0) +
                           (ctx.output_spilled ? p.out_elems * ab : 0.0);
    lb_energy = p.macs * e.mac_pj + act_ops * e.vector_op_pj +
                leak_mw * 1e-3 * lb_cycles / (a.clock_mhz * 1e6) * 1e12 + (core_reads + core_writes) * e_core +
                (pe_i + psum) * e_pe + ((!act_w && ctx.weights_cached) ? p.w_layer * e_src : 0.0) +
                offchip * e.dram_pj_per_byte;
}

}  // namespace

std::vector<Mapping> edgetpu_map_space(const Layer& l, const EdgeTpuArch& a) {
    std::vector<Mapping> space;
    if (*l.invalid_field() != '\0') return space;
    if (!l.is_mac()) {
        space.push_back(vector_mapping());
        return space;
    }
    for_each_mapping(l, layer_shape(l), a, [&](const Mapping& m, const Tiles&) { space.push_back(m); });
    return space;
}

namespace {

double metric_value(const EdgeTpuCost& c, Metric metric) {
    switch (metric) {
        case Metric::Latency: return c.v[F_cycles];
        case Metric::Energy: return c.v[F_energy_pj];
        case Metric::Edp: return c.v[F_cycles] * c.v[F_energy_pj];
    }
    return c.v[F_cycles];
}

double tie_value(const EdgeTpuCost& c, Metric metric) {
    return metric == Metric::Latency ? c.v[F_energy_pj] : c.v[F_cycles];
}

std::uint64_t splitmix64(std::uint64_t& state) {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

}  // namespace

EdgeTpuCost map_edgetpu_layer(const Layer& l, const EdgeTpuArch& a, const EnergyTable& e, const LayerContext& ctx,
                              const MapperOptions& opt) {
    if (*l.invalid_field() != '\0') {
        EdgeTpuCost bad;
        bad.status = Status::InvalidLayer;
        return bad;
    }
    if (!l.is_mac()) {
        EdgeTpuCost c = evaluate_vector_layer(l, a, e, ctx);
        c.v[F_mappings_evaluated] = 1.0;
        c.v[F_map_space_size] = 1.0;
        return c;
    }
    const Prep p = prepare(l, a);
    EdgeTpuCost best;
    best.status = Status::NoMapping;
    double best_m = std::numeric_limits<double>::infinity(), best_t = best_m;
    std::int64_t evaluated = 0, since_best = 0, size = 0;
    bool stop = false;
    auto consider = [&](const EdgeTpuCost& c, bool sampling) {
        ++evaluated;
        if (c.status != Status::Ok) return;
        const double mv = metric_value(c, opt.metric), tv = tie_value(c, opt.metric);
        if (mv < best_m || (mv == best_m && tv < best_t)) {
            best = c;
            best_m = mv;
            best_t = tv;
            since_best = 0;
        } else if (sampling && opt.patience > 0 && ++since_best >= opt.patience) {
            stop = true;
        }
    };
    if (opt.budget == 0) {
        // The whole map space, branch and bound: spatial unrollings in order of their lower bound; one whose bound
        // exceeds the best mapping so far cannot hold the optimum and its tilings are only counted.
        struct Cand {
            Mapping m;
            Tiles tl;
            double lb;
        };
        std::vector<Cand> cands;
        cands.reserve(256);
        for_each_spatial(p.s, a, [&](const Mapping& m) {
            const Tiles tl = per_pe(l, p.s, a, m.spatial);
            double lbc = 0.0, lbe = 0.0;
            spatial_bounds(l, p, tl, a, e, ctx, m, lbc, lbe);
            const double lb = opt.metric == Metric::Latency ? lbc : opt.metric == Metric::Energy ? lbe : lbc * lbe;
            cands.push_back({m, tl, lb});
        });
        std::stable_sort(cands.begin(), cands.end(), [](const Cand& x, const Cand& y) { return x.lb < y.lb; });
        for (const Cand& cand : cands) {
            const Tiles& tl = cand.tl;
            if (cand.lb * (1.0 - 1e-9) > best_m) {  // slack: a tight bound may round above the value it bounds
                for_each_tiling(l, tl, a, cand.m, [&](const Mapping&) { ++size; });
                continue;
            }
            for_each_tiling(l, tl, a, cand.m, [&](const Mapping& m) {
                ++size;
                consider(evaluate_prepared(l, p, tl, a, e, ctx, m), false);
            });
        }
    } else {
        std::vector<Mapping> space = edgetpu_map_space(l, a);
        size = static_cast<std::int64_t>(space.size());
        const bool sampling = opt.budget < size;
        if (sampling) {
            // Seeded Fisher-Yates shuffle (splitmix64: the same order on every platform); take the first `budget`.
            std::uint64_t state = opt.seed ^ 0xC0DE5167ULL;
            for (std::int64_t i = size - 1; i > 0; --i) {
                const std::int64_t j = static_cast<std::int64_t>(splitmix64(state) % static_cast<std::uint64_t>(i + 1));
                std::swap(space[static_cast<std::size_t>(i)], space[static_cast<std::size_t>(j)]);
            }
        }
        const std::int64_t limit = std::min(size, opt.budget);
        for (std::int64_t i = 0; i < limit && !stop; ++i) {
            const Mapping& m = space[static_cast<std::size_t>(i)];
            consider(evaluate_prepared(l, p, per_pe(l, p.s, a, m.spatial), a, e, ctx, m), sampling);
        }
    }
    best.v[F_mappings_evaluated] = static_cast<double>(evaluated);
    best.v[F_map_space_size] = static_cast<double>(size);
    return best;
}


}  // namespace codesign
