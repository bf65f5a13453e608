#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>

#include "batch_guard.hpp"
#include "codesign/mapper/mapper.hpp"
#include "codesign/model/edgetpu_cost.hpp"
#include "codesign/parallel.hpp"

namespace py = pybind11;
using namespace codesign;

namespace {

using IntArray = py::array_t<std::int64_t, py::array::c_style>;
using FloatArray = py::array_t<double, py::array::c_style>;

std::string shape_of(const py::array& a) {
    std::string s = "(";
    for (py::ssize_t i = 0; i < a.ndim(); ++i) s += (i ? ", " : "") + std::to_string(a.shape(i));
    return s + (a.ndim() == 1 ? ",)" : ")");
}

void need_cols(const py::array& a, const char* what, py::ssize_t cols, py::ssize_t alt = -1) {
    if (a.ndim() != 2 || (a.shape(1) != cols && a.shape(1) != alt))
        throw py::value_error(std::string(what) + " must have shape (n, " + std::to_string(cols) + "), got " + shape_of(a));
}

MapConstraints parse_constraints(const py::object& row) {
    MapConstraints c;
    if (row.is_none()) return c;
    const IntArray arr = py::cast<IntArray>(row);
    if (arr.ndim() != 1 || arr.shape(0) != kConstraintFields)
        throw py::value_error("constraints must have shape (" + std::to_string(kConstraintFields) + ",), got " + shape_of(arr));
    if (!constraints_from_row(arr.data(), c)) throw py::value_error("constraints: a field is out of range");
    return c;
}

MapperOptions make_options(int metric, std::int64_t budget, std::int64_t patience, std::uint64_t seed, std::int64_t threads,
                           const py::object& constraints, bool complete = false, bool memo = true) {
    if (metric < 0 || metric > 2) throw py::value_error("metric must be 0 (latency), 1 (energy) or 2 (edp), got " + std::to_string(metric));
    if (budget < 0) throw py::value_error("budget must be >= 0, got " + std::to_string(budget));
    if (patience < 0) throw py::value_error("patience must be >= 0, got " + std::to_string(patience));
    MapperOptions o;
    o.metric = static_cast<Metric>(metric);
    o.budget = budget;
    o.patience = patience;
    o.seed = seed;
    o.threads = codesign_bindings::thread_count(threads);
    o.constraints = parse_constraints(constraints);
    o.complete = complete;
    o.memo = memo;
    return o;
}

py::tuple edgetpu_batch(const IntArray& layers, const FloatArray& archs, const FloatArray& energy, int metric,
                        std::int64_t budget, std::int64_t patience, std::uint64_t seed, std::int64_t threads,
                        const py::object& constraints, bool complete, bool memo, bool totals_only) {
    need_cols(layers, "layers", kLayerFields, kLayerFieldsMac);
    need_cols(archs, "archs", kEdgeTpuFields);
    need_cols(energy, "energy", kEnergyFields);
    const MapperOptions opt = make_options(metric, budget, patience, seed, threads, constraints, complete, memo);
    const py::ssize_t L = layers.shape(0), A = archs.shape(0), E = energy.shape(0);
    if (E != 1 && E != A) throw py::value_error("energy must have 1 row or one per architecture (" + std::to_string(A) + "), got " + std::to_string(E));
    const std::int64_t per_layer = static_cast<std::int64_t>(sizeof(std::int32_t) + (totals_only ? 0 : kEdgeTpuOutFields * sizeof(double)));
    codesign_bindings::check_batch_memory("edgetpu_batch", A, L, per_layer,
                                          static_cast<std::int64_t>(kEdgeTpuTotals * sizeof(double)));
    py::array_t<std::int32_t> status({A, L});
    py::object values = py::none();
    double* op = nullptr;
    if (!totals_only) {
        FloatArray out({A, L, static_cast<py::ssize_t>(kEdgeTpuOutFields)});
        op = out.mutable_data();
        values = out;
    }
    FloatArray totals({A, static_cast<py::ssize_t>(kEdgeTpuTotals)});
    const int width = static_cast<int>(layers.shape(1));
    EdgeTpuBatch batch(layers.data(), L, width, archs.data(), A, energy.data(), E, opt, status.mutable_data(), op,
                       totals.mutable_data(), 0, A);
    // Chunks of architectures (each a whole network), the GIL released in each, Ctrl-C checked between them; the
    // batch keeps its work order and memos across chunks.
    const std::int64_t per_chunk = resolve_threads(opt.threads, A);
    codesign_bindings::run_chunked(A, per_chunk, per_chunk, [&](std::int64_t b, std::int64_t e) { batch.run(b, e); });
    return py::make_tuple(status, values, totals);
}

struct Single {
    Layer layer;
    EdgeTpuArch arch;
    EnergyTable energy;
    LayerContext ctx;
    Status status = Status::Ok;
};

Single parse_single(const IntArray& layer, const FloatArray& arch, const FloatArray& energy, bool cached, bool in_spill,
                    bool out_spill) {
    if (layer.ndim() != 1 || (layer.shape(0) != kLayerFields && layer.shape(0) != kLayerFieldsMac))
        throw py::value_error("layer must have shape (18,), got " + shape_of(layer));
    if (arch.ndim() != 1 || arch.shape(0) != kEdgeTpuFields) throw py::value_error("arch must have shape (" + std::to_string(kEdgeTpuFields) + ",), got " + shape_of(arch));
    if (energy.ndim() != 1 || energy.shape(0) != kEnergyFields) throw py::value_error("energy must have shape (8,), got " + shape_of(energy));
    Single s;
    s.layer = Layer::from_row(layer.data(), static_cast<int>(layer.shape(0)));
    Status est = Status::Ok;
    s.arch = EdgeTpuArch::from_row(arch.data(), s.status);
    s.energy = EnergyTable::from_row(energy.data(), est);
    if (s.status == Status::Ok) s.status = est;
    if (s.status == Status::Ok && *s.layer.invalid_field() != '\0') s.status = Status::InvalidLayer;
    s.ctx.weights_cached = cached;
    s.ctx.input_spilled = in_spill;
    s.ctx.output_spilled = out_spill;
    return s;
}

py::tuple map_space(const IntArray& layer, const FloatArray& arch, const FloatArray& energy, bool cached, bool in_spill,
                    bool out_spill, const py::object& constraints, std::int64_t max_mappings) {
    if (max_mappings < 1) throw py::value_error("max_mappings must be >= 1, got " + std::to_string(max_mappings));
    const MapConstraints cons = parse_constraints(constraints);
    const Single s = parse_single(layer, arch, energy, cached, in_spill, out_spill);
    std::vector<EdgeTpuCost> costs;
    bool truncated = false;
    if (s.status == Status::Ok) {
        py::gil_scoped_release release;
        for (const Mapping& m : edgetpu_map_space(s.layer, s.arch, cons, max_mappings, truncated))
            costs.push_back(evaluate_edgetpu_mapping(s.layer, s.arch, s.energy, s.ctx, m));
    }
    if (truncated) throw py::value_error("the map space has more than max_mappings = " + std::to_string(max_mappings) + " legal mappings");
    const py::ssize_t M = static_cast<py::ssize_t>(costs.size());
    py::array_t<std::int32_t> status(M);
    FloatArray out({M, static_cast<py::ssize_t>(kEdgeTpuOutFields)});
    for (py::ssize_t i = 0; i < M; ++i) {
        status.mutable_at(i) = static_cast<std::int32_t>(costs[static_cast<std::size_t>(i)].status);
        std::copy(costs[static_cast<std::size_t>(i)].v, costs[static_cast<std::size_t>(i)].v + kEdgeTpuOutFields, out.mutable_data(i, 0));
    }
    return py::make_tuple(static_cast<int>(s.status), status, out);
}

py::tuple map_layer(const IntArray& layer, const FloatArray& arch, const FloatArray& energy, bool cached, bool in_spill,
                    bool out_spill, int metric, std::int64_t budget, std::int64_t patience, std::uint64_t seed,
                    const py::object& constraints, bool complete) {
    const MapperOptions opt = make_options(metric, budget, patience, seed, 1, constraints, complete);
    const Single s = parse_single(layer, arch, energy, cached, in_spill, out_spill);
    EdgeTpuCost c;
    if (s.status != Status::Ok) {
        c.status = s.status;
    } else {
        py::gil_scoped_release release;
        c = map_edgetpu_layer(s.layer, s.arch, s.energy, s.ctx, opt);
    }
    FloatArray out(static_cast<py::ssize_t>(kEdgeTpuOutFields));
    std::copy(c.v, c.v + kEdgeTpuOutFields, out.mutable_data());
    return py::make_tuple(static_cast<int>(c.status), out);
}

py::tuple smallest_tile(const IntArray& layer, const FloatArray& arch) {
    FloatArray energy(static_cast<py::ssize_t>(kEnergyFields));
    std::fill(energy.mutable_data(), energy.mutable_data() + kEnergyFields, 1.0);
    const Single s = parse_single(layer, arch, energy, true, false, false);
    double bytes[2] = {0.0, 0.0};
    bool fits = false;
    if (s.status == Status::Ok) fits = edgetpu_smallest_tile(s.layer, s.arch, bytes);
    return py::make_tuple(static_cast<int>(s.status), bytes[0], bytes[1], fits);
}

}  // namespace

void bind_edgetpu(py::module_& m) {
    py::list names, totals, dims;
    for (const char* n : kEdgeTpuNames) names.append(n);
    for (const char* n : kEdgeTpuTotalNames) totals.append(n);
    for (const char* n : {"G", "N", "K", "C", "P", "Q", "R", "S"}) dims.append(n);
    m.attr("EDGETPU_OUT_FIELDS") = py::tuple(names);
    m.attr("EDGETPU_TOTAL_FIELDS") = py::tuple(totals);
    m.attr("EDGETPU_ARCH_FIELD_COUNT") = kEdgeTpuFields;
    m.attr("ENERGY_FIELD_COUNT") = kEnergyFields;
    m.attr("DIM_NAMES") = py::tuple(dims);
    m.def("edgetpu_batch", &edgetpu_batch, py::arg("layers"), py::arg("archs"), py::arg("energy"), py::arg("metric") = 0,
          py::arg("budget") = 0, py::arg("patience") = 0, py::arg("seed") = 0, py::arg("threads") = 0,
          py::arg("constraints") = py::none(), py::arg("complete") = false, py::arg("memo") = true,
          py::arg("totals_only") = false,
          "Map and cost every layer of one network on every Edge-TPU-like architecture (GIL released, threads over "
          "architectures, in chunks of about 50 ms: Ctrl-C between them raises KeyboardInterrupt; MemoryError up front "
          "when the results would not fit in memory). Returns (status int32 (A, L), values float64 (A, L, F), totals "
          "float64 (A, T)); values is None with totals_only=True (no per-layer record kept: 4 bytes per layer instead "
          "of 396).");
    m.def("edgetpu_map_space", &map_space, py::arg("layer"), py::arg("arch"), py::arg("energy"), py::arg("weights_cached") = true,
          py::arg("input_spilled") = false, py::arg("output_spilled") = false, py::arg("constraints") = py::none(),
          py::arg("max_mappings") = 2000000,
          "Every legal mapping of one layer, costed: (status, per-mapping status (M,), values (M, F)); ValueError when "
          "there are more than max_mappings.");
    m.def("edgetpu_map_layer", &map_layer, py::arg("layer"), py::arg("arch"), py::arg("energy"), py::arg("weights_cached") = true,
          py::arg("input_spilled") = false, py::arg("output_spilled") = false, py::arg("metric") = 0, py::arg("budget") = 0,
          py::arg("patience") = 0, py::arg("seed") = 0, py::arg("constraints") = py::none(), py::arg("complete") = false,
          "The mapper's best mapping of one layer: (status, values (F,)).");
    m.def("edgetpu_smallest_tile", &smallest_tile, py::arg("layer"), py::arg("arch"),
          "A layer's smallest tile: (status, core-memory bytes, PE-memory bytes, fits).");
    m.attr("MAP_CONSTRAINT_FIELD_COUNT") = kConstraintFields;
}
