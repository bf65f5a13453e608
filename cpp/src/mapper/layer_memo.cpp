#include "layer_memo.hpp"

#include <algorithm>
#include <type_traits>
#include <utility>

#include "key_hash.hpp"
#include "mirror.hpp"

namespace codesign::detail {

// The mapper reads three fields of LayerContext (weights_cached, input_spilled, output_spilled: the key's ctx);
// op_overhead_cycles and on_host are the network pass's (a fixed cost added after mapping; host layers are never
// mapped). A field added to LayerContext must be added to the key if the mapper reads it (and this size updated).
static_assert(sizeof(LayerContext) == 24, "LayerContext changed: check LayerMemo's key");
static_assert(std::is_trivially_copyable_v<EdgeTpuCost>, "the memo copies costs");

std::size_t LayerMemo::Hash::operator()(const Key& k) const {
    static_assert(sizeof(Key) == (18 + kEdgeTpuFields + kEnergyFields + 1) * 8, "LayerMemo::Key must have no padding");
    return hash_key_words(k);
}

std::vector<std::int64_t> mirror_adjacent_order(const double* archs, std::int64_t begin, std::int64_t end) {
    std::vector<std::int64_t> order;
    if (end <= begin) return order;
    order.resize(static_cast<std::size_t>(end - begin));
    for (std::int64_t i = begin; i < end; ++i) order[static_cast<std::size_t>(i - begin)] = i;
    auto bits = [&](std::int64_t i, int f) {
        std::uint64_t b;
        std::memcpy(&b, archs + i * kEdgeTpuFields + f, sizeof(b));
        return b;
    };
    auto key = [&](std::int64_t i, int f) {  // field f of the row with (pe_x, pe_y) ascending
        const double* r = archs + i * kEdgeTpuFields;
        const bool swap = r[0] > r[1];
        return bits(i, f == 0 && swap ? 1 : f == 1 && swap ? 0 : f);
    };
    std::stable_sort(order.begin(), order.end(), [&](std::int64_t x, std::int64_t y) {
        for (int f = 0; f < kEdgeTpuFields; ++f) {
            const std::uint64_t kx = key(x, f), ky = key(y, f);
            if (kx != ky) return kx < ky;
        }
        return bits(x, 0) < bits(y, 0);  // the orientation
    });
    return order;
}

EdgeTpuCost LayerMemo::map(const Layer& l, const EdgeTpuArch& a, const double* arch_row, const EnergyTable& e,
                           const double* energy_row, const LayerContext& ctx) {
    Key k;
    std::memset(&k, 0, sizeof(Key));
    layer_fields(l, k.layer);
    std::memcpy(k.arch, arch_row, sizeof(k.arch));
    std::memcpy(k.energy, energy_row, sizeof(k.energy));
    k.arch[14] = 0.0;  // inference_overhead_cycles: the network pass's
    k.arch[15] = 0.0;  // activation_buffers: the network pass's
    const bool w_offchip = l.operand_is_activation() ? ctx.input_spilled : !ctx.weights_cached;
    if (!w_offchip && !ctx.input_spilled && !ctx.output_spilled) k.arch[7] = 0.0;  // io_bytes_per_cycle unused
    k.ctx = (ctx.weights_cached ? 1 : 0) | (ctx.input_spilled ? 2 : 0) | (ctx.output_spilled ? 4 : 0);
    auto cached = [&](const EdgeTpuArch& arch, bool transposed) {
        Key kk = k;
        if (transposed) std::swap(kk.arch[0], kk.arch[1]);  // pe_x, pe_y (row fields 0 and 1)
        const auto it = memo_.find(kk);
        if (it != memo_.end()) {
            ++hits_;
            return it->second;
        }
        const EdgeTpuCost c = search_layer(l, arch, e, ctx, opt_, cache_.get());
        if (memo_.size() >= max_entries_) memo_.clear();  // bounded memory; results stay exact
        memo_.emplace(kk, c);
        return c;
    };
    return map_mirrored(l, a, opt_, cached);
}

}  // namespace codesign::detail
