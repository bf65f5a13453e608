// Cost of a layer that runs on the vector units (pooling, elementwise add/mul, softmax, normalisation,
// standalone activations, concatenation, resize, un-fused batch norm; NMS only on a device without a host): no
// mapping choice, one fixed schedule.
#include <algorithm>
#include <cmath>

#include "edgetpu_internal.hpp"
#include "edgetpu_mapping_cost.hpp"

namespace codesign::detail {

void fill_mapping_fields(EdgeTpuCost& c, const Mapping& m) {
    c.v[F_map_pe_x] = m.spatial[0];
    c.v[F_map_pe_y] = m.spatial[1];
    c.v[F_map_lanes] = m.spatial[2];
    c.v[F_map_simd] = m.spatial[3];
    for (int d = 0; d < kTiledDims; ++d) c.v[F_tiles_g + d] = static_cast<double>(m.tiles[d]);
    c.v[F_order] = m.order;
    c.v[F_inner] = m.inner;
    c.mapping = m;
}

void leak_terms(const EdgeTpuArch& a, const EnergyTable& e, double& leak_mw_e3, double& clock_hz) {
    const double sram_kib = a.onchip_bytes() / 1024.0 + static_cast<double>(a.pes()) * a.core_mem_bytes / 1024.0;
    const double leak_mw = e.leak_mw_per_kib * sram_kib + e.leak_mw_per_mac * static_cast<double>(a.macs_per_cycle());
    leak_mw_e3 = leak_mw * 1e-3;
    clock_hz = a.clock_mhz * 1e6;
}

double leak_pj(const EdgeTpuArch& a, const EnergyTable& e, double cycles) {
    double leak_mw_e3 = 0.0, clock_hz = 0.0;
    leak_terms(a, e, leak_mw_e3, clock_hz);
    return leak_pj(leak_mw_e3, clock_hz, cycles);
}


// fill_io_cycles: the part of the exposed first-tile fill that crossed the I/O link; it is already in
// io_cycles, so only the rest of the I/O transfer overlaps the execution.
void finish(EdgeTpuCost& c, const EdgeTpuArch& a, const EnergyTable& e, double exec_cycles, double fill_io_cycles) {
    double leak_mw_e3 = 0.0, clock_hz = 0.0;
    leak_terms(a, e, leak_mw_e3, clock_hz);
    finish_values(c.v, static_cast<double>(a.macs_per_cycle()), leak_mw_e3, clock_hz, exec_cycles, fill_io_cycles);
}


// Any value beyond double range (extreme but valid inputs: a denormal I/O bandwidth, 2^31-sized layers) makes
// the result an overflow, never an inf or NaN.
void flag_nonfinite(EdgeTpuCost& c) {
    for (const double x : c.v)
        if (!std::isfinite(x)) {
            c.status = Status::Overflow;
            return;
        }
}

Mapping vector_mapping() {
    Mapping m;
    m.spatial[0] = DimK, m.spatial[1] = DimK, m.spatial[2] = DimK, m.spatial[3] = DimK;
    return m;
}

EdgeTpuCost evaluate_vector_layer(const Layer& l, const EdgeTpuArch& a, const EnergyTable& e, const LayerContext& ctx) {
    EdgeTpuCost c;
    double* v = c.v;
    const double n = double(l.n), ch = double(l.c), h = double(l.h), w = double(l.w);
    const double out = n * double(l.k) * double(l.p) * double(l.q);
    double in = n * ch * h * w;
    if (l.op == Op::Add) in *= 2.0;                  // two operands
    if (l.op == Op::Mul) in += n * ch;               // the map and its per-channel gate
    if (l.op == Op::Nms) in += kNmsBoxWords * n * h;  // the scores and the boxes
    const double ops = vector_ops(l);
    const double ab = double(a.act_bytes);
    const double vec_width = static_cast<double>(a.pes() * a.simd);
    v[F_ops] = ops;
    v[F_vector_cycles] = ceil_exact((ops + out * kActOps[static_cast<int>(l.act)]) / vec_width);
    v[F_dram_i_bytes] = ctx.input_spilled ? in * ab : 0.0;
    v[F_dram_o_bytes] = ctx.output_spilled ? out * ab : 0.0;
    v[F_io_cycles] = (v[F_dram_i_bytes] + v[F_dram_o_bytes]) / a.io_bytes_per_cycle;
    v[F_pe_mem_bytes] = (in + out) * ab;
    v[F_overhead_cycles] = a.layer_overhead_cycles;
    const double e_pe = e.sram_pj_per_byte(a.pe_mem_bytes);
    v[F_vector_pj] = (ops + out * kActOps[static_cast<int>(l.act)]) * e.vector_op_pj;
    v[F_pe_i_pj] = in * ab * e_pe;
    v[F_pe_o_pj] = out * ab * e_pe;
    v[F_dram_i_pj] = v[F_dram_i_bytes] * e.dram_pj_per_byte;
    v[F_dram_o_pj] = v[F_dram_o_bytes] * e.dram_pj_per_byte;
    v[F_weights_cached] = 1.0;
    v[F_input_spilled] = ctx.input_spilled;
    v[F_output_spilled] = ctx.output_spilled;
    fill_mapping_fields(c, vector_mapping());
    finish(c, a, e, v[F_vector_cycles]);
    flag_nonfinite(c);
    return c;
}


}  // namespace codesign::detail
