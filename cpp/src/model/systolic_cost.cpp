#include "codesign/model/systolic_cost.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <vector>

#include "codesign/parallel.hpp"

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

// The architecture-independent part of a valid MAC layer's cost: its GEMM view and footprints (evaluated once
// per layer by the batch calls, then reused on every architecture).
struct LayerTerms {
    std::int64_t G = 1, M = 0, Nf = 0, Kw = 0, macs = 0;
    std::int64_t ifmap_words = 0, filter_words = 0, ofmap_words = 0;  // distinct words, all groups
    std::int64_t in_g = 0, w_g = 0, o_g = 0, im2col_g = 0;              // per group
    bool overflow = false;
};

LayerTerms layer_terms(const Layer& layer) {
    Checked ck;
    LayerTerms t;
    t.G = layer.groups;
    t.M = layer.gemm_m(ck);
    t.Nf = layer.gemm_n();
    t.Kw = layer.gemm_k(ck);
    t.macs = ck.mul(t.G, ck.mul3(t.M, t.Nf, t.Kw));
    t.ifmap_words = layer.ifmap_unique_words(ck);
    t.w_g = ck.mul(t.Kw, t.Nf);
    t.o_g = ck.mul(t.M, t.Nf);
    t.filter_words = ck.mul(t.G, t.w_g);
    t.ofmap_words = ck.mul(t.G, t.o_g);
    t.in_g = t.ifmap_words / t.G;
    t.im2col_g = ck.mul(t.M, t.Kw);
    t.overflow = ck.overflow;
    return t;
}

// A layer row as the batch calls use it: invalid, a vector layer (no cost here), or a MAC layer's terms.
struct PreparedLayer {
    bool invalid = false;
    bool mac = false;
    LayerTerms terms;
};

PreparedLayer prepare(const std::int64_t* row, int width) {
    const Layer layer = Layer::from_row(row, width);
    PreparedLayer p;
    p.invalid = *layer.invalid_field() != '\0';
    p.mac = !p.invalid && layer.is_mac();
    if (p.mac) p.terms = layer_terms(layer);
    return p;
}

// The cost of a valid MAC layer (its terms) on one array. Always inlined: in the totals loop the compiler then
// drops what totals do not read (the ratios, the mapping fields); 20% faster there.
__attribute__((always_inline)) inline SystolicCost cost_from_terms(const LayerTerms& terms, const SystolicArray& arch);

}  // namespace

SystolicCost evaluate_systolic(const Layer& layer, const SystolicArray& arch) {
    if (*layer.invalid_field() != '\0') return fail(Status::InvalidLayer);
    if (!layer.is_mac()) return SystolicCost{};
    return cost_from_terms(layer_terms(layer), arch);
}

namespace {

inline SystolicCost cost_from_terms(const LayerTerms& terms, const SystolicArray& arch) {
    // One object returned from every path (named return value: no copy of the 200-byte record per layer, which
    // was a third of the totals loop's instructions); a failure leaves it zeroed with its status.
    SystolicCost out;
    if (terms.overflow) {
        set_failed(out, Status::Overflow);
        return out;
    }
    Checked ck;
    const std::int64_t G = terms.G;
    const std::int64_t M = terms.M;
    const std::int64_t Nf = terms.Nf;
    const std::int64_t Kw = terms.Kw;
    const std::int64_t R = arch.rows;
    const std::int64_t C = arch.cols;

    switch (arch.dataflow) {
        case Dataflow::OS: out.sr = M, out.sc = Nf, out.t = Kw; break;
        case Dataflow::WS: out.sr = Kw, out.sc = Nf, out.t = M; break;
        case Dataflow::IS: out.sr = Kw, out.sc = M, out.t = Nf; break;
    }
    const std::int64_t rf = ceil_div(out.sr, R);
    const std::int64_t cf = ceil_div(out.sc, C);
    out.row_folds = rf;
    out.col_folds = cf;
    const std::int64_t folds_g = ck.mul(rf, cf);
    out.folds = ck.mul(G, folds_g);
    const std::int64_t preload = arch.dataflow == Dataflow::OS ? 0 : R;
    out.cycles_per_fold = ck.add(out.t, preload + R + C - 2);
    out.stall_free_cycles = ck.mul(out.folds, out.cycles_per_fold);
    out.macs = terms.macs;

    // Footprints (distinct words).
    out.ifmap_words = terms.ifmap_words;
    out.filter_words = terms.filter_words;
    out.ofmap_words = terms.ofmap_words;
    const std::int64_t in_g = terms.in_g;
    const std::int64_t w_g = terms.w_g;
    const std::int64_t o_g = terms.o_g;
    const std::int64_t im2col_g = terms.im2col_g;

    // SRAM accesses per group, at the array edge.
    std::int64_t if_sram = 0, fl_sram = 0, of_w = 0, of_r = 0;
    switch (arch.dataflow) {
        case Dataflow::OS:
            if_sram = ck.mul(cf, im2col_g);
            fl_sram = ck.mul(rf, w_g);
            of_w = o_g;
            break;
        case Dataflow::WS:
            if_sram = ck.mul(cf, im2col_g);
            fl_sram = w_g;
            of_w = ck.mul(rf, o_g);
            of_r = ck.mul(rf - 1, o_g);
            break;
        case Dataflow::IS:
            if_sram = im2col_g;
            fl_sram = ck.mul(cf, w_g);
            of_w = ck.mul(rf, o_g);
            of_r = ck.mul(rf - 1, o_g);
            break;
    }
    out.ifmap_sram_reads = ck.mul(G, if_sram);
    out.filter_sram_reads = ck.mul(G, fl_sram);
    out.ofmap_sram_writes = ck.mul(G, of_w);
    out.ofmap_sram_reads = ck.mul(G, of_r);

    // DRAM accesses per group (codesign's model, see header).
    const std::int64_t half_i = arch.ifmap_sram_words / 2;
    const std::int64_t half_f = arch.filter_sram_words / 2;
    const std::int64_t half_o = arch.ofmap_sram_words / 2;
    std::int64_t if_dram = in_g, fl_dram = w_g, of_dw = o_g, of_dr = 0;
    std::int64_t out_tile = 0;  // outputs of one column fold, accumulated over row folds (ws/is)
    switch (arch.dataflow) {
        case Dataflow::OS:
            if (in_g > half_i) if_dram = ck.mul(cf, in_g);
            if (ck.mul(Kw, std::min(C, Nf)) > half_f) fl_dram = ck.mul(rf, w_g);
            break;
        case Dataflow::WS:
            if (in_g > half_i) if_dram = ck.mul(cf, in_g);
            out_tile = ck.mul(M, std::min(C, Nf));
            break;
        case Dataflow::IS:
            if (w_g > half_f) fl_dram = ck.mul(cf, w_g);
            out_tile = ck.mul(std::min(C, M), Nf);
            break;
    }
    if (rf > 1 && out_tile > half_o) {
        of_dw = ck.mul(rf, o_g);
        of_dr = ck.mul(rf - 1, o_g);
    }
    out.ifmap_dram_reads = ck.mul(G, if_dram);
    out.filter_dram_reads = ck.mul(G, fl_dram);
    out.ofmap_dram_writes = ck.mul(G, of_dw);
    out.ofmap_dram_reads = ck.mul(G, of_dr);
    if (ck.overflow) {
        set_failed(out, Status::Overflow);
        return out;
    }

    // Double-buffered pipeline over folds with uniform traffic per fold.
    const double bw = arch.dram_bw_words_per_cycle;
    const double nf = static_cast<double>(out.folds);
    const double load = static_cast<double>(ck.add(out.ifmap_dram_reads, ck.add(out.filter_dram_reads, out.ofmap_dram_reads))) / nf / bw;
    const double store = static_cast<double>(out.ofmap_dram_writes) / nf / bw;
    const double cyc = static_cast<double>(out.cycles_per_fold);
    double total = load + store;  // first load and last drain are exposed
    if (out.folds == 1) {
        total += cyc;
    } else {
        total += std::max(cyc, load) + std::max(cyc, store) + (nf - 2.0) * std::max(cyc, load + store);
    }
    const double stall = std::ceil(total - static_cast<double>(out.stall_free_cycles) - 1e-9);
    if (!(stall < 9.0e18)) {
        set_failed(out, Status::Overflow);
        return out;
    }
    out.stall_cycles = std::max<std::int64_t>(0, static_cast<std::int64_t>(stall));
    out.cycles = ck.add(out.stall_free_cycles, out.stall_cycles);

    const double pes = static_cast<double>(R) * static_cast<double>(C);
    out.mapping_efficiency =
        static_cast<double>(out.sr) * static_cast<double>(out.sc) / (static_cast<double>(folds_g) * pes);
    out.compute_utilization = static_cast<double>(out.macs) / (static_cast<double>(out.stall_free_cycles) * pes);
    if (ck.overflow) {
        set_failed(out, Status::Overflow);
        return out;
    }
    return out;
}

}  // namespace

void evaluate_systolic_batch_range(const std::int64_t* layers, std::int64_t n_layers, int layer_width,
                                   const double* archs, std::int64_t n_archs, int threads, std::int32_t* status,
                                   std::int64_t* ints, double* floats, std::int64_t begin, std::int64_t end) {
    if (n_layers <= 0 || n_archs <= 0) return;
    begin = std::max<std::int64_t>(0, begin);
    end = std::min(end, n_layers * n_archs);
    if (begin >= end) return;
    auto work = [&](std::int64_t b, std::int64_t e) {
        std::int64_t cached_arch = -1;
        SystolicArray arch;
        Status arch_status = Status::Ok;
        // Each layer parsed, validated and reduced to its terms once per range, on first use.
        std::vector<PreparedLayer> prepared(static_cast<std::size_t>(std::min(n_layers, e - b)));
        std::vector<std::int64_t> slot(static_cast<std::size_t>(n_layers), -1);
        std::int64_t used = 0;
        for (std::int64_t i = b; i < e; ++i) {
            const std::int64_t a = i / n_layers;
            const std::int64_t l = i % n_layers;
            if (a != cached_arch) {
                arch = SystolicArray::from_row(archs + a * kArchFields, arch_status);
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

const char* const kSystolicTotalNames[kSystolicTotalFields] = {
    "folds",           "macs",             "stall_free_cycles", "stall_cycles",     "cycles",
    "ifmap_sram_reads", "filter_sram_reads", "ofmap_sram_writes", "ofmap_sram_reads", "ifmap_dram_reads",
    "filter_dram_reads", "ofmap_dram_writes", "ofmap_dram_reads", "ifmap_words",      "filter_words",
    "ofmap_words",
};

// The totals' fields lie in SystolicCost as one block, in kSystolicTotalNames' order (folds first, ofmap_words
// last, nothing between them).
static_assert(offsetof(SystolicCost, ofmap_words) - offsetof(SystolicCost, folds) ==
                      (kSystolicTotalFields - 1) * sizeof(std::int64_t) &&
                  offsetof(SystolicCost, macs) == offsetof(SystolicCost, folds) + 8 &&
                  offsetof(SystolicCost, stall_free_cycles) == offsetof(SystolicCost, folds) + 16 &&
                  offsetof(SystolicCost, cycles) == offsetof(SystolicCost, folds) + 32 &&
                  offsetof(SystolicCost, ifmap_sram_reads) == offsetof(SystolicCost, folds) + 40 &&
                  offsetof(SystolicCost, ifmap_dram_reads) == offsetof(SystolicCost, folds) + 72 &&
                  offsetof(SystolicCost, ifmap_words) == offsetof(SystolicCost, folds) + 104,
              "SystolicCost's totals block must match kSystolicTotalNames");

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
    std::vector<LayerTerms> macs;
    std::vector<std::int64_t> mac_index;
    std::int64_t first_invalid = -1;
    for (std::int64_t l = 0; l < n_layers; ++l) {
        const PreparedLayer p = prepare(layers + l * layer_width, layer_width);
        if (p.invalid) {
            first_invalid = l;
            break;
        }
        if (p.mac) {
            macs.push_back(p.terms);
            mac_index.push_back(l);
        }
    }
    auto work = [&](std::int64_t b, std::int64_t e) {
        for (std::int64_t a = b; a < e; ++a) {
            std::int64_t* out = sums + a * kSystolicTotalFields;
            std::fill(out, out + kSystolicTotalFields, std::int64_t{0});
            Status st = Status::Ok;
            const SystolicArray arch = SystolicArray::from_row(archs + a * kArchFields, st);
            std::int64_t bad = -1;
            // Unsigned sums, checked once at the end: every term is a count in [0, 2^63), so a sum can wrap only
            // after it has exceeded INT64_MAX, which sets the top bit of `seen` (the OR of every partial sum); the
            // total overflows int64 exactly when that bit is set. No checked add per field and layer.
            std::uint64_t acc[kSystolicTotalFields] = {};
            std::uint64_t seen = 0;
            if (st == Status::Ok) {
                // Every MAC layer before the first invalid row, so that the first failure is the one the per-layer
                // batch reports first.
                for (std::size_t j = 0; j < macs.size(); ++j) {
                    const SystolicCost c = cost_from_terms(macs[j], arch);
                    if (c.status != Status::Ok) {
                        st = c.status;
                        bad = mac_index[j];
                        break;
                    }
                    std::int64_t v[kSystolicTotalFields];
                    std::memcpy(v, &c.folds, sizeof(v));  // folds .. ofmap_words: one block (static_assert above)
                    for (int f = 0; f < kSystolicTotalFields; ++f) {
                        acc[f] += static_cast<std::uint64_t>(v[f]);
                        seen |= acc[f];
                    }
                }
                if (st == Status::Ok && first_invalid >= 0) {
                    st = Status::InvalidLayer;
                    bad = first_invalid;
                }
                if (st == Status::Ok && (seen >> 63) != 0) st = Status::Overflow;
                for (int f = 0; f < kSystolicTotalFields; ++f) out[f] = static_cast<std::int64_t>(acc[f]);
            } else if (n_layers > 0) {
                bad = 0;  // the per-layer batch flags every layer of a bad architecture; the first is layer 0
            } else {
                st = Status::Ok;  // no layer, nothing failed (as the per-layer batch's empty rows)
            }
            if (st != Status::Ok) std::fill(out, out + kSystolicTotalFields, std::int64_t{0});
            status[a] = static_cast<std::int32_t>(st);
            bad_layer[a] = bad;
        }
    };
    const std::int64_t per_arch = std::max<std::int64_t>(1, static_cast<std::int64_t>(macs.size()));
    parallel_ranges(resolve_threads(threads, (arch_end - arch_begin) * per_arch / 4096), arch_begin, arch_end, work);
}

void evaluate_systolic_batch(const std::int64_t* layers, std::int64_t n_layers, int layer_width, const double* archs,
                             std::int64_t n_archs, int threads, std::int32_t* status, std::int64_t* ints,
                             double* floats) {
    if (n_layers <= 0 || n_archs <= 0) return;
    evaluate_systolic_batch_range(layers, n_layers, layer_width, archs, n_archs, threads, status, ints, floats, 0,
                                  n_layers * n_archs);
}

}  // namespace codesign
