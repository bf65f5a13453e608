// A DNN layer as a 7-deep loop nest: N, K, C, P, Q, R, S (+ input H, W, stride, padding, dilation, groups).
#pragma once

#include <array>
#include <cstdint>

#include "codesign/common.hpp"

namespace codesign {

// Field order of the flat int64 row used by batch calls (must equal codesign.workload.LAYER_FIELDS).
// Rows of the first 16 fields only (no op, act) are accepted too: they describe MAC layers without activation.
inline constexpr int kLayerFields = 18;
inline constexpr int kLayerFieldsMac = 16;

// What a layer computes (codesign.workload.OP_CODES): MAC layers on the array, the rest on vector units.
//   Mac     conv, FC, GEMM: the second operand is weights (parameters).
//   MatMul  an activation-by-activation matrix product (attention's QK^T and AV), batched as groups: the second
//           operand (K x C/groups per group) is an activation produced by earlier layers, never a parameter.
//   Pool, Add (two-operand elementwise), Mul (map times a per-channel gate), Softmax, Norm (LayerNorm/RMSNorm),
//   Act (a stand-alone activation function): vector operations, kVectorOpsPerElement each per output element.
//   Concat  a concatenation along any axis, stored as one pass over its output (c = k = groups = the output's
//           channels, p = h, q = w): one copy per output element.
//   Resize  nearest or bilinear resampling of N x C x H x W to N x C x P x Q (k = c = groups); r = s = the
//           interpolation taps per axis, 1 nearest, 2 bilinear: r * s operations per output element.
//   Bn      a batch norm the compiler could not fold into a conv before it: per-channel scale and shift,
//           kBnOpsPerElement per element (elementwise layout).
//   Nms     detection post-processing (score threshold, sort, greedy IoU suppression) of n images: c classes
//           (score columns), h boxes (w = 1), p = the most detections kept (q = 1), k = groups = 1; work nms_ops().
// Codes are the column "op" of the layer rows: new kinds are appended, never renumbered.
enum class Op : std::int32_t {
    Mac = 0, Pool = 1, Add = 2, Mul = 3, MatMul = 4, Softmax = 5, Norm = 6, Act = 7,
    Concat = 8, Resize = 9, Bn = 10, Nms = 11
};
inline constexpr std::int64_t kOpCount = 12;

// Vector-unit operations per output element of the elementwise kinds, before the activation (codesign's
// assumption, as the activation table in model/edgetpu_cost.cpp): add/mul/act one; softmax five (running max,
// subtract, exponential, sum, scale by the reciprocal); norm five (mean, subtract, square-accumulate, scale by the
// reciprocal square root, affine). Pool counts its window instead.
inline constexpr double kSoftmaxOpsPerElement = 5.0;
inline constexpr double kNormOpsPerElement = 5.0;
// An un-fused batch norm is a multiply and an add per element (as TFLite lowers it: MUL, ADD).
inline constexpr double kBnOpsPerElement = 2.0;
// Non-maximum suppression: operations per IoU test of two boxes (intersection corners: 4 min/max; its area: 2
// subtractions, 2 clamps, 1 multiply; the union: 1 add, 1 subtract; compare IoU > threshold as inter >
// threshold * union: 1 multiply, 1 compare; about 15 with the suppression flag's read and write; codesign's
// estimate), and input words per box (its 4 coordinates).
inline constexpr double kNmsIouOps = 15.0;
inline constexpr double kNmsBoxWords = 4.0;

// Activation functions (codesign.workload.ACTIVATIONS order).
enum class Act : std::int32_t { None = 0, Relu, Relu6, HSwish, HSigmoid, Sigmoid, Swish, Gelu, Tanh };
inline constexpr std::int64_t kActCount = 9;

struct Layer {
    std::int64_t n = 1;  // batch
    std::int64_t k = 1;  // output channels (all groups)
    std::int64_t c = 1;  // input channels (all groups)
    std::int64_t p = 1;  // output rows
    std::int64_t q = 1;  // output cols
    std::int64_t r = 1;  // filter rows
    std::int64_t s = 1;  // filter cols
    std::int64_t h = 1;  // input rows (unpadded)
    std::int64_t w = 1;  // input cols (unpadded)
    std::int64_t stride_h = 1;
    std::int64_t stride_w = 1;
    std::int64_t pad_h = 0;  // symmetric zero padding, rows
    std::int64_t pad_w = 0;
    std::int64_t dilation_h = 1;
    std::int64_t dilation_w = 1;
    std::int64_t groups = 1;
    Op op = Op::Mac;
    Act act = Act::None;

    // Reads `width` (16 or 18) fields; with 16, op = Mac and act = None.
    static Layer from_row(const std::int64_t* row, int width = kLayerFields);
    // Runs on the MAC array: weight layers and activation-by-activation matmuls.
    bool is_mac() const { return op == Op::Mac || op == Op::MatMul; }
    // The second operand (the "filter" of the GEMM view) is an activation, not a parameter.
    bool operand_is_activation() const { return op == Op::MatMul; }

    // Empty when valid, else the name of the first offending field.
    const char* invalid_field() const;

    // GEMM view of one group: M = N*P*Q, N = K/groups, K = (C/groups)*R*S.
    std::int64_t gemm_m(Checked& ck) const { return ck.mul3(n, p, q); }
    std::int64_t gemm_n() const { return k / groups; }
    std::int64_t gemm_k(Checked& ck) const { return ck.mul3(c / groups, r, s); }

    // Distinct input words the layer reads (all groups): N * C * rows_touched * cols_touched, where a row is
    // touched when some output row's window covers it (padding excluded). Equals N*C*H*W for dense convs.
    std::int64_t ifmap_unique_words(Checked& ck) const;
};

// Operations of a layer that is not a MAC layer (0 for Mac and MatMul), per kind: pool N*C*P*Q*R*S; add, mul,
// act, concat N*C*P*Q; softmax, norm N*C*P*Q * 5; bn N*C*P*Q * 2; resize N*C*P*Q*R*S (R*S taps); nms
// nms_ops(). The activation function's operations are not included. The same work runs on the Edge TPU's vector
// units and on a host CPU.
double vector_ops(const Layer& l);
// Non-maximum suppression of N images, C classes, H boxes, at most P kept: N * (H*C score-threshold compares
// + H*ceil(log2 H) for sorting the survivors + H*P*kNmsIouOps for the greedy IoU tests of each kept box against
// the rest), the worst case in which every box passes the threshold.
double nms_ops(const Layer& l);
// ceil(log2 x) for x >= 1 (0 for x <= 1).
std::int64_t ceil_log2(std::int64_t x);

// Number of distinct input positions along one axis covered by `out` windows of `taps` taps,
// `stride` apart, taps `dilation` apart, on an input of `size` with `pad` zeros on each side.
// Exact for any input; O(1) without dilation, at most O(2^24) steps and 16 MiB with it (a no-reuse bound past
// 2^24 positions).
std::int64_t touched_positions(std::int64_t out, std::int64_t taps, std::int64_t stride, std::int64_t dilation,
                               std::int64_t size, std::int64_t pad);

// The algorithms behind touched_positions, exposed for the core's tests. lo = pad, hi = pad + size.
namespace detail {
std::int64_t touched_disjoint(std::int64_t out, std::int64_t taps, std::int64_t stride, std::int64_t lo, std::int64_t hi);
std::int64_t touched_dilated_marks(std::int64_t out, std::int64_t taps, std::int64_t stride, std::int64_t dilation,
                                   std::int64_t lo, std::int64_t hi);
std::int64_t touched_dilated_scan(std::int64_t out, std::int64_t taps, std::int64_t stride, std::int64_t dilation,
                                  std::int64_t lo, std::int64_t hi);
}  // namespace detail

}  // namespace codesign
