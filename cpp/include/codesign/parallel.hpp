// Splitting batch work over threads, safely: a failed thread start or an exception in a worker never
// terminates the process (an exception escaping a std::thread calls std::terminate).
#pragma once

#include <algorithm>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "codesign/common.hpp"

namespace codesign {

// Most worker threads a batch call starts, whatever it is asked for: results never depend on the thread
// count, and more threads than 4x the cores only cost memory and start-up time.
inline int max_worker_threads() {
    const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
    return static_cast<int>(std::max(8u, 4u * hw));
}

// Threads to use: `requested` (0 = all cores), at most `useful` (>= 1) and at most max_worker_threads().
inline int resolve_threads(int requested, std::int64_t useful) {
    std::int64_t n = requested > 0 ? requested : static_cast<std::int64_t>(std::max(1u, std::thread::hardware_concurrency()));
    n = std::min<std::int64_t>(n, std::max<std::int64_t>(1, useful));
    n = std::min<std::int64_t>(n, max_worker_threads());
    return static_cast<int>(std::max<std::int64_t>(1, n));
}

// Calls work(begin, end) on `n_threads` contiguous ranges of [begin, end) (ceil-sized, in order), the last range
// on the calling thread. If a thread cannot be started, its range runs on the calling thread instead. The first
// exception thrown by any range is rethrown here after every thread has joined.
template <typename Fn>
void parallel_ranges(int n_threads, std::int64_t begin, std::int64_t end, Fn&& work) {
    const std::int64_t total = end - begin;
    if (total <= 0) return;
    if (n_threads <= 1 || total == 1) {
        work(begin, end);
        return;
    }
    std::exception_ptr error;
    std::mutex error_mutex;
    auto guarded = [&](std::int64_t b, std::int64_t e) {
        try {
            work(b, e);
        } catch (...) {
            const std::lock_guard<std::mutex> lock(error_mutex);
            if (!error) error = std::current_exception();
        }
    };
    const std::int64_t chunk = ceil_div(total, n_threads);
    std::vector<std::thread> pool;
    std::vector<std::pair<std::int64_t, std::int64_t>> inline_ranges;
    // Reserved before any thread starts, so that no allocation below can throw while threads are running.
    pool.reserve(static_cast<std::size_t>(n_threads));
    inline_ranges.reserve(static_cast<std::size_t>(n_threads));
    std::int64_t b = begin;
    for (int t = 0; t < n_threads && b < end; ++t) {
        const std::int64_t e = std::min(end, b + chunk);
        if (e >= end) {
            inline_ranges.emplace_back(b, e);  // the last range: this thread
        } else {
            try {
                pool.emplace_back(guarded, b, e);
            } catch (...) {  // std::system_error (no more threads) or std::bad_alloc
                inline_ranges.emplace_back(b, e);
            }
        }
        b = e;
    }
    for (const auto& r : inline_ranges) guarded(r.first, r.second);
    for (auto& th : pool) th.join();
    if (error) std::rethrow_exception(error);
}

}  // namespace codesign
