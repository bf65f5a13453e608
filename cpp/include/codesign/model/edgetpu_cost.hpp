// Analytical cost of layers and networks on the Edge-TPU-like template (arch/edgetpu.hpp), with a mapper.
//
// Per MAC layer (conv, grouped/depthwise conv, FC, GEMM, and activation-by-activation matmuls, whose second
// operand is an activation held in PE memory instead of core memory: never cached as a parameter, read from DRAM
// only when the layer's input spills), a mapping (mapper/mapping.hpp) chooses:
//   * the loop dimension unrolled on each spatial level: PE columns and rows and lanes take one of
//     G, N, K, P, Q (independent outputs); SIMD units take K (input broadcast) or C (reduction). Nothing
//     reduces across groups, so a depthwise conv (K = C = 1 per group) leaves the SIMD units idle but one,
//     as on the real array.
//   * temporal tiles of the per-PE work along G, N, K, C, P, Q, held in the memories the arch's roles name (all
//     tiles of one memory in half of it: double buffering), one of three orders of the tile loops (which data
//     space is re-fetched), and weight- or output-stationary lanes (cpp/src/model/edgetpu_mapping_cost.hpp).
// Compute cycles = prod_d ceil(D_d / U_d) with U_d the product of the spatial sizes given to d, so shapes
// that do not divide the array lose cycles. Vector cycles (activation functions, pooling, eltwise) run on one
// SIMD-wide vector unit per PE. DRAM/host traffic: parameters not cached on chip are streamed every inference
// (and again each time the tile order re-fetches them); activations that do not fit on chip spill.
// Latency (cycles) = max(compute + vector, I/O transfer) + the exposed first-tile fill + per-layer and
// per-tile overheads: double-buffered, so transfers overlap compute except the first fill (a roofline per
// layer, as in Timeloop's and ZigZag's latency models, plus their onloading term).
// Energy = MACs x mac_pj + vector ops x vector_op_pj + per-byte SRAM energies (sqrt of capacity law) for core,
// PE and global memory traffic + DRAM bytes x dram_pj + leakage x latency.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "codesign/arch/edgetpu.hpp"
#include "codesign/common.hpp"
#include "codesign/mapper/mapping.hpp"
#include "codesign/workload/layer.hpp"

namespace codesign {

// What the network pass decided for one layer.
struct LayerContext {
    bool weights_cached = true;   // parameters on chip (loaded once per model, not per inference)
    bool input_spilled = false;   // input read from DRAM/host
    bool output_spilled = false;  // output written to DRAM/host
    double op_overhead_cycles = 0;  // the op kind's fixed cost: the network pass adds it after mapping (a constant
                                    // per layer, so it changes no latency or energy ranking of its mappings)
    bool on_host = false;           // runs on the host CPU (the network pass costs it; never mapped)
};

// Output columns of one layer (all float64, see kEdgeTpuNames).
enum EdgeTpuField : int {
    F_cycles = 0, F_compute_cycles, F_vector_cycles, F_io_cycles, F_fill_cycles, F_overhead_cycles,
    F_macs, F_ops, F_utilization, F_memory_bound,
    F_dram_w_bytes, F_dram_i_bytes, F_dram_o_bytes, F_core_mem_bytes, F_pe_mem_bytes, F_onchip_w_bytes,
    F_psum_spill_bytes, F_energy_pj, F_mac_pj, F_vector_pj, F_core_w_pj, F_pe_i_pj, F_pe_o_pj, F_onchip_w_pj,
    F_dram_w_pj, F_dram_i_pj, F_dram_o_pj, F_leak_pj,
    F_weights_cached, F_input_spilled, F_output_spilled,
    F_map_pe_x, F_map_pe_y, F_map_lanes, F_map_simd, F_tiles_g, F_tiles_n, F_tiles_k, F_tiles_c, F_tiles_p,
    F_tiles_q, F_order, F_inner,
    F_mappings_evaluated, F_map_space_size,
    F_on_host, F_cached_w_bytes, F_streamed_w_bytes, F_transfer_cycles,
    kEdgeTpuOutFields
};
extern const char* const kEdgeTpuNames[kEdgeTpuOutFields];

struct EdgeTpuCost {
    Status status = Status::Ok;
    double v[kEdgeTpuOutFields] = {};
    Mapping mapping;
};

// Cost of one mapping of one layer (MAC or not). Never throws.
EdgeTpuCost evaluate_edgetpu_mapping(const Layer& layer, const EdgeTpuArch& arch, const EnergyTable& energy,
                                     const LayerContext& ctx, const Mapping& mapping);

// The compiler's plan of a network: per layer, parameter caching, activation spilling, the op's fixed cost and
// whether it runs on the host; the on-chip bytes reserved for activations; how many leading layers run on the
// device (see the .cpp for the rules).
struct EdgeTpuNetworkPlan {
    std::vector<LayerContext> layers;
    double activation_reserve_bytes = 0;
    std::int64_t device_layers = 0;
};
EdgeTpuNetworkPlan edgetpu_network_plan(const std::vector<Layer>& layers, const EdgeTpuArch& arch);
std::vector<LayerContext> edgetpu_network_context(const std::vector<Layer>& layers, const EdgeTpuArch& arch);

// Cost of a layer on the host CPU of arch (a roofline; after_device: its input first crosses the I/O link).
EdgeTpuCost evaluate_host_layer(const Layer& layer, const EdgeTpuArch& arch, bool after_device);

// Network totals columns.
enum EdgeTpuTotal : int {
    T_cycles = 0, T_latency_ms, T_energy_pj, T_macs, T_dram_bytes, T_params_bytes, T_cached_params_bytes,
    T_streamed_params_bytes, T_utilization, T_inference_overhead_cycles,
    T_device_cycles, T_transfer_cycles, T_host_cycles, T_host_layers, T_activation_reserve_bytes, T_memory_bound_layers,
    kEdgeTpuTotals
};
extern const char* const kEdgeTpuTotalNames[kEdgeTpuTotals];

// Batch: every layer of one network on every (arch, energy) row. layers (L x width), archs (A x
// kEdgeTpuFields), energy (A x kEnergyFields or 1 x kEnergyFields). Outputs: status (A x L), per-layer
// values (A x L x kEdgeTpuOutFields), totals (A x kEdgeTpuTotals). Threads over architectures.
// Never throws except std::bad_alloc; thread-safe (no shared state). The mapper's work per layer is bounded by its
// map space (mapper/mapper.hpp), pruned by branch and bound.
void evaluate_edgetpu_batch(const std::int64_t* layers, std::int64_t n_layers, int layer_width, const double* archs,
                            std::int64_t n_archs, const double* energy, std::int64_t n_energy,
                            const MapperOptions& options, std::int32_t* status, double* out, double* totals);

// The same for architectures [arch_begin, arch_end) only, written at their places in the full-size outputs
// (callers split a long batch into chunks to check for Ctrl-C between them; results equal one call's).
void evaluate_edgetpu_batch_range(const std::int64_t* layers, std::int64_t n_layers, int layer_width,
                                  const double* archs, std::int64_t n_archs, const double* energy,
                                  std::int64_t n_energy, const MapperOptions& options, std::int32_t* status,
                                  double* out, double* totals, std::int64_t arch_begin, std::int64_t arch_end);

// One batch evaluation kept across the chunks a caller runs it in (to check for Ctrl-C between them): the order its
// workers take the architectures [arch_begin, arch_end) in (a grid beside its transpose and beside configurations
// that differ only in later fields, cpp/src/mapper/layer_memo.hpp) and one layer memo per worker, so that memo hits
// span chunks. run(begin, end) evaluates positions [begin, end) of that order (0 <= begin <= end <= size()),
// writing each architecture's results at its own place as evaluate_edgetpu_batch does; results equal one call's
// whatever the chunks and threads. out may be null (totals and statuses only: no per-layer record written).
class EdgeTpuBatch {
public:
    EdgeTpuBatch(const std::int64_t* layers, std::int64_t n_layers, int layer_width, const double* archs,
                 std::int64_t n_archs, const double* energy, std::int64_t n_energy, const MapperOptions& options,
                 std::int32_t* status, double* out, double* totals, std::int64_t arch_begin, std::int64_t arch_end);
    ~EdgeTpuBatch();
    EdgeTpuBatch(const EdgeTpuBatch&) = delete;
    EdgeTpuBatch& operator=(const EdgeTpuBatch&) = delete;
    std::int64_t size() const;
    void run(std::int64_t begin, std::int64_t end);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace codesign
