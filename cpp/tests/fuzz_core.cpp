// Fuzz driver of the C++ core: bytes -> layer, systolic-array, Edge-TPU and energy rows (mostly plausible values,
// often boundary values: 0, -1, 2^31, INT64_MIN/MAX, NaN, +-inf, denormals, 1e300), through every entry point:
// evaluate_systolic, the systolic batch (threads and chunks), the Edge-TPU mapper (exhaustive and sampled), its
// map space and the Edge-TPU batch. Checks, for every input: statuses are known codes; an Ok result is finite,
// non-negative and self-consistent (cycles = stall-free + stalls, stall-free cycles >= MACs / PEs, ratios in
// [0, 1], ...); a batch equals the single calls and does not depend on threads or chunks. A failed check
// prints the input and aborts, so a sanitizer run or libFuzzer reports it.
//
// Standalone: codesign_fuzz [--runs N] [--seed S] [--seconds T] feeds random byte strings (default 20,000 runs).
// With clang and -DCODESIGN_LIBFUZZER=ON, codesign_libfuzzer is the same target driven by libFuzzer.
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "codesign/arch/edgetpu.hpp"
#include "codesign/arch/systolic.hpp"
#include "codesign/mapper/mapper.hpp"
#include "codesign/model/edgetpu_cost.hpp"
#include "codesign/model/systolic_cost.hpp"
#include "codesign/workload/layer.hpp"

using namespace codesign;

namespace {

struct Bytes {
    const std::uint8_t* p;
    std::size_t n;
    std::uint64_t state = 0x5EED;  // once the input is used up, a generator seeded by it continues the stream
    bool wild = false;              // this row may hold boundary values
    std::uint64_t byte() {
        if (n) {
            --n;
            state = state * 0x100000001B3ULL ^ *p;
            return *p++;
        }
        std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return (z ^ (z >> 31)) & 0xFF;
    }
    std::uint64_t u(int bytes) {  // little-endian
        std::uint64_t v = 0;
        for (int i = 0; i < bytes; ++i) v |= byte() << (8 * i);
        return v;
    }
    std::int64_t range(std::int64_t lo, std::int64_t hi) {  // [lo, hi]
        return lo + static_cast<std::int64_t>(u(4) % static_cast<std::uint64_t>(hi - lo + 1));
    }
};

const std::int64_t kInts[] = {0,
                              1,
                              -1,
                              2,
                              3,
                              7,
                              32,
                              255,
                              (std::int64_t{1} << 31) - 1,
                              std::int64_t{1} << 31,
                              (std::int64_t{1} << 31) + 1,
                              std::int64_t{1} << 32,
                              std::int64_t{1} << 62,
                              std::numeric_limits<std::int64_t>::max(),
                              std::numeric_limits<std::int64_t>::min()};
const double kDoubles[] = {0.0,
                           -0.0,
                           1.0,
                           -1.0,
                           0.5,
                           2.5,
                           std::numeric_limits<double>::quiet_NaN(),
                           std::numeric_limits<double>::infinity(),
                           -std::numeric_limits<double>::infinity(),
                           std::numeric_limits<double>::denorm_min(),
                           std::numeric_limits<double>::max(),
                           1e300,
                           9.0e15,
                           9.0e15 + 2.0,
                           1e18,
                           4294967296.0};

// A layer field: usually small and valid, sometimes a boundary value, sometimes raw bits.
std::int64_t layer_value(Bytes& b, std::int64_t lo, std::int64_t hi) {
    const std::uint64_t mode = b.u(1) % 16;
    if (!b.wild || mode < 13) return b.range(lo, hi);
    if (mode < 15) return kInts[b.u(1) % (sizeof kInts / sizeof kInts[0])];
    return static_cast<std::int64_t>(b.u(8));
}
double real_value(Bytes& b, double lo, double hi, bool integral) {
    const std::uint64_t mode = b.u(1) % 16;
    if (!b.wild || mode < 13) {
        const double x = lo + (hi - lo) * static_cast<double>(b.u(4)) / 4294967295.0;
        return integral ? std::floor(x) : x;
    }
    if (mode < 15) return kDoubles[b.u(1) % (sizeof kDoubles / sizeof kDoubles[0])];
    const std::uint64_t bits = b.u(8);
    double d;
    std::memcpy(&d, &bits, sizeof d);
    return d;
}

void layer_row(Bytes& b, std::int64_t* row) {
    b.wild = b.u(1) % 4 == 0;
    const std::int64_t g = b.u(1) % 4 == 0 ? b.range(1, 8) : 1;
    row[0] = layer_value(b, 1, 4);                 // n
    auto times_g = [g](std::int64_t v) {  // wraps (no UB in the driver itself)
        return static_cast<std::int64_t>(static_cast<std::uint64_t>(g) * static_cast<std::uint64_t>(v));
    };
    row[1] = times_g(layer_value(b, 1, 64));       // k
    row[2] = times_g(layer_value(b, 1, 64));       // c
    row[3] = layer_value(b, 1, 64);                // p
    row[4] = layer_value(b, 1, 64);                // q
    row[5] = layer_value(b, 1, 7);                 // r
    row[6] = layer_value(b, 1, 7);                 // s
    row[7] = layer_value(b, 1, 128);               // h
    row[8] = layer_value(b, 1, 128);               // w
    row[9] = layer_value(b, 1, 4);                 // stride_h
    row[10] = layer_value(b, 1, 4);                // stride_w
    row[11] = layer_value(b, 0, 3);                // pad_h
    row[12] = layer_value(b, 0, 3);                // pad_w
    row[13] = b.u(1) % 4 == 0 ? layer_value(b, 1, 4) : 1;  // dilation_h
    row[14] = b.u(1) % 4 == 0 ? layer_value(b, 1, 4) : 1;  // dilation_w
    row[15] = b.u(1) % 8 == 0 ? layer_value(b, 1, 8) : g;  // groups
    row[16] = b.u(1) % 4 == 0 ? layer_value(b, 0, kOpCount - 1) : 0;  // op
    row[17] = layer_value(b, 0, 8);                         // act
}

void systolic_row(Bytes& b, double* r) {
    b.wild = b.u(1) % 4 == 0;
    r[0] = real_value(b, 1, 129, true);
    r[1] = real_value(b, 1, 129, true);
    r[2] = real_value(b, 0, 3, true);
    for (int i = 3; i < 6; ++i) r[i] = real_value(b, 1, 1 << 20, true);
    r[6] = real_value(b, 0.01, 64, false);
}

void edgetpu_row(Bytes& b, double* r) {
    b.wild = b.u(1) % 4 == 0;
    r[0] = real_value(b, 1, 17, true);
    r[1] = real_value(b, 1, 17, true);
    r[2] = real_value(b, 1, 9, true);
    r[3] = real_value(b, 1, 129, true);
    r[4] = real_value(b, 1, 1 << 20, false);  // core memory bytes
    r[5] = real_value(b, 1, 1 << 24, false);  // PE memory bytes
    r[6] = real_value(b, 0, 1 << 24, false);  // global memory bytes
    r[7] = real_value(b, 0.01, 100, false);   // I/O bytes per cycle
    r[8] = real_value(b, 1, 2000, false);     // clock MHz
    for (int i = 9; i < 12; ++i) r[i] = real_value(b, 1, 5, true);
    for (int i = 12; i < 15; ++i) r[i] = real_value(b, 0, 1000, false);
    r[15] = real_value(b, 0.5, 4, false);
    for (int i = 16; i < 22; ++i) r[i] = b.u(1) % 2 ? 0.0 : real_value(b, 0, 1e5, false);  // per-op fixed costs
    const bool host = b.u(1) % 4 == 0;                                                       // a host segment
    r[22] = host ? real_value(b, 0, 64, false) : 0.0;
    r[23] = host ? real_value(b, 0, 64, false) : 0.0;
    r[24] = host ? real_value(b, 0, 1e5, false) : 0.0;
    r[25] = b.u(1) % 4 == 0 ? real_value(b, 0, 1 << 24, false) : 0.0;                       // reserved on chip
    for (int i = 26; i < 29; ++i) r[i] = b.wild ? real_value(b, -1, 3, false) : double(b.u(2) % 3);  // memory roles
    for (int i = 29; i < 31; ++i) r[i] = b.u(1) % 2 ? 0.0 : real_value(b, 0, 1e5, false);  // concat, resize costs
}

void energy_row(Bytes& b, double* r) {
    const double typical[kEnergyFields] = {0.3, 0.1, 1.25, 8192, 160, 0.002, 0.0005, 0};
    b.wild = b.u(1) % 4 == 0;
    for (int i = 0; i < kEnergyFields; ++i) r[i] = b.u(1) % 4 == 0 ? real_value(b, 0, 2 * typical[i] + 1, false) : typical[i];
}

const std::int64_t* g_layers = nullptr;
int g_n_layers = 0, g_width = 0;
const double* g_arch = nullptr;

[[noreturn]] void fail(const char* what, const std::uint8_t* data, std::size_t size) {
    for (int l = 0; g_layers && l < g_n_layers; ++l) {
        std::fprintf(stderr, "layer %d:", l);
        for (int f = 0; f < g_width; ++f) std::fprintf(stderr, " %lld", static_cast<long long>(g_layers[l * g_width + f]));
        std::fprintf(stderr, "\n");
    }
    if (g_arch) {
        std::fprintf(stderr, "edgetpu arch:");
        for (int f = 0; f < kEdgeTpuFields; ++f) std::fprintf(stderr, " %.17g", g_arch[f]);
        std::fprintf(stderr, "\n");
    }
    std::fprintf(stderr, "fuzz check failed: %s\ninput (%zu bytes):", what, size);
    for (std::size_t i = 0; i < size; ++i) std::fprintf(stderr, " %02x", data[i]);
    std::fprintf(stderr, "\n");
    std::abort();
}

bool known_status(int s) { return s >= 0 && s <= static_cast<int>(Status::InvalidEnergy); }

std::uint64_t g_status_counts[2][8];  // [systolic, edgetpu][status]

void check_systolic(const SystolicCost& c, const SystolicArray& a, const std::uint8_t* data, std::size_t size) {
    if (!known_status(static_cast<int>(c.status))) fail("unknown systolic status", data, size);
    if (c.status != Status::Ok) {
        // failures carry no numbers
        if (c.cycles != 0 || c.macs != 0 || c.stall_free_cycles != 0) fail("failed systolic result has numbers", data, size);
        return;
    }
    std::int64_t ints[kSystolicIntFields];
    double floats[kSystolicFloatFields];
    write_systolic_row(c, ints, floats);
    for (std::int64_t v : ints)
        if (v < 0) fail("negative systolic count", data, size);
    for (double f : floats)
        if (!std::isfinite(f) || f < 0.0 || f > 1.0 + 1e-12) fail("systolic ratio outside [0, 1]", data, size);
    if (c.cycles != c.stall_free_cycles + c.stall_cycles) fail("cycles != stall-free + stalls", data, size);
    if (c.macs > 0) {
        const double pes = static_cast<double>(a.rows) * static_cast<double>(a.cols);
        if (static_cast<double>(c.stall_free_cycles) * pes < static_cast<double>(c.macs) * (1 - 1e-12))
            fail("fewer stall-free cycles than MACs / PEs", data, size);
        if (c.folds < 1 || c.row_folds < 1 || c.col_folds < 1) fail("no folds for a MAC layer", data, size);
        if (c.mapping_efficiency <= 0.0) fail("zero mapping efficiency", data, size);
    }
}

void check_edgetpu(const EdgeTpuCost& c, const std::uint8_t* data, std::size_t size) {
    if (!known_status(static_cast<int>(c.status))) fail("unknown edgetpu status", data, size);
    if (c.status != Status::Ok) return;
    for (int f = 0; f < kEdgeTpuOutFields; ++f)
        if (!std::isfinite(c.v[f]) || c.v[f] < 0.0) {
            std::fprintf(stderr, "%s = %g\n", kEdgeTpuNames[f], c.v[f]);
            fail("edgetpu value not finite or negative", data, size);
        }
    if (c.v[F_utilization] > 1.0 + 1e-9) fail("edgetpu utilization > 1", data, size);
    if (c.v[F_cycles] + 1e-6 * c.v[F_cycles] < c.v[F_compute_cycles]) fail("edgetpu cycles < compute cycles", data, size);
}

int fuzz_one(const std::uint8_t* data, std::size_t size) {
    Bytes b{data, size};
    const int n_layers = static_cast<int>(b.u(1) % 3) + 1;
    std::vector<std::int64_t> layers(static_cast<std::size_t>(n_layers) * kLayerFields);
    for (int i = 0; i < n_layers; ++i) layer_row(b, layers.data() + static_cast<std::size_t>(i) * kLayerFields);
    const int width = b.u(1) % 8 == 0 ? kLayerFieldsMac : kLayerFields;
    if (width == kLayerFieldsMac)  // 16-wide rows: repack
        for (int i = 1; i < n_layers; ++i)
            std::memmove(layers.data() + static_cast<std::size_t>(i) * kLayerFieldsMac,
                         layers.data() + static_cast<std::size_t>(i) * kLayerFields, kLayerFieldsMac * sizeof(std::int64_t));

    g_layers = layers.data(), g_n_layers = n_layers, g_width = width, g_arch = nullptr;
    // Systolic: single calls, then the batch with other threads and chunks.
    const int n_sys = static_cast<int>(b.u(1) % 2) + 1;
    std::vector<double> sys(static_cast<std::size_t>(n_sys) * kArchFields);
    for (int a = 0; a < n_sys; ++a) systolic_row(b, sys.data() + static_cast<std::size_t>(a) * kArchFields);
    const std::size_t P = static_cast<std::size_t>(n_sys) * static_cast<std::size_t>(n_layers);
    std::vector<std::int32_t> st(P), st2(P);
    std::vector<std::int64_t> in(P * kSystolicIntFields), in2(P * kSystolicIntFields);
    std::vector<double> fl(P * kSystolicFloatFields), fl2(P * kSystolicFloatFields);
    evaluate_systolic_batch(layers.data(), n_layers, width, sys.data(), n_sys, 1, st.data(), in.data(), fl.data());
    for (int a = 0; a < n_sys; ++a) {
        Status ast = Status::Ok;
        const SystolicArray arch = SystolicArray::from_row(sys.data() + static_cast<std::size_t>(a) * kArchFields, ast);
        for (int l = 0; l < n_layers; ++l) {
            const std::size_t i = static_cast<std::size_t>(a) * static_cast<std::size_t>(n_layers) + static_cast<std::size_t>(l);
            SystolicCost c;
            if (ast != Status::Ok)
                c.status = ast;
            else
                c = evaluate_systolic(Layer::from_row(layers.data() + static_cast<std::size_t>(l) * static_cast<std::size_t>(width), width), arch);
            check_systolic(c, arch, data, size);
            ++g_status_counts[0][static_cast<int>(c.status)];
            std::int64_t ints[kSystolicIntFields];
            double floats[kSystolicFloatFields];
            write_systolic_row(c, ints, floats);
            if (st[i] != static_cast<std::int32_t>(c.status) ||
                std::memcmp(ints, in.data() + i * kSystolicIntFields, sizeof ints) != 0 ||
                std::memcmp(floats, fl.data() + i * kSystolicFloatFields, sizeof floats) != 0)
                fail("systolic batch differs from the single call", data, size);
        }
    }
    const int threads = static_cast<int>(b.u(1) % 4);
    for (std::size_t begin = 0; begin < P; begin += 2)
        evaluate_systolic_batch_range(layers.data(), n_layers, width, sys.data(), n_sys, threads, st2.data(), in2.data(),
                                      fl2.data(), static_cast<std::int64_t>(begin), static_cast<std::int64_t>(begin + 2));
    if (st != st2 || in != in2 || std::memcmp(fl.data(), fl2.data(), fl.size() * sizeof(double)) != 0)
        fail("systolic batch depends on threads or chunks", data, size);
    // Totals only: the first failing layer of the per-layer batch, and its rows summed (overflow flagged).
    {
        std::vector<std::int32_t> tst(static_cast<std::size_t>(n_sys));
        std::vector<std::int64_t> bad(static_cast<std::size_t>(n_sys));
        std::vector<std::int64_t> sums(static_cast<std::size_t>(n_sys) * kSystolicTotalFields);
        evaluate_systolic_totals_range(layers.data(), n_layers, width, sys.data(), n_sys, threads, tst.data(),
                                       bad.data(), sums.data(), 0, n_sys);
        int col[kSystolicTotalFields];
        for (int f = 0; f < kSystolicTotalFields; ++f)
            for (int j = 0; j < kSystolicIntFields; ++j)
                if (std::strcmp(kSystolicTotalNames[f], kSystolicIntNames[j]) == 0) col[f] = j;
        for (int a = 0; a < n_sys; ++a) {
            std::int32_t want = 0;
            std::int64_t want_bad = -1;
            std::int64_t want_sums[kSystolicTotalFields] = {};
            bool wrapped = false;
            for (int l = 0; l < n_layers && want == 0; ++l) {
                const std::size_t i = static_cast<std::size_t>(a) * static_cast<std::size_t>(n_layers) + static_cast<std::size_t>(l);
                if (st[i] != 0) {
                    want = st[i];
                    want_bad = l;
                    break;
                }
                for (int f = 0; f < kSystolicTotalFields; ++f)
                    wrapped |= __builtin_add_overflow(want_sums[f], in[i * kSystolicIntFields + static_cast<std::size_t>(col[f])], &want_sums[f]);
            }
            const bool sum_overflow = want == 0 && wrapped;  // a failing layer is reported before the sums' overflow
            if (sum_overflow) want = static_cast<std::int32_t>(Status::Overflow);
            const std::int64_t* got = sums.data() + static_cast<std::size_t>(a) * kSystolicTotalFields;
            if (tst[static_cast<std::size_t>(a)] != want || bad[static_cast<std::size_t>(a)] != want_bad)
                fail("systolic totals' status differs from the per-layer batch", data, size);
            if (want == 0 && std::memcmp(got, want_sums, sizeof want_sums) != 0)
                fail("systolic totals differ from the summed rows", data, size);
        }
    }

    // Edge-TPU: the mapper on each layer, exhaustive or sampled.
    double arch_row[kEdgeTpuFields], energy[kEnergyFields];
    edgetpu_row(b, arch_row);
    energy_row(b, energy);
    g_arch = arch_row;
    Status ast = Status::Ok, est = Status::Ok;
    const EdgeTpuArch arch = EdgeTpuArch::from_row(arch_row, ast);
    const EnergyTable etab = EnergyTable::from_row(energy, est);
    MapperOptions opt;
    opt.metric = static_cast<Metric>(b.u(1) % 3);
    opt.budget = b.u(1) % 2 ? 0 : b.range(1, 300);
    opt.patience = b.u(1) % 2 ? 0 : b.range(1, 50);
    opt.seed = b.u(8);
    if (ast == Status::Ok && est == Status::Ok) {
        LayerContext ctx;
        ctx.weights_cached = b.u(1) % 2;
        ctx.input_spilled = b.u(1) % 2;
        ctx.output_spilled = b.u(1) % 2;
        for (int l = 0; l < n_layers; ++l) {
            const Layer layer = Layer::from_row(layers.data() + static_cast<std::size_t>(l) * static_cast<std::size_t>(width), width);
            const EdgeTpuCost c = map_edgetpu_layer(layer, arch, etab, ctx, opt);
            check_edgetpu(c, data, size);
            ++g_status_counts[1][static_cast<int>(c.status)];
            if (c.status == Status::Ok && c.v[F_mappings_evaluated] > c.v[F_map_space_size]) fail("evaluated more than the space", data, size);
            if (b.u(1) % 8 == 0) {  // now and then every mapping of the space (at most 20,000), costed
                bool truncated = false;
                for (const Mapping& m : edgetpu_map_space(layer, arch, opt.constraints, 20000, truncated))
                    check_edgetpu(evaluate_edgetpu_mapping(layer, arch, etab, ctx, m), data, size);
            }
        }
    }
    // Edge-TPU batch: two architectures (the second possibly invalid), threads and chunks agree.
    double archs2[2 * kEdgeTpuFields];
    std::memcpy(archs2, arch_row, sizeof arch_row);
    edgetpu_row(b, archs2 + kEdgeTpuFields);
    const std::size_t EP = 2 * static_cast<std::size_t>(n_layers);
    std::vector<std::int32_t> es(EP), es2(EP);
    std::vector<double> eo(EP * kEdgeTpuOutFields), eo2(EP * kEdgeTpuOutFields), et(2 * kEdgeTpuTotals), et2(2 * kEdgeTpuTotals);
    opt.threads = 1;
    evaluate_edgetpu_batch(layers.data(), n_layers, width, archs2, 2, energy, 1, opt, es.data(), eo.data(), et.data());
    opt.threads = threads;
    evaluate_edgetpu_batch_range(layers.data(), n_layers, width, archs2, 2, energy, 1, opt, es2.data(), eo2.data(), et2.data(), 1, 2);
    evaluate_edgetpu_batch_range(layers.data(), n_layers, width, archs2, 2, energy, 1, opt, es2.data(), eo2.data(), et2.data(), 0, 1);
    if (es != es2 || std::memcmp(eo.data(), eo2.data(), eo.size() * sizeof(double)) != 0 ||
        std::memcmp(et.data(), et2.data(), et.size() * sizeof(double)) != 0)
        fail("edgetpu batch depends on threads or chunks", data, size);
    for (std::size_t i = 0; i < EP; ++i) {
        if (!known_status(es[i])) fail("unknown edgetpu batch status", data, size);
        if (es[i] == 0)
            for (int f = 0; f < kEdgeTpuOutFields; ++f) {
                const double v = eo[i * kEdgeTpuOutFields + static_cast<std::size_t>(f)];
                if (!std::isfinite(v) || v < 0.0) fail("edgetpu batch value not finite or negative", data, size);
            }
    }
    for (std::size_t i = 0; i < et.size(); ++i)
        if (!std::isfinite(et[i]) || et[i] < 0.0) {
            std::fprintf(stderr, "total %s of architecture %zu = %g\n", kEdgeTpuTotalNames[i % kEdgeTpuTotals], i / kEdgeTpuTotals, et[i]);
            fail("edgetpu totals not finite or negative", data, size);
        }
    return 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) { return fuzz_one(data, size); }

#ifndef CODESIGN_LIBFUZZER_MAIN
int main(int argc, char** argv) {
    long long runs = 20000;
    std::uint64_t seed = 1;
    double seconds = 0.0;  // 0: no time limit
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        if (flag == "--runs") runs = std::atoll(argv[i + 1]);
        else if (flag == "--seed") seed = std::strtoull(argv[i + 1], nullptr, 10);
        else if (flag == "--seconds") seconds = std::atof(argv[i + 1]);
        else {
            std::fprintf(stderr, "usage: %s [--runs N] [--seed S] [--seconds T]\n", argv[0]);
            return 2;
        }
    }
    const auto t0 = std::chrono::steady_clock::now();
    std::uint64_t state = seed * 0x9E3779B97F4A7C15ULL + 1;
    auto next = [&]() {
        std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
    };
    std::vector<std::uint8_t> buf;
    long long done = 0;
    for (; done < runs; ++done) {
        if (seconds > 0 && (done & 63) == 0 &&
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() > seconds)
            break;
        buf.resize(next() % 400);
        for (auto& x : buf) x = static_cast<std::uint8_t>(next());
        fuzz_one(buf.data(), buf.size());
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("codesign_fuzz: %lld inputs (seed %llu) in %.1f s; no check failed\n", done,
                static_cast<unsigned long long>(seed), secs);
    static const char* const names[] = {"ok", "invalid layer", "invalid arch", "sram too small", "overflow",
                                        "no mapping", "invalid energy", "?"};
    for (int m = 0; m < 2; ++m) {
        std::printf("  %s statuses:", m == 0 ? "systolic" : "edgetpu mapper");
        for (int s = 0; s < 7; ++s) std::printf(" %s %llu;", names[s], static_cast<unsigned long long>(g_status_counts[m][s]));
        std::printf("\n");
    }
    return 0;
}
#endif
