// The systolic model's totals-only batch entry point (network totals per array, no per-layer rows): the hot loop
// of sweeps and searches. Same cost as the per-layer entry point (systolic_kernel.hpp), summed in layer order.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "codesign/model/systolic_cost.hpp"
#include "codesign/parallel.hpp"
#include "systolic_kernel.hpp"

namespace codesign {

const char* const kSystolicTotalNames[kSystolicTotalFields] = {
    "folds",           "macs",             "stall_free_cycles", "stall_cycles",     "cycles",
    "ifmap_sram_reads", "filter_sram_reads", "ofmap_sram_writes", "ofmap_sram_reads", "ifmap_dram_reads",
    "filter_dram_reads", "ofmap_dram_writes", "ofmap_dram_reads", "ifmap_words",      "filter_words",
    "ofmap_words",
};

namespace {

using namespace systolic_detail;

// The fields that depend on the layer only (the same on every array), summed once per call.
constexpr int kLayerOnly[] = {kMacs, kIfWords, kFlWords, kOfWords};
constexpr bool layer_only(int f) { return f == kMacs || f == kIfWords || f == kFlWords || f == kOfWords; }

// The MAC layers' sums on one valid array (dataflow D) into acc, the OR of every partial sum into seen; the index
// in `macs` of the first layer that fails (overflow), macs.size() when none.
template <Dataflow D>
std::size_t sum_layers(const std::vector<LayerTerms>& macs, const ArrayTerms& a, std::uint64_t* acc,
                       std::uint64_t& seen) {
    for (std::size_t j = 0; j < macs.size(); ++j) {
        std::int64_t v[kSystolicTotalFields];
        Mapping m;
        if (!summed_fields<D>(macs[j], a, v, m)) return j;
        for (int f = 0; f < kSystolicTotalFields; ++f) {
            if (layer_only(f)) continue;
            acc[f] += static_cast<std::uint64_t>(v[f]);
            seen |= acc[f];
        }
    }
    return macs.size();
}

}  // namespace

void evaluate_systolic_totals_range(const std::int64_t* layers, std::int64_t n_layers, int layer_width,
                                    const double* archs, std::int64_t n_archs, int threads, std::int32_t* status,
                                    std::int64_t* bad_layer, std::int64_t* sums, std::int64_t arch_begin,
                                    std::int64_t arch_end) {
    if (n_archs <= 0) return;
    n_layers = std::max<std::int64_t>(0, n_layers);
    arch_begin = std::max<std::int64_t>(0, arch_begin);
    arch_end = std::min(arch_end, n_archs);
    if (arch_begin >= arch_end) return;
    // Parsed and validated once per call: the MAC layers (the others cost nothing here) up to the first invalid one.
    // A layer whose own terms overflow fails on every array; the MAC layers before it are still costed first.
    std::vector<LayerTerms> macs;
    std::vector<std::int64_t> mac_index;
    std::int64_t first_invalid = -1;
    std::int64_t first_overflow = -1;
    for (std::int64_t l = 0; l < n_layers; ++l) {
        const PreparedLayer p = prepare(layers + l * layer_width, layer_width);
        if (p.invalid) {
            first_invalid = l;
            break;
        }
        if (p.mac && p.terms.overflow) {
            first_overflow = l;
            break;
        }
        if (p.mac) {
            macs.push_back(p.terms);
            mac_index.push_back(l);
        }
    }
    // Unsigned sums, checked once at the end: every term is a count in [0, 2^63), so a sum can wrap only after it
    // has exceeded INT64_MAX, which sets the top bit of `seen` (the OR of every partial sum); the total overflows
    // int64 exactly when that bit is set. No checked add per field and layer. The layer-only fields the same way,
    // once.
    std::uint64_t layer_acc[kSystolicTotalFields] = {};
    std::uint64_t layer_seen = 0;
    for (const LayerTerms& t : macs) {
        const std::int64_t x[] = {t.macs, t.ifmap_words, t.filter_words, t.ofmap_words};
        for (int i = 0; i < 4; ++i) {
            layer_acc[kLayerOnly[i]] += static_cast<std::uint64_t>(x[i]);
            layer_seen |= layer_acc[kLayerOnly[i]];
        }
    }
    auto work = [&](std::int64_t b, std::int64_t e) {
        for (std::int64_t a = b; a < e; ++a) {
            std::int64_t* out = sums + a * kSystolicTotalFields;
            Status st = Status::Ok;
            const SystolicArray arch = SystolicArray::from_row(archs + a * kArchFields, st);
            std::int64_t bad = -1;
            std::uint64_t acc[kSystolicTotalFields];
            std::copy(layer_acc, layer_acc + kSystolicTotalFields, acc);
            std::uint64_t seen = layer_seen;
            if (st == Status::Ok) {
                // Every MAC layer before the first invalid row, so that the first failure is the one the per-layer
                // batch reports first.
                const ArrayTerms at(arch);
                std::size_t failed = macs.size();
                switch (at.dataflow) {
                    case Dataflow::OS: failed = sum_layers<Dataflow::OS>(macs, at, acc, seen); break;
                    case Dataflow::WS: failed = sum_layers<Dataflow::WS>(macs, at, acc, seen); break;
                    case Dataflow::IS: failed = sum_layers<Dataflow::IS>(macs, at, acc, seen); break;
                }
                if (failed < macs.size()) {
                    st = Status::Overflow;
                    bad = mac_index[failed];
                } else if (first_overflow >= 0) {
                    st = Status::Overflow;
                    bad = first_overflow;
                } else if (first_invalid >= 0) {
                    st = Status::InvalidLayer;
                    bad = first_invalid;
                } else if ((seen >> 63) != 0) {
                    st = Status::Overflow;
                }
            } else if (n_layers > 0) {
                bad = 0;  // the per-layer batch flags every layer of a bad architecture; the first is layer 0
            } else {
                st = Status::Ok;  // no layer, nothing failed (as the per-layer batch's empty rows)
            }
            for (int f = 0; f < kSystolicTotalFields; ++f)
                out[f] = st == Status::Ok ? static_cast<std::int64_t>(acc[f]) : 0;
            status[a] = static_cast<std::int32_t>(st);
            bad_layer[a] = bad;
        }
    };
    const std::int64_t per_arch = std::max<std::int64_t>(1, static_cast<std::int64_t>(macs.size()));
    parallel_ranges(resolve_threads(threads, (arch_end - arch_begin) * per_arch / 4096), arch_begin, arch_end, work);
}

}  // namespace codesign
