// What the searches of one batch share beyond whole mapped layers (layer_memo.hpp): configurations that differ in
// memory sizes or I/O bandwidth have the same spatial unrollings, and configurations that differ in lanes, SIMD
// width or I/O bandwidth the same compact tilings of a per-PE share (issue 15). One cache per batch worker and
// MapperOptions (its constraints are part of every entry and fixed for the cache). Exact: each entry is a pure
// function of its key, so a search with the cache is the search without it, bit for bit. Internal to the core.
//
// Keys (each asserted against what the cached function reads):
//  * unrollings: spatial_unrollings, unroll_shares and tile_range read the layer's extents (Prep::s) and the sizes
//    of the four spatial levels (pe_x, pe_y, lanes, simd);
//  * compact tilings (compact_tilings): tile_bytes and tiles_fit read the layer's fields, the per-PE share, the
//    three word sizes, the memory roles and the core and PE memory sizes.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <unordered_map>
#include <vector>

#include "key_hash.hpp"
#include "map_space.hpp"

namespace codesign::detail {

// Every field of a layer as int64 (a key's layer part).
inline void layer_fields(const Layer& l, std::int64_t out[18]) {
    const std::int64_t f[18] = {l.n, l.k, l.c, l.p, l.q, l.r, l.s, l.h, l.w, l.stride_h, l.stride_w, l.pad_h,
                                l.pad_w, l.dilation_h, l.dilation_w, l.groups, static_cast<std::int64_t>(l.op),
                                static_cast<std::int64_t>(l.act)};
    std::memcpy(out, f, sizeof(f));
}

// A spatial unrolling of the map space: the mapping's spatial fields and what its table entry holds (the levels
// unrolling each dimension, the compute cycles; the shares and tile range on demand, UnrollingList::expand).
struct Unrolling {
    Mapping m;
    UnrollTable::Entry x;
};

// The unrollings of a layer on a grid whose tile range is not empty, in enumeration order, the size of the map
// space they span (mappings before the capacity check) and their table.
struct UnrollingList {
    std::vector<Unrolling> list;
    double map_space_size = 0.0;
    std::unique_ptr<UnrollTable> table;
    // u = unroll_shares(p, a, un.m) and tr = tile_range(u, c) of the layer, grid and constraints listed.
    void expand(const Unrolling& un, Unrolled& u, TileRange& tr) const { table->expand(un.x, u, tr); }
};

// Builds an UnrollingList (the search's own enumeration; what the cache stores).
void list_unrollings(const Prep& p, const EdgeTpuArch& a, const MapConstraints& c, UnrollingList& out);

class SearchCache {
public:
    explicit SearchCache(const MapConstraints& c) : constraints_(c) {}

    // The unrollings of the layer (its Prep) on a's grid, listed on the first call for an equal key.
    const UnrollingList& unrollings(const Prep& p, const EdgeTpuArch& a);
    // Appends u's compact tilings (compact_tilings) to out, listed on the first call for an equal key.
    void compact(const Layer& l, const Unrolled& u, const EdgeTpuArch& a, std::vector<Tiling>& out);

private:
    template <typename Key>
    struct Bytes {  // hashes a key by its bytes (key_hash.hpp; keys are padding-free: 8-byte fields only)
        std::size_t operator()(const Key& k) const { return hash_key_words(k); }
    };
    struct UnrollKey {
        double s[kDims];
        std::int64_t levels[kSpatialLevels];
        bool operator==(const UnrollKey& o) const { return std::memcmp(this, &o, sizeof(UnrollKey)) == 0; }
    };
    struct TilingKey {
        std::int64_t layer[18];
        double share[kDims];
        std::int64_t words[3], roles[kDataSpaces];
        double core_mem_bytes, pe_mem_bytes;
        bool operator==(const TilingKey& o) const { return std::memcmp(this, &o, sizeof(TilingKey)) == 0; }
    };
    MapConstraints constraints_;
    std::unordered_map<UnrollKey, UnrollingList, Bytes<UnrollKey>> unrollings_;
    std::unordered_map<TilingKey, std::vector<Tiling>, Bytes<TilingKey>> tilings_;
};

}  // namespace codesign::detail
