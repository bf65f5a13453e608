// Pieces of the Edge-TPU-like model shared by its source files (model/ and mapper/); not part of the public API.
#pragma once

#include <cmath>

#include "codesign/model/edgetpu_cost.hpp"

namespace codesign::detail {

// Vector-unit operations per output element for each activation (codesign.workload.ACTIVATIONS order).
// ReLU/ReLU6 are clamps folded into the requantising output path (free); the others are piecewise
// polynomial / lookup approximations of a few operations each. An assumption, not a datasheet figure.
inline constexpr double kActOps[kActCount] = {0, 0, 0, 3, 2, 8, 9, 10, 8};

inline double dceil(double a, double b) { return std::ceil(a / b); }

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
double leak_pj(double leak_mw_e3, double clock_hz, double cycles);

// Any value beyond double range (extreme but valid inputs: a denormal I/O bandwidth, 2^31-sized layers) makes
// the result an overflow, never an inf or NaN.
void flag_nonfinite(EdgeTpuCost& c);

// The one fixed mapping of a layer on the vector units.
Mapping vector_mapping();

// Cost of a non-MAC layer (edgetpu_vector_cost.cpp).
EdgeTpuCost evaluate_vector_layer(const Layer& l, const EdgeTpuArch& a, const EnergyTable& e, const LayerContext& ctx);

}  // namespace codesign::detail
