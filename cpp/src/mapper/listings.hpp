// The compact tilings a search has listed (search.cpp): internal to the core.
#pragma once

#include <array>
#include <cstddef>
#include <vector>

#include "map_space.hpp"

namespace codesign::detail {

// The compact tilings of the unrollings listed so far in one search, each listing once per per-PE share (they
// depend on an unrolling only through it: the lanes and SIMD levels unroll within a PE), in one pool reused across
// searches (a vector per listing cost more in allocations than the listing).
struct Listings {
    struct Entry {
        std::array<double, kDims> share;
        std::size_t begin, end;  // its tilings: pool[begin, end)
    };
    std::vector<Entry> entries;
    std::vector<Tiling> pool;
    void clear() { entries.clear(), pool.clear(); }
};

// A listing's tilings (pointers into the pool, valid until the next listing is made).
struct TilingSpan {
    const Tiling* first;
    const Tiling* last;
    const Tiling* begin() const { return first; }
    const Tiling* end() const { return last; }
    bool empty() const { return first == last; }
    std::size_t size() const { return static_cast<std::size_t>(last - first); }
    const Tiling& operator[](std::size_t i) const { return first[i]; }
};

}  // namespace codesign::detail
