// The Edge-TPU-like accelerator template: a 2-D array of PEs, each with compute lanes of SIMD MAC units, a
// core memory (weights) and a PE memory (activations, partial sums); an optional shared global memory; and a
// host/DRAM I/O link. Technology (energy, area) lives apart, in EnergyTable, so a technology swap never
// touches the structure.
//
// Sources: the published hardware search space and microarchitecture outline of the Edge-TPU-like template
// (Google, 2021; shared/reference/FACTS.md), and Coral Edge TPU vendor figures (4 TOPS int8, ~8 MB SRAM).
#pragma once

#include <cstdint>

#include "codesign/common.hpp"
#include "codesign/workload/layer.hpp"

namespace codesign {

// Field order of the float64 architecture rows (must equal codesign.hardware.EDGETPU_FIELDS).
inline constexpr int kEdgeTpuFields = 31;

// Memory roles, as Timeloop's and ZigZag's per-level "keep / bypass": which in-PE memory holds each data space's
// tiles. A memory that holds several data spaces is shared: their tiles together fit half of it (double
// buffering), the mapper choosing the split through the tile counts. Bypass: the data space has no tile in the PE;
// every access the memory would have served goes to the on-chip source (global memory, or the PE memories when
// there is none) and costs its energy per byte.
enum MemLevel : std::int32_t { LevelCore = 0, LevelPe = 1, LevelBypass = 2 };
enum DataSpace : std::int32_t { SpaceW = 0, SpaceI = 1, SpaceO = 2, kDataSpaces = 3 };

struct EdgeTpuArch {
    std::int64_t pe_x = 4, pe_y = 4;  // PE grid
    std::int64_t lanes = 4;           // compute lanes per PE
    std::int64_t simd = 64;           // SIMD MAC units per lane
    double core_mem_bytes = 32768;    // per PE: weights
    double pe_mem_bytes = 2097152;    // per PE: activations and partial sums
    double global_mem_bytes = 0;      // shared, optional (0 = none): cached parameters, activations
    double io_bytes_per_cycle = 20;   // host/DRAM link
    double clock_mhz = 500;
    std::int64_t act_bytes = 1;       // activation word
    std::int64_t weight_bytes = 1;    // weight word
    std::int64_t psum_bytes = 4;      // partial-sum word
    double layer_overhead_cycles = 0;      // fixed cost per layer (instruction issue, synchronisation)
    double tile_overhead_cycles = 0;       // fixed cost per temporal tile (DMA descriptor, buffer swap)
    double inference_overhead_cycles = 0;  // fixed cost per inference (host invocation, link round trip)
    double activation_buffers = 2;         // activation working sets reserved on chip (2 = ping-pong)
    // Fixed cost of one op by kind, on top of layer_overhead_cycles (the device's per-op costs: instruction
    // issue, the op's own pipeline fill and drain, its synchronisation; calibrated for the Edge TPU presets).
    double conv_op_cycles = 0;       // dense conv, FC, GEMM (one MAC layer with groups == 1)
    double depthwise_op_cycles = 0;  // grouped / depthwise conv
    double pool_op_cycles = 0;       // average / max pooling
    double eltwise_op_cycles = 0;    // two-operand elementwise add, multiply by a gate
    double act_op_cycles = 0;        // a stand-alone activation (one not fused into the op before it)
    double other_op_cycles = 0;      // softmax, normalisation, activation-by-activation matmul, NMS
    // Host CPU that runs what the device cannot (0 MACs per cycle: no host segment, every op on the device).
    double host_macs_per_cycle = 0;   // host MAC (or vector op) rate, per device cycle
    double host_bytes_per_cycle = 0;  // host memory bandwidth, per device cycle
    double host_op_cycles = 0;        // host per-op fixed cost (interpreter dispatch), device cycles
    double reserved_onchip_bytes = 0; // on-chip memory already holding other co-compiled models' parameters
    // Fixed costs of the op kinds added later (row fields 29, 30, after the memory roles): a concatenation, a
    // resize (nearest or bilinear). An un-fused batch norm pays 2 x eltwise_op_cycles (a MUL and an ADD).
    double concat_op_cycles = 0;
    double resize_op_cycles = 0;

    // Whether the device runs layer l (an Edge TPU compiler rule; see edgetpu_network_context).
    static bool device_supports(const Layer& l);
    // Memory roles (MemLevel per DataSpace): today's template keeps weights in core memory and inputs and outputs
    // in PE memory. An activation-by-activation matmul's second operand follows the inputs.
    std::int32_t level_of[kDataSpaces] = {LevelCore, LevelPe, LevelPe};

    static EdgeTpuArch from_row(const double* row, Status& status);

    std::int64_t pes() const { return pe_x * pe_y; }
    std::int64_t macs_per_cycle() const { return pe_x * pe_y * lanes * simd; }
    // On-chip capacity that can cache parameters and hold activations between layers.
    double onchip_bytes() const { return global_mem_bytes + static_cast<double>(pes()) * pe_mem_bytes; }
    bool has_host() const { return host_macs_per_cycle > 0; }
};

// Energy per action in pJ and leakage in mW, for one technology (see codesign.hardware for values and sources).
inline constexpr int kEnergyFields = 8;
struct EnergyTable {
    double mac_pj = 0.3;              // one MAC at the array's data width (multiply + accumulate)
    double vector_op_pj = 0.1;        // one vector-unit operation (pooling, add, multiply, activation step)
    double sram_pj_per_byte_ref = 1.25;  // SRAM access energy per byte at the reference capacity
    double sram_ref_bytes = 8192;        // reference capacity; energy grows with sqrt(capacity / ref)
    double dram_pj_per_byte = 160;       // DRAM / host link energy per byte
    double leak_mw_per_kib = 0.002;      // SRAM leakage per KiB
    double leak_mw_per_mac = 0.0005;     // datapath leakage per MAC unit
    double onchip_bytes_per_cycle = 0;   // on-chip parameter/activation fill bandwidth per PE (0 = simd*lanes)

    static EnergyTable from_row(const double* row, Status& status);
    double sram_pj_per_byte(double capacity_bytes) const;
};

}  // namespace codesign
