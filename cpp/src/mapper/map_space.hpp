// The map space's pieces, shared by map_space.cpp and search.cpp (internal to the core).
#pragma once

#include <array>
#include <vector>

#include "../model/edgetpu_mapping_cost.hpp"
#include "codesign/mapper/mapper.hpp"

namespace codesign::detail {

// Spatial unrollings allowed by the constraints (spatial and factor fields of the mappings filled in), written to
// out (cleared first; a buffer the caller reuses).
void spatial_unrollings(const Shape& s, const EdgeTpuArch& a, const MapConstraints& c, std::vector<Mapping>& out);

// Tile counts tried per tiled dimension, ascending (at most 48 per dimension: sizes E and the powers of two below
// it), or the one fixed count; n[d] = 0 when a fixed count exceeds the per-PE extent.
struct TileChoices {
    std::int64_t count[kTiledDims][48];
    int n[kTiledDims];
    double product() const;  // number of tilings
};
TileChoices tile_choices(const Unrolled& u, const MapConstraints& c);

// What the compact search needs of the tile choices without listing them (2.3 KiB per spatial unrolling): how
// many there are per dimension and the first and last (smallest and largest count), equal to tile_choices'.
struct TileRange {
    std::int64_t lo[kTiledDims], hi[kTiledDims];
    int n[kTiledDims];
    double product() const;  // number of tilings, as TileChoices::product
};
TileRange tile_range(const Unrolled& u, const MapConstraints& c);

// unroll_shares and tile_range for the spatial unrollings of one layer on one grid, from a table: a dimension's
// temporal extent, per-PE share and tile range depend only on which spatial levels unroll it, so each is computed
// once per set of levels, by the same expressions (the same bits). add(m) records a mapping m of
// spatial_unrollings(p.s, a, c) (its levels, compute cycles and number of tilings, TileRange::product); expand
// gives u = unroll_shares(p, a, m) and tr = tile_range(u, c) for an added mapping.
class UnrollTable {
public:
    struct Entry {
        std::uint32_t levels;  // 4 bits per dimension: the spatial levels that unroll it
        double compute;        // Unrolled::compute
        double tilings;        // TileRange::product
    };
    UnrollTable(const Prep& p, const EdgeTpuArch& a, const MapConstraints& c);
    Entry add(const Mapping& m);
    void expand(const Entry& x, Unrolled& u, TileRange& tr) const;
    // The temporal and per-PE extents of an added mapping (expand's u.t and u.share) alone.
    void extents(const Entry& x, double t[kDims], double share[kDims]) const {
        for (int d = 0; d < kDims; ++d) t[d] = extent_[d][levels_of(x, d)], share[d] = extent_[d][levels_of(x, d) & 3u];
    }

private:
    static unsigned levels_of(const Entry& x, int d) { return x.levels >> (4 * d) & 15u; }
    // ceil(extent of d / the units of those levels), computed on the first call for them (per_units_first)
    double per_units(int d, unsigned levels) {
        if (static_cast<unsigned>(known_[d]) >> levels & 1u) return extent_[d][levels];
        return per_units_first(d, levels);
    }
    double per_units_first(int d, unsigned levels);
    double s_[kDims];
    MapConstraints c_;
    double units_[kSpatialLevels];
    double extent_[kDims][16];
    std::uint16_t known_[kDims] = {};  // bit `levels`: extent_[d][levels] computed
    TileRange ranges_[4];              // ranges_[pe levels] holds dimension d's range once bit of ranged_[d] is set
    std::uint8_t ranged_[kTiledDims] = {};
};

// The tile orders allowed by the constraints whose reuse differs for these tile counts (an order whose reload
// factors repeat an earlier order's is the same schedule). Returns how many were written to orders.
int distinct_orders(const std::int64_t* tiles, const MapConstraints& c, std::int32_t orders[kTileOrders]);
// The same from the tiles' reload factors of every order (reload_factors_all).
int distinct_orders(const double reload[kTileOrders][kDataSpaces], const MapConstraints& c,
                    std::int32_t orders[kTileOrders]);
// The same from a table: which orders repeat an earlier one's reload factors depends only on whether K, C and the
// NPQ tiles are split (each data space's factor across the orders is one, or its one value: x, k or c, which is one
// exactly when its dimension is not split), so tiles of two where a dimension is split give every pattern.
int distinct_orders_of(const std::int64_t* tiles, const MapConstraints& c, std::int32_t orders[kTileOrders]);
// The compact map space's tilings for one spatial unrolling (MapperOptions::complete = false): weights split
// along K, then G, then C into the fewest tiles that fit (x1, x2, x4); activations along P, then Q, then N likewise
// for each weight tiling. Only legal tilings that meet the constraints' fixed counts; appended to out (at most 9).
using Tiling = std::array<std::int64_t, kTiledDims>;
void compact_tilings(const Layer& l, const Unrolled& u, const EdgeTpuArch& a, const MapConstraints& c,
                     std::vector<Tiling>& out);

// The first allowed order with the same reload factors as `order` for these tile counts (the one the map space
// lists).
std::int32_t canonical_order(const std::int64_t* tiles, std::int32_t order, const MapConstraints& c);
// Lane stationarities allowed (written to inner); returns how many.
int lane_choices(const MapConstraints& c, std::int32_t inner[2]);
// Orders allowed by the constraints, before de-duplication.
int allowed_orders(const MapConstraints& c, std::int32_t orders[kTileOrders]);

}  // namespace codesign::detail
