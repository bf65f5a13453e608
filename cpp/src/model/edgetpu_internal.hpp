// Pieces of the Edge-TPU-like model shared by its source files (model/ and mapper/); not part of the public API.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "codesign/model/edgetpu_cost.hpp"

namespace codesign::detail {

// Vector-unit operations per output element for each activation (codesign.workload.ACTIVATIONS order).
// ReLU/ReLU6 are clamps folded into the requantising output path (free); the others are piecewise
// polynomial / lookup approximations of a few operations each. An assumption, not a datasheet figure.
inline constexpr double kActOps[kActCount] = {0, 0, 0, 3, 2, 8, 9, 10, 8};

// std::ceil and std::floor, bit for bit, in fewer instructions for the values the model divides (non-negative,
// below 2^52: truncation through int64 is exact there); anything else (negative, huge, inf, NaN) goes to std::. The
// x86-64 baseline (SSE2) has no rounding instruction, and GCC's inline ceil handles the sign of zero as well: about
// half its instructions, and 15% of the mapper's before this.
inline double ceil_exact(double x) {
    if (!(x >= 0.0 && x < 4503599627370496.0)) return std::ceil(x);
    const double t = static_cast<double>(static_cast<std::int64_t>(x));
    return t < x ? t + 1.0 : t;
}
inline double floor_exact(double x) {
    if (!(x >= 0.0 && x < 4503599627370496.0)) return std::floor(x);
    return static_cast<double>(static_cast<std::int64_t>(x));
}
inline double dceil(double a, double b) { return ceil_exact(a / b); }

// A result that is only a status (an invalid layer, no legal mapping).
inline EdgeTpuCost failed(Status status) {
    EdgeTpuCost c;
    c.status = status;
    return c;
}

// Writes the mapping's fields into the output columns.
void fill_mapping_fields(EdgeTpuCost& c, const Mapping& m);

// Cycles, utilisation, leakage and total energy from the terms already in c. fill_io_cycles: the part of the
// exposed first-tile fill that crossed the I/O link; it is already in io_cycles, so only the rest of the I/O
// transfer overlaps the execution.
void finish(EdgeTpuCost& c, const EdgeTpuArch& a, const EnergyTable& e, double exec_cycles, double fill_io_cycles = 0.0);

// Leakage energy (pJ) of the arch's SRAM and MAC units over `cycles` (monotone in cycles); from its two terms
// (leak_terms: the leakage in mW x 1e-3 and the clock in Hz) computed once.
double leak_pj(const EdgeTpuArch& a, const EnergyTable& e, double cycles);
void leak_terms(const EdgeTpuArch& a, const EnergyTable& e, double& leak_mw_e3, double& clock_hz);
inline double leak_pj(double leak_mw_e3, double clock_hz, double cycles) { return leak_mw_e3 * (cycles / clock_hz) * 1e12; }

// finish() on a record's values (v: kEdgeTpuOutFields) with the arch's terms already computed: inline, so that the
// mapper's score of a tiling (cpp/src/model/edgetpu_cost.cpp) is one function.
inline void finish_values(double* v, double macs_per_cycle, double leak_mw_e3, double clock_hz, double exec_cycles,
                          double fill_io_cycles) {
    const double io_after_fill = std::max(0.0, v[F_io_cycles] - fill_io_cycles);
    v[F_cycles] = v[F_fill_cycles] + std::max(exec_cycles, io_after_fill) + v[F_overhead_cycles];
    v[F_memory_bound] = io_after_fill > exec_cycles ? 1.0 : 0.0;
    v[F_utilization] = v[F_macs] > 0 ? v[F_macs] / (v[F_cycles] * macs_per_cycle) : 0.0;
    v[F_leak_pj] = leak_pj(leak_mw_e3, clock_hz, v[F_cycles]);
    v[F_energy_pj] = v[F_mac_pj] + v[F_vector_pj] + v[F_core_w_pj] + v[F_pe_i_pj] + v[F_pe_o_pj] + v[F_onchip_w_pj] +
                     v[F_dram_w_pj] + v[F_dram_i_pj] + v[F_dram_o_pj] + v[F_leak_pj];
}

// Any value beyond double range (extreme but valid inputs: a denormal I/O bandwidth, 2^31-sized layers) makes
// the result an overflow, never an inf or NaN.
void flag_nonfinite(EdgeTpuCost& c);

// The one fixed mapping of a layer on the vector units.
Mapping vector_mapping();

// Cost of a non-MAC layer (edgetpu_vector_cost.cpp).
EdgeTpuCost evaluate_vector_layer(const Layer& l, const EdgeTpuArch& a, const EnergyTable& e, const LayerContext& ctx);

}  // namespace codesign::detail
