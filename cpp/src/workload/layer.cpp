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
    const std::array<std::pair<const char*, std::int64_t>, 14> positive{{{"n", n},
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
                                                                         {"groups", groups}}};
    for (const auto& [name, value] : positive) {
        if (value < 1 || value > kMaxDim) return name;
    }
    if (pad_h < 0 || pad_h >= kMaxDim) return "pad_h";  // (not pad_h + 1 <= kMaxDim: that overflows at INT64_MAX)
    if (pad_w < 0 || pad_w >= kMaxDim) return "pad_w";
    if (static_cast<std::int32_t>(op) < 0) return "op";
    if (static_cast<std::int32_t>(act) < 0) return "act";
    if (c % groups != 0) return "groups";
    if (k % groups != 0) return "groups";
    return "";
}

std::int64_t ceil_log2(std::int64_t x) {
    std::int64_t b = 0;
    while (b < 62 && (std::int64_t{1} << b) < x) ++b;
    return b;
}

double nms_ops(const Layer& l) {
    const double boxes = double(l.h);
    return double(l.n) * (boxes * double(l.c) + boxes * double(ceil_log2(l.h)) + boxes * double(l.p) * kNmsIouOps);
}

double vector_ops(const Layer& l) {
    const double out = double(l.n) * double(l.k) * double(l.p) * double(l.q);
    switch (l.op) {
        case Op::Pool:
        case Op::Resize: return out * double(l.r) * double(l.s);
        case Op::Softmax: return out * kSoftmaxOpsPerElement;
        case Op::Norm: return out * kNormOpsPerElement;
        case Op::Bn: return out * kBnOpsPerElement;
        case Op::Nms: return nms_ops(l);
        case Op::Add:
        case Op::Mul:
        case Op::Act:
        case Op::Concat: return out;
        case Op::Mac:
        case Op::MatMul: return 0.0;
    }
    return 0.0;
}

namespace detail {

std::int64_t touched_disjoint(std::int64_t out, std::int64_t taps, std::int64_t stride, std::int64_t lo,
                              std::int64_t hi) {
    // Windows [e*stride, e*stride + taps), e in [0, out), are disjoint (stride >= taps), so the measure of their
    // union below x is additive: `full` whole windows end at or before x, and the next one may be cut by x.
    auto covered_below = [&](std::int64_t x) -> std::int64_t {
        if (x <= 0) return 0;
        const std::int64_t full = x < taps ? 0 : std::min(out, (x - taps) / stride + 1);
        const std::int64_t part = full < out ? std::max<std::int64_t>(0, std::min(taps, x - full * stride)) : 0;
        return full * taps + part;
    };
    return covered_below(hi) - covered_below(lo);
}

std::int64_t touched_dilated_marks(std::int64_t out, std::int64_t taps, std::int64_t stride, std::int64_t dilation,
                                   std::int64_t lo, std::int64_t hi) {
    // Marks every tap of every window: O(out * taps + span).
    const std::int64_t span = (out - 1) * stride + (taps - 1) * dilation + 1;
    std::vector<char> hit(static_cast<std::size_t>(std::max(span, hi)), 0);
    for (std::int64_t e = 0; e < out; ++e)
        for (std::int64_t j = 0; j < taps; ++j) hit[static_cast<std::size_t>(e * stride + j * dilation)] = 1;
    std::int64_t count = 0;
    for (std::int64_t i = lo; i < std::min(hi, span); ++i) count += hit[static_cast<std::size_t>(i)];
    return count;
}

std::int64_t touched_dilated_scan(std::int64_t out, std::int64_t taps, std::int64_t stride, std::int64_t dilation,
                                  std::int64_t lo, std::int64_t hi) {
    // Tap j touches the progression j*dilation + stride*[0, out): within the residue class of j*dilation modulo
    // stride, the interval [j*dilation, j*dilation + out*stride). Every tap's interval has the same length, so a
    // position x is touched iff the latest tap start at or before x in x's class is less than out*stride behind
    // it. One pass over the positions, remembering the latest start per class: O(span + taps), memory O(stride).
    const std::int64_t span = (out - 1) * stride + (taps - 1) * dilation + 1;
    const std::int64_t end = std::min(hi, span);
    if (end <= lo) return 0;
    const std::int64_t reach = out * stride;
    // Positions are below 2^24 here (see touched_positions), so int32 holds them; with out * taps > 2^24 and a span
    // of at most 2^24, stride < 2^24 / 6: at most 11 MiB.
    std::vector<std::int32_t> last_start(static_cast<std::size_t>(std::min(stride, end)), -1);
    std::int64_t next_tap = 0, count = 0;
    for (std::int64_t x = 0; x < end; ++x) {
        std::int32_t& last = last_start[static_cast<std::size_t>(x % stride)];
        if (next_tap < taps && next_tap * dilation == x) {
            last = static_cast<std::int32_t>(x);
            ++next_tap;
        }
        if (x >= lo && last >= 0 && x - last < reach) ++count;
    }
    return count;
}

}  // namespace detail

std::int64_t touched_positions(std::int64_t out, std::int64_t taps, std::int64_t stride, std::int64_t dilation,
                               std::int64_t size, std::int64_t pad) {
    const std::int64_t lo = pad;  // real input occupies [pad, pad + size) in padded coordinates
    const std::int64_t hi = pad + size;
    if (dilation == 1) {
        if (stride <= taps) return std::max<std::int64_t>(0, std::min((out - 1) * stride + taps, hi) - lo);  // windows overlap or abut
        return detail::touched_disjoint(out, taps, stride, lo, hi);                                          // disjoint windows
    }
    // Dilated: past 16 Mi positions, fall back to the no-reuse bound. Otherwise count exactly, by marking taps
    // when there are few, else by one scan of the positions; both take O(16 Mi) steps and 16 MiB at most.
    const std::int64_t span = (out - 1) * stride + (taps - 1) * dilation + 1;
    if (span > (std::int64_t{1} << 24) || hi > (std::int64_t{1} << 24)) return std::min(size, out * taps);
    if (out * taps <= (std::int64_t{1} << 24)) return detail::touched_dilated_marks(out, taps, stride, dilation, lo, hi);
    return detail::touched_dilated_scan(out, taps, stride, dilation, lo, hi);
}

std::int64_t Layer::ifmap_unique_words(Checked& ck) const {
    const std::int64_t rows = touched_positions(p, r, stride_h, dilation_h, h, pad_h);
    const std::int64_t cols = touched_positions(q, s, stride_w, dilation_w, w, pad_w);
    return ck.mul(ck.mul(n, c), ck.mul(rows, cols));
}

}  // namespace codesign
