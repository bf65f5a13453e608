// The systolic model's cost of one valid MAC layer on one array, split into what depends on the layer only
// (LayerTerms), on the array only (ArrayTerms) and on both (summed_fields): shared by the single, per-layer batch
// and totals-only entry points (systolic_cost.cpp, systolic_totals.cpp); not part of the public API. The formulas
// and their sources are in codesign/model/systolic_cost.hpp.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "codesign/arch/systolic.hpp"
#include "codesign/common.hpp"
#include "codesign/divisor.hpp"
#include "codesign/model/systolic_cost.hpp"
#include "codesign/workload/layer.hpp"

namespace codesign::systolic_detail {

// The architecture-independent part of a valid MAC layer's cost: its GEMM view, footprints and the per-layer
// products every array multiplies by its fold counts (evaluated once per layer by the batch calls).
struct LayerTerms {
    std::int64_t G = 1, M = 0, Nf = 0, Kw = 0, macs = 0;
    std::int64_t ifmap_words = 0, filter_words = 0, ofmap_words = 0;  // distinct words, all groups
    std::int64_t in_g = 0, w_g = 0, o_g = 0;                            // distinct words per group
    // G * im2col words of one group, G * in_g. Both fit in int64 when the layer has no overflow: G*M*Kw <= macs
    // (Nf >= 1) and G * in_g <= ifmap_words.
    std::int64_t g_im2col = 0, g_in = 0;
    bool overflow = false;
};

inline LayerTerms layer_terms(const Layer& layer) {
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
    t.g_im2col = ck.mul(t.G, ck.mul(t.M, t.Kw));
    t.g_in = ck.mul(t.G, t.in_g);
    t.overflow = ck.overflow;
    return t;
}

// A layer row as the batch calls use it: invalid, a vector layer (no cost here), or a MAC layer's terms.
struct PreparedLayer {
    bool invalid = false;
    bool mac = false;
    LayerTerms terms;
};

inline PreparedLayer prepare(const std::int64_t* row, int width) {
    const Layer layer = Layer::from_row(row, width);
    PreparedLayer p;
    p.invalid = *layer.invalid_field() != '\0';
    p.mac = !p.invalid && layer.is_mac();
    if (p.mac) p.terms = layer_terms(layer);
    return p;
}

// The layer-independent part: the array's edges as divisors (exact, see divisor.hpp), its fill and drain per fold,
// the SRAM halves, and 1 / bandwidth where dividing by the bandwidth is exactly a multiplication by it.
struct ArrayTerms {
    Dataflow dataflow = Dataflow::WS;
    std::int64_t R = 1, C = 1;
    Divisor rows, cols;
    std::int64_t fill = 0;  // cycles per fold besides the temporal extent: os R + C - 2, ws/is 2R + C - 2
    std::int64_t half_i = 0, half_f = 0, half_o = 0;
    double bw = 1.0;
    // bw a power of two whose reciprocal is a double: x / bw and x * inv_bw are then the same real number, so
    // both correctly rounded results are the same bits (overflow and subnormals included).
    bool bw_pow2 = false;
    double inv_bw = 1.0;

    explicit ArrayTerms(const SystolicArray& a)
        : dataflow(a.dataflow), R(a.rows), C(a.cols), rows(std::max<std::int64_t>(1, a.rows)),
          cols(std::max<std::int64_t>(1, a.cols)),  // (edges < 1: an invalid array, never costed)
          fill((a.dataflow == Dataflow::OS ? 0 : a.rows) + a.rows + a.cols - 2), half_i(a.ifmap_sram_words / 2),
          half_f(a.filter_sram_words / 2), half_o(a.ofmap_sram_words / 2), bw(a.dram_bw_words_per_cycle) {
        int e_bw = 0, e_inv = 0;
        const double inv = 1.0 / bw;
        bw_pow2 = std::isfinite(bw) && std::frexp(bw, &e_bw) == 0.5 && std::isfinite(inv) && inv != 0.0 &&
                  std::frexp(inv, &e_inv) == 0.5 && inv * bw == 1.0;
        if (bw_pow2) inv_bw = inv;
    }
};

// Indices of the summed fields: kSystolicTotalNames' order, the order of SystolicCost's block folds .. ofmap_words.
enum SumField : int {
    kFolds, kMacs, kStallFree, kStall, kCycles, kIfSram, kFlSram, kOfSramW, kOfSramR, kIfDram, kFlDram, kOfDramW,
    kOfDramR, kIfWords, kFlWords, kOfWords,
};

#define CODESIGN_SUM_FIELD_AT(field, index) \
    (offsetof(SystolicCost, field) == offsetof(SystolicCost, folds) + (index) * sizeof(std::int64_t))
static_assert(CODESIGN_SUM_FIELD_AT(macs, kMacs) && CODESIGN_SUM_FIELD_AT(stall_free_cycles, kStallFree) &&
                  CODESIGN_SUM_FIELD_AT(stall_cycles, kStall) && CODESIGN_SUM_FIELD_AT(cycles, kCycles) &&
                  CODESIGN_SUM_FIELD_AT(ifmap_sram_reads, kIfSram) &&
                  CODESIGN_SUM_FIELD_AT(filter_sram_reads, kFlSram) &&
                  CODESIGN_SUM_FIELD_AT(ofmap_sram_writes, kOfSramW) &&
                  CODESIGN_SUM_FIELD_AT(ofmap_sram_reads, kOfSramR) &&
                  CODESIGN_SUM_FIELD_AT(ifmap_dram_reads, kIfDram) &&
                  CODESIGN_SUM_FIELD_AT(filter_dram_reads, kFlDram) &&
                  CODESIGN_SUM_FIELD_AT(ofmap_dram_writes, kOfDramW) &&
                  CODESIGN_SUM_FIELD_AT(ofmap_dram_reads, kOfDramR) && CODESIGN_SUM_FIELD_AT(ifmap_words, kIfWords) &&
                  CODESIGN_SUM_FIELD_AT(filter_words, kFlWords) && CODESIGN_SUM_FIELD_AT(ofmap_words, kOfWords) &&
                  kOfWords + 1 == kSystolicTotalFields,
              "SystolicCost's block folds .. ofmap_words must be the summed fields in SumField order");
#undef CODESIGN_SUM_FIELD_AT

// The mapping of one group, besides the summed fields (the per-layer rows report it).
struct Mapping {
    std::int64_t sr = 0, sc = 0, t = 0, rf = 0, cf = 0, folds_g = 0, cycles_per_fold = 0;
};

typedef double Double2 __attribute__((vector_size(16)));  // two lanes, each an IEEE double operation

// r = a * b or a + b; false when the result overflows int64. Any overflow makes the whole result Overflow, so the
// kernel returns at the first one (no sticky flag to carry).
inline bool mul_ok(std::int64_t a, std::int64_t b, std::int64_t& r) { return !__builtin_mul_overflow(a, b, &r); }
inline bool add_ok(std::int64_t a, std::int64_t b, std::int64_t& r) { return !__builtin_add_overflow(a, b, &r); }

// r = cond ? a * b : otherwise, the product computed either way and selected (the conditions below depend on the
// layer and the array: a branch on them is mispredicted often); false when cond holds and a * b overflows int64.
inline bool select_mul(bool cond, std::int64_t a, std::int64_t b, std::int64_t otherwise, std::int64_t& r) {
    std::int64_t p = 0;
    const bool over = __builtin_mul_overflow(a, b, &p);
    r = cond ? p : otherwise;
    return !(cond & over);
}

// max(0, ceil(x)) as an integer for a finite x < 9e18 (the caller checks; a NaN fails that check), without a
// floating ceil (SSE2 has no rounding instruction): t = trunc(max(x, 0)) is exact below 2^63, and t + 1 exactly
// when max(x, 0) has a fraction (t converts back exactly: below 2^53 every integer is a double, above it every
// double is an integer, so then t == x).
inline std::int64_t ceil_nonneg(double x) {
    const double xc = std::max(x, 0.0);
    const std::int64_t t = static_cast<std::int64_t>(xc);
    return t + (static_cast<double>(t) < xc ? 1 : 0);
}

// The summed fields of a valid MAC layer (its terms, no overflow in them) on array a (dataflow D) into
// v[0 .. kSystolicTotalFields), and its mapping into m. False when a count overflows int64 (the status is then
// Overflow and v is to be discarded). Always inlined: the totals loop then drops what it does not read.
template <Dataflow D>
__attribute__((always_inline)) inline bool summed_fields(const LayerTerms& terms, const ArrayTerms& a,
                                                         std::int64_t* v, Mapping& m) {
    const std::int64_t G = terms.G;
    if constexpr (D == Dataflow::OS) {
        m.sr = terms.M, m.sc = terms.Nf, m.t = terms.Kw;
    } else if constexpr (D == Dataflow::WS) {
        m.sr = terms.Kw, m.sc = terms.Nf, m.t = terms.M;
    } else {
        m.sr = terms.Kw, m.sc = terms.M, m.t = terms.Nf;
    }
    const std::int64_t rf = a.rows.ceil_div(m.sr);
    const std::int64_t cf = a.cols.ceil_div(m.sc);
    m.rf = rf;
    m.cf = cf;
    std::int64_t folds = 0;
    if (!mul_ok(rf, cf, m.folds_g) || !mul_ok(G, m.folds_g, folds) || !add_ok(m.t, a.fill, m.cycles_per_fold) ||
        !mul_ok(folds, m.cycles_per_fold, v[kStallFree]))
        return false;
    v[kFolds] = folds;
    v[kMacs] = terms.macs;
    v[kIfWords] = terms.ifmap_words;
    v[kFlWords] = terms.filter_words;
    v[kOfWords] = terms.ofmap_words;

    // SRAM accesses at the array edge, all groups. A product of the per-group count by G is written as the fold
    // count times a per-layer product with G: the same value, and (every factor >= 1, rf - 1 >= 0 multiplying a
    // product that fits) an overflow exactly when the per-group form overflows.
    if constexpr (D == Dataflow::OS) {
        if (!mul_ok(cf, terms.g_im2col, v[kIfSram]) || !mul_ok(rf, terms.filter_words, v[kFlSram])) return false;
        v[kOfSramW] = terms.ofmap_words;
        v[kOfSramR] = 0;
    } else {
        if constexpr (D == Dataflow::WS) {
            if (!mul_ok(cf, terms.g_im2col, v[kIfSram])) return false;
            v[kFlSram] = terms.filter_words;
        } else {
            v[kIfSram] = terms.g_im2col;
            if (!mul_ok(cf, terms.filter_words, v[kFlSram])) return false;
        }
        if (!mul_ok(rf, terms.ofmap_words, v[kOfSramW])) return false;
        v[kOfSramR] = v[kOfSramW] - terms.ofmap_words;  // (rf - 1) * ofmap words (then no overflow either)
    }

    // DRAM accesses (codesign's model, see systolic_cost.hpp), all groups.
    std::int64_t if_dram = terms.g_in, fl_dram = terms.filter_words, of_dw = terms.ofmap_words;
    std::int64_t out_tile = 0;  // outputs of one column fold, accumulated over row folds (ws/is)
    if constexpr (D == Dataflow::OS) {
        std::int64_t tile = 0;
        if (!select_mul(terms.in_g > a.half_i, cf, terms.g_in, terms.g_in, if_dram) ||
            !mul_ok(terms.Kw, std::min(a.C, terms.Nf), tile) ||
            !select_mul(tile > a.half_f, rf, terms.filter_words, terms.filter_words, fl_dram))
            return false;
    } else if constexpr (D == Dataflow::WS) {
        if (!select_mul(terms.in_g > a.half_i, cf, terms.g_in, terms.g_in, if_dram) ||
            !mul_ok(terms.M, std::min(a.C, terms.Nf), out_tile))
            return false;
    } else {
        if (!select_mul(terms.w_g > a.half_f, cf, terms.filter_words, terms.filter_words, fl_dram) ||
            !mul_ok(std::min(a.C, terms.M), terms.Nf, out_tile))
            return false;
    }
    if constexpr (D == Dataflow::OS) {
        // (out_tile stays 0: no spill unless an ofmap SRAM half is below 0 words, which no valid array has)
        if (rf > 1 && out_tile > a.half_o && !mul_ok(rf, terms.ofmap_words, of_dw)) return false;
    } else {
        // Spilled partial sums: rf writes per output word, the ofmap SRAM writes' count (rf = 1: the same).
        of_dw = out_tile > a.half_o ? v[kOfSramW] : terms.ofmap_words;
    }
    // Partial sums read back: (rf - 1) * ofmap words when they spill, else none; of_dw - ofmap words either way.
    const std::int64_t of_dr = of_dw - terms.ofmap_words;
    v[kIfDram] = if_dram;
    v[kFlDram] = fl_dram;
    v[kOfDramW] = of_dw;
    v[kOfDramR] = of_dr;

    // Double-buffered pipeline over folds with uniform traffic per fold: load and store words per fold per
    // bandwidth, (words / folds) / bw in both lanes of one vector (the same two IEEE divisions, at once).
    std::int64_t load_words = 0;
    if (!add_ok(fl_dram, of_dr, load_words) || !add_ok(if_dram, load_words, load_words)) return false;
    const double nf = static_cast<double>(folds);
    const Double2 words = {static_cast<double>(load_words), static_cast<double>(of_dw)};
    const Double2 per_fold = words / Double2{nf, nf};
    Double2 cyc_words;
    if (a.bw_pow2) {
        cyc_words = per_fold * Double2{a.inv_bw, a.inv_bw};
    } else {
        cyc_words = per_fold / Double2{a.bw, a.bw};
    }
    const double load = cyc_words[0];
    const double store = cyc_words[1];
    const double cyc = static_cast<double>(m.cycles_per_fold);
    double total = load + store;  // first load and last drain are exposed
    if (folds == 1) {
        total += cyc;
    } else {
        total += std::max(cyc, load) + std::max(cyc, store) + (nf - 2.0) * std::max(cyc, load + store);
    }
    // stall_cycles = max(0, ceil(pipeline time - stall-free cycles - 1e-9)); Overflow from 9e18 cycles on
    // (ceil(x) < 9e18 exactly when x < 9e18).
    const double stall = total - static_cast<double>(v[kStallFree]) - 1e-9;
    if (!(stall < 9.0e18)) return false;
    v[kStall] = ceil_nonneg(stall);
    return add_ok(v[kStallFree], v[kStall], v[kCycles]);
}

}  // namespace codesign::systolic_detail
