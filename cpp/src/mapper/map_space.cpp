// The map space of the Edge-TPU-like template (mapper/mapper.hpp): spatial unrollings, tile counts, tile orders,
// lane stationarities, constraints; and the whole space enumerated (edgetpu_map_space).
#include <algorithm>
#include <cmath>

#include "map_space.hpp"

namespace codesign {

bool MapConstraints::any() const {
    for (int lev = 0; lev < kSpatialLevels; ++lev)
        if (spatial_allowed[lev] != 0xFFu || factor[lev] != 0) return true;
    for (int d = 0; d < kTiledDims; ++d)
        if (tiles[d] != 0) return true;
    return order != -1 || inner != -1;
}

bool constraints_from_row(const std::int64_t* row, MapConstraints& c) {
    MapConstraints out;
    for (int lev = 0; lev < kSpatialLevels; ++lev) {
        if (row[lev] < 0 || row[lev] > 0xFF || row[4 + lev] < 0 || row[4 + lev] > (std::int64_t{1} << 16)) return false;
        out.spatial_allowed[lev] = static_cast<std::uint32_t>(row[lev]);
        out.factor[lev] = row[4 + lev];
    }
    for (int d = 0; d < kTiledDims; ++d) {
        if (row[8 + d] < 0 || row[8 + d] > (std::int64_t{1} << 40)) return false;
        out.tiles[d] = row[8 + d];
    }
    if (row[14] < -1 || row[14] >= kTileOrders || row[15] < -1 || row[15] > 1) return false;
    out.order = static_cast<std::int32_t>(row[14]);
    out.inner = static_cast<std::int32_t>(row[15]);
    c = out;
    return true;
}

namespace detail {

namespace {

constexpr std::int32_t kPeDims[] = {DimG, DimN, DimK, DimP, DimQ};
constexpr std::int32_t kSimdDims[] = {DimK, DimC};

double whole_level(const EdgeTpuArch& a, int level) { return level_units(a, Mapping{}, level); }

}  // namespace

void spatial_unrollings(const Shape& s, const EdgeTpuArch& a, const MapConstraints& c, std::vector<Mapping>& out) {
    out.clear();
    std::int32_t choices[kSpatialLevels][5];
    int n_choices[kSpatialLevels];
    for (int lev = 0; lev < kSpatialLevels; ++lev) {
        if (double(c.factor[lev]) > whole_level(a, lev)) return;  // more units than the level has
        const std::int32_t* dims = lev == 3 ? kSimdDims : kPeDims;
        const int nd = lev == 3 ? 2 : 5;
        n_choices[lev] = 0;
        std::int32_t idle = -1;
        for (int i = 0; i < nd; ++i) {
            if (!(c.spatial_allowed[lev] >> dims[i] & 1u)) continue;
            if (idle < 0) idle = dims[i];
            if (s.d[dims[i]] > 1.0) choices[lev][n_choices[lev]++] = dims[i];
        }
        if (idle < 0) return;                                     // the constraints allow no dimension here
        if (n_choices[lev] == 0) choices[lev][n_choices[lev]++] = idle;  // every allowed dimension has extent one
    }
    const bool square = a.pe_x == a.pe_y && c.factor[0] == c.factor[1];
    Mapping m;
    for (int lev = 0; lev < kSpatialLevels; ++lev) m.factor[lev] = c.factor[lev];
    for (int i0 = 0; i0 < n_choices[0]; ++i0)
        for (int i1 = 0; i1 < n_choices[1]; ++i1) {
            const std::int32_t d0 = choices[0][i0], d1 = choices[1][i1];
            // (d1, d0) on a square grid costs the same as (d0, d1): keep one when the constraints allow both.
            const bool mirror_allowed = (c.spatial_allowed[0] >> d1 & 1u) && (c.spatial_allowed[1] >> d0 & 1u);
            if (square && d1 < d0 && mirror_allowed) continue;
            for (int i2 = 0; i2 < n_choices[2]; ++i2)
                for (int i3 = 0; i3 < n_choices[3]; ++i3) {
                    m.spatial[0] = d0, m.spatial[1] = d1, m.spatial[2] = choices[2][i2], m.spatial[3] = choices[3][i3];
                    out.push_back(m);
                }
        }
}

double TileChoices::product() const {
    double p = 1.0;
    for (int d = 0; d < kTiledDims; ++d) p *= double(n[d]);
    return p;
}

double TileRange::product() const {
    double p = 1.0;
    for (int d = 0; d < kTiledDims; ++d) p *= double(n[d]);
    return p;
}

namespace {

// Calls add(count) for each tile count of dimension d, ascending, and returns how many: the fixed count of the
// constraints (none when it exceeds the per-PE extent), else tile sizes extent, then each power of two below it,
// largest first, as counts (at most 48). The one listing that tile_choices and tile_range share.
template <typename Add>
int each_tile_count(double extent, std::int64_t fixed, Add&& add) {
    if (fixed > 0) {
        if (double(fixed) > extent) return 0;
        add(fixed);
        return 1;
    }
    const std::int64_t e = static_cast<std::int64_t>(extent);
    int n = 1;
    std::int64_t last = 1;
    add(last);
    std::int64_t size = 1;
    while (size * 2 < e) size *= 2;
    for (; size >= 1 && n < 48; size /= 2) {
        const std::int64_t t = ceil_div(e, size);
        if (t != last) {
            add(t);
            last = t;
            ++n;
        }
    }
    return n;
}

}  // namespace

TileChoices tile_choices(const Unrolled& u, const MapConstraints& c) {
    TileChoices tc;
    for (int d = 0; d < kTiledDims; ++d) {
        int i = 0;
        tc.n[d] = each_tile_count(u.share[d], c.tiles[d], [&](std::int64_t t) { tc.count[d][i++] = t; });
    }
    return tc;
}

namespace {

// tile_range for dimension d alone: its per-PE share and the constraints' fixed count of d.
void tile_range_dim(double share, std::int64_t fixed, int d, TileRange& r) {
    // The listing's counts without listing them: 1, then ceil(e / size) for each power of two size below e. Those
    // strictly increase as size halves (ceil(2x) >= 2 ceil(x) - 1 > ceil(x) once ceil(x) >= 2, and the first is 2),
    // so there are 1 + ceil(log2 e) of them, the last e. Past the listing's 48 the last is not e: listed then.
    const std::int64_t e = static_cast<std::int64_t>(share);
    // ceil(log2 e) for e >= 1: the bit width of e - 1
    const int bits = e > 1 ? 64 - __builtin_clzll(static_cast<unsigned long long>(e - 1)) : 0;
    if (fixed > 0 || e < 1 || bits + 1 > 48) {
        r.lo[d] = r.hi[d] = 0;
        bool first = true;
        r.n[d] = each_tile_count(share, fixed, [&](std::int64_t t) {
            if (first) r.lo[d] = t, first = false;
            r.hi[d] = t;
        });
        return;
    }
    r.n[d] = bits + 1;
    r.lo[d] = 1;
    r.hi[d] = e;
}

}  // namespace

TileRange tile_range(const Unrolled& u, const MapConstraints& c) {
    TileRange r;
    for (int d = 0; d < kTiledDims; ++d) tile_range_dim(u.share[d], c.tiles[d], d, r);
    return r;
}

UnrollTable::UnrollTable(const Prep& p, const EdgeTpuArch& a, const MapConstraints& c) : c_(c) {
    std::copy(p.s.d, p.s.d + kDims, s_);
    Mapping m;
    for (int lev = 0; lev < kSpatialLevels; ++lev) m.factor[lev] = c.factor[lev];
    for (int lev = 0; lev < kSpatialLevels; ++lev) units_[lev] = level_units(a, m, lev);
}

double UnrollTable::per_units_first(int d, unsigned levels) {
    double units = 1.0;  // unroll_shares' product: the levels' units in level order
    for (int lev = 0; lev < kSpatialLevels; ++lev)
        if (levels >> lev & 1u) units *= units_[lev];
    extent_[d][levels] = units == 1.0 ? s_[d] : dceil(s_[d], units);
    known_[d] |= static_cast<std::uint16_t>(1u << levels);
    return extent_[d][levels];
}

UnrollTable::Entry UnrollTable::add(const Mapping& m) {
    Entry x{0u, 1.0, 1.0};
    for (int lev = 0; lev < kSpatialLevels; ++lev)
        x.levels |= (1u << lev) << (4 * m.spatial[lev]);
    for (int d = 0; d < kDims; ++d) x.compute *= per_units(d, levels_of(x, d));
    for (int d = 0; d < kTiledDims; ++d) {
        const unsigned pe = levels_of(x, d) & 3u;
        if (!(static_cast<unsigned>(ranged_[d]) >> pe & 1u)) {
            tile_range_dim(per_units(d, pe), c_.tiles[d], d, ranges_[pe]);
            ranged_[d] = static_cast<std::uint8_t>(ranged_[d] | 1u << pe);
        }
        x.tilings *= double(ranges_[pe].n[d]);  // TileRange::product's order
    }
    return x;
}

void UnrollTable::expand(const Entry& x, Unrolled& u, TileRange& tr) const {
    u = Unrolled{};
    u.compute = 1.0;
    for (int d = 0; d < kDims; ++d) {
        u.t[d] = extent_[d][levels_of(x, d)];
        u.share[d] = extent_[d][levels_of(x, d) & 3u];  // the PE levels alone
        u.compute *= u.t[d];
    }
    for (int d = 0; d < kTiledDims; ++d) {
        const TileRange& r = ranges_[levels_of(x, d) & 3u];
        tr.lo[d] = r.lo[d], tr.hi[d] = r.hi[d], tr.n[d] = r.n[d];
    }
}

namespace {

// Splits `count` tiles over the dimensions dims (in that order: the first split to its extent before the next),
// writing the per-dimension counts into t.
void split(const Unrolled& u, const int* dims, int n, double count, std::int64_t* t) {
    double left = count;
    for (int i = 0; i < n; ++i) {
        const double e = u.share[dims[i]];
        const double here = std::min(e, std::max(1.0, left));
        t[dims[i]] = static_cast<std::int64_t>(here);
        left = ceil_exact(left / e);
        if (here < e) left = 1.0;
    }
}

// The fewest tiles along dims (split in order) for which fits(t) holds, searched by doubling then bisection (the
// tiles shrink as the count grows); 0 when not even the finest split fits.
template <typename Fits>
double fewest(const Unrolled& u, const int* dims, int n, std::int64_t* t, Fits&& fits) {
    double most = 1.0;
    for (int i = 0; i < n; ++i) most *= u.share[dims[i]];
    split(u, dims, n, most, t);
    if (!fits(t)) return 0.0;
    double lo = 0.0, hi = 1.0;  // fits(hi) unknown until checked; invariant after the loop: !fits(lo), fits(hi)
    while (true) {
        split(u, dims, n, hi, t);
        if (fits(t)) break;
        lo = hi;
        hi = std::min(most, hi * 2.0);
    }
    while (hi - lo > 1.0) {
        const double mid = std::floor((lo + hi) / 2.0);
        if (mid <= lo || mid >= hi) break;  // beyond 2^53 doubles cannot halve the gap further
        split(u, dims, n, mid, t);
        (fits(t) ? hi : lo) = mid;
    }
    split(u, dims, n, hi, t);
    return hi;
}

}  // namespace

void compact_tilings(const Layer& l, const Unrolled& u, const EdgeTpuArch& a, const MapConstraints& c,
                     std::vector<Tiling>& out) {
    static constexpr int kW[] = {DimK, DimG, DimC};
    static constexpr int kA[] = {DimP, DimQ, DimN};
    Tiling t{1, 1, 1, 1, 1, 1};
    auto w_fits = [&](const std::int64_t* x) {  // the weight tile alone (activations at their finest)
        return tiles_fit(l, TileBytes{weight_tile_bytes(l, u, a, x), 0.0, 0.0}, a);
    };
    const double w0 = fewest(u, kW, 3, t.data(), w_fits);
    if (w0 == 0.0) return;
    bool fixed = false;  // any tile count fixed by the constraints
    for (int d = 0; d < kTiledDims; ++d) fixed = fixed || c.tiles[d] != 0;
    double most_w = 1.0;
    for (int d : kW) most_w *= u.share[d];
    for (int wi = 0; wi < 3; ++wi) {
        const double wt = std::min(most_w, w0 * double(1 << wi));
        if (wi > 0 && wt <= std::min(most_w, w0 * double(1 << (wi - 1)))) break;
        Tiling base{1, 1, 1, 1, 1, 1};
        split(u, kW, 3, wt, base.data());
        Tiling x = base;
        auto all_fit = [&](const std::int64_t* y) { return tiles_fit(l, tile_bytes(l, u, a, y), a); };
        const double a0 = fewest(u, kA, 3, x.data(), all_fit);
        if (a0 == 0.0) continue;
        double most_a = 1.0;
        for (int d : kA) most_a *= u.share[d];
        for (int ai = 0; ai < 3; ++ai) {
            const double at = std::min(most_a, a0 * double(1 << ai));
            if (ai > 0 && at <= std::min(most_a, a0 * double(1 << (ai - 1)))) break;
            Tiling y = base;
            split(u, kA, 3, at, y.data());
            // y fits: its counts are at least those of a0's split, which fits (split's counts never fall as the
            // count grows, nor do tile bytes as counts grow; C, which widens the output tile, is base's).
            bool ok = true;
            for (int d = 0; fixed && d < kTiledDims; ++d)
                ok = ok && (c.tiles[d] == 0 || c.tiles[d] == y[static_cast<std::size_t>(d)]);
            if (ok) out.push_back(y);
        }
    }
}

int allowed_orders(const MapConstraints& c, std::int32_t orders[kTileOrders]) {
    int n = 0;
    for (std::int32_t o = 0; o < kTileOrders; ++o)
        if (c.order < 0 || c.order == o) orders[n++] = o;
    return n;
}

int distinct_orders(const double reload[kTileOrders][kDataSpaces], const MapConstraints& c,
                    std::int32_t orders[kTileOrders]) {
    int n = 0;
    for (std::int32_t o = 0; o < kTileOrders; ++o) {
        if (c.order >= 0 && c.order != o) continue;
        const double* r = reload[o];
        bool repeat = false;
        for (int i = 0; i < n && !repeat; ++i) {
            const double* q = reload[orders[i]];
            repeat = r[0] == q[0] && r[1] == q[1] && r[2] == q[2];
        }
        if (!repeat) orders[n++] = o;
    }
    return n;
}

int distinct_orders(const std::int64_t* tiles, const MapConstraints& c, std::int32_t orders[kTileOrders]) {
    double reload[kTileOrders][kDataSpaces];
    reload_factors_all(tiles, reload);
    return distinct_orders(reload, c, orders);
}

namespace {

// distinct_orders for each pattern of the three flags and each fixed order (-1 .. 2), from tiles of two where a
// flag is set (see distinct_orders_of).
struct OrderTable {
    std::int32_t orders[kTileOrders + 1][8][kTileOrders];
    int n[kTileOrders + 1][8];
    OrderTable() {
        for (std::int32_t fixed = -1; fixed < kTileOrders; ++fixed)
            for (int f = 0; f < 8; ++f) {
                MapConstraints c;
                c.order = fixed;
                const std::int64_t tiles[kTiledDims] = {1, f & 4 ? 2 : 1, f & 1 ? 2 : 1, f & 2 ? 2 : 1, 1, 1};
                n[fixed + 1][f] = distinct_orders(tiles, c, orders[fixed + 1][f]);
            }
    }
};

}  // namespace

int distinct_orders_of(const std::int64_t* tiles, const MapConstraints& c, std::int32_t orders[kTileOrders]) {
    static const OrderTable table;
    const int f = (tiles[DimK] > 1 ? 1 : 0) | (tiles[DimC] > 1 ? 2 : 0) |
                  (tiles[DimN] > 1 || tiles[DimP] > 1 || tiles[DimQ] > 1 ? 4 : 0);
    const int row = c.order >= 0 && c.order < kTileOrders ? c.order + 1 : 0;
    std::copy(table.orders[row][f], table.orders[row][f] + table.n[row][f], orders);
    return table.n[row][f];
}

std::int32_t canonical_order(const std::int64_t* tiles, std::int32_t order, const MapConstraints& c) {
    double r[kDataSpaces], q[kDataSpaces];
    reload_factors(tiles, order, r);
    for (std::int32_t o = 0; o < order; ++o) {
        if (c.order >= 0 && c.order != o) continue;
        reload_factors(tiles, o, q);
        if (std::equal(r, r + kDataSpaces, q)) return o;
    }
    return order;
}

int lane_choices(const MapConstraints& c, std::int32_t inner[2]) {
    int n = 0;
    for (std::int32_t i = 0; i < 2; ++i)
        if (c.inner < 0 || c.inner == i) inner[n++] = i;
    return n;
}

}  // namespace detail

std::vector<Mapping> edgetpu_map_space(const Layer& l, const EdgeTpuArch& a, const MapConstraints& c,
                                       std::int64_t max_mappings, bool& truncated) {
    using namespace detail;
    truncated = false;
    std::vector<Mapping> space;
    if (*l.invalid_field() != '\0') return space;
    if (!l.is_mac()) {
        space.push_back(vector_mapping());
        return space;
    }
    const Prep p = prepare(l, a, EnergyTable{});  // the tiles alone: no energy term is read
    std::int32_t inner[2];
    const int n_inner = lane_choices(c, inner);
    std::vector<Mapping> spatial;
    spatial_unrollings(p.s, a, c, spatial);
    for (const Mapping& sp : spatial) {
        const Unrolled u = unroll(l, p, a, sp);
        const TileChoices tc = tile_choices(u, c);
        if (tc.product() == 0.0) continue;
        int idx[kTiledDims] = {0, 0, 0, 0, 0, 0};
        Mapping m = sp;
        while (true) {  // every tiling, odometer order (the last dimension fastest)
            for (int d = 0; d < kTiledDims; ++d) m.tiles[d] = tc.count[d][idx[d]];
            if (tiles_fit(l, tile_bytes(l, u, a, m.tiles), a)) {
                std::int32_t orders[kTileOrders];
                const int n_orders = distinct_orders(m.tiles, c, orders);
                for (int oi = 0; oi < n_orders; ++oi)
                    for (int ii = 0; ii < n_inner; ++ii) {
                        if (static_cast<std::int64_t>(space.size()) >= max_mappings) {
                            truncated = true;
                            return space;
                        }
                        m.order = orders[oi];
                        m.inner = inner[ii];
                        space.push_back(m);
                    }
            }
            int d = kTiledDims - 1;
            while (d >= 0 && ++idx[d] == tc.n[d]) idx[d--] = 0;
            if (d < 0) break;
        }
    }
    return space;
}

bool edgetpu_smallest_tile(const Layer& l, const EdgeTpuArch& a, double bytes[2]) {
    return detail::smallest_tile_bytes(l, a, bytes);
}

}  // namespace codesign
