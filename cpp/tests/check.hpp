// The C++ tests' checks and random numbers (test_core.cpp, test_mapper_tables.cpp): CHECK and CHECK_EQ count
// every check and report each failure with its file and line; uniform() draws from one seeded stream.
#pragma once

#include <cstdint>
#include <cstdio>

namespace codesign_tests {

inline int g_checks = 0;
inline int g_failures = 0;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        ++g_checks;                                                                  \
        if (!(cond)) {                                                               \
            ++g_failures;                                                            \
            std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                            \
    } while (0)

#define CHECK_EQ(a, b)                                                                                        \
    do {                                                                                                      \
        ++g_checks;                                                                                           \
        const auto va_ = (a);                                                                                 \
        const auto vb_ = (b);                                                                                 \
        if (!(va_ == vb_)) {                                                                                  \
            ++g_failures;                                                                                     \
            std::fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %s (%lld vs %lld)\n", __FILE__, __LINE__, #a, #b, \
                         static_cast<long long>(va_), static_cast<long long>(vb_));                           \
        }                                                                                                     \
    } while (0)

inline std::uint64_t g_rng = 0x1234567;
inline std::uint64_t next_u64() {
    std::uint64_t z = (g_rng += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}
inline std::int64_t uniform(std::int64_t lo, std::int64_t hi) {  // [lo, hi]
    return lo + static_cast<std::int64_t>(next_u64() % static_cast<std::uint64_t>(hi - lo + 1));
}

// The mapper's table forms and bounds (test_mapper_tables.cpp).
void run_mapper_table_tests();

}  // namespace codesign_tests
