// The network pass of the Edge-TPU-like model: which layers' parameters are cached on chip and which activations
// spill (edgetpu_network_context), and the batch entry points that map and cost every layer of a network on many
// architectures and sum the network totals.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <memory>
#include <mutex>

#include "codesign/mapper/mapper.hpp"
#include "codesign/model/edgetpu_cost.hpp"
#include "edgetpu_internal.hpp"
#include "codesign/parallel.hpp"
#include "../mapper/layer_memo.hpp"

namespace codesign {

const char* const kEdgeTpuTotalNames[kEdgeTpuTotals] = {
    "cycles", "latency_ms", "energy_pj", "macs", "dram_bytes", "params_bytes", "cached_params_bytes",
    "streamed_params_bytes", "utilization", "inference_overhead_cycles",
    "device_cycles", "transfer_cycles", "host_cycles", "host_layers", "activation_reserve_bytes",
    "memory_bound_layers",
};

namespace {

double layer_param_bytes(const Layer& l, const EdgeTpuArch& a) {
    if (l.op != Op::Mac || *l.invalid_field() != '\0') return 0.0;
    return double(l.k) * double(l.c / l.groups) * double(l.r) * double(l.s) * double(a.weight_bytes);
}

double layer_input_elems(const Layer& l) {
    double in = double(l.n) * double(l.c) * double(l.h) * double(l.w) * (l.op == Op::Add ? 2.0 : 1.0);
    if (l.op == Op::Nms) in += kNmsBoxWords * double(l.n) * double(l.h);  // the boxes besides the scores
    if (l.operand_is_activation()) in += double(l.k) * double(l.c / l.groups) * double(l.r) * double(l.s);
    return in;
}

double layer_output_elems(const Layer& l) { return double(l.n) * double(l.k) * double(l.p) * double(l.q); }

// The op kind's fixed cost (arch.hpp: conv, depthwise, pool, eltwise, act, other, concat, resize). An un-fused
// batch norm pays two eltwise costs: TFLite lowers it to a MUL and an ADD. NMS pays other_op_cycles (it runs on
// the device only when there is no host).
double op_overhead(const Layer& l, const EdgeTpuArch& a) {
    switch (l.op) {
        case Op::Mac: return l.groups > 1 ? a.depthwise_op_cycles : a.conv_op_cycles;
        case Op::Pool: return a.pool_op_cycles;
        case Op::Add:
        case Op::Mul: return a.eltwise_op_cycles;
        case Op::Bn: return 2.0 * a.eltwise_op_cycles;
        case Op::Act: return a.act_op_cycles;
        case Op::Concat: return a.concat_op_cycles;
        case Op::Resize: return a.resize_op_cycles;
        case Op::MatMul:
        case Op::Softmax:
        case Op::Norm:
        case Op::Nms: return a.other_op_cycles;
    }
    return 0.0;
}

// Work of a layer on the host: MACs, or the vector operations evaluate_vector_layer counts (vector_ops).
double host_work(const Layer& l) {
    if (l.is_mac())
        return double(l.n) * double(l.k) * double(l.c / l.groups) * double(l.r) * double(l.s) * double(l.p) * double(l.q);
    return vector_ops(l);
}

// Adds a layer's fixed op cost after mapping: cycles and overhead grow by `extra`, utilisation and leakage
// (energy) follow the longer time. Mapping after adding it would choose the same mapping (a constant shift
// of every mapping's cycles and leakage), and keeps the mapper's lower bounds tight.
void add_fixed_cost(EdgeTpuCost& c, const EdgeTpuArch& a, double extra) {
    if (extra <= 0.0 || c.status != Status::Ok) return;
    double* v = c.v;
    const double old = v[F_cycles];
    v[F_cycles] += extra;
    v[F_overhead_cycles] += extra;
    v[F_utilization] = v[F_macs] > 0 ? v[F_macs] / (v[F_cycles] * static_cast<double>(a.macs_per_cycle())) : 0.0;
    const double leak = old > 0 ? v[F_leak_pj] * v[F_cycles] / old : v[F_leak_pj];
    v[F_energy_pj] += leak - v[F_leak_pj];
    v[F_leak_pj] = leak;
    detail::flag_nonfinite(c);
}

}  // namespace

EdgeTpuNetworkPlan edgetpu_network_plan(const std::vector<Layer>& layers, const EdgeTpuArch& a) {
    // Host segment: with a host (a.has_host()), the first layer the device cannot run (device_supports) and
    // every layer after it run on the host CPU, as the Edge TPU compiler splits a graph: it partitions a model
    // once, so from the first unsupported op on everything runs on the CPU, supported or not (Coral docs,
    // "TensorFlow models on the Edge TPU", compilation).
    // Activations: `activation_buffers` times the largest (input + output) of any device layer is reserved on
    // chip (2: the next layer's buffers are filled while this one runs), capped at the on-chip size; a layer
    // whose input + output exceeds the on-chip size spills both to DRAM. Parameters: the rest of the on-chip
    // memory, less what co-compiled models already hold (reserved_onchip_bytes), caches whole layers' weights
    // in network order while they fit (as the Edge TPU compiler does); from the first layer that does not fit
    // on, parameters are streamed over the I/O link on every inference (a prefix rule, so more on-chip memory
    // never caches less). The network input arrives from the host and the device segment's last output
    // returns to it. Invalid layers (reported as such by the callers) take no room.
    EdgeTpuNetworkPlan plan;
    std::vector<LayerContext>& ctx = plan.layers;
    ctx.resize(layers.size());
    std::size_t device_end = layers.size();
    if (a.has_host())
        for (std::size_t i = 0; i < layers.size(); ++i)
            if (!EdgeTpuArch::device_supports(layers[i])) {
                device_end = i;
                break;
            }
    const double onchip = std::max(0.0, a.onchip_bytes() - a.reserved_onchip_bytes);
    double act_need = 0.0;
    std::vector<double> act(layers.size());
    for (std::size_t i = 0; i < device_end; ++i) {
        const Layer& l = layers[i];
        if (*l.invalid_field() != '\0') continue;
        act[i] = (layer_input_elems(l) + layer_output_elems(l)) * double(a.act_bytes);
        act_need = std::max(act_need, act[i]);
    }
    const double act_cap = std::min(act_need * a.activation_buffers, onchip);
    double param_room = onchip - act_cap;
    bool caching = true;
    for (std::size_t i = 0; i < layers.size(); ++i) {
        const Layer& l = layers[i];
        ctx[i].op_overhead_cycles = op_overhead(l, a);
        if (i >= device_end) {
            ctx[i].on_host = true;
            ctx[i].weights_cached = false;
            continue;
        }
        const double w = layer_param_bytes(l, a);
        caching = caching && w <= param_room;
        if (caching) param_room -= w;
        ctx[i].weights_cached = caching;
        const bool spill = act[i] > std::min(act_cap, onchip);
        ctx[i].input_spilled = spill;
        ctx[i].output_spilled = spill;
    }
    if (device_end > 0) {
        ctx.front().input_spilled = true;
        ctx[device_end - 1].output_spilled = true;
    }
    plan.activation_reserve_bytes = act_cap;
    plan.device_layers = static_cast<std::int64_t>(device_end);
    return plan;
}

std::vector<LayerContext> edgetpu_network_context(const std::vector<Layer>& layers, const EdgeTpuArch& a) {
    return edgetpu_network_plan(layers, a).layers;
}

EdgeTpuCost evaluate_host_layer(const Layer& l, const EdgeTpuArch& a, bool after_device) {
    // A simple roofline of the host CPU: time = per-op cost + max(work / MAC rate, bytes / memory bandwidth), with
    // bytes = input + output + parameters at the activation / weight word size; the first host layer after a
    // device segment first receives its input over the I/O link. Host energy is not modelled (0 pJ).
    EdgeTpuCost c;
    if (*l.invalid_field() != '\0') {
        c.status = Status::InvalidLayer;
        return c;
    }
    double* v = c.v;
    const double in = layer_input_elems(l) * double(a.act_bytes);
    const double out = layer_output_elems(l) * double(a.act_bytes);
    const double w = layer_param_bytes(l, a);
    const double work = host_work(l);
    v[F_macs] = l.is_mac() ? work : 0.0;
    v[F_ops] = work;
    v[F_compute_cycles] = work / a.host_macs_per_cycle;
    v[F_io_cycles] = (in + out + w) / a.host_bytes_per_cycle;
    v[F_memory_bound] = v[F_io_cycles] > v[F_compute_cycles] ? 1.0 : 0.0;
    v[F_overhead_cycles] = a.host_op_cycles;
    v[F_transfer_cycles] = after_device ? in / a.io_bytes_per_cycle : 0.0;
    v[F_cycles] = v[F_overhead_cycles] + std::max(v[F_compute_cycles], v[F_io_cycles]) + v[F_transfer_cycles];
    v[F_on_host] = 1.0;
    v[F_weights_cached] = 0.0;
    detail::fill_mapping_fields(c, detail::vector_mapping());
    detail::flag_nonfinite(c);
    return c;
}

struct EdgeTpuBatch::Impl {
    const double* archs;
    const double* energy;
    std::int64_t n_layers, n_energy;
    MapperOptions opt;
    std::int32_t* status;
    double* out;
    double* totals;
    std::vector<Layer> layers;
    std::vector<std::int64_t> order;  // detail::mirror_adjacent_order of the batch's architectures
    std::mutex pool_mutex;
    std::vector<std::unique_ptr<detail::LayerMemo>> pool;  // memos not in use by a worker

    void evaluate(std::int64_t ai, detail::LayerMemo& memo);
};

EdgeTpuBatch::EdgeTpuBatch(const std::int64_t* layers, std::int64_t n_layers, int layer_width, const double* archs,
                           std::int64_t n_archs, const double* energy, std::int64_t n_energy,
                           const MapperOptions& opt, std::int32_t* status, double* out, double* totals,
                           std::int64_t arch_begin, std::int64_t arch_end)
    : impl_(std::make_unique<Impl>()) {
    Impl& im = *impl_;
    im.archs = archs, im.energy = energy, im.n_layers = std::max<std::int64_t>(0, n_layers), im.n_energy = n_energy;
    im.opt = opt, im.status = status, im.out = out, im.totals = totals;
    im.layers.resize(static_cast<std::size_t>(im.n_layers));
    for (std::int64_t i = 0; i < im.n_layers; ++i)
        im.layers[static_cast<std::size_t>(i)] = Layer::from_row(layers + i * layer_width, layer_width);
    im.order = detail::mirror_adjacent_order(archs, std::max<std::int64_t>(0, arch_begin), std::min(arch_end, n_archs));
}

EdgeTpuBatch::~EdgeTpuBatch() = default;

std::int64_t EdgeTpuBatch::size() const { return static_cast<std::int64_t>(impl_->order.size()); }

void EdgeTpuBatch::run(std::int64_t begin, std::int64_t end) {
    Impl& im = *impl_;
    begin = std::max<std::int64_t>(0, begin);
    end = std::min(end, size());
    if (begin >= end) return;
    // Guided self-scheduling: each worker takes the next run of positions, of a size that shrinks with the work
    // left (a share of it per worker, at least kMinRun), so the bulk goes in long runs of neighbours in the work
    // order (which share memo entries) and the workers finish together. Which worker maps what never changes a
    // result (the memo is exact).
    constexpr std::int64_t kMinRun = 16;
    const int n_threads = resolve_threads(im.opt.threads, end - begin);
    std::atomic<std::int64_t> next{begin};
    auto take = [&](std::int64_t& b, std::int64_t& e) {
        std::int64_t cur = next.load();
        while (cur < end) {
            const std::int64_t run = std::max(kMinRun, (end - cur) / (2 * n_threads));
            const std::int64_t stop = std::min(end, cur + run);
            if (next.compare_exchange_weak(cur, stop)) {
                b = cur, e = stop;
                return true;
            }
        }
        return false;
    };
    auto work = [&](std::int64_t, std::int64_t) {
        std::unique_ptr<detail::LayerMemo> memo;
        {
            const std::lock_guard<std::mutex> lock(im.pool_mutex);
            if (!im.pool.empty()) {
                memo = std::move(im.pool.back());
                im.pool.pop_back();
            }
        }
        if (!memo) memo = std::make_unique<detail::LayerMemo>(im.opt, im.order.size() > 1);
        for (std::int64_t b = 0, e = 0; take(b, e);)
            for (std::int64_t pos = b; pos < e; ++pos) im.evaluate(im.order[static_cast<std::size_t>(pos)], *memo);
        const std::lock_guard<std::mutex> lock(im.pool_mutex);
        im.pool.push_back(std::move(memo));
    };
    parallel_ranges(n_threads, 0, n_threads, work);  // one range per worker: the runs are taken in `work`
}

void EdgeTpuBatch::Impl::evaluate(std::int64_t ai, detail::LayerMemo& memo) {
    const std::vector<Layer>& ls = layers;
    Status st = Status::Ok, est = Status::Ok;
    const double* arch_row = archs + ai * kEdgeTpuFields;
    const double* energy_row = energy + (n_energy == 1 ? 0 : ai) * kEnergyFields;
    const EdgeTpuArch a = EdgeTpuArch::from_row(arch_row, st);
    const EnergyTable e = EnergyTable::from_row(energy_row, est);
    if (st == Status::Ok) st = est;
    double* tot = totals + ai * kEdgeTpuTotals;
    std::fill(tot, tot + kEdgeTpuTotals, 0.0);
    EdgeTpuNetworkPlan plan;
    if (st == Status::Ok) plan = edgetpu_network_plan(ls, a);
    const std::vector<LayerContext>& ctx = plan.layers;
    double cycles = 0.0, energy_pj = 0.0, macs = 0.0, dram = 0.0, params = 0.0, cached = 0.0;
    double host = 0.0, transfer = 0.0, host_layers = 0.0, memory_bound = 0.0;
    for (std::int64_t li = 0; li < n_layers; ++li) {
        const std::size_t lz = static_cast<std::size_t>(li);
        EdgeTpuCost c;
        if (st != Status::Ok) {
            c.status = st;
        } else if (ctx[lz].on_host) {
            c = evaluate_host_layer(ls[lz], a, li == plan.device_layers && li > 0);
        } else {
            c = opt.memo ? memo.map(ls[lz], a, arch_row, e, energy_row, ctx[lz]) : map_edgetpu_layer(ls[lz], a, e, ctx[lz], opt);
            add_fixed_cost(c, a, ctx[lz].op_overhead_cycles);
        }
        const double w = st == Status::Ok ? layer_param_bytes(ls[lz], a) : 0.0;
        if (c.status == Status::Ok && !ctx[lz].on_host) {
            c.v[F_cached_w_bytes] = ctx[lz].weights_cached ? w : 0.0;
            c.v[F_streamed_w_bytes] = ctx[lz].weights_cached ? 0.0 : w;
        }
        status[ai * n_layers + li] = static_cast<std::int32_t>(c.status);
        if (out != nullptr) std::copy(c.v, c.v + kEdgeTpuOutFields, out + (ai * n_layers + li) * kEdgeTpuOutFields);
        if (c.status != Status::Ok) continue;
        cycles += c.v[F_cycles];
        energy_pj += c.v[F_energy_pj];
        macs += c.v[F_macs];
        memory_bound += c.v[F_memory_bound];
        if (ctx[lz].on_host) {
            host += c.v[F_cycles] - c.v[F_transfer_cycles];
            transfer += c.v[F_transfer_cycles];
            host_layers += 1.0;
            continue;
        }
        dram += c.v[F_dram_w_bytes] + c.v[F_dram_i_bytes] + c.v[F_dram_o_bytes];
        params += w;
        if (ctx[lz].weights_cached) cached += w;
    }
    if (st != Status::Ok) return;
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
    tot[T_device_cycles] = cycles - host - transfer;
    tot[T_transfer_cycles] = transfer;
    tot[T_host_cycles] = host;
    tot[T_host_layers] = host_layers;
    tot[T_activation_reserve_bytes] = plan.activation_reserve_bytes;
    tot[T_memory_bound_layers] = memory_bound;
    // Totals beyond double range (e.g. a clock of a denormal MHz): flagged as overflow, never inf.
    bool finite = true;
    for (int t = 0; t < kEdgeTpuTotals; ++t) finite = finite && std::isfinite(tot[t]);
    if (!finite) {
        std::fill(tot, tot + kEdgeTpuTotals, 0.0);
        for (std::int64_t li = 0; li < n_layers; ++li) status[ai * n_layers + li] = static_cast<std::int32_t>(Status::Overflow);
    }
}

void evaluate_edgetpu_batch_range(const std::int64_t* layers, std::int64_t n_layers, int layer_width,
                                  const double* archs, std::int64_t n_archs, const double* energy,
                                  std::int64_t n_energy, const MapperOptions& opt, std::int32_t* status, double* out,
                                  double* totals, std::int64_t arch_begin, std::int64_t arch_end) {
    EdgeTpuBatch batch(layers, n_layers, layer_width, archs, n_archs, energy, n_energy, opt, status, out, totals,
                       arch_begin, arch_end);
    batch.run(0, batch.size());
}

void evaluate_edgetpu_batch(const std::int64_t* layers, std::int64_t n_layers, int layer_width, const double* archs,
                            std::int64_t n_archs, const double* energy, std::int64_t n_energy, const MapperOptions& opt,
                            std::int32_t* status, double* out, double* totals) {
    evaluate_edgetpu_batch_range(layers, n_layers, layer_width, archs, n_archs, energy, n_energy, opt, status, out,
                                 totals, 0, n_archs);
}

}  // namespace codesign
