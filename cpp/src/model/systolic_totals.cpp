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

// Unsigned sums, checked once at the end: every term is a count in [0, 2^63), so a sum can wrap only after it has
// exceeded INT64_MAX, which sets the top bit of `seen` (the OR of every partial sum); the total overflows int64
// exactly when that bit is set. No checked add per field and layer.

// Sums over the MAC layers of what depends on the layer only (the same on every array), once per call.
struct LayerSums {
    std::uint64_t macs = 0, ifmap_words = 0, filter_words = 0, ofmap_words = 0, g_im2col = 0;
    std::uint64_t seen = 0;         // OR of the partial sums of macs and the three footprints
    std::uint64_t seen_im2col = 0;  // of g_im2col (is only: its ifmap SRAM reads)
};

LayerSums layer_sums(const std::vector<LayerTerms>& macs) {
    LayerSums s;
    for (const LayerTerms& t : macs) {
        s.macs += static_cast<std::uint64_t>(t.macs);
        s.ifmap_words += static_cast<std::uint64_t>(t.ifmap_words);
        s.filter_words += static_cast<std::uint64_t>(t.filter_words);
        s.ofmap_words += static_cast<std::uint64_t>(t.ofmap_words);
        s.g_im2col += static_cast<std::uint64_t>(t.g_im2col);
        s.seen |= s.macs | s.ifmap_words | s.filter_words | s.ofmap_words;
        s.seen_im2col |= s.g_im2col;
    }
    return s;
}

// The totals of the MAC layers on one valid array (dataflow D) into out, and whether one passes INT64_MAX; the
// index in `macs` of the first layer that fails (overflow), macs.size() when none. Summed per layer: the folds,
// stall-free cycles, stalls, DRAM reads and writes (not the ofmap reads) and two SRAM counts. The others follow
// from the layer sums: one SRAM count per dataflow is a layer constant (os ofmap writes, ws filter reads, is
// ifmap reads); the ofmap SRAM and DRAM reads are, layer by layer, the writes less the ofmap words
// (summed_fields), so their sums are too (reads <= writes: no sum of reads overflows unless the writes' does);
// cycles = stall-free cycles + stalls. The sums are named locals (registers; an array of them stayed in memory),
// and each layer's partial sums are ORed together before `seen`: one OR per layer in its chain.
template <Dataflow D>
std::size_t sum_layers(const std::vector<LayerTerms>& macs, const LayerSums& ls, const ArrayTerms& a,
                       std::uint64_t* out, bool& overflow) {
    std::uint64_t folds = 0, stall_free = 0, stall = 0, if_dram = 0, fl_dram = 0, of_dram_w = 0;
    std::uint64_t sram_a = 0, sram_b = 0;  // os: ifmap, filter; ws: ifmap, ofmap writes; is: filter, ofmap writes
    constexpr int kA = D == Dataflow::IS ? kFlSram : kIfSram;
    constexpr int kB = D == Dataflow::OS ? kFlSram : kOfSramW;
    std::uint64_t seen = 0;
    for (std::size_t j = 0; j < macs.size(); ++j) {
        std::int64_t v[kSystolicTotalFields];
        Mapping m;
        if (!summed_fields<D>(macs[j], a, v, m)) return j;
        folds += static_cast<std::uint64_t>(v[kFolds]);
        stall_free += static_cast<std::uint64_t>(v[kStallFree]);
        stall += static_cast<std::uint64_t>(v[kStall]);
        if_dram += static_cast<std::uint64_t>(v[kIfDram]);
        fl_dram += static_cast<std::uint64_t>(v[kFlDram]);
        of_dram_w += static_cast<std::uint64_t>(v[kOfDramW]);
        sram_a += static_cast<std::uint64_t>(v[kA]);
        sram_b += static_cast<std::uint64_t>(v[kB]);
        seen |= (folds | stall_free | stall | if_dram) | (fl_dram | of_dram_w | sram_a | sram_b);
    }
    out[kFolds] = folds;
    out[kMacs] = ls.macs;
    out[kStallFree] = stall_free;
    out[kStall] = stall;
    out[kCycles] = stall_free + stall;  // no wrap when neither part has passed 2^63 (seen)
    seen |= out[kCycles] | ls.seen;
    out[kA] = sram_a;
    out[kB] = sram_b;
    if constexpr (D == Dataflow::OS) {
        out[kOfSramW] = ls.ofmap_words;
        out[kOfSramR] = 0;
    } else {
        if constexpr (D == Dataflow::WS) {
            out[kFlSram] = ls.filter_words;
        } else {
            out[kIfSram] = ls.g_im2col;
            seen |= ls.seen_im2col;
        }
        out[kOfSramR] = sram_b - ls.ofmap_words;
    }
    out[kIfDram] = if_dram;
    out[kFlDram] = fl_dram;
    out[kOfDramW] = of_dram_w;
    out[kOfDramR] = of_dram_w - ls.ofmap_words;
    out[kIfWords] = ls.ifmap_words;
    out[kFlWords] = ls.filter_words;
    out[kOfWords] = ls.ofmap_words;
    overflow = (seen >> 63) != 0;
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
    const LayerSums ls = layer_sums(macs);
    auto work = [&](std::int64_t b, std::int64_t e) {
        for (std::int64_t a = b; a < e; ++a) {
            std::int64_t* out = sums + a * kSystolicTotalFields;
            Status st = Status::Ok;
            const SystolicArray arch = SystolicArray::from_row(archs + a * kArchFields, st);
            std::int64_t bad = -1;
            std::uint64_t acc[kSystolicTotalFields] = {};
            bool overflow = false;
            if (st == Status::Ok) {
                // Every MAC layer before the first invalid row, so that the first failure is the one the per-layer
                // batch reports first.
                const ArrayTerms at(arch);
                std::size_t failed = macs.size();
                switch (at.dataflow) {
                    case Dataflow::OS: failed = sum_layers<Dataflow::OS>(macs, ls, at, acc, overflow); break;
                    case Dataflow::WS: failed = sum_layers<Dataflow::WS>(macs, ls, at, acc, overflow); break;
                    case Dataflow::IS: failed = sum_layers<Dataflow::IS>(macs, ls, at, acc, overflow); break;
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
                } else if (overflow) {
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
