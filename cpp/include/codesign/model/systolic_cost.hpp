// Analytical cost of one layer on a systolic array: folds, cycles, utilization, SRAM and DRAM traffic.
//
// Compute (stall-free) follows SCALE-Sim's fold model exactly (see shared/reference/scalesim/MODEL.md):
//   GEMM view per group: M = N*P*Q, Nf = K/groups, Kw = (C/groups)*R*S.
//   os: Sr = M,  Sc = Nf, T = Kw     ws: Sr = Kw, Sc = Nf, T = M     is: Sr = Kw, Sc = M, T = Nf
//   row_folds = ceil(Sr/rows), col_folds = ceil(Sc/cols); groups run one after the other.
//   cycles per fold: os T + rows + cols - 2; ws/is T + 2*rows + cols - 2 (stationary preload).
//   stall_free_cycles = groups * row_folds * col_folds * cycles_per_fold.
// SRAM traffic counts operand words at the array edge (im2col, no window reuse), as SCALE-Sim does; ws/is
// partial sums are written once per row fold and read back (row_folds - 1) times for accumulation.
//
// DRAM traffic and stalls are codesign's own double-buffered model (SCALE-Sim replays traces instead):
//   * each SRAM is split into two halves; an operand whose distinct words fit one half is fetched once;
//     otherwise it is fetched again on every pass of the outer (column-fold) loop that revisits it
//     (os ifmap, ws ifmap, is filter), and the os filter tile is refetched per row fold if one column
//     tile does not fit; DRAM words are distinct words (no im2col duplicates, no fold padding);
//   * ws/is partial sums stay in the ofmap SRAM when one column tile of outputs fits half of it, else
//     they spill: row_folds writes and row_folds - 1 reads per output word;
//   * traffic is spread evenly over folds; while fold i computes, fold i+1's operands load and fold
//     i-1's outputs drain over the one DRAM interface; the first fold's load and the last fold's drain
//     are not hidden. stall_cycles = ceil(pipeline time) - stall_free_cycles.
// SCALE-Sim instead issues its first fill before cycle 0 (so it reports no stall for it), counts fold
// padding and im2col duplicates as DRAM reads, writes every partial sum to DRAM, and double counts read
// stalls (its bug B1).
#pragma once

#include <cstdint>

#include "codesign/arch/systolic.hpp"
#include "codesign/common.hpp"
#include "codesign/workload/layer.hpp"

namespace codesign {

struct SystolicCost {
    Status status = Status::Ok;
    // Mapping
    std::int64_t sr = 0, sc = 0, t = 0;  // spatial rows, spatial cols, temporal extent (one group)
    std::int64_t row_folds = 0, col_folds = 0;
    std::int64_t cycles_per_fold = 0;
    // From folds to ofmap_words: the network totals' fields (kSystolicTotalNames), contiguous and in that order, so
    // that the totals-only batch sums them as one array (static_asserts in systolic_cost.cpp).
    std::int64_t folds = 0;  // groups * row_folds * col_folds
    std::int64_t macs = 0;
    // Time
    std::int64_t stall_free_cycles = 0;
    std::int64_t stall_cycles = 0;
    std::int64_t cycles = 0;
    // SRAM accesses (words)
    std::int64_t ifmap_sram_reads = 0, filter_sram_reads = 0, ofmap_sram_writes = 0, ofmap_sram_reads = 0;
    // DRAM accesses (words)
    std::int64_t ifmap_dram_reads = 0, filter_dram_reads = 0, ofmap_dram_writes = 0, ofmap_dram_reads = 0;
    // Footprints (words)
    std::int64_t ifmap_words = 0, filter_words = 0, ofmap_words = 0;
    // Ratios in [0, 1]
    double mapping_efficiency = 0.0;   // mapped PEs over all PEs, mean over folds
    double compute_utilization = 0.0;  // macs / (stall_free_cycles * PEs)
};

// Evaluates one layer on one array. Never throws; invalid input gives a non-Ok status. Like SCALE-Sim, the
// systolic model costs MAC layers only: the vector layers (pool, add, mul, softmax, norm, act) get zero cycles and
// accesses (status Ok). An activation-by-activation matmul (Op::MatMul) is SCALE-Sim's GEMM view per group (one
// group per head), its second operand read through the filter SRAM like weights.
SystolicCost evaluate_systolic(const Layer& layer, const SystolicArray& arch);

// Number of int64 and float64 output columns per (arch, layer) pair of the batch call, and their names.
inline constexpr int kSystolicIntFields = 22;
inline constexpr int kSystolicFloatFields = 2;
extern const char* const kSystolicIntNames[kSystolicIntFields];
extern const char* const kSystolicFloatNames[kSystolicFloatFields];
void write_systolic_row(const SystolicCost& cost, std::int64_t* ints, double* floats);

// Evaluates every layer on every architecture: layers is (n_layers x layer_width) int64 (width 16 or 18), archs is
// (n_archs x kArchFields) float64, outputs are row-major (n_archs x n_layers x fields). Runs on `threads`
// threads (0: hardware concurrency); results do not depend on the thread count. Never throws except
// std::bad_alloc; thread-safe (no shared state: concurrent calls with distinct outputs are independent).
void evaluate_systolic_batch(const std::int64_t* layers, std::int64_t n_layers, int layer_width, const double* archs,
                             std::int64_t n_archs, int threads, std::int32_t* status, std::int64_t* ints,
                             double* floats);

// The same for the (architecture, layer) pairs with flat index i = arch * n_layers + layer in [begin, end) only,
// written at their places in the full-size outputs: callers split a long batch into chunks (to check for
// Ctrl-C between them) and get results identical to one call.
void evaluate_systolic_batch_range(const std::int64_t* layers, std::int64_t n_layers, int layer_width,
                                   const double* archs, std::int64_t n_archs, int threads, std::int32_t* status,
                                   std::int64_t* ints, double* floats, std::int64_t begin, std::int64_t end);

// Network totals only, for sweeps and searches that read no per-layer row: for each architecture a in
// [arch_begin, arch_end), sums[a * kSystolicTotalFields + f] is the sum over all layers of the summed field
// kSystolicTotalNames[f] (the fields of kSystolicIntNames that add up over layers), status[a] the status of the
// first failing layer (Ok when none) and bad_layer[a] its index (-1 when none); a failed architecture's sums
// are 0. Equal to summing evaluate_systolic_batch's rows in layer order, except that a sum exceeding int64 gives
// status Overflow (bad_layer -1) instead of wrapping. Writes 8 bytes per summed field and architecture instead
// of 196 per layer evaluation. Same threading and guarantees as evaluate_systolic_batch.
inline constexpr int kSystolicTotalFields = 16;
extern const char* const kSystolicTotalNames[kSystolicTotalFields];
void evaluate_systolic_totals_range(const std::int64_t* layers, std::int64_t n_layers, int layer_width,
                                    const double* archs, std::int64_t n_archs, int threads, std::int32_t* status,
                                    std::int64_t* bad_layer, std::int64_t* sums, std::int64_t arch_begin,
                                    std::int64_t arch_end);

}  // namespace codesign
