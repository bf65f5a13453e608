// Tests of the mapper's table forms and bounds (test_core.cpp runs them): the compact search's tile range, the
// distinct-orders table and the unrolling table against what they stand for, bit for bit; every listed compact
// tiling fits; the energy metrics' floor never above a bound or a mapping's cost.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "../src/mapper/map_space.hpp"
#include "check.hpp"
#include "codesign/arch/edgetpu.hpp"
#include "codesign/mapper/mapper.hpp"
#include "codesign/model/edgetpu_cost.hpp"
#include "codesign/workload/layer.hpp"

using namespace codesign;

namespace codesign_tests {
namespace {

// The compact search's tile range (closed form) equals the ends and counts of the tile choices listed.
void test_tile_range_matches_the_listing() {
    std::vector<double> extents;
    for (int e = 1; e <= 3000; ++e) extents.push_back(e);
    for (int k = 20; k < 62; ++k) {
        const double p = std::ldexp(1.0, k);
        extents.push_back(p - 1.0), extents.push_back(p), extents.push_back(p + 1.0);
    }
    for (const double e : extents) {
        detail::Unrolled u{};
        for (int d = 0; d < kTiledDims; ++d) u.share[d] = e;
        for (const std::int64_t fixed : {std::int64_t{0}, std::int64_t{1}, std::int64_t{3}, std::int64_t{5000}}) {
            MapConstraints c;
            c.tiles[2] = fixed;
            const detail::TileRange a = detail::tile_range(u, c);
            const detail::TileChoices b = detail::tile_choices(u, c);
            for (int d = 0; d < kTiledDims; ++d) {
                CHECK_EQ(a.n[d], b.n[d]);
                CHECK_EQ(a.lo[d], b.n[d] > 0 ? b.count[d][0] : 0);
                CHECK_EQ(a.hi[d], b.n[d] > 0 ? b.count[d][b.n[d] - 1] : 0);
            }
        }
    }
}

// The mapper's table forms equal what they stand for: distinct_orders_of the reload-factor comparison for random
// tile counts and every fixed order; an UnrollTable's expansion unroll_shares and tile_range for every spatial
// unrolling of random layers on random grids (bit for bit).
void test_mapper_tables() {
    for (int i = 0; i < 20000; ++i) {
        std::int64_t tiles[kTiledDims];
        for (std::int64_t& t : tiles) t = uniform(0, 3) == 0 ? uniform(2, 9) : 1;
        for (std::int32_t fixed = -1; fixed < kTileOrders; ++fixed) {
            MapConstraints c;
            c.order = fixed;
            std::int32_t a[kTileOrders], b[kTileOrders];
            const int na = detail::distinct_orders(tiles, c, a), nb = detail::distinct_orders_of(tiles, c, b);
            CHECK_EQ(na, nb);
            for (int k = 0; k < na && k < nb; ++k) CHECK_EQ(a[k], b[k]);
        }
    }
    std::int64_t wrong = 0, unrollings = 0;
    for (int i = 0; i < 300; ++i) {
        Layer l;
        l.n = uniform(1, 3), l.k = uniform(1, 700), l.c = uniform(1, 700), l.p = uniform(1, 120), l.q = uniform(1, 120);
        l.r = l.s = uniform(1, 5), l.h = l.p + l.r - 1, l.w = l.q + l.s - 1;
        EdgeTpuArch a;
        a.pe_x = uniform(1, 9), a.pe_y = uniform(1, 9), a.lanes = uniform(1, 9), a.simd = uniform(1, 130);
        MapConstraints c;
        if (i % 3 == 0) c.factor[0] = uniform(1, a.pe_x), c.tiles[DimK] = uniform(1, 4);
        const detail::Prep p = detail::prepare(l, a, EnergyTable{});
        std::vector<Mapping> spatial;
        detail::spatial_unrollings(p.s, a, c, spatial);
        detail::UnrollTable table(p, a, c);
        for (const Mapping& m : spatial) {
            const detail::UnrollTable::Entry x = table.add(m);
            detail::Unrolled u;
            detail::TileRange tr;
            table.expand(x, u, tr);
            const detail::Unrolled v = detail::unroll_shares(p, a, m);
            const detail::TileRange r = detail::tile_range(v, c);
            wrong += std::memcmp(u.t, v.t, sizeof(u.t)) != 0 || std::memcmp(u.share, v.share, sizeof(u.share)) != 0;
            wrong += u.compute != v.compute || x.compute != v.compute || x.tilings != r.product();
            wrong += std::memcmp(tr.lo, r.lo, sizeof(tr.lo)) != 0 || std::memcmp(tr.hi, r.hi, sizeof(tr.hi)) != 0 ||
                     std::memcmp(tr.n, r.n, sizeof(tr.n)) != 0;
            ++unrollings;
        }
    }
    CHECK(unrollings > 1000);
    CHECK_EQ(wrong, 0);
}

// Every compact tiling fits (compact_tilings checks only the fewest activation split of each weight split: larger
// counts fit by monotonicity), on random layers, grids, memory sizes and memory roles; and the listing is not
// empty where the finest split of the finest weight split fits.
void test_compact_tilings_fit() {
    std::int64_t listed = 0, unfit = 0;
    for (int i = 0; i < 400; ++i) {
        Layer l;
        l.n = uniform(1, 3), l.k = uniform(1, 700), l.c = uniform(1, 700), l.p = uniform(1, 120), l.q = uniform(1, 120);
        l.r = l.s = uniform(1, 5), l.stride_h = l.stride_w = uniform(1, 2);
        l.h = (l.p - 1) * l.stride_h + l.r, l.w = (l.q - 1) * l.stride_w + l.s;
        EdgeTpuArch a;
        a.pe_x = uniform(1, 9), a.pe_y = uniform(1, 9), a.lanes = uniform(1, 9), a.simd = uniform(1, 130);
        a.core_mem_bytes = double(uniform(1, 1 << 12)) * 1024.0, a.pe_mem_bytes = double(uniform(1, 1 << 10)) * 1024.0;
        for (int s = 0; s < kDataSpaces; ++s) a.level_of[s] = static_cast<std::int32_t>(uniform(0, 2));
        a.psum_bytes = uniform(1, 4);
        const detail::Prep p = detail::prepare(l, a, EnergyTable{});
        std::vector<Mapping> spatial;
        detail::spatial_unrollings(p.s, a, MapConstraints{}, spatial);
        for (std::size_t j = 0; j < spatial.size(); j += 7) {
            const detail::Unrolled u = detail::unroll_shares(p, a, spatial[j]);
            std::vector<detail::Tiling> out;
            detail::compact_tilings(l, u, a, MapConstraints{}, out);
            for (const detail::Tiling& t : out) unfit += !detail::tiles_fit(l, detail::tile_bytes(l, u, a, t.data()), a);
            listed += static_cast<std::int64_t>(out.size());
        }
    }
    CHECK(listed > 1000);
    CHECK_EQ(unfit, 0);
}

// The energy metrics' floor of a spatial unrolling (unrolled_floor_traffic) is never above tiling_bounds over its
// whole tile range, in any order and lane stationarity (fixed or both), memory roles and context, nor than the
// cost of any of its compact tilings; and it is above unrolled_floor's somewhere (it adds terms).
void test_energy_floor_below_bounds() {
    std::int64_t above = 0, tighter = 0, compared = 0;
    for (int i = 0; i < 300; ++i) {
        Layer l;
        l.n = uniform(1, 2), l.k = uniform(1, 300), l.c = uniform(1, 300), l.p = uniform(1, 60), l.q = uniform(1, 60);
        l.r = l.s = uniform(1, 3), l.stride_h = l.stride_w = uniform(1, 2);
        l.h = (l.p - 1) * l.stride_h + l.r, l.w = (l.q - 1) * l.stride_w + l.s;
        if (i % 4 == 0) l.groups = l.c = l.k;  // depthwise
        EdgeTpuArch a;
        a.pe_x = uniform(1, 6), a.pe_y = uniform(1, 6), a.lanes = uniform(1, 8), a.simd = uniform(1, 64);
        a.core_mem_bytes = double(uniform(1, 1 << 9)) * 1024.0, a.pe_mem_bytes = double(uniform(1, 1 << 9)) * 1024.0;
        a.global_mem_bytes = i % 3 == 0 ? double(uniform(1, 1 << 12)) * 1024.0 : 0.0;
        for (int s = 0; s < kDataSpaces; ++s) a.level_of[s] = static_cast<std::int32_t>(uniform(0, 2));
        a.tile_overhead_cycles = double(uniform(0, 3)), a.layer_overhead_cycles = double(uniform(0, 50));
        LayerContext ctx;
        ctx.weights_cached = uniform(0, 1) == 1, ctx.input_spilled = uniform(0, 1) == 1;
        ctx.output_spilled = uniform(0, 1) == 1;
        const EnergyTable e;
        const detail::Prep p = detail::prepare(l, a, e);
        std::vector<Mapping> spatial;
        detail::spatial_unrollings(p.s, a, MapConstraints{}, spatial);
        for (std::size_t j = 0; j < spatial.size(); j += 5) {
            const Mapping& m = spatial[j];
            const detail::Unrolled u = detail::unroll(l, p, a, m);
            const detail::TileRange tr = detail::tile_range(u, MapConstraints{});
            if (tr.product() == 0.0) continue;
            double fc = 0.0, fe = 0.0, oc = 0.0, oe = 0.0;
            detail::unrolled_floor_traffic(l, p, u.compute, u.t, u.share, m, a, e, fc, fe);
            detail::unrolled_floor(p, u.compute, a, e, oc, oe);
            CHECK_EQ(fc, oc);
            tighter += fe > oe;
            const detail::TileBytes hi_bytes = detail::tile_bytes(l, u, a, tr.hi);
            for (std::int32_t order = 0; order < kTileOrders; ++order)
                for (std::int32_t inner = -1; inner < 2; ++inner) {
                    Mapping mo = m;
                    mo.order = order, mo.inner = inner;
                    double bc = 0.0, be = 0.0, fill = 0.0;
                    detail::tiling_bounds(l, p, u, a, e, ctx, mo, tr.lo, tr.hi, hi_bytes, bc, be, fill);
                    above += fe > be || fc > bc;
                    ++compared;
                }
            std::vector<detail::Tiling> tilings;
            detail::compact_tilings(l, u, a, MapConstraints{}, tilings);
            for (const detail::Tiling& t : tilings) {
                Mapping mo = m;
                std::copy(t.begin(), t.end(), mo.tiles);
                for (std::int32_t order = 0; order < kTileOrders; ++order)
                    for (std::int32_t inner = 0; inner < 2; ++inner) {
                        mo.order = order, mo.inner = inner;
                        const EdgeTpuCost c = detail::evaluate_prepared(l, p, u, a, e, ctx, mo);
                        if (c.status != Status::Ok) continue;
                        above += fe > c.v[F_energy_pj] || fc > c.v[F_cycles];
                        ++compared;
                    }
            }
        }
    }
    CHECK(compared > 10000);
    CHECK(tighter > 100);
    CHECK_EQ(above, 0);
}

}  // namespace

void run_mapper_table_tests() {
    test_tile_range_matches_the_listing();
    test_mapper_tables();
    test_compact_tilings_fit();
    test_energy_floor_below_bounds();
}

}  // namespace codesign_tests
