#include "codesign/arch/systolic.hpp"

#include <cmath>

namespace codesign {

namespace {
constexpr double kMaxInt = 9.0e15;  // below 2^53: every integral double here is exact

bool to_int(double v, std::int64_t lo, std::int64_t& out) {
    if (!std::isfinite(v) || v < static_cast<double>(lo) || v > kMaxInt || std::floor(v) != v) return false;
    out = static_cast<std::int64_t>(v);
    return true;
}
}  // namespace

SystolicArray SystolicArray::from_row(const double* row, Status& status) {
    SystolicArray a;
    status = Status::Ok;
    std::int64_t df = 0;
    const bool ok = to_int(row[0], 1, a.rows) && a.rows <= (1 << 20) && to_int(row[1], 1, a.cols) &&
                    a.cols <= (1 << 20) && to_int(row[2], 0, df) && df <= 2 && to_int(row[3], 1, a.ifmap_sram_words) &&
                    to_int(row[4], 1, a.filter_sram_words) && to_int(row[5], 1, a.ofmap_sram_words) &&
                    std::isfinite(row[6]) && row[6] > 0.0 && row[6] < kMaxInt;
    if (!ok) {
        status = Status::InvalidArch;
        return a;
    }
    a.dataflow = static_cast<Dataflow>(df);
    a.dram_bw_words_per_cycle = row[6];
    // Each half of a double-buffered SRAM must hold at least one array row/column of words.
    const std::int64_t edge = a.rows > a.cols ? a.rows : a.cols;
    if (a.ifmap_sram_words < 2 * edge || a.filter_sram_words < 2 * edge || a.ofmap_sram_words < 2 * edge)
        status = Status::SramTooSmall;
    return a;
}

}  // namespace codesign
