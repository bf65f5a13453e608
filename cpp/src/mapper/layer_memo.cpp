#include "layer_memo.hpp"

#include <type_traits>

namespace codesign::detail {

// The mapper reads three fields of LayerContext (weights_cached, input_spilled, output_spilled: the key's ctx);
// op_overhead_cycles and on_host are the network pass's (a fixed cost added after mapping; host layers are never
// mapped). A field added to LayerContext must be added to the key if the mapper reads it (and this size updated).
static_assert(sizeof(LayerContext) == 24, "LayerContext changed: check LayerMemo's key");
static_assert(std::is_trivially_copyable_v<EdgeTpuCost>, "the memo copies costs");

std::size_t LayerMemo::Hash::operator()(const Key& k) const {
    // FNV-1a over the key's bytes (the key has no padding: int64 and double fields only).
    static_assert(sizeof(Key) == (18 + kEdgeTpuFields + kEnergyFields + 1) * 8, "LayerMemo::Key must have no padding");
    const unsigned char* p = reinterpret_cast<const unsigned char*>(&k);
    std::uint64_t h = 1469598103934665603ULL;
    for (std::size_t i = 0; i < sizeof(Key); ++i) h = (h ^ p[i]) * 1099511628211ULL;
    return static_cast<std::size_t>(h);
}

EdgeTpuCost LayerMemo::map(const Layer& l, const EdgeTpuArch& a, const double* arch_row, const EnergyTable& e,
                           const double* energy_row, const LayerContext& ctx) {
    Key k;
    std::memset(&k, 0, sizeof(Key));
    const std::int64_t fields[18] = {l.n, l.k, l.c, l.p, l.q, l.r, l.s, l.h, l.w, l.stride_h, l.stride_w, l.pad_h,
                                     l.pad_w, l.dilation_h, l.dilation_w, l.groups, static_cast<std::int64_t>(l.op),
                                     static_cast<std::int64_t>(l.act)};
    std::memcpy(k.layer, fields, sizeof(fields));
    std::memcpy(k.arch, arch_row, sizeof(k.arch));
    std::memcpy(k.energy, energy_row, sizeof(k.energy));
    k.arch[14] = 0.0;  // inference_overhead_cycles: the network pass's
    k.arch[15] = 0.0;  // activation_buffers: the network pass's
    const bool w_offchip = l.operand_is_activation() ? ctx.input_spilled : !ctx.weights_cached;
    if (!w_offchip && !ctx.input_spilled && !ctx.output_spilled) k.arch[7] = 0.0;  // io_bytes_per_cycle unused
    k.ctx = (ctx.weights_cached ? 1 : 0) | (ctx.input_spilled ? 2 : 0) | (ctx.output_spilled ? 4 : 0);
    const auto it = memo_.find(k);
    if (it != memo_.end()) {
        ++hits_;
        return it->second;
    }
    const EdgeTpuCost c = map_edgetpu_layer(l, a, e, ctx, opt_);
    if (memo_.size() >= max_entries_) memo_.clear();  // bounded memory; results stay exact
    memo_.emplace(k, c);
    return c;
}

}  // namespace codesign::detail
