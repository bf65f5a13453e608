#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>

#include "batch_guard.hpp"
#include "codesign/model/systolic_cost.hpp"

namespace py = pybind11;
using namespace codesign;

namespace {

using IntArray = py::array_t<std::int64_t, py::array::c_style>;
using FloatArray = py::array_t<double, py::array::c_style>;

void check_2d(const py::array& a, const char* what, py::ssize_t cols, py::ssize_t alt_cols = -1) {
    if (a.ndim() != 2 || (a.shape(1) != cols && a.shape(1) != alt_cols)) {
        std::string shape = "(";
        for (py::ssize_t i = 0; i < a.ndim(); ++i) shape += (i ? ", " : "") + std::to_string(a.shape(i));
        shape += a.ndim() == 1 ? ",)" : ")";
        throw py::value_error(std::string(what) + " must have shape (n, " + std::to_string(cols) + "), got " + shape);
    }
}

py::tuple systolic_batch(const IntArray& layers, const FloatArray& archs, std::int64_t threads_arg) {
    check_2d(layers, "layers", kLayerFields, kLayerFieldsMac);
    check_2d(archs, "archs", kArchFields);
    const int threads = codesign_bindings::thread_count(threads_arg);
    const py::ssize_t n_layers = layers.shape(0);
    const py::ssize_t n_archs = archs.shape(0);
    codesign_bindings::check_batch_memory(
        "systolic_batch", n_archs, n_layers,
        static_cast<std::int64_t>(sizeof(std::int32_t) + kSystolicIntFields * sizeof(std::int64_t) +
                                  kSystolicFloatFields * sizeof(double)),
        0);
    py::array_t<std::int32_t> status({n_archs, n_layers});
    IntArray ints({n_archs, n_layers, static_cast<py::ssize_t>(kSystolicIntFields)});
    FloatArray floats({n_archs, n_layers, static_cast<py::ssize_t>(kSystolicFloatFields)});
    const std::int64_t* lp = layers.data();
    const double* ap = archs.data();
    std::int32_t* sp = status.mutable_data();
    std::int64_t* ip = ints.mutable_data();
    double* fp = floats.mutable_data();
    const int width = static_cast<int>(layers.shape(1));
    // Chunks of (architecture, layer) pairs, the GIL released in each, Ctrl-C checked between them.
    codesign_bindings::run_chunked(static_cast<std::int64_t>(n_archs) * n_layers, 16, 16,
                                   [&](std::int64_t b, std::int64_t e) {
                                       evaluate_systolic_batch_range(lp, n_layers, width, ap, n_archs, threads, sp,
                                                                     ip, fp, b, e);
                                   });
    return py::make_tuple(status, ints, floats);
}

py::tuple systolic_totals(const IntArray& layers, const FloatArray& archs, std::int64_t threads_arg) {
    check_2d(layers, "layers", kLayerFields, kLayerFieldsMac);
    check_2d(archs, "archs", kArchFields);
    const int threads = codesign_bindings::thread_count(threads_arg);
    const py::ssize_t n_layers = layers.shape(0);
    const py::ssize_t n_archs = archs.shape(0);
    codesign_bindings::check_batch_memory(
        "systolic_totals", n_archs, 1,
        static_cast<std::int64_t>(sizeof(std::int32_t) + (1 + kSystolicTotalFields) * sizeof(std::int64_t)), 0);
    py::array_t<std::int32_t> status(n_archs);
    py::array_t<std::int64_t> bad_layer(n_archs);
    IntArray sums({n_archs, static_cast<py::ssize_t>(kSystolicTotalFields)});
    const std::int64_t* lp = layers.data();
    const double* ap = archs.data();
    std::int32_t* sp = status.mutable_data();
    std::int64_t* bp = bad_layer.mutable_data();
    std::int64_t* tp = sums.mutable_data();
    const int width = static_cast<int>(layers.shape(1));
    // Chunks of architectures, the GIL released in each, Ctrl-C checked between them.
    codesign_bindings::run_chunked(static_cast<std::int64_t>(n_archs), 1, 1, [&](std::int64_t b, std::int64_t e) {
        evaluate_systolic_totals_range(lp, n_layers, width, ap, n_archs, threads, sp, bp, tp, b, e);
    });
    return py::make_tuple(status, bad_layer, sums);
}

}  // namespace

void bind_systolic(py::module_& m) {
    py::list int_names, float_names;
    for (const char* n : kSystolicIntNames) int_names.append(n);
    for (const char* n : kSystolicFloatNames) float_names.append(n);
    m.attr("SYSTOLIC_INT_FIELDS") = py::tuple(int_names);
    m.attr("SYSTOLIC_FLOAT_FIELDS") = py::tuple(float_names);
    py::list total_names;
    for (const char* n : kSystolicTotalNames) total_names.append(n);
    m.attr("SYSTOLIC_TOTAL_FIELDS") = py::tuple(total_names);
    m.attr("LAYER_FIELD_COUNT") = kLayerFields;
    m.attr("ARCH_FIELD_COUNT") = kArchFields;
    m.attr("STATUS_NAMES") = py::make_tuple("ok", "invalid layer", "invalid architecture", "SRAM too small", "overflow", "no legal mapping", "invalid energy table", "no mapping meets the mapping constraints");
    m.def("systolic_batch", &systolic_batch, py::arg("layers"), py::arg("archs"), py::arg("threads") = 0,
          R"doc(Evaluate every layer on every systolic array.

layers: int64 (n_layers, 18) in codesign.workload.LAYER_FIELDS order ((n_layers, 16): MAC layers, no activation).
archs: float64 (n_archs, 7): rows, cols, dataflow (0 os, 1 ws, 2 is), ifmap/filter/ofmap SRAM words,
       DRAM bandwidth in words per cycle.
threads: worker threads, 0 = all cores. The GIL is released while the C++ work runs, in chunks of about
         50 ms; Ctrl-C between chunks raises KeyboardInterrupt. MemoryError, before any work, when the
         results would not fit in memory.
Returns (status int32 (A, L), ints int64 (A, L, len(SYSTOLIC_INT_FIELDS)), floats float64 (A, L, 2)).)doc");
    m.def("systolic_totals", &systolic_totals, py::arg("layers"), py::arg("archs"), py::arg("threads") = 0,
          R"doc(Network totals of every systolic array, without per-layer rows.

layers, archs, threads: as systolic_batch.
Returns (status int32 (A,): the first failing layer's status, 0 when all succeeded; bad_layer int64 (A,): its
index, -1 when none; sums int64 (A, len(SYSTOLIC_TOTAL_FIELDS)): each summed field over all layers, 0 for a
failed array). Equal to summing systolic_batch's rows, except that a sum past int64 gives status overflow.)doc");
}
