#include "codesign/arch/edgetpu.hpp"

#include <cmath>

namespace codesign {

namespace {
bool pos_int(double v, std::int64_t max, std::int64_t& out) {
    if (!std::isfinite(v) || v < 1.0 || v > static_cast<double>(max) || std::floor(v) != v) return false;
    out = static_cast<std::int64_t>(v);
    return true;
}
bool nonneg(double v) { return std::isfinite(v) && v >= 0.0 && v < 1e18; }
bool pos(double v) { return std::isfinite(v) && v > 0.0 && v < 1e18; }
bool level(double v, std::int32_t& out) {
    if (!(v == 0.0 || v == 1.0 || v == 2.0)) return false;
    out = static_cast<std::int32_t>(v);
    return true;
}
}  // namespace

EdgeTpuArch EdgeTpuArch::from_row(const double* r, Status& status) {
    EdgeTpuArch a;
    const bool ok = pos_int(r[0], 1 << 12, a.pe_x) && pos_int(r[1], 1 << 12, a.pe_y) && pos_int(r[2], 1 << 12, a.lanes) &&
                    pos_int(r[3], 1 << 16, a.simd) && pos(r[4]) && pos(r[5]) && nonneg(r[6]) && pos(r[7]) && pos(r[8]) &&
                    pos_int(r[9], 16, a.act_bytes) && pos_int(r[10], 16, a.weight_bytes) && pos_int(r[11], 16, a.psum_bytes) &&
                    nonneg(r[12]) && nonneg(r[13]) && nonneg(r[14]) && pos(r[15]);
    bool rest = true;
    for (int f = 16; f < 26; ++f) rest = rest && nonneg(r[f]);
    // a host needs a memory bandwidth as well as a MAC rate
    rest = rest && (r[22] == 0.0 || r[23] > 0.0);
    rest = rest && level(r[26], a.level_of[SpaceW]) && level(r[27], a.level_of[SpaceI]) && level(r[28], a.level_of[SpaceO]);
    rest = rest && nonneg(r[29]) && nonneg(r[30]);
    status = ok && rest ? Status::Ok : Status::InvalidArch;
    a.core_mem_bytes = r[4];
    a.pe_mem_bytes = r[5];
    a.global_mem_bytes = r[6];
    a.io_bytes_per_cycle = r[7];
    a.clock_mhz = r[8];
    a.layer_overhead_cycles = r[12];
    a.tile_overhead_cycles = r[13];
    a.inference_overhead_cycles = r[14];
    a.activation_buffers = r[15];
    a.conv_op_cycles = r[16];
    a.depthwise_op_cycles = r[17];
    a.pool_op_cycles = r[18];
    a.eltwise_op_cycles = r[19];
    a.act_op_cycles = r[20];
    a.other_op_cycles = r[21];
    a.host_macs_per_cycle = r[22];
    a.host_bytes_per_cycle = r[23];
    a.host_op_cycles = r[24];
    a.reserved_onchip_bytes = r[25];
    a.concat_op_cycles = r[29];
    a.resize_op_cycles = r[30];
    return a;
}

// The Edge TPU compiler maps neither activation-by-activation matmuls (TFLite BATCH_MATMUL) nor GELU, nor the
// detection post-processing (TFLite_Detection_PostProcess stays on the CPU), and maps ResizeBilinear /
// ResizeNearestNeighbor only on 3-dimensional tensors, i.e. a batch of one (Coral, "TensorFlow models on the Edge
// TPU", supported operations; its further "depending on input/output size" precision rule is not documented and
// not modelled: such a resize stays on the device). Everything else this package's layers describe (conv,
// depthwise, FC, pooling, add, mul, softmax, logistic / tanh / hard-swish, normalisation as mean / rsqrt / mul,
// concatenation, a batch norm as MUL and ADD) is on its list.
bool EdgeTpuArch::device_supports(const Layer& l) {
    if (l.op == Op::Nms || (l.op == Op::Resize && l.n != 1)) return false;
    return l.op != Op::MatMul && l.act != Act::Gelu;
}

EnergyTable EnergyTable::from_row(const double* r, Status& status) {
    EnergyTable e;
    bool ok = true;
    for (int i = 0; i < kEnergyFields; ++i) ok = ok && nonneg(r[i]);
    ok = ok && r[3] > 0.0;
    status = ok ? Status::Ok : Status::InvalidEnergy;
    e.mac_pj = r[0];
    e.vector_op_pj = r[1];
    e.sram_pj_per_byte_ref = r[2];
    e.sram_ref_bytes = r[3];
    e.dram_pj_per_byte = r[4];
    e.leak_mw_per_kib = r[5];
    e.leak_mw_per_mac = r[6];
    e.onchip_bytes_per_cycle = r[7];
    return e;
}

double EnergyTable::sram_pj_per_byte(double capacity_bytes) const {
    return sram_pj_per_byte_ref * std::sqrt(capacity_bytes / sram_ref_bytes);
}

}  // namespace codesign
