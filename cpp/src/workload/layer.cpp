#include "codesign/workload/layer.hpp"

#include <algorithm>
#include <vector>

namespace codesign {

Layer Layer::from_row(const std::int64_t* row, int width) {
    Layer l;
    l.n = row[0];
    l.k = row[1];
    l.c = row[2];
    l.p = row[3];
    l.q = row[4];
    l.r = row[5];
    l.s = row[6];
    l.h = row[7];
    l.w = row[8];
    l.stride_h = row[9];
    l.stride_w = row[10];
    l.pad_h = row[11];
    l.pad_w = row[12];
    l.dilation_h = row[13];
    l.dilation_w = row[14];
    l.groups = row[15];
    if (width >= kLayerFields) {
        // Out-of-range codes are kept as sentinels and reported by invalid_field().
        l.op = (row[16] >= 0 && row[16] < kOpCount) ? static_cast<Op>(row[16]) : static_cast<Op>(-1);
        l.act = (row[17] >= 0 && row[17] < kActCount) ? static_cast<Act>(row[17]) : static_cast<Act>(-1);
    }
    return l;
}

const char* Layer::invalid_field() const {
    constexpr std::int64_t kMaxDim = std::int64_t{1} << 31;
    const std::array<std::pair<const char*, std::int64_t>, 15> positive{{{"n", n},
                                                                         {"k", k},
                                                                         {"c", c},
                                                                         {"p", p},
                                                                         {"q", q},
                                                                         {"r", r},
                                                                         {"s", s},
                                                                         {"h", h},
                                                                         {"w", w},
                                                                         {"stride_h", stride_h},
                                                                         {"stride_w", stride_w},
                                                                         {"dilation_h", dilation_h},
                                                                         {"dilation_w", dilation_w},
                                                                         {"groups", groups},
                                                                         {"pad_h", pad_h + 1}}};
    for (const auto& [name, value] : positive) {
        if (value < 1 || value > kMaxDim) return name;
    }
    if (pad_w < 0 || pad_w >= kMaxDim) return "pad_w";
    if (static_cast<std::int32_t>(op) < 0) return "op";
    if (static_cast<std::int32_t>(act) < 0) return "act";
    if (c % groups != 0) return "groups";
    if (k % groups != 0) return "groups";
    return "";
}

std::int64_t touched_positions(std::int64_t out, std::int64_t taps, std::int64_t stride, std::int64_t dilation,
                               std::int64_t size, std::int64_t pad) {
    const std::int64_t lo = pad;  // real input occupies [pad, pad + size) in padded coordinates
    const std::int64_t hi = pad + size;
    auto overlap = [&](std::int64_t a, std::int64_t b) {  // |[a, b) ∩ [lo, hi)|
        return std::max<std::int64_t>(0, std::min(b, hi) - std::max(a, lo));
    };
    if (dilation == 1) {
        if (stride <= taps) return overlap(0, (out - 1) * stride + taps);  // windows overlap or abut
        std::int64_t count = 0;                                            // disjoint windows
        for (std::int64_t e = 0; e < out; ++e) count += overlap(e * stride, e * stride + taps);
        return count;
    }
    // Dilated: mark taps explicitly (rare). Past 16 Mi positions, fall back to the no-reuse bound.
    const std::int64_t span = (out - 1) * stride + (taps - 1) * dilation + 1;
    if (span > (std::int64_t{1} << 24) || hi > (std::int64_t{1} << 24)) return std::min(size, out * taps);
    std::vector<char> hit(static_cast<std::size_t>(std::max(span, hi)), 0);
    for (std::int64_t e = 0; e < out; ++e)
        for (std::int64_t j = 0; j < taps; ++j) hit[static_cast<std::size_t>(e * stride + j * dilation)] = 1;
    std::int64_t count = 0;
    for (std::int64_t i = lo; i < std::min(hi, span); ++i) count += hit[static_cast<std::size_t>(i)];
    return count;
}

std::int64_t Layer::ifmap_unique_words(Checked& ck) const {
    const std::int64_t rows = touched_positions(p, r, stride_h, dilation_h, h, pad_h);
    const std::int64_t cols = touched_positions(q, s, stride_w, dilation_w, w, pad_w);
    return ck.mul(ck.mul(n, c), ck.mul(rows, cols));
}

}  // namespace codesign
