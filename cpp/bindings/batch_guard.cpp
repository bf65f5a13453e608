#include "batch_guard.hpp"

#include <unistd.h>

#include <climits>
#include <cmath>
#include <fstream>
#include <sstream>

namespace codesign_bindings {

namespace {

// First integer in a file, or -1 (missing file, "max", anything else).
std::int64_t read_number(const char* path) {
    std::ifstream in(path);
    std::string word;
    if (!(in >> word) || word.empty() || word.find_first_not_of("0123456789") != std::string::npos) return -1;
    try {
        return std::stoll(word);
    } catch (...) {
        return -1;  // beyond int64: no limit worth the name
    }
}

std::int64_t meminfo_available() {
    std::ifstream in("/proc/meminfo");
    std::string key;
    std::int64_t kib = 0;
    std::string unit;
    while (in >> key >> kib) {
        std::getline(in, unit);
        if (key == "MemAvailable:") return kib * 1024;
    }
    const long pages = sysconf(_SC_AVPHYS_PAGES);
    const long page = sysconf(_SC_PAGESIZE);
    return pages > 0 && page > 0 ? static_cast<std::int64_t>(pages) * page : -1;
}

std::string gib(double bytes) {
    char buf[64];
    const double g = bytes / (1024.0 * 1024.0 * 1024.0);
    if (g >= 1024.0)
        std::snprintf(buf, sizeof buf, "%.1f TiB", g / 1024.0);
    else
        std::snprintf(buf, sizeof buf, "%.1f GiB", g);
    return buf;
}

}  // namespace

std::int64_t available_memory_bytes() {
    std::int64_t avail = meminfo_available();
    auto lower = [&](std::int64_t limit, std::int64_t used) {
        if (limit < 0 || used < 0) return;
        const std::int64_t room = std::max<std::int64_t>(0, limit - used);
        if (avail < 0 || room < avail) avail = room;
    };
    lower(read_number("/sys/fs/cgroup/memory.max"), read_number("/sys/fs/cgroup/memory.current"));
    lower(read_number("/sys/fs/cgroup/memory/memory.limit_in_bytes"),
          read_number("/sys/fs/cgroup/memory/memory.usage_in_bytes"));
    return avail;
}

void check_batch_memory(const char* what, std::int64_t n_archs, std::int64_t n_layers, std::int64_t bytes_per_pair,
                        std::int64_t extra_bytes_per_arch) {
    // In double: exact enough, and no overflow for any shape numpy can describe.
    const double per_arch = static_cast<double>(n_layers) * static_cast<double>(bytes_per_pair) +
                            static_cast<double>(extra_bytes_per_arch);
    const double need = static_cast<double>(n_archs) * per_arch;
    if (need <= 256.0 * 1024 * 1024) return;  // small: not worth reading /proc
    const std::int64_t avail = available_memory_bytes();
    if (avail >= 0 && need <= 0.9 * static_cast<double>(avail) && need < 9.0e18) return;
    if (avail < 0 && need < 9.0e18) return;
    std::ostringstream msg;
    msg << what << ": " << n_archs << " architectures x " << n_layers << " layers need " << gib(need)
        << " for their results, more than 90% of the " << (avail >= 0 ? gib(static_cast<double>(avail)) : "?")
        << " of memory available; ";
    const double fit = avail > 0 ? std::floor(0.9 * static_cast<double>(avail) / per_arch) : 0.0;
    if (fit >= 1.0)
        msg << "evaluate the architectures in batches of at most " << static_cast<std::int64_t>(fit);
    else
        msg << "even one architecture's results do not fit: split the layers";
    PyErr_SetString(PyExc_MemoryError, msg.str().c_str());
    throw py::error_already_set();
}

int thread_count(std::int64_t threads) {
    if (threads < 0) throw py::value_error("threads must be >= 0, got " + std::to_string(threads));
    return static_cast<int>(std::min<std::int64_t>(threads, INT_MAX));
}

}  // namespace codesign_bindings
