// The Edge-TPU-like template's mapper: its map space (map_space.cpp) and the search over it (search.cpp). The cost
// of one mapping is the model's (model/edgetpu_cost.hpp).
//
// Map space of a MAC layer (complete for the template):
//   * spatial: on PE columns, PE rows and lanes one of G, N, K, P, Q; on SIMD units K or C (dimensions of extent
//     one are skipped, one idle choice kept; on a square PE grid (d0, d1) and (d1, d0) are the same);
//   * temporal tiles of each per-PE extent E along G, N, K, C, P, Q: tile sizes E and every power of two below it,
//     balanced (count T = ceil(E / size), tiles of ceil(E / T));
//   * the tile-loop order (TileOrder, three reuse patterns) and the lane stationarity (ws / os);
//   * a mapping is legal when each memory's tiles fit half of it (double buffering, arch.level_of roles).
// Every tiling legal for a memory stays legal for a larger one, so more memory never loses a mapping; a layer has
// a legal mapping iff its smallest tile (one output element's working set, edgetpu_smallest_tile) fits.
#pragma once

#include <cstdint>
#include <vector>

#include "codesign/arch/edgetpu.hpp"
#include "codesign/mapper/mapping.hpp"
#include "codesign/model/edgetpu_cost.hpp"
#include "codesign/workload/layer.hpp"

namespace codesign {

// Every legal mapping of a layer under the constraints (for a non-MAC layer: one fixed mapping), at most
// max_mappings of them (truncated is set when there are more; the list is then a prefix of the enumeration).
std::vector<Mapping> edgetpu_map_space(const Layer& layer, const EdgeTpuArch& arch, const MapConstraints& constraints,
                                       std::int64_t max_mappings, bool& truncated);

// The best mapping of a layer by options.metric (ties: the other of latency and energy), searched over the map
// space under options.constraints: the whole space by branch and bound (budget 0), or a seeded sample of `budget`
// mappings with patience. The complete search visits at most 2^20 nodes per layer (well under a second; only layers
// of extreme extents reach it, and then the best mapping found so far is returned). Status NoMapping when not even the smallest tile fits; ConstraintViolated when tiles
// fit but no mapping meets the constraints.
EdgeTpuCost map_edgetpu_layer(const Layer& layer, const EdgeTpuArch& arch, const EnergyTable& energy,
                              const LayerContext& ctx, const MapperOptions& options);

// Bytes of a layer's smallest tile (one output element's working set) in core memory (bytes[0]) and PE memory
// (bytes[1]) under the arch's memory roles; true when each is at most half its memory, which holds iff the layer
// has a legal mapping without constraints (for error messages and tests).
bool edgetpu_smallest_tile(const Layer& layer, const EdgeTpuArch& arch, double bytes[2]);

}  // namespace codesign
