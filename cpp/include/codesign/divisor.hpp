// Exact integer division by a divisor fixed in advance (the array's rows or columns, reused on every layer), by a
// multiplication and shifts instead of a hardware division: Granlund and Montgomery, "Division by invariant
// integers using multiplication", PLDI 1994, Theorem 4.2. With N = 63, l = ceil(log2 d) and
// m = ceil(2^(N+l) / d), the theorem's condition 2^(N+l) <= m*d <= 2^(N+l) + 2^l holds (m*d < 2^(N+l) + d <= ...),
// so floor(n / d) = floor(m * n / 2^(N+l)) for EVERY integer 0 <= n < 2^63: no rounding error, no range check.
// m < 2^64 (d > 2^(l-1) gives 2^(N+l)/d < 2^64, and it is not within 1 of 2^64), and m * n < 2^127.
#pragma once

#include <cstdint>

namespace codesign {

__extension__ typedef unsigned __int128 DivisorU128;  // GCC / clang (the core already relies on their builtins)

class Divisor {
public:
    Divisor() = default;
    // d >= 1 (any int64 value >= 1).
    explicit Divisor(std::int64_t d) : d_(d) {
        const std::uint64_t ud = static_cast<std::uint64_t>(d);
        l_ = ud == 1 ? 0u : 64u - static_cast<unsigned>(__builtin_clzll(ud - 1));  // ceil(log2 d)
        const DivisorU128 p = DivisorU128{1} << (63 + l_);
        m_ = static_cast<std::uint64_t>((p + ud - 1) / ud);  // ceil(2^(63+l) / d)
    }
    // floor(n / d) for 0 <= n (n < 2^63 as every int64 >= 0).
    std::int64_t div(std::int64_t n) const {
        const DivisorU128 prod = static_cast<DivisorU128>(m_) * static_cast<std::uint64_t>(n);  // < 2^127
        return static_cast<std::int64_t>(static_cast<std::uint64_t>(prod >> 63) >> l_);
    }
    // ceil(n / d) for 0 <= n, as codesign::ceil_div.
    std::int64_t ceil_div(std::int64_t n) const {
        const std::int64_t q = div(n);
        return q + (n - q * d_ != 0 ? 1 : 0);
    }
    std::int64_t divisor() const { return d_; }

private:
    std::int64_t d_ = 1;
    std::uint64_t m_ = std::uint64_t{1} << 63;
    unsigned l_ = 0;
};

}  // namespace codesign
