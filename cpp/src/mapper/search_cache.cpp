#include "search_cache.hpp"

#include <type_traits>

#include "key_hash.hpp"

namespace codesign::detail {

// The layer fields the key holds are all of Layer's (a field added to Layer must be added to layer_fields).
static_assert(sizeof(Layer) == 16 * 8 + 2 * sizeof(Op), "Layer changed: check layer_fields and the cache keys");
static_assert(std::is_trivially_copyable_v<Unrolling>, "the cache copies unrollings");

namespace {

// At most this many entries per table, then it is cleared (bounded memory; results stay exact). A batch's work
// order keeps configurations that share entries together (layer_memo.hpp), so the entries in use are few.
constexpr std::size_t kMaxUnrollings = 1 << 9;  // about 16 KB each
constexpr std::size_t kMaxTilings = 1 << 14;    // about 0.6 KB each

}  // namespace

void list_unrollings(const Prep& p, const EdgeTpuArch& a, const MapConstraints& c, UnrollingList& out) {
    std::int32_t orders[kTileOrders], inner[2];
    const int ways = allowed_orders(c, orders) * lane_choices(c, inner);
    out.list.clear();
    out.map_space_size = 0.0;
    out.table.reset();
    if (ways == 0) return;
    thread_local std::vector<Mapping> spatial_buffer;
    std::vector<Mapping>& spatial = spatial_buffer;  // its address once (search.cpp's compact_space)
    spatial_unrollings(p.s, a, c, spatial);
    out.list.reserve(spatial.size());
    out.table = std::make_unique<UnrollTable>(p, a, c);
    for (const Mapping& sp : spatial) {
        const UnrollTable::Entry x = out.table->add(sp);
        if (x.tilings == 0.0) continue;
        out.list.push_back({sp, x});
        out.map_space_size += x.tilings * double(ways);
    }
}

const UnrollingList& SearchCache::unrollings(const Prep& p, const EdgeTpuArch& a) {
    UnrollKey k;
    std::memcpy(k.s, p.s.d, sizeof(k.s));
    k.levels[0] = a.pe_x, k.levels[1] = a.pe_y, k.levels[2] = a.lanes, k.levels[3] = a.simd;
    const auto it = unrollings_.find(k);
    if (it != unrollings_.end()) return it->second;
    if (unrollings_.size() >= kMaxUnrollings) unrollings_.clear();
    UnrollingList& entry = unrollings_[k];
    list_unrollings(p, a, constraints_, entry);
    return entry;
}

void SearchCache::compact(const Layer& l, const Unrolled& u, const EdgeTpuArch& a, std::vector<Tiling>& out) {
    TilingKey k;
    layer_fields(l, k.layer);
    std::memcpy(k.share, u.share, sizeof(k.share));
    k.words[0] = a.act_bytes, k.words[1] = a.weight_bytes, k.words[2] = a.psum_bytes;
    for (int i = 0; i < kDataSpaces; ++i) k.roles[i] = a.level_of[i];
    k.core_mem_bytes = a.core_mem_bytes;
    k.pe_mem_bytes = a.pe_mem_bytes;
    auto it = tilings_.find(k);
    if (it == tilings_.end()) {
        if (tilings_.size() >= kMaxTilings) tilings_.clear();
        it = tilings_.emplace(k, std::vector<Tiling>{}).first;
        compact_tilings(l, u, a, constraints_, it->second);
    }
    out.insert(out.end(), it->second.begin(), it->second.end());
}

}  // namespace codesign::detail
