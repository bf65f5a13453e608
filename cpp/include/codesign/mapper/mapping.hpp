// A mapping of one layer onto the Edge-TPU-like template, and the options of the mapper that searches them.
#pragma once

#include <cstdint>

namespace codesign {

// Loop dimensions of a layer: groups, batch, output channels and input channels per group, output rows and
// columns, filter rows and columns.
enum Dim : std::int32_t { DimG = 0, DimN, DimK, DimC, DimP, DimQ, DimR, DimS, kDims };

// The four spatial levels, outer to inner: PE columns, PE rows, lanes in a PE, SIMD units in a lane.
inline constexpr int kSpatialLevels = 4;

struct Mapping {
    std::int32_t spatial[kSpatialLevels] = {DimK, DimP, DimQ, DimK};  // dimension unrolled on each level
    std::int64_t weight_tiles = 1;   // temporal tiles of the per-PE weights in core memory (split along K, then C)
    std::int64_t spatial_tiles = 1;  // temporal tiles of the per-PE activations in PE memory (split along P)
    std::int32_t order = 0;          // 0: weight tiles outer (inputs re-streamed), 1: activation tiles outer
    std::int32_t inner = 0;          // lane-level stationarity: 0 weight-stationary, 1 output-stationary
};

enum class Metric : std::int32_t { Latency = 0, Energy = 1, Edp = 2 };

struct MapperOptions {
    Metric metric = Metric::Latency;
    std::int64_t budget = 0;    // most mappings evaluated per layer; 0 = the whole map space
    std::int64_t patience = 0;  // when sampling: stop after this many non-improving mappings (0 = never)
    std::uint64_t seed = 0;     // sampling order when the map space exceeds the budget
    int threads = 0;            // batch calls: worker threads (0 = all cores)
};

}  // namespace codesign
