// (pe_x, pe_y) mirrors (issue 15): a PE grid and its transpose are the same hardware with the PE columns and rows
// named the other way: the same map space, each mapping's mirror (the dimensions on the two PE levels swapped)
// costing the same, term for term and bit for bit (every product of the two extents is exact). A layer on a grid
// with pe_x > pe_y is therefore mapped on the transposed grid and the result mirrored back: the same cycles and
// energy as a direct search, and, among mappings that tie on both, the mirror of the transposed grid's pick (a
// direct search would pick by its enumeration order, which the transpose changes), so a grid and its transpose
// get mirrored mappings. Only where the map space is mirror-symmetric: constraints equal on the two PE levels.
// Internal to the core.
#pragma once

#include <utility>

#include "codesign/mapper/mapper.hpp"

namespace codesign::detail {

class SearchCache;

// The search of map_edgetpu_layer on one grid orientation; cache: what a batch's searches share (search_cache.hpp),
// or null.
EdgeTpuCost search_layer(const Layer& l, const EdgeTpuArch& a, const EnergyTable& e, const LayerContext& ctx,
                         const MapperOptions& opt, SearchCache* cache);

inline bool mirror_applies(const Layer& l, const EdgeTpuArch& a, const MapperOptions& opt) {
    const MapConstraints& c = opt.constraints;
    return l.is_mac() && a.pe_x > a.pe_y && c.spatial_allowed[0] == c.spatial_allowed[1] && c.factor[0] == c.factor[1];
}

inline EdgeTpuArch transposed(EdgeTpuArch a) {
    std::swap(a.pe_x, a.pe_y);
    return a;
}

inline void mirror_result(EdgeTpuCost& c) {
    std::swap(c.mapping.spatial[0], c.mapping.spatial[1]);
    std::swap(c.mapping.factor[0], c.mapping.factor[1]);
    std::swap(c.v[F_map_pe_x], c.v[F_map_pe_y]);
}

// map_edgetpu_layer's rule, with `search(arch, transposed)` mapping the layer on one orientation (the memo passes a
// cached search).
template <typename Search>
EdgeTpuCost map_mirrored(const Layer& l, const EdgeTpuArch& a, const MapperOptions& opt, Search&& search) {
    if (!mirror_applies(l, a, opt)) return search(a, false);
    EdgeTpuCost c = search(transposed(a), true);
    mirror_result(c);
    return c;
}

}  // namespace codesign::detail
