// A weight/output/input-stationary systolic array with three double-buffered operand SRAMs (ifmap, filter,
// ofmap) in front of one DRAM interface, as in SCALE-Sim (Samajdar et al., ISPASS 2020).
#pragma once

#include <cstdint>

#include "codesign/common.hpp"

namespace codesign {

enum class Dataflow : std::int32_t { OS = 0, WS = 1, IS = 2 };

// Field order of the flat float64 row used by batch calls (must equal codesign.hardware.ARCH_FIELDS).
inline constexpr int kArchFields = 7;

struct SystolicArray {
    std::int64_t rows = 32;  // PE rows (SCALE-Sim ArrayHeight)
    std::int64_t cols = 32;  // PE columns (SCALE-Sim ArrayWidth)
    Dataflow dataflow = Dataflow::WS;
    std::int64_t ifmap_sram_words = 65536;
    std::int64_t filter_sram_words = 65536;
    std::int64_t ofmap_sram_words = 65536;
    double dram_bw_words_per_cycle = 10.0;  // one shared DRAM interface, reads and writes

    // Parses a row {rows, cols, dataflow, ifmap_words, filter_words, ofmap_words, bw}; `status` tells
    // whether it was valid (integral, in range).
    static SystolicArray from_row(const double* row, Status& status);

    std::int64_t pes() const { return rows * cols; }
};

}  // namespace codesign
