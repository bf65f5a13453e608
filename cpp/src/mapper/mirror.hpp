// (pe_x, pe_y) mirrors (issue 15): a PE grid and its transpose have the same map space, each mapping's mirror
// (the dimensions on the PE columns and rows swapped) costing the same, term for term. A layer on a grid with
// pe_x > pe_y is therefore mapped on the transposed grid and the result mirrored back, whenever that search's
// optimum is unique (then the direct search's is its mirror). On a tie the direct search runs instead, since its
// pick among tied mappings follows the enumeration order, which the transpose changes. Only where the map space
// is mirror-symmetric: constraints equal on the two PE levels. Internal to the core.
#pragma once

#include <utility>

#include "codesign/mapper/mapper.hpp"

namespace codesign::detail {

// The search of map_edgetpu_layer on one grid orientation; unique: its optimum (metric, then tie value) was met by
// one mapping only, in an exhaustive search (false after sampling or the node bound).
EdgeTpuCost search_layer(const Layer& l, const EdgeTpuArch& a, const EnergyTable& e, const LayerContext& ctx,
                         const MapperOptions& opt, bool& unique);

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

// map_edgetpu_layer's rule, with `search(arch, transposed, unique)` mapping the layer on one orientation (the
// memo passes a cached search).
template <typename Search>
EdgeTpuCost map_mirrored(const Layer& l, const EdgeTpuArch& a, const MapperOptions& opt, Search&& search) {
    bool unique = false;
    if (mirror_applies(l, a, opt)) {
        EdgeTpuCost c = search(transposed(a), true, unique);
        if (unique) {
            mirror_result(c);
            return c;
        }
    }
    return search(a, false, unique);
}

}  // namespace codesign::detail
