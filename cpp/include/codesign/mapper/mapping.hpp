// A mapping of one layer onto the Edge-TPU-like template, the constraints a user may put on the map space, and the
// options of the mapper that searches it.
#pragma once

#include <cstdint>

namespace codesign {

// Loop dimensions of a layer: groups, batch, output channels and input channels per group, output rows and
// columns, filter rows and columns.
enum Dim : std::int32_t { DimG = 0, DimN, DimK, DimC, DimP, DimQ, DimR, DimS, kDims };

// Dimensions tiled in time (R and S are never split: a filter window stays whole in one tile).
inline constexpr int kTiledDims = 6;  // G, N, K, C, P, Q

// The four spatial levels, outer to inner: PE columns, PE rows, lanes in a PE, SIMD units in a lane.
inline constexpr int kSpatialLevels = 4;

// Order of the temporal tile loops (outer to inner; G is always outermost: it indexes every data space, so an
// outer G loses no reuse; N, P, Q index the same data spaces (inputs, outputs), so their order among themselves
// changes no count). The six orders of {K, C, NPQ} give these three reuse patterns (the others repeat them):
//   OrderWeight (K, C, NPQ): each weight tile loaded once; inputs reloaded per K tile; partial sums leave PE memory
//                            between C tiles.
//   OrderOutput (K, NPQ, C): outputs complete in PE memory; weights reloaded per NPQ tile when C is tiled; inputs
//                            reloaded per K tile.
//   OrderInput  (C, NPQ, K): each input tile loaded once; weights reloaded per NPQ tile when K is tiled; partial
//                            sums leave PE memory between C tiles.
enum TileOrder : std::int32_t { OrderWeight = 0, OrderOutput = 1, OrderInput = 2, kTileOrders = 3 };

struct Mapping {
    std::int32_t spatial[kSpatialLevels] = {DimK, DimP, DimQ, DimK};  // dimension unrolled on each level
    std::int64_t factor[kSpatialLevels] = {0, 0, 0, 0};  // units of each level used (0: the whole level)
    std::int64_t tiles[kTiledDims] = {1, 1, 1, 1, 1, 1};  // temporal tiles of the per-PE extents (G N K C P Q)
    std::int32_t order = OrderWeight;  // TileOrder
    std::int32_t inner = 0;            // lane-level stationarity: 0 weight-stationary, 1 output-stationary
};

// Timeloop-style constraints on the map space (all free by default). A mapping outside them is never searched; no
// mapping inside them gives Status::ConstraintViolated.
struct MapConstraints {
    std::uint32_t spatial_allowed[kSpatialLevels] = {0xFFu, 0xFFu, 0xFFu, 0xFFu};  // bit d: dimension d allowed
    std::int64_t factor[kSpatialLevels] = {0, 0, 0, 0};  // fixed units used per level (0: the whole level)
    std::int64_t tiles[kTiledDims] = {0, 0, 0, 0, 0, 0};  // fixed tile count per dimension (0: free)
    std::int32_t order = -1;                              // fixed TileOrder (-1: free)
    std::int32_t inner = -1;                              // fixed lane stationarity (-1: free)
    bool any() const;
};
// The flat int64 row of a MapConstraints (Python's codesign.map_constraints builds it): spatial_allowed[4],
// factor[4], tiles[6], order, inner.
inline constexpr int kConstraintFields = 16;
// Reads a row; false when a field is out of range (then c is unchanged).
bool constraints_from_row(const std::int64_t* row, MapConstraints& c);

enum class Metric : std::int32_t { Latency = 0, Energy = 1, Edp = 2 };

struct MapperOptions {
    Metric metric = Metric::Latency;
    std::int64_t budget = 0;    // most mappings evaluated per layer; 0 = the whole map space (branch and bound)
    std::int64_t patience = 0;  // when sampling: stop after this many non-improving mappings (0 = never)
    std::uint64_t seed = 0;     // sampling order when the map space exceeds the budget
    int threads = 0;            // batch calls: worker threads (0 = all cores)
    // The map space searched: false, the compact one (per spatial unrolling, the fewest weight tiles that fit,
    // x1, x2, x4, each with the fewest activation tiles, x1, x2, x4; the complete space when none of them is
    // legal); true, the complete one (mapper/mapper.hpp), exact by branch and bound but slower.
    bool complete = false;
    // Batch calls: remember mapped layers (an exact memo, cpp/src/mapper/layer_memo.hpp); false maps every layer.
    bool memo = true;
    MapConstraints constraints;
};

}  // namespace codesign
