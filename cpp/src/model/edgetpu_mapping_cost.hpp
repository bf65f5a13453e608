// The cost of one mapping of a MAC layer on the Edge-TPU-like template, in pieces the mapper (cpp/src/mapper/)
// reuses: what a layer fixes (Prep), what a spatial unrolling fixes (Unrolled), and the terms of a temporal tiling
// (evaluate_tiling), with lower bounds for branch and bound. Internal to the core.
//
// Schedule counted (docs: README "Edge-TPU mapper"): per PE, the layer's share (its extent after the PE-level
// unrolling) is split into tiles of ceil(share / tiles) along G, N, K, C, P, Q; tiles of each data space sit in the
// memory its role names (arch.level_of), all tiles of one memory together in half of it (double buffering).
// The tile loops run in one of three orders (mapper/mapping.hpp); a data space's tiles are brought into the PE
// (re-fetched) each time the loop nest revisits them: visits / distinct tiles = its reload factor, closed forms in
// reload_factors(). Partial sums: an output tile whose C reduction is split over tiles is held at psum_bytes per
// element; when the order leaves it between C tiles it is written out and read back at psum_bytes (to the on-chip
// source, or DRAM when the layer's output spills), counted in psum_spill_bytes.
#pragma once

#include <algorithm>

#include "edgetpu_internal.hpp"

namespace codesign::detail {

struct Shape {
    double d[kDims];
};

// Per-layer quantities that do not depend on the mapping, and the arch's and energy table's terms every mapping's
// cost uses (energy per byte of each memory, the activation's cycles and energy, the leakage rate), computed once
// with the same expressions the cost would evaluate, so the cost's bits do not change.
struct Prep {
    Shape s;
    double macs, out_elems, w_layer, i_layer;
    double e_level[3];             // pJ per byte by MemLevel: core memory, PE memory, the on-chip source (bypass)
    double act_cycles, act_pj;     // the activation after the layer on the vector units
    double onchip_bw;              // on-chip fill bytes per cycle
    double leak_mw_e3, clock_hz;   // leakage (mW x 1e-3) and the clock, for leak_pj(cycles)
    double macs_per_cycle;
};
Prep prepare(const Layer& l, const EdgeTpuArch& a, const EnergyTable& e);

// finish() (edgetpu_internal.hpp) on a record's values with the arch's and energy table's terms from the layer's Prep.
inline void finish_prepared(double* v, const Prep& p, double exec_cycles, double fill_io_cycles) {
    finish_values(v, p.macs_per_cycle, p.leak_mw_e3, p.clock_hz, exec_cycles, fill_io_cycles);
}

// What a spatial unrolling fixes: per-PE extents (share), the temporal extent t[d] per MAC unit, compute cycles
// (their product), the in-PE reuse of the lanes and SIMD levels (MACs per weight read, per input read, partial sums
// per reduction), and the per-PE footprints of the three data spaces (whole share, no tiling).
struct Unrolled {
    double share[kDims];
    double t[kDims];
    double compute;
    double bw_w, bw_i, red_o;
    double w_pe, o_pe_elems;
    // Terms of the cost that the tiling does not change: the input rows and columns of the whole share, its input
    // bytes per PE before halos, the lanes' weight reads (ws, os), partial sums moved (ws) and input reads.
    double rows_share, cols_share, i_pe_whole;
    double w_reads_ws, w_reads_os, psum_ws, i_reads;
};
Unrolled unroll(const Layer& l, const Prep& p, const EdgeTpuArch& a, const Mapping& m);
// unroll() in two steps, for a search that ranks many unrollings by their floor before it costs any: the shares,
// temporal extents and compute cycles (all that unrolled_floor, tile_range and compact_tilings read), then the rest.
Unrolled unroll_shares(const Prep& p, const EdgeTpuArch& a, const Mapping& m);
void unroll_terms(const Layer& l, const Prep& p, const EdgeTpuArch& a, const Mapping& m, Unrolled& u);

// The in-PE reuse of the lanes and SIMD levels (Unrolled's bw_w, bw_i, red_o), as unroll_terms computes it.
void lane_reuse(const Prep& p, const EdgeTpuArch& a, const Mapping& m, double& bw_w, double& bw_i, double& red_o);
// The lanes' weight reads, ws and os, and input reads in bytes (Unrolled's w_reads_ws, w_reads_os, i_reads) from
// the reuse and the temporal extents of N, P and Q: one expression for unroll_terms and unrolled_floor_traffic.
inline void lane_reads(const Prep& p, double bw_w, double bw_i, double t_n, double t_p, double t_q, double wb,
                       double ab, double& w_ws, double& w_os, double& i_reads) {
    w_ws = p.macs / (bw_w * t_n * t_p * t_q) * wb;
    w_os = p.macs / bw_w * wb;
    i_reads = p.macs / bw_i * ab;
}

// Units of a spatial level the mapping uses (its factor, else the whole level).
double level_units(const EdgeTpuArch& a, const Mapping& m, int level);

// The tile helpers below are inline: the mapper calls them for every tiling it lists, scores or bounds.

// Where the second operand of a MAC layer lives. Weights (Op::Mac) are parameters, cached on chip or streamed;
// an activation-by-activation matmul's second operand (Op::MatMul) is an earlier layer's output: activation word
// size, held where the inputs are.
inline double w_word_bytes(const Layer& l, const EdgeTpuArch& a) {
    return double(l.operand_is_activation() ? a.act_bytes : a.weight_bytes);
}
inline std::int32_t w_level(const Layer& l, const EdgeTpuArch& a) {
    return l.operand_is_activation() ? a.level_of[SpaceI] : a.level_of[SpaceW];
}

// Input rows (or columns) that `out` consecutive output rows read: the window span, at most `taps` rows per output
// row (a dilated or strided window skips rows), at most the padded input.
inline double in_rows(double out, double taps, double stride, double dilation, double size, double pad) {
    const double span = (out - 1.0) * stride + (taps - 1.0) * dilation + 1.0;
    return std::min({span, out * taps, size + 2.0 * pad});
}
inline double rows_p(const Layer& l, double out) {
    return in_rows(out, double(l.r), double(l.stride_h), double(l.dilation_h), double(l.h), double(l.pad_h));
}
inline double cols_q(const Layer& l, double out) {
    return in_rows(out, double(l.s), double(l.stride_w), double(l.dilation_w), double(l.w), double(l.pad_w));
}
// A PE's share of the weights and of the inputs (no halos), bytes, from its per-PE extents sh: Unrolled's w_pe
// and i_pe_whole (one expression for unroll_terms and unrolled_floor_traffic).
inline double share_weight_bytes(const Layer& l, const EdgeTpuArch& a, const double* sh) {
    return sh[DimG] * sh[DimK] * sh[DimC] * sh[DimR] * sh[DimS] * w_word_bytes(l, a);
}
inline double share_input_bytes(const Layer& l, const EdgeTpuArch& a, const double* sh) {
    return sh[DimN] * sh[DimG] * sh[DimC] * rows_p(l, sh[DimP]) * cols_q(l, sh[DimQ]) * double(a.act_bytes);
}
inline double tile_extent(const Unrolled& u, const std::int64_t* tiles, int d) {
    return tiles[d] == 1 ? u.share[d] : dceil(u.share[d], double(tiles[d]));  // shares are whole numbers
}

// Bytes of each data space's largest tile per PE, and whether each memory's tiles fit half of it.
struct TileBytes {
    double w, i, o;
};
// The weight tile's bytes alone (tile_bytes' w; it depends on the G, K and C counts only).
inline double weight_tile_bytes(const Layer& l, const Unrolled& u, const EdgeTpuArch& a, const std::int64_t* tiles) {
    return tile_extent(u, tiles, DimG) * tile_extent(u, tiles, DimK) * tile_extent(u, tiles, DimC) * u.share[DimR] *
           u.share[DimS] * w_word_bytes(l, a);
}
inline TileBytes tile_bytes(const Layer& l, const Unrolled& u, const EdgeTpuArch& a, const std::int64_t* tiles) {
    double b[kTiledDims];
    for (int d = 0; d < kTiledDims; ++d) b[d] = tile_extent(u, tiles, d);
    TileBytes tb;
    tb.w = weight_tile_bytes(l, u, a, tiles);
    tb.i = b[DimN] * b[DimG] * b[DimC] * rows_p(l, b[DimP]) * cols_q(l, b[DimQ]) * double(a.act_bytes);
    tb.o = b[DimN] * b[DimG] * b[DimK] * b[DimP] * b[DimQ] * double(tiles[DimC] > 1 ? a.psum_bytes : a.act_bytes);
    return tb;
}

inline bool tiles_fit(const Layer& l, const TileBytes& tb, const EdgeTpuArch& a) {
    double need[2] = {0.0, 0.0};
    const std::int32_t lw = w_level(l, a), li = a.level_of[SpaceI], lo = a.level_of[SpaceO];
    if (lw != LevelBypass) need[lw] += tb.w;
    if (li != LevelBypass) need[li] += tb.i;
    if (lo != LevelBypass) need[lo] += tb.o;
    return need[LevelCore] <= a.core_mem_bytes / 2.0 * (1.0 + 1e-12) &&
           need[LevelPe] <= a.pe_mem_bytes / 2.0 * (1.0 + 1e-12);
}

// The smallest tile of a layer (one output element's working set) per memory: bytes[0] in core memory, bytes[1] in
// PE memory, under the arch's memory roles. True when it fits (then, and only then, the layer has a legal mapping
// without constraints).
bool smallest_tile_bytes(const Layer& l, const EdgeTpuArch& a, double bytes[2]);

// Reload factors (visits / distinct tiles) of W, I, O for tile counts and an order (closed forms of the loop nest).
void reload_factors(const std::int64_t* tiles, std::int32_t order, double r[kDataSpaces]);
// The same for every order at once: r[order], equal to reload_factors(tiles, order, r[order]).
void reload_factors_all(const std::int64_t* tiles, double r[kTileOrders][kDataSpaces]);

// What a tiling fixes for every order and lane stationarity: its tiles' bytes (tile_bytes), whether they fit
// (tiles_fit), each order's reload factors (reload_factors_all).
struct TilingTerms {
    TileBytes tb;
    bool fits;
    double reload[kTileOrders][kDataSpaces];
};
TilingTerms tiling_terms(const Layer& l, const Unrolled& u, const EdgeTpuArch& a, const std::int64_t* tiles);

// Full cost of a mapping (legality of the tiles checked: NoMapping when they do not fit).
EdgeTpuCost evaluate_prepared(const Layer& l, const Prep& p, const Unrolled& u, const EdgeTpuArch& a,
                              const EnergyTable& e, const LayerContext& ctx, const Mapping& m);

// A mapping's cycles and energy alone (the mapper's score of a tiling; the full record is built for the winner):
// false when its tiles do not fit or either value is not finite. Where it is true and evaluate_prepared's record
// is Ok, the two values are the record's, bit for bit (the same terms, summed the same way). tt: tiling_terms of
// m.tiles (the same for every order and lane stationarity of a tiling).
bool score_prepared(const Layer& l, const Prep& p, const Unrolled& u, const EdgeTpuArch& a, const EnergyTable& e,
                    const LayerContext& ctx, const Mapping& m, const TilingTerms& tt, double& cycles,
                    double& energy_pj);

// Both lane stationarities of a mapping in one pass (the mapper's score when the constraints allow both): cycles
// (the same for both) and energy_pj[inner], ok[inner] as score_prepared's result for that inner, bit for bit. False
// (nothing scored) when the weights bypass the PE: then the lanes change the bytes read from the source, and each
// inner is scored on its own.
bool score_prepared_lanes(const Layer& l, const Prep& p, const Unrolled& u, const EdgeTpuArch& a, const EnergyTable& e,
                          const LayerContext& ctx, const Mapping& m, const TilingTerms& tt, double& cycles,
                          double energy_pj[2], bool ok[2]);

// Lower bounds (cycles, pJ) of every tiling whose counts lie between lo and hi per dimension (lo <= tiles <= hi),
// for the mapping's spatial unrolling, order and lane stationarity: the traffic and tile-overhead terms at lo (they
// never fall as counts grow), the first-tile fill at hi (it never grows; returned apart too), halos left out.
// hi_bytes: tile_bytes(l, u, a, hi).
void tiling_bounds(const Layer& l, const Prep& p, const Unrolled& u, const EdgeTpuArch& a, const EnergyTable& e,
                   const LayerContext& ctx, const Mapping& m, const std::int64_t* lo, const std::int64_t* hi,
                   const TileBytes& hi_bytes, double& lb_cycles, double& lb_energy, double& lb_fill_cycles);

// tiling_bounds for each of n_orders orders (the mapping's order replaced; its lane stationarity kept), in one call:
// lb_cycles[i], lb_energy[i] for orders[i], bit for bit tiling_bounds' (the order-free terms computed once).
void tiling_bounds_orders(const Layer& l, const Prep& p, const Unrolled& u, const EdgeTpuArch& a, const EnergyTable& e,
                          const LayerContext& ctx, const Mapping& m, const std::int32_t* orders, int n_orders,
                          const std::int64_t* lo, const std::int64_t* hi, const TileBytes& hi_bytes, double* lb_cycles,
                          double* lb_energy);

// Lower bounds (cycles, pJ) of every mapping of a spatial unrolling, whatever its tiling, order and lane
// stationarity: the compute and activation cycles, the fixed overheads at one tile, MAC and activation energy and
// the leakage over those cycles. Cheaper than tiling_bounds (no tile terms) and never above it. compute: the
// unrolling's compute cycles (Unrolled::compute).
void unrolled_floor(const Prep& p, double compute, const EdgeTpuArch& a, const EnergyTable& e, double& lb_cycles,
                    double& lb_energy);
// unrolled_floor with the weight and input traffic of the PE memories in the energy: the lanes' reads (at least
// the fewer of the ws and os weight reads) and the first fill of W's and I's tiles (each tile at least once), at
// the energy per byte of the memories holding W and I. Tighter where energy ranks mappings (energy, EDP); still
// never above tiling_bounds. t, share: the unrolling's temporal and per-PE extents (Unrolled's); m: its spatial
// fields.
void unrolled_floor_traffic(const Layer& l, const Prep& p, double compute, const double* t, const double* share,
                            const Mapping& m, const EdgeTpuArch& a, const EnergyTable& e, double& lb_cycles,
                            double& lb_energy);

}  // namespace codesign::detail
