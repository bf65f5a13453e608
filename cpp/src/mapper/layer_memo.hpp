// An exact memo of mapped layers, shared by the configurations of one batch call and by a network's repeated
// layers (issue 15): the mapper is a pure function of (layer, context, architecture row, energy row, options), so
// a layer mapped once is not mapped again for an equal key. Internal to the core.
//
// It caches search_layer (one grid orientation) and applies map_edgetpu_layer's mirror rule (mirror.hpp) on top,
// so a grid and its transpose share entries: the result is map_edgetpu_layer's, bit for bit.
//
// Key: every field of the layer; the three context flags; the architecture row (of the orientation searched) but
// for the fields only the network pass reads (inference_overhead_cycles, activation_buffers), and the I/O bandwidth
// when the layer moves no DRAM bytes (weights cached, input and output on chip: every I/O term is zero then); the
// energy row. The options are fixed for one memo (one per batch call and thread).
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <unordered_map>
#include <vector>

#include "codesign/arch/edgetpu.hpp"
#include "codesign/mapper/mapper.hpp"
#include "codesign/model/edgetpu_cost.hpp"
#include "codesign/workload/layer.hpp"
#include "search_cache.hpp"

namespace codesign::detail {

// The architectures [begin, end) of a batch (rows of kEdgeTpuFields) in the order its threads take them: sorted by
// the row with pe_x and pe_y put in ascending order, then by orientation, so that a grid and its transpose, and
// configurations that differ only in later fields, fall into one thread's range and share its memo. Rows compare
// by their bits (a total order, NaN included). Only the work order changes, never a result.
std::vector<std::int64_t> mirror_adjacent_order(const double* archs, std::int64_t begin, std::int64_t end);

class LayerMemo {
public:
    // At most max_entries results (about 1 KB each: 16 MB per worker thread by default), then cleared: a batch's
    // work order puts the configurations that share entries next to each other (mirror_adjacent_order), so the
    // entries in use are those of the last few configurations. across_configs: the batch holds several
    // configurations, so its searches share their unrollings and tilings too (search_cache.hpp; up to 18 MB more,
    // and nothing to share in a batch of one configuration).
    LayerMemo(const MapperOptions& options, bool across_configs, std::size_t max_entries = 1 << 14)
        : opt_(options), max_entries_(max_entries) {
        if (across_configs) cache_ = std::make_unique<SearchCache>(options.constraints);
    }

    // The mapper's result for this layer, from the memo when an equal key was mapped before. arch_row is the
    // architecture's float64 row (kEdgeTpuFields), energy_row its energy row (kEnergyFields).
    EdgeTpuCost map(const Layer& l, const EdgeTpuArch& a, const double* arch_row, const EnergyTable& e,
                    const double* energy_row, const LayerContext& ctx);

    std::int64_t hits() const { return hits_; }

private:
    struct Key {
        std::int64_t layer[18];
        double arch[kEdgeTpuFields];
        double energy[kEnergyFields];
        std::int64_t ctx;
        bool operator==(const Key& o) const { return std::memcmp(this, &o, sizeof(Key)) == 0; }
    };
    struct Hash {
        std::size_t operator()(const Key& k) const;
    };
    MapperOptions opt_;
    std::size_t max_entries_;
    std::unordered_map<Key, EdgeTpuCost, Hash> memo_;
    std::int64_t hits_ = 0;
    std::unique_ptr<SearchCache> cache_;  // what the searches a miss runs share (search_cache.hpp), or null
};

}  // namespace codesign::detail
