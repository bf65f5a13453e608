// Guards shared by the batch bindings: refuse a batch whose results cannot fit in memory before allocating
// anything, and run long C++ work in chunks with the GIL released, checking for Ctrl-C between chunks.
#pragma once

#include <pybind11/pybind11.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace codesign_bindings {

namespace py = pybind11;

// Bytes of memory this process can still take: the lowest of the kernel's MemAvailable and the cgroup (v2 or
// v1) limit less its usage; -1 when none is known (then nothing is refused).
std::int64_t available_memory_bytes();

// Raises MemoryError, before anything is allocated, when `pairs` (architecture, layer) results of
// `bytes_per_pair` bytes (plus `extra_bytes`) need more than 90% of the available memory. The message says how
// much is needed and available, and how many architectures a batch may hold.
void check_batch_memory(const char* what, std::int64_t n_archs, std::int64_t n_layers, std::int64_t bytes_per_pair,
                        std::int64_t extra_bytes_per_arch);

// Calls fn(begin, end) over [0, total) in consecutive chunks, the GIL released during each; between chunks it
// takes the GIL back and calls PyErr_CheckSignals, so Ctrl-C (KeyboardInterrupt) or any other signal handler
// that raises stops the work within about `target_s` seconds. Chunks start small (`first_chunk` items: one item
// may cost 100 ns or, for a pathological layer, tens of ms) and adapt to take about `target_s` each, never
// fewer than `min_chunk` items. Results do not depend on the chunking.
template <typename Fn>
void run_chunked(std::int64_t total, std::int64_t first_chunk, std::int64_t min_chunk, Fn&& fn, double target_s = 0.05) {
    using clock = std::chrono::steady_clock;
    min_chunk = std::max<std::int64_t>(1, min_chunk);
    std::int64_t chunk = std::max(min_chunk, first_chunk);
    for (std::int64_t begin = 0; begin < total;) {
        const std::int64_t end = total - begin > chunk ? begin + chunk : total;
        const auto t0 = clock::now();
        {
            py::gil_scoped_release release;  // pure C++ from here: every Python object was converted before
            fn(begin, end);
        }
        if (PyErr_CheckSignals() != 0) throw py::error_already_set();
        begin = end;
        const double dt = std::chrono::duration<double>(clock::now() - t0).count();
        const double scale = dt > 0.0 ? std::clamp(target_s / dt, 1.0 / 64.0, 8.0) : 8.0;
        const double next = static_cast<double>(chunk) * scale;
        chunk = next >= static_cast<double>(total) ? total : std::max(min_chunk, static_cast<std::int64_t>(next));
    }
}

// A thread-count argument (0 = all cores; any int >= 0) as the C++ core's int, clamped (the core caps threads
// anyway); ValueError naming it when negative.
int thread_count(std::int64_t threads);

}  // namespace codesign_bindings
