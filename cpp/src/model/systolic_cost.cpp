#include "codesign/model/systolic_cost.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <vector>

#include "codesign/parallel.hpp"
#include "systolic_kernel.hpp"

namespace codesign {

const char* const kSystolicIntNames[kSystolicIntFields] = {
    "sr",
    "sc",
    "t",
    "row_folds",
    "col_folds",
    "folds",
    "cycles_per_fold",
    "macs",
    "stall_free_cycles",
    "stall_cycles",
    "cycles",
    "ifmap_sram_reads",
    "filter_sram_reads",
    "ofmap_sram_writes",
    "ofmap_sram_reads",
    "ifmap_dram_reads",
    "filter_dram_reads",
    "ofmap_dram_writes",
    "ofmap_dram_reads",
    "ifmap_words",
    "filter_words",
    "ofmap_words",
};
const char* const kSystolicFloatNames[kSystolicFloatFields] = {"mapping_efficiency", "compute_utilization"};

void write_systolic_row(const SystolicCost& c, std::int64_t* o, double* f) {
    const std::int64_t v[kSystolicIntFields] = {c.sr,
                                                c.sc,
                                                c.t,
                                                c.row_folds,
                                                c.col_folds,
                                                c.folds,
                                                c.cycles_per_fold,
                                                c.macs,
                                                c.stall_free_cycles,
                                                c.stall_cycles,
                                                c.cycles,
                                                c.ifmap_sram_reads,
                                                c.filter_sram_reads,
                                                c.ofmap_sram_writes,
                                                c.ofmap_sram_reads,
                                                c.ifmap_dram_reads,
                                                c.filter_dram_reads,
                                                c.ofmap_dram_writes,
                                                c.ofmap_dram_reads,
                                                c.ifmap_words,
                                                c.filter_words,
                                                c.ofmap_words};
    std::copy(v, v + kSystolicIntFields, o);
    f[0] = c.mapping_efficiency;
    f[1] = c.compute_utilization;
}

namespace {

using namespace systolic_detail;

SystolicCost fail(Status s) {
    SystolicCost c;
    c.status = s;
    return c;
}

// `out` reset to a failed result with status s (all counts zero, as fail(s)).
inline void set_failed(SystolicCost& out, Status s) {
    out = SystolicCost{};
    out.status = s;
}

template <Dataflow D>
inline void cost_on(const LayerTerms& terms, const ArrayTerms& a, SystolicCost& out) {
    std::int64_t v[kSystolicTotalFields];
    Mapping m;
    if (!summed_fields<D>(terms, a, v, m)) {
        set_failed(out, Status::Overflow);
        return;
    }
    std::memcpy(&out.folds, v, sizeof(v));  // folds .. ofmap_words: one block (static_assert in systolic_totals.cpp)
    out.sr = m.sr, out.sc = m.sc, out.t = m.t;
    out.row_folds = m.rf, out.col_folds = m.cf;
    out.cycles_per_fold = m.cycles_per_fold;
    const double pes = static_cast<double>(a.R) * static_cast<double>(a.C);
    out.mapping_efficiency =
        static_cast<double>(m.sr) * static_cast<double>(m.sc) / (static_cast<double>(m.folds_g) * pes);
    out.compute_utilization = static_cast<double>(out.macs) / (static_cast<double>(out.stall_free_cycles) * pes);
}

// The cost of a valid MAC layer (its terms) on one array.
SystolicCost cost_from_terms(const LayerTerms& terms, const ArrayTerms& a) {
    SystolicCost out;  // one object returned from every path (named return value)
    if (terms.overflow) {
        set_failed(out, Status::Overflow);
        return out;
    }
    switch (a.dataflow) {
        case Dataflow::OS: cost_on<Dataflow::OS>(terms, a, out); break;
        case Dataflow::WS: cost_on<Dataflow::WS>(terms, a, out); break;
        case Dataflow::IS: cost_on<Dataflow::IS>(terms, a, out); break;
    }
    return out;
}

}  // namespace

SystolicCost evaluate_systolic(const Layer& layer, const SystolicArray& arch) {
    if (*layer.invalid_field() != '\0') return fail(Status::InvalidLayer);
    if (!layer.is_mac()) return SystolicCost{};
    return cost_from_terms(layer_terms(layer), ArrayTerms(arch));
}

void evaluate_systolic_batch_range(const std::int64_t* layers, std::int64_t n_layers, int layer_width,
                                   const double* archs, std::int64_t n_archs, int threads, std::int32_t* status,
                                   std::int64_t* ints, double* floats, std::int64_t begin, std::int64_t end) {
    if (n_layers <= 0 || n_archs <= 0) return;
    begin = std::max<std::int64_t>(0, begin);
    end = std::min(end, n_layers * n_archs);
    if (begin >= end) return;
    auto work = [&](std::int64_t b, std::int64_t e) {
        std::int64_t cached_arch = -1;
        ArrayTerms arch{SystolicArray{}};
        Status arch_status = Status::Ok;
        // Each layer parsed, validated and reduced to its terms once per range, on first use.
        std::vector<PreparedLayer> prepared(static_cast<std::size_t>(std::min(n_layers, e - b)));
        std::vector<std::int64_t> slot(static_cast<std::size_t>(n_layers), -1);
        std::int64_t used = 0;
        for (std::int64_t i = b; i < e; ++i) {
            const std::int64_t a = i / n_layers;
            const std::int64_t l = i % n_layers;
            if (a != cached_arch) {
                const SystolicArray parsed = SystolicArray::from_row(archs + a * kArchFields, arch_status);
                if (arch_status == Status::Ok) arch = ArrayTerms(parsed);
                cached_arch = a;
            }
            if (slot[static_cast<std::size_t>(l)] < 0) {
                prepared[static_cast<std::size_t>(used)] = prepare(layers + l * layer_width, layer_width);
                slot[static_cast<std::size_t>(l)] = used++;
            }
            const PreparedLayer& p = prepared[static_cast<std::size_t>(slot[static_cast<std::size_t>(l)])];
            SystolicCost cost;
            if (arch_status != Status::Ok) {
                cost.status = arch_status;
            } else if (p.invalid) {
                cost.status = Status::InvalidLayer;
            } else if (p.mac) {
                cost = cost_from_terms(p.terms, arch);
            }
            status[i] = static_cast<std::int32_t>(cost.status);
            write_systolic_row(cost, ints + i * kSystolicIntFields, floats + i * kSystolicFloatFields);
        }
    };
    // Below a few thousand evaluations a thread costs more than it saves.
    parallel_ranges(resolve_threads(threads, (end - begin) / 4096), begin, end, work);
}

void evaluate_systolic_batch(const std::int64_t* layers, std::int64_t n_layers, int layer_width, const double* archs,
                             std::int64_t n_archs, int threads, std::int32_t* status, std::int64_t* ints,
                             double* floats) {
    if (n_layers <= 0 || n_archs <= 0) return;
    evaluate_systolic_batch_range(layers, n_layers, layer_width, archs, n_archs, threads, status, ints, floats, 0,
                                  n_layers * n_archs);
}

}  // namespace codesign
