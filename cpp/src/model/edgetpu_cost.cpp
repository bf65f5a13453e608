// Cost of one mapping of a MAC layer on the Edge-TPU-like template (see edgetpu_mapping_cost.hpp for the schedule
// counted). The map space and its search are in cpp/src/mapper/; vector-unit layers in edgetpu_vector_cost.cpp.
#include "codesign/model/edgetpu_cost.hpp"

#include <algorithm>
#include <cmath>

#include "edgetpu_mapping_cost.hpp"

namespace codesign {

const char* const kEdgeTpuNames[kEdgeTpuOutFields] = {
    "cycles", "compute_cycles", "vector_cycles", "io_cycles", "fill_cycles", "overhead_cycles",
    "macs", "ops", "utilization", "memory_bound",
    "dram_w_bytes", "dram_i_bytes", "dram_o_bytes", "core_mem_bytes", "pe_mem_bytes", "onchip_w_bytes",
    "psum_spill_bytes",
    "energy_pj", "mac_pj", "vector_pj", "core_w_pj", "pe_i_pj", "pe_o_pj", "onchip_w_pj",
    "dram_w_pj", "dram_i_pj", "dram_o_pj", "leak_pj",
    "weights_cached", "input_spilled", "output_spilled",
    "map_pe_x", "map_pe_y", "map_lanes", "map_simd", "tiles_g", "tiles_n", "tiles_k", "tiles_c", "tiles_p", "tiles_q",
    "order", "inner", "mappings_evaluated", "map_space_size",
    "on_host", "cached_w_bytes", "streamed_w_bytes", "transfer_cycles",
};

namespace detail {

namespace {

// Input rows read over all `tiles` tiles of an extent: tiles of ceil(extent / tiles), as many full ones as fit, the
// rest of the extent in one shorter tile (a count that does not divide well may leave tiles empty).
double rows_over_tiles(double (*rows)(const Layer&, double), const Layer& l, double extent, double tiles) {
    if (tiles == 1.0) return rows(l, extent);  // what the lines below give for one tile, without the divisions
    const double b = dceil(extent, tiles);
    const double full = floor_exact(extent / b), rest = extent - full * b;
    return full * rows(l, b) + (rest > 0.0 ? rows(l, rest) : 0.0);
}

// The activation after a MAC layer on the vector units: cycles and energy (the same for every mapping).
double activation_cycles(const Layer& l, const Prep& p, const EdgeTpuArch& a) {
    return ceil_exact(p.out_elems * kActOps[static_cast<int>(l.act)] / (static_cast<double>(a.pes()) * double(a.simd)));
}
double activation_pj(const Layer& l, const Prep& p, const EnergyTable& e) {
    return p.out_elems * kActOps[static_cast<int>(l.act)] * e.vector_op_pj;
}

}  // namespace

Prep prepare(const Layer& l, const EdgeTpuArch& a, const EnergyTable& e) {
    Prep p;
    Shape& s = p.s;
    s.d[DimG] = static_cast<double>(l.groups);
    s.d[DimN] = static_cast<double>(l.n);
    s.d[DimK] = static_cast<double>(l.k / l.groups);
    s.d[DimC] = static_cast<double>(l.c / l.groups);
    s.d[DimP] = static_cast<double>(l.p);
    s.d[DimQ] = static_cast<double>(l.q);
    s.d[DimR] = static_cast<double>(l.r);
    s.d[DimS] = static_cast<double>(l.s);
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
    p.e_level[LevelCore] = e.sram_pj_per_byte(a.core_mem_bytes);
    p.e_level[LevelPe] = e.sram_pj_per_byte(a.pe_mem_bytes);
    // The on-chip source: the global memory, or the PE memories without one; a global memory smaller than a PE
    // memory cannot hold what a PE memory would, which then sits in the PE memories: never below their energy.
    p.e_level[LevelBypass] = e.sram_pj_per_byte(std::max(a.global_mem_bytes, a.pe_mem_bytes));
    p.act_cycles = activation_cycles(l, p, a);
    p.act_pj = activation_pj(l, p, e);
    p.onchip_bw = e.onchip_bytes_per_cycle > 0 ? e.onchip_bytes_per_cycle : double(a.simd * a.lanes);
    leak_terms(a, e, p.leak_mw_e3, p.clock_hz);
    p.macs_per_cycle = static_cast<double>(a.macs_per_cycle());
    return p;
}

double level_units(const EdgeTpuArch& a, const Mapping& m, int level) {
    if (m.factor[level] > 0) return static_cast<double>(m.factor[level]);
    switch (level) {
        case 0: return static_cast<double>(a.pe_x);
        case 1: return static_cast<double>(a.pe_y);
        case 2: return static_cast<double>(a.lanes);
        default: return static_cast<double>(a.simd);
    }
}

Unrolled unroll_shares(const Prep& p, const EdgeTpuArch& a, const Mapping& m) {
    Unrolled u{};
    double U[kDims], upe[kDims];
    std::fill(U, U + kDims, 1.0);
    std::fill(upe, upe + kDims, 1.0);
    for (int lev = 0; lev < kSpatialLevels; ++lev) {
        U[m.spatial[lev]] *= level_units(a, m, lev);
        if (lev < 2) upe[m.spatial[lev]] *= level_units(a, m, lev);
    }
    u.compute = 1.0;
    for (int d = 0; d < kDims; ++d) {  // extents are whole numbers: a dimension not unrolled keeps its own
        u.t[d] = U[d] == 1.0 ? p.s.d[d] : dceil(p.s.d[d], U[d]);
        u.share[d] = upe[d] == 1.0 ? p.s.d[d] : dceil(p.s.d[d], upe[d]);
        u.compute *= u.t[d];
    }
    return u;
}

void lane_reuse(const Prep& p, const EdgeTpuArch& a, const Mapping& m, double& bw_w, double& bw_i, double& red_o) {
    bw_w = bw_i = red_o = 1.0;
    for (int lev = 2; lev < kSpatialLevels; ++lev) {
        const std::int32_t d = m.spatial[lev];
        const double sz = std::min(level_units(a, m, lev), p.s.d[d]);
        if (d == DimN || d == DimP || d == DimQ) bw_w *= sz;
        if (d == DimK) bw_i *= sz;
        if (d == DimC) red_o *= sz;
    }
}

void unroll_terms(const Layer& l, const Prep& p, const EdgeTpuArch& a, const Mapping& m, Unrolled& u) {
    lane_reuse(p, a, m, u.bw_w, u.bw_i, u.red_o);
    const double* sh = u.share;
    u.w_pe = share_weight_bytes(l, a, sh);
    u.o_pe_elems = sh[DimN] * sh[DimG] * sh[DimK] * sh[DimP] * sh[DimQ];
    const double ab = double(a.act_bytes), wb = double(a.weight_bytes), pb = double(a.psum_bytes);
    u.rows_share = rows_p(l, sh[DimP]);
    u.cols_share = cols_q(l, sh[DimQ]);
    u.i_pe_whole = share_input_bytes(l, a, sh);  // sh[N] sh[G] sh[C] x rows_share x cols_share x act_bytes
    // Weight-stationary lanes: a weight serves the lane's N, P, Q loop. Output-stationary lanes: the accumulator
    // holds an output over its reduction in one tile (its partial sums depend on the C tiles: in cost_terms).
    const double reduction_steps = u.t[DimC] * u.t[DimR] * u.t[DimS];
    u.psum_ws = reduction_steps > 1.0 ? 2.0 * (p.macs / u.red_o) * pb : p.out_elems * ab;
    lane_reads(p, u.bw_w, u.bw_i, u.t[DimN], u.t[DimP], u.t[DimQ], wb, ab, u.w_reads_ws, u.w_reads_os, u.i_reads);
}

Unrolled unroll(const Layer& l, const Prep& p, const EdgeTpuArch& a, const Mapping& m) {
    Unrolled u = unroll_shares(p, a, m);
    unroll_terms(l, p, a, m, u);
    return u;
}

bool smallest_tile_bytes(const Layer& l, const EdgeTpuArch& a, double bytes[2]) {
    // Every tiled dimension split to one, but C: with C split too, the output element is a partial sum
    // (psum_bytes); with C whole, it is final (act_bytes) and the input tile holds every channel. The smaller
    // that fits is the smallest tile (the first when neither does).
    const double c = double(l.c / l.groups);
    const double w1 = double(l.r) * double(l.s) * w_word_bytes(l, a);
    const double i1 = rows_p(l, 1.0) * cols_q(l, 1.0) * double(a.act_bytes);
    const std::int32_t lw = w_level(l, a), li = a.level_of[SpaceI], lo = a.level_of[SpaceO];
    double alt[2][2];
    bool fits[2];
    for (int k = 0; k < 2; ++k) {
        const double cw = k == 0 ? 1.0 : c;  // channels per tile
        const double w = w1 * cw, i = i1 * cw, o = double((k == 0 && c > 1.0) ? a.psum_bytes : a.act_bytes);
        alt[k][0] = alt[k][1] = 0.0;
        if (lw != LevelBypass) alt[k][lw] += w;
        if (li != LevelBypass) alt[k][li] += i;
        if (lo != LevelBypass) alt[k][lo] += o;
        fits[k] = alt[k][0] <= a.core_mem_bytes / 2.0 * (1.0 + 1e-12) && alt[k][1] <= a.pe_mem_bytes / 2.0 * (1.0 + 1e-12);
    }
    const int pick = fits[0] ? 0 : fits[1] ? 1 : 0;
    bytes[0] = alt[pick][0];
    bytes[1] = alt[pick][1];
    return fits[pick];
}

void reload_factors(const std::int64_t* t, std::int32_t order, double r[kDataSpaces]) {
    const double k = double(t[DimK]), c = double(t[DimC]);
    const double x = double(t[DimN]) * double(t[DimP]) * double(t[DimQ]);
    const bool kt = t[DimK] > 1, ct = t[DimC] > 1, xt = x > 1.0;
    switch (order) {
        case OrderWeight:  // G, K, C, NPQ
            r[SpaceW] = 1.0;
            r[SpaceI] = (ct || xt) ? k : 1.0;
            r[SpaceO] = xt ? c : 1.0;
            break;
        case OrderOutput:  // G, K, NPQ, C
            r[SpaceW] = ct ? x : 1.0;
            r[SpaceI] = (ct || xt) ? k : 1.0;
            r[SpaceO] = 1.0;
            break;
        default:  // OrderInput: G, C, NPQ, K
            r[SpaceW] = kt ? x : 1.0;
            r[SpaceI] = 1.0;
            r[SpaceO] = (kt || xt) ? c : 1.0;
            break;
    }
}

void reload_factors_all(const std::int64_t* t, double r[kTileOrders][kDataSpaces]) {
    const double k = double(t[DimK]), c = double(t[DimC]);
    const double x = double(t[DimN]) * double(t[DimP]) * double(t[DimQ]);
    const bool kt = t[DimK] > 1, ct = t[DimC] > 1, xt = x > 1.0;
    r[OrderWeight][SpaceW] = 1.0;
    r[OrderWeight][SpaceI] = (ct || xt) ? k : 1.0;
    r[OrderWeight][SpaceO] = xt ? c : 1.0;
    r[OrderOutput][SpaceW] = ct ? x : 1.0;
    r[OrderOutput][SpaceI] = (ct || xt) ? k : 1.0;
    r[OrderOutput][SpaceO] = 1.0;
    r[OrderInput][SpaceW] = kt ? x : 1.0;
    r[OrderInput][SpaceI] = 1.0;
    r[OrderInput][SpaceO] = (kt || xt) ? c : 1.0;
}

TilingTerms tiling_terms(const Layer& l, const Unrolled& u, const EdgeTpuArch& a, const std::int64_t* tiles) {
    TilingTerms tt;
    tt.tb = tile_bytes(l, u, a, tiles);
    tt.fits = tiles_fit(l, tt.tb, a);
    reload_factors_all(tiles, tt.reload);
    return tt;
}

namespace {

// The terms of a mapping's cost that its tile order leaves alone (the reload factors carry the order): traffic and
// overheads at tile counts t, the first-tile fill at tf (first: its tiles' bytes), halos counted or not (evaluate:
// t = tf = the mapping's tiles, halos on; bounds: see tiling_bounds). Split from the order's terms (order_terms)
// so that a bound over every order computes them once; each value is the one expression cost_terms always used.
struct OrderFreeTerms {
    double ab, wb, pb, pes;
    bool act_w, w_offchip;
    std::int32_t lw, li, lo;
    double halo_factor, i_pe;
    double w_reads, psum_moved, w_reads_os, psum_os, i_reads;
    double fill_cycles, fill_io, overhead_cycles;
};

[[gnu::always_inline]] inline OrderFreeTerms order_free_terms(const Layer& l, const Prep& p, const Unrolled& u,
                                                              const EdgeTpuArch& a, const LayerContext& ctx,
                                                              const Mapping& m, const std::int64_t* t,
                                                              const std::int64_t* tf, bool halo,
                                                              const TileBytes& first) {
    OrderFreeTerms f;
    f.ab = double(a.act_bytes), f.wb = double(a.weight_bytes), f.pb = double(a.psum_bytes);
    f.pes = static_cast<double>(a.pes());
    f.act_w = l.operand_is_activation();
    f.lw = w_level(l, a), f.li = a.level_of[SpaceI], f.lo = a.level_of[SpaceO];

    // Input bytes brought into the PEs over all tiles: the halo rows of P and Q tiles are read again.
    f.halo_factor = 1.0;
    if (halo) {
        f.halo_factor = rows_over_tiles(rows_p, l, u.share[DimP], double(t[DimP])) / u.rows_share *
                        rows_over_tiles(cols_q, l, u.share[DimQ], double(t[DimQ])) / u.cols_share;
    }
    f.i_pe = u.i_pe_whole * f.halo_factor;

    // Off-chip traffic (DRAM or host link). A matmul's activation operand spills with the layer's input.
    f.w_offchip = f.act_w ? ctx.input_spilled : !ctx.weights_cached;
    // Lane stationarity (unroll): ws or os weight reads and partial sums; inner -1 (bounds over both): the fewer
    // weight reads (ws) and the less partial-sum traffic. Reads of the lanes are served by the memory holding the
    // data space (or its source when bypassed).
    const double w_reads_ws = u.w_reads_ws, psum_ws = u.psum_ws;
    f.w_reads_os = u.w_reads_os;
    f.psum_os = t[DimC] > 1 ? 2.0 * double(t[DimC]) * p.out_elems * f.pb : p.out_elems * f.ab;
    f.w_reads = m.inner == 1 ? f.w_reads_os : w_reads_ws;
    f.psum_moved = m.inner == 1 ? f.psum_os : psum_ws;
    if (m.inner < 0) {  // the lane stationarity changes no time term: the one with the less energy bounds both
        const double e_w = p.e_level[f.lw], e_o = p.e_level[f.lo];
        if (f.w_reads_os * e_w + f.psum_os * e_o < w_reads_ws * e_w + psum_ws * e_o) {
            f.w_reads = f.w_reads_os, f.psum_moved = f.psum_os;
        }
    }
    if (f.act_w) f.w_reads *= f.ab / f.wb;
    f.i_reads = u.i_reads;

    // The first tiles' fill and the tile overheads.
    const double onchip_bw = p.onchip_bw;
    const double n_w = double(tf[DimG]) * double(tf[DimK]) * double(tf[DimC]);
    const double n_i = double(tf[DimG]) * double(tf[DimN]) * double(tf[DimC]) * double(tf[DimP]) * double(tf[DimQ]);
    const double fill_w = f.lw == LevelBypass ? 0.0
                          : f.w_offchip       ? (p.w_layer / n_w) / a.io_bytes_per_cycle
                                              : first.w / onchip_bw;
    const double fill_i = f.li == LevelBypass ? 0.0
                          : ctx.input_spilled ? (p.i_layer / n_i) / a.io_bytes_per_cycle
                                              : first.i / onchip_bw;
    f.fill_io = (f.w_offchip ? fill_w : 0.0) + (ctx.input_spilled ? fill_i : 0.0);
    // Whole cycles for a mapping; unrounded in a bound (rounding would break it where the I/O part of the fill is
    // taken back out of the overlapped transfer, see finish()).
    f.fill_cycles = halo ? ceil_exact(fill_w + fill_i) : fill_w + fill_i;
    double n_tiles = 1.0;
    for (int d = 0; d < kTiledDims; ++d) n_tiles *= double(t[d]);
    f.overhead_cycles = a.layer_overhead_cycles + a.tile_overhead_cycles * n_tiles;
    return f;
}

// The rest of a mapping's cost, from its order's reload factors r (reload_factors at t; 1 for order -1, bounds
// over every order), written to v with finish()'s totals. os_energy_pj: see cost_terms.
// Inlined into each caller: where v is a local array (a score, a bound), the stores that only a full record reads go.
[[gnu::always_inline]] inline void order_terms(const OrderFreeTerms& f, const Prep& p, const Unrolled& u,
                                               const EdgeTpuArch& a, const EnergyTable& e, const LayerContext& ctx,
                                               const double r[kDataSpaces], double* v, double* os_energy_pj) {
    const std::int32_t lw = f.lw, li = f.li, lo = f.lo;
    const double* e_level = p.e_level;
    const double e_src = e_level[LevelBypass];
    const double spill = 2.0 * (r[SpaceO] - 1.0) * p.out_elems * f.pb;  // out and back, per extra visit
    // Tile fills into the PE memories (none for a bypassed data space: its reads go to the source instead).
    const double w_fill = lw == LevelBypass ? 0.0 : u.w_pe * f.pes * r[SpaceW];
    const double i_fill = li == LevelBypass ? 0.0 : f.i_pe * f.pes * r[SpaceI];

    const double w_src = lw == LevelBypass ? f.w_reads : p.w_layer * r[SpaceW];  // bytes from cache / DRAM
    const double i_src = li == LevelBypass ? f.i_reads : p.i_layer * r[SpaceI] * f.halo_factor;
    v[F_dram_w_bytes] = f.w_offchip ? w_src : 0.0;
    v[F_dram_i_bytes] = ctx.input_spilled ? i_src : 0.0;
    v[F_dram_o_bytes] = ctx.output_spilled ? p.out_elems * f.ab + spill : 0.0;
    v[F_onchip_w_bytes] = (!f.act_w && ctx.weights_cached) ? w_src : 0.0;
    v[F_psum_spill_bytes] = spill;

    const double w_moved = lw == LevelBypass ? 0.0 : f.w_reads + w_fill;  // in the PE memory holding W
    const double i_moved = li == LevelBypass ? 0.0 : f.i_reads + i_fill;
    const double o_moved = lo == LevelBypass ? 0.0 : f.psum_moved;
    double bytes_at[2] = {0.0, 0.0};
    if (lw != LevelBypass) bytes_at[lw] += w_moved;
    if (li != LevelBypass) bytes_at[li] += i_moved;
    if (lo != LevelBypass) bytes_at[lo] += o_moved;
    v[F_core_mem_bytes] = bytes_at[LevelCore];
    v[F_pe_mem_bytes] = bytes_at[LevelPe];

    // Time.
    v[F_macs] = p.macs;
    v[F_ops] = p.macs;
    v[F_compute_cycles] = u.compute;
    v[F_vector_cycles] = p.act_cycles;
    v[F_io_cycles] = (v[F_dram_w_bytes] + v[F_dram_i_bytes] + v[F_dram_o_bytes]) / a.io_bytes_per_cycle;
    v[F_fill_cycles] = f.fill_cycles;
    v[F_overhead_cycles] = f.overhead_cycles;

    // Energy: each data space's traffic at the energy per byte of the memory that serves it.
    v[F_mac_pj] = p.macs * e.mac_pj;
    v[F_vector_pj] = p.act_pj;
    v[F_core_w_pj] = lw == LevelBypass ? f.w_reads * e_src : w_moved * e_level[lw];
    v[F_pe_i_pj] = li == LevelBypass ? f.i_reads * e_src : i_moved * e_level[li];
    v[F_pe_o_pj] = (lo == LevelBypass ? f.psum_moved * e_src : o_moved * e_level[lo]) +
                   (ctx.output_spilled ? 0.0 : spill * e_src);
    v[F_onchip_w_pj] = v[F_onchip_w_bytes] * e_src;
    v[F_dram_w_pj] = v[F_dram_w_bytes] * e.dram_pj_per_byte;
    v[F_dram_i_pj] = v[F_dram_i_bytes] * e.dram_pj_per_byte;
    v[F_dram_o_pj] = v[F_dram_o_bytes] * e.dram_pj_per_byte;
    v[F_weights_cached] = ctx.weights_cached;
    v[F_input_spilled] = ctx.input_spilled;
    v[F_output_spilled] = ctx.output_spilled;
    finish_prepared(v, p, v[F_compute_cycles] + v[F_vector_cycles], f.fill_io);
    if (os_energy_pj != nullptr) {
        // The same mapping with output-stationary lanes (inner 1; called with inner 0 and the weights not bypassed,
        // where the lanes change only the weight reads and the partial sums moved, hence energy alone): its total,
        // with the same expressions summed in finish()'s order, so equal bit for bit to a call with inner 1.
        const double w_reads_1 = f.act_w ? f.w_reads_os * (f.ab / f.wb) : f.w_reads_os;
        const double core_w_pj = (w_reads_1 + w_fill) * e_level[lw];
        const double pe_o_pj = (lo == LevelBypass ? f.psum_os * e_src : f.psum_os * e_level[lo]) +
                               (ctx.output_spilled ? 0.0 : spill * e_src);
        *os_energy_pj = v[F_mac_pj] + v[F_vector_pj] + core_w_pj + v[F_pe_i_pj] + pe_o_pj + v[F_onchip_w_pj] +
                        v[F_dram_w_pj] + v[F_dram_i_pj] + v[F_dram_o_pj] + v[F_leak_pj];
    }
}

// Every term of a mapping's cost (order_free_terms, then order_terms with the order's reload factors at t: reload
// when the caller has them, else computed here).
[[gnu::always_inline]] inline void cost_terms(const Layer& l, const Prep& p, const Unrolled& u, const EdgeTpuArch& a,
                                              const EnergyTable& e, const LayerContext& ctx, const Mapping& m,
                                              const std::int64_t* t, const std::int64_t* tf, bool halo,
                                              const TileBytes& first, double* v, double* os_energy_pj = nullptr,
                                              const double* reload = nullptr) {
    const OrderFreeTerms f = order_free_terms(l, p, u, a, ctx, m, t, tf, halo, first);
    double r[kDataSpaces] = {1.0, 1.0, 1.0};  // order -1 (bounds over every order): no reloads
    if (reload != nullptr) {
        std::copy(reload, reload + kDataSpaces, r);
    } else if (m.order >= 0) {
        reload_factors(t, m.order, r);
    }
    order_terms(f, p, u, a, e, ctx, r, v, os_energy_pj);
}

}  // namespace

EdgeTpuCost evaluate_prepared(const Layer& l, const Prep& p, const Unrolled& u, const EdgeTpuArch& a,
                              const EnergyTable& e, const LayerContext& ctx, const Mapping& m) {
    const TileBytes tb = tile_bytes(l, u, a, m.tiles);
    if (!tiles_fit(l, tb, a)) return failed(Status::NoMapping);
    EdgeTpuCost c;
    cost_terms(l, p, u, a, e, ctx, m, m.tiles, m.tiles, true, tb, c.v);
    fill_mapping_fields(c, m);
    flag_nonfinite(c);
    return c;
}

bool score_prepared(const Layer& l, const Prep& p, const Unrolled& u, const EdgeTpuArch& a, const EnergyTable& e,
                    const LayerContext& ctx, const Mapping& m, const TilingTerms& tt, double& cycles,
                    double& energy_pj) {
    if (!tt.fits) return false;
    double v[kEdgeTpuOutFields];  // every value the two totals read is written first
    cost_terms(l, p, u, a, e, ctx, m, m.tiles, m.tiles, true, tt.tb, v, nullptr, tt.reload[m.order]);
    cycles = v[F_cycles];
    energy_pj = v[F_energy_pj];
    return std::isfinite(cycles) && std::isfinite(energy_pj);
}

bool score_prepared_lanes(const Layer& l, const Prep& p, const Unrolled& u, const EdgeTpuArch& a, const EnergyTable& e,
                          const LayerContext& ctx, const Mapping& m, const TilingTerms& tt, double& cycles,
                          double energy_pj[2], bool ok[2]) {
    ok[0] = ok[1] = false;
    if (w_level(l, a) == LevelBypass) return false;  // the lanes change the bytes read from the source: not here
    if (!tt.fits) return true;                       // both scored: neither fits
    Mapping ws = m;
    ws.inner = 0;
    double v[kEdgeTpuOutFields];
    cost_terms(l, p, u, a, e, ctx, ws, ws.tiles, ws.tiles, true, tt.tb, v, &energy_pj[1], tt.reload[m.order]);
    cycles = v[F_cycles];
    energy_pj[0] = v[F_energy_pj];
    ok[0] = std::isfinite(cycles) && std::isfinite(energy_pj[0]);
    ok[1] = std::isfinite(cycles) && std::isfinite(energy_pj[1]);
    return true;
}

void tiling_bounds(const Layer& l, const Prep& p, const Unrolled& u, const EdgeTpuArch& a, const EnergyTable& e,
                   const LayerContext& ctx, const Mapping& m, const std::int64_t* lo, const std::int64_t* hi,
                   const TileBytes& hi_bytes, double& lb_cycles, double& lb_energy, double& lb_fill_cycles) {
    double v[kEdgeTpuOutFields];
    cost_terms(l, p, u, a, e, ctx, m, lo, hi, false, hi_bytes, v);
    lb_cycles = v[F_cycles];
    lb_energy = v[F_energy_pj];
    lb_fill_cycles = v[F_fill_cycles];
}

void tiling_bounds_orders(const Layer& l, const Prep& p, const Unrolled& u, const EdgeTpuArch& a, const EnergyTable& e,
                          const LayerContext& ctx, const Mapping& m, const std::int32_t* orders, int n_orders,
                          const std::int64_t* lo, const std::int64_t* hi, const TileBytes& hi_bytes, double* lb_cycles,
                          double* lb_energy) {
    const OrderFreeTerms f = order_free_terms(l, p, u, a, ctx, m, lo, hi, false, hi_bytes);
    double r[kTileOrders][kDataSpaces];
    reload_factors_all(lo, r);
    for (int i = 0; i < n_orders; ++i) {
        double v[kEdgeTpuOutFields];
        order_terms(f, p, u, a, e, ctx, r[orders[i]], v, nullptr);
        lb_cycles[i] = v[F_cycles];
        lb_energy[i] = v[F_energy_pj];
    }
}

namespace {

// cycles = fill + max(exec, io after the fill) + layer overhead + tile overhead x tiles (finish()), each term >= 0
// and at least one tile: at least the compute and activation cycles and the overheads at one tile.
double floor_cycles(const Prep& p, double compute, const EdgeTpuArch& a) {
    return (compute + p.act_cycles) + (a.layer_overhead_cycles + a.tile_overhead_cycles);
}

}  // namespace

void unrolled_floor(const Prep& p, double compute, const EdgeTpuArch& a, const EnergyTable& e, double& lb_cycles,
                    double& lb_energy) {
    // cycles: floor_cycles; energy = MAC + activation + memory terms (>= 0) + leakage, which grows with the
    // cycles. Summed in the same order as finish(), so rounding keeps the floor below every mapping's value.
    lb_cycles = floor_cycles(p, compute, a);
    lb_energy = (p.macs * e.mac_pj + p.act_pj) + leak_pj(p.leak_mw_e3, p.clock_hz, lb_cycles);
}

void unrolled_floor_traffic(const Layer& l, const Prep& p, double compute, const double* t, const double* share,
                            const Mapping& m, const EdgeTpuArch& a, const EnergyTable& e, double& lb_cycles,
                            double& lb_energy) {
    // unrolled_floor's terms with the lanes' reads and the first fills added: cost_terms' core_w_pj is (weight
    // reads + fills) x the energy per byte of W's memory, or the reads x the source's where W bypasses the PE; the
    // reads are the ws or the os count (inner -1: either), so at least the lesser; the fills are the PE's weight
    // share x PEs x a reload factor >= 1 (at least the share x PEs). pe_i_pj likewise (input reads, the input
    // share, no halo in a bound). Each is the same expression as cost_terms' on the same values (lane_reuse,
    // lane_reads, share_*_bytes), and the sum keeps finish()'s order (the terms between are >= 0), so the floor
    // stays below every bound.
    lb_cycles = floor_cycles(p, compute, a);
    const double ab = double(a.act_bytes), wb = double(a.weight_bytes);
    double bw_w = 1.0, bw_i = 1.0, red_o = 1.0, w_ws = 0.0, w_os = 0.0, i_reads = 0.0;
    lane_reuse(p, a, m, bw_w, bw_i, red_o);
    lane_reads(p, bw_w, bw_i, t[DimN], t[DimP], t[DimQ], wb, ab, w_ws, w_os, i_reads);
    double w_reads = std::min(w_ws, w_os);
    if (l.operand_is_activation()) w_reads *= ab / wb;
    const double* e_level = p.e_level;  // by MemLevel, as cost_terms' (bypassed: the source)
    const double pes = static_cast<double>(a.pes());
    const std::int32_t lw = w_level(l, a), li = a.level_of[SpaceI];
    const double w_moved = lw == LevelBypass ? w_reads : w_reads + share_weight_bytes(l, a, share) * pes;
    const double i_moved = li == LevelBypass ? i_reads : i_reads + share_input_bytes(l, a, share) * pes;
    const double core_w_pj = w_moved * e_level[lw];
    const double pe_i_pj = i_moved * e_level[li];
    lb_energy = (p.macs * e.mac_pj + p.act_pj) + core_w_pj + pe_i_pj + leak_pj(p.leak_mw_e3, p.clock_hz, lb_cycles);
}

}  // namespace detail

EdgeTpuCost evaluate_edgetpu_mapping(const Layer& l, const EdgeTpuArch& a, const EnergyTable& e, const LayerContext& ctx,
                                     const Mapping& m) {
    using namespace detail;
    if (*l.invalid_field() != '\0') {
        return failed(Status::InvalidLayer);
    }
    if (!l.is_mac()) return evaluate_vector_layer(l, a, e, ctx);
    const Prep p = prepare(l, a, e);
    bool legal = (m.order >= 0 && m.order < kTileOrders) && (m.inner == 0 || m.inner == 1);
    for (int lev = 0; lev < kSpatialLevels; ++lev) {
        legal = legal && m.spatial[lev] >= 0 && m.spatial[lev] < kDims && m.factor[lev] >= 0 &&
                double(m.factor[lev]) <= level_units(a, Mapping{}, lev);
    }
    if (!legal) return failed(Status::NoMapping);  // a mapping from outside the map space (the C++ API takes any)
    const Unrolled u = unroll(l, p, a, m);
    for (int d = 0; d < kTiledDims; ++d) legal = legal && m.tiles[d] >= 1 && double(m.tiles[d]) <= u.share[d];
    if (!legal) {
        return failed(Status::NoMapping);
    }
    return evaluate_prepared(l, p, u, a, e, ctx, m);
}

}  // namespace codesign
