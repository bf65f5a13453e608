// Shared helpers of the codesign core: checked 64-bit arithmetic and status codes.
#pragma once

#include <cstdint>
#include <limits>

namespace codesign {

// Outcome of one evaluation. Batch calls return one code per (architecture, layer) pair; the Python layer
// turns a non-zero code of a single call into a ValueError that names the offending field.
enum class Status : std::int32_t {
    Ok = 0,
    InvalidLayer = 1,  // a layer field out of range (zero or negative size, groups not dividing C or K, ...)
    InvalidArch = 2,   // an architecture field out of range (zero rows, NaN bandwidth, unknown dataflow, ...)
    SramTooSmall = 3,  // an SRAM cannot double-buffer one array row/column of words
    Overflow = 4,      // a cycle or access count does not fit in a signed 64-bit integer
    NoMapping = 5,     // no legal mapping: a minimal tile does not fit core or PE memory
    InvalidEnergy = 6, // an energy-table field out of range
    ConstraintViolated = 7,  // the smallest tile fits, but no mapping meets the mapping constraints
};

// Accumulates overflow instead of wrapping: every operation on an overflowed value stays overflowed.
struct Checked {
    bool overflow = false;

    std::int64_t mul(std::int64_t a, std::int64_t b) {
        std::int64_t out = 0;
        if (__builtin_mul_overflow(a, b, &out)) {
            overflow = true;
            return 0;
        }
        return out;
    }
    std::int64_t add(std::int64_t a, std::int64_t b) {
        std::int64_t out = 0;
        if (__builtin_add_overflow(a, b, &out)) {
            overflow = true;
            return 0;
        }
        return out;
    }
    std::int64_t mul3(std::int64_t a, std::int64_t b, std::int64_t c) { return mul(mul(a, b), c); }
};

// ceil(a / b) for a >= 0, b > 0.
inline std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return a / b + (a % b != 0 ? 1 : 0); }

}  // namespace codesign
