// The network pass of the Edge-TPU-like model: which layers' parameters are cached on chip and which activations
// spill (edgetpu_network_context), and the batch entry points that map and cost every layer of a network on many
// architectures and sum the network totals.
#include <algorithm>
#include <cmath>

#include "codesign/mapper/mapper.hpp"
#include "codesign/model/edgetpu_cost.hpp"
#include "codesign/parallel.hpp"
#include "../mapper/layer_memo.hpp"

namespace codesign {

const char* const kEdgeTpuTotalNames[kEdgeTpuTotals] = {
    "cycles", "latency_ms", "energy_pj", "macs", "dram_bytes", "params_bytes", "cached_params_bytes",
    "streamed_params_bytes", "utilization", "inference_overhead_cycles",
};

std::vector<LayerContext> edgetpu_network_context(const std::vector<Layer>& layers, const EdgeTpuArch& a) {
    // Activations: `activation_buffers` times the largest (input + output) of any layer is reserved on chip
    // (2: the next layer's buffers are filled while this one runs), capped at the on-chip size; a layer
    // whose input + output exceeds the on-chip size spills both to DRAM. Parameters: the rest of the
    // on-chip memory caches whole layers' weights in network order while they fit (as the Edge TPU compiler
    // does); from the first layer that does not fit on, parameters are streamed over the I/O link on every
    // inference (a prefix rule, so more on-chip memory never caches less). The network input arrives from the
    // host and the last output returns to it. Invalid layers (reported as such by the callers) take no room.
    std::vector<LayerContext> ctx(layers.size());
    const double onchip = a.onchip_bytes();
    double act_need = 0.0;
    std::vector<double> act(layers.size());
    for (std::size_t i = 0; i < layers.size(); ++i) {
        const Layer& l = layers[i];
        if (*l.invalid_field() != '\0') continue;
        double in = double(l.n) * double(l.c) * double(l.h) * double(l.w) * (l.op == Op::Add ? 2.0 : 1.0);
        if (l.operand_is_activation()) in += double(l.k) * double(l.c / l.groups) * double(l.r) * double(l.s);
        const double out = double(l.n) * double(l.k) * double(l.p) * double(l.q);
        act[i] = (in + out) * double(a.act_bytes);
        act_need = std::max(act_need, act[i]);
    }
    const double act_cap = std::min(act_need * a.activation_buffers, onchip);
    double param_room = onchip - act_cap;
    bool caching = true;
    for (std::size_t i = 0; i < layers.size(); ++i) {
        const Layer& l = layers[i];
        const double w = l.op == Op::Mac && *l.invalid_field() == '\0' ? double(l.k) * double(l.c / l.groups) * double(l.r) * double(l.s) * double(a.weight_bytes) : 0.0;
        caching = caching && w <= param_room;
        if (caching) param_room -= w;
        ctx[i].weights_cached = caching;
        const bool spill = act[i] > std::min(act_cap, onchip);
        ctx[i].input_spilled = spill;
        ctx[i].output_spilled = spill;
    }
    if (!ctx.empty()) {
        ctx.front().input_spilled = true;
        ctx.back().output_spilled = true;
    }
    return ctx;
}

void evaluate_edgetpu_batch_range(const std::int64_t* layers, std::int64_t n_layers, int layer_width,
                                  const double* archs, std::int64_t n_archs, const double* energy,
                                  std::int64_t n_energy, const MapperOptions& opt, std::int32_t* status, double* out,
                                  double* totals, std::int64_t arch_begin, std::int64_t arch_end) {
    arch_begin = std::max<std::int64_t>(0, arch_begin);
    arch_end = std::min(arch_end, n_archs);
    if (arch_begin >= arch_end || n_layers < 0) return;
    std::vector<Layer> ls(static_cast<std::size_t>(n_layers));
    for (std::int64_t i = 0; i < n_layers; ++i) ls[static_cast<std::size_t>(i)] = Layer::from_row(layers + i * layer_width, layer_width);
    auto work = [&](std::int64_t begin, std::int64_t end) {
        detail::LayerMemo memo(opt);  // this thread's: repeated layers and equal configurations mapped once
        for (std::int64_t ai = begin; ai < end; ++ai) {
            Status st = Status::Ok, est = Status::Ok;
            const EdgeTpuArch a = EdgeTpuArch::from_row(archs + ai * kEdgeTpuFields, st);
            const EnergyTable e = EnergyTable::from_row(energy + (n_energy == 1 ? 0 : ai) * kEnergyFields, est);
            if (st == Status::Ok) st = est;
            double* tot = totals + ai * kEdgeTpuTotals;
            std::fill(tot, tot + kEdgeTpuTotals, 0.0);
            std::vector<LayerContext> ctx;
            if (st == Status::Ok) ctx = edgetpu_network_context(ls, a);
            double cycles = 0.0, energy_pj = 0.0, macs = 0.0, dram = 0.0, params = 0.0, cached = 0.0;
            for (std::int64_t li = 0; li < n_layers; ++li) {
                const std::size_t lz = static_cast<std::size_t>(li);
                EdgeTpuCost c;
                if (st != Status::Ok) {
                    c.status = st;
                } else {
                    c = opt.memo ? memo.map(ls[lz], a, archs + ai * kEdgeTpuFields, e,
                                            energy + (n_energy == 1 ? 0 : ai) * kEnergyFields, ctx[lz])
                                 : map_edgetpu_layer(ls[lz], a, e, ctx[lz], opt);
                }
                status[ai * n_layers + li] = static_cast<std::int32_t>(c.status);
                double* o = out + (ai * n_layers + li) * kEdgeTpuOutFields;
                std::copy(c.v, c.v + kEdgeTpuOutFields, o);
                if (c.status != Status::Ok) continue;
                cycles += c.v[F_cycles];
                energy_pj += c.v[F_energy_pj];
                macs += c.v[F_macs];
                dram += c.v[F_dram_w_bytes] + c.v[F_dram_i_bytes] + c.v[F_dram_o_bytes];
                const Layer& l = ls[lz];
                const double w = l.op == Op::Mac ? double(l.k) * double(l.c / l.groups) * double(l.r) * double(l.s) * double(a.weight_bytes) : 0.0;
                params += w;
                if (ctx[lz].weights_cached) cached += w;
            }
            if (st != Status::Ok) continue;
            cycles += a.inference_overhead_cycles;
            tot[T_cycles] = cycles;
            tot[T_latency_ms] = cycles / (a.clock_mhz * 1e3);
            tot[T_energy_pj] = energy_pj;
            tot[T_macs] = macs;
            tot[T_dram_bytes] = dram;
            tot[T_params_bytes] = params;
            tot[T_cached_params_bytes] = cached;
            tot[T_streamed_params_bytes] = params - cached;
            tot[T_utilization] = cycles > 0 ? macs / (cycles * static_cast<double>(a.macs_per_cycle())) : 0.0;
            tot[T_inference_overhead_cycles] = a.inference_overhead_cycles;
            // Totals beyond double range (e.g. a clock of a denormal MHz): flagged as overflow, never inf.
            bool finite = true;
            for (int t = 0; t < kEdgeTpuTotals; ++t) finite = finite && std::isfinite(tot[t]);
            if (!finite) {
                std::fill(tot, tot + kEdgeTpuTotals, 0.0);
                for (std::int64_t li = 0; li < n_layers; ++li) status[ai * n_layers + li] = static_cast<std::int32_t>(Status::Overflow);
            }
        }
    };
    parallel_ranges(resolve_threads(opt.threads, arch_end - arch_begin), arch_begin, arch_end, work);
}

void evaluate_edgetpu_batch(const std::int64_t* layers, std::int64_t n_layers, int layer_width, const double* archs,
                            std::int64_t n_archs, const double* energy, std::int64_t n_energy, const MapperOptions& opt,
                            std::int32_t* status, double* out, double* totals) {
    evaluate_edgetpu_batch_range(layers, n_layers, layer_width, archs, n_archs, energy, n_energy, opt, status, out,
                                 totals, 0, n_archs);
}

}  // namespace codesign
