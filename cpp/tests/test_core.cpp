// Tests of the C++ core on its own (no Python): closed forms, overflow detection, input validation, the exact
// input-reuse count against brute force, batch equality across threads and chunks, the mapper's bounds, and the
// thread helper's error handling; the mapper's table forms in test_mapper_tables.cpp (one executable, checks in
// check.hpp). Built with -DCODESIGN_BUILD_TESTS=ON and run by CTest (scripts/sanitize.sh
// runs it under AddressSanitizer and UndefinedBehaviorSanitizer). Exit status 0 when every check passes.
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <vector>

#include "codesign/arch/edgetpu.hpp"
#include "codesign/arch/systolic.hpp"
#include "codesign/divisor.hpp"
#include "codesign/mapper/mapper.hpp"
#include "codesign/model/edgetpu_cost.hpp"
#include "codesign/model/systolic_cost.hpp"
#include "codesign/parallel.hpp"
#include "codesign/workload/layer.hpp"
#include "check.hpp"

using namespace codesign;
using namespace codesign_tests;

namespace {

Layer conv(std::int64_t n, std::int64_t k, std::int64_t c, std::int64_t h, std::int64_t w, std::int64_t r,
           std::int64_t s, std::int64_t stride, std::int64_t pad, std::int64_t groups) {
    Layer l;
    l.n = n, l.k = k, l.c = c, l.h = h, l.w = w, l.r = r, l.s = s;
    l.stride_h = l.stride_w = stride;
    l.pad_h = l.pad_w = pad;
    l.groups = groups;
    l.p = (h + 2 * pad - r) / stride + 1;
    l.q = (w + 2 * pad - s) / stride + 1;
    return l;
}

Layer gemm(std::int64_t m, std::int64_t n, std::int64_t k) {  // codesign.Layer.gemm's encoding
    Layer l;
    l.p = l.h = m;
    l.k = n;
    l.c = k;
    return l;
}

SystolicArray array(std::int64_t rows, std::int64_t cols, Dataflow df, std::int64_t sram_words = 65536, double bw = 10.0) {
    SystolicArray a;
    a.rows = rows, a.cols = cols, a.dataflow = df;
    a.ifmap_sram_words = a.filter_sram_words = a.ofmap_sram_words = sram_words;
    a.dram_bw_words_per_cycle = bw;
    return a;
}

std::int64_t brute_touched(std::int64_t out, std::int64_t taps, std::int64_t stride, std::int64_t dil,
                           std::int64_t size, std::int64_t pad) {
    std::vector<char> hit(static_cast<std::size_t>(pad + size), 0);
    for (std::int64_t e = 0; e < out; ++e)
        for (std::int64_t j = 0; j < taps; ++j) {
            const std::int64_t x = e * stride + j * dil;
            if (x >= pad && x < pad + size) hit[static_cast<std::size_t>(x)] = 1;
        }
    std::int64_t n = 0;
    for (char c : hit) n += c;
    return n;
}

void test_touched_positions() {
    for (int i = 0; i < 20000; ++i) {
        const std::int64_t out = uniform(1, 24), taps = uniform(1, 9), stride = uniform(1, 12), dil = uniform(1, 5);
        const std::int64_t size = uniform(1, 60), pad = uniform(0, 6);
        const std::int64_t want = brute_touched(out, taps, stride, dil, size, pad);
        CHECK_EQ(touched_positions(out, taps, stride, dil, size, pad), want);
        if (dil == 1 && stride >= taps) CHECK_EQ(detail::touched_disjoint(out, taps, stride, pad, pad + size), want);
        if (dil > 1) {
            CHECK_EQ(detail::touched_dilated_marks(out, taps, stride, dil, pad, pad + size), want);
            CHECK_EQ(detail::touched_dilated_scan(out, taps, stride, dil, pad, pad + size), want);
        }
    }
    // The scan path on a large case (out * taps > 2^24), against the marking path.
    CHECK_EQ(touched_positions(4200, 4100, 3, 2, 20000, 7), detail::touched_dilated_marks(4200, 4100, 3, 2, 7, 20007));
    // Worst cases finish quickly: 2^31 disjoint windows (was a 2^31-step loop) and a dilated layer whose
    // windows x taps reach 2^42 (was a 2^42-step loop).
    const auto t0 = std::chrono::steady_clock::now();
    CHECK_EQ(touched_positions((std::int64_t{1} << 31) - 1, 1, 2, 1, 1, 0), 1);
    CHECK_EQ(touched_positions((std::int64_t{1} << 31), 3, 5, 1, std::int64_t{1} << 31, 0),
             detail::touched_disjoint(std::int64_t{1} << 31, 3, 5, 0, std::int64_t{1} << 31));
    const std::int64_t big = touched_positions(std::int64_t{1} << 22, std::int64_t{1} << 20, 1, 2, std::int64_t{1} << 24, 0);
    CHECK(big > 0 && big <= (std::int64_t{1} << 24));
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("touched_positions worst cases: %.3f s\n", secs);
    CHECK(secs < 20.0);  // generous: sanitizers and a shared machine; the release build takes milliseconds
}

void test_systolic_closed_forms() {
    // GEMM M=100, N=50, K=30 on 8x8 ws: Sr=Kw=30, Sc=Nf=50, T=M=100.
    const SystolicCost c = evaluate_systolic(gemm(100, 50, 30), array(8, 8, Dataflow::WS));
    CHECK(c.status == Status::Ok);
    CHECK_EQ(c.row_folds, 4);
    CHECK_EQ(c.col_folds, 7);
    CHECK_EQ(c.folds, 28);
    CHECK_EQ(c.cycles_per_fold, 100 + 8 + 8 + 8 - 2);
    CHECK_EQ(c.stall_free_cycles, 28 * 122);
    CHECK_EQ(c.macs, 150000);
    CHECK_EQ(c.cycles, c.stall_free_cycles + c.stall_cycles);
    CHECK(c.mapping_efficiency > 0.0 && c.mapping_efficiency <= 1.0);
    CHECK(std::fabs(c.compute_utilization - 150000.0 / (28.0 * 122.0 * 64.0)) < 1e-15);
    // os: Sr = M, Sc = Nf, T = Kw, no preload.
    const SystolicCost o = evaluate_systolic(gemm(100, 50, 30), array(8, 8, Dataflow::OS));
    CHECK_EQ(o.row_folds, 13);
    CHECK_EQ(o.col_folds, 7);
    CHECK_EQ(o.cycles_per_fold, 30 + 8 + 8 - 2);
    // Depthwise: groups run one after the other on one column.
    const SystolicCost d = evaluate_systolic(conv(1, 32, 32, 16, 16, 3, 3, 1, 1, 32), array(16, 16, Dataflow::WS));
    CHECK(d.status == Status::Ok);
    CHECK_EQ(d.folds, 32);
    CHECK_EQ(d.macs, 32 * 16 * 16 * 9);
    // Non-MAC layers cost nothing on the systolic array.
    Layer pool = conv(1, 8, 8, 8, 8, 2, 2, 2, 0, 8);
    pool.op = Op::Pool;
    const SystolicCost pc = evaluate_systolic(pool, array(8, 8, Dataflow::OS));
    CHECK(pc.status == Status::Ok);
    CHECK_EQ(pc.cycles, 0);
}

void test_systolic_large_and_overflow() {
    // 2^40 MACs: every count exact in 64 bits.
    const SystolicCost c = evaluate_systolic(gemm(std::int64_t{1} << 20, 1024, 1024), array(32, 32, Dataflow::WS));
    CHECK(c.status == Status::Ok);
    CHECK_EQ(c.macs, std::int64_t{1} << 40);
    CHECK_EQ(c.folds, 32 * 32);
    CHECK_EQ(c.cycles_per_fold, (std::int64_t{1} << 20) + 32 * 3 - 2);
    CHECK_EQ(c.stall_free_cycles, 1024 * ((std::int64_t{1} << 20) + 94));
    CHECK_EQ(c.ifmap_sram_reads, 32 * (std::int64_t{1} << 30));  // col_folds x M x Kw
    CHECK(c.cycles >= c.stall_free_cycles);
    // Past int64: detected, every field zero, never wrapped.
    const std::int64_t m = std::int64_t{1} << 31;
    const SystolicCost o = evaluate_systolic(gemm(m, m, m), array(32, 32, Dataflow::OS));
    CHECK(o.status == Status::Overflow);
    CHECK_EQ(o.cycles, 0);
    CHECK_EQ(o.macs, 0);
    Layer wide = conv(1, 1, 1, 8, 8, 1, 1, 1, 0, 1);
    wide.n = wide.k = wide.c = wide.p = wide.q = m;
    wide.h = wide.w = m;
    for (const Dataflow df : {Dataflow::OS, Dataflow::WS, Dataflow::IS})
        CHECK(evaluate_systolic(wide, array(1 << 20, 1 << 20, df, std::int64_t{1} << 40, 1e15)).status == Status::Overflow);
}

void test_validation() {
    Layer bad = gemm(10, 10, 10);
    for (std::int64_t v : {std::int64_t{0}, std::int64_t{-1}, (std::int64_t{1} << 31) + 1,
                           std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max()}) {
        Layer l = bad;
        l.k = v;
        CHECK(std::strcmp(l.invalid_field(), "k") == 0);
        CHECK(evaluate_systolic(l, array(8, 8, Dataflow::OS)).status == Status::InvalidLayer);
        Layer pl = bad;
        pl.pad_h = v;
        CHECK(std::strcmp(pl.invalid_field(), v == 0 ? "" : "pad_h") == 0);
    }
    Layer g = conv(1, 6, 4, 8, 8, 3, 3, 1, 1, 4);  // groups do not divide K
    CHECK(std::strcmp(g.invalid_field(), "groups") == 0);
    std::int64_t row[kLayerFields] = {1, 8, 8, 8, 8, 1, 1, 8, 8, 1, 1, 0, 0, 1, 1, 1, kOpCount, 0};  // past the last op
    CHECK(std::strcmp(Layer::from_row(row).invalid_field(), "op") == 0);
    row[16] = 0;
    row[17] = -3;
    CHECK(std::strcmp(Layer::from_row(row).invalid_field(), "act") == 0);
    CHECK(std::strcmp(Layer::from_row(row, kLayerFieldsMac).invalid_field(), "") == 0);

    const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
    const double good[kArchFields] = {8, 8, 1, 1024, 1024, 1024, 4};
    Status st = Status::Ok;
    SystolicArray::from_row(good, st);
    CHECK(st == Status::Ok);
    for (int f = 0; f < kArchFields; ++f)
        for (double v : {nan, inf, -inf, -1.0, 0.0, 2.5, 1e300}) {
            if (f == 6 && v == 2.5) continue;  // a fractional bandwidth is fine
            if (f == 2 && v == 0.0) continue;  // dataflow 0 = os
            double r[kArchFields];
            std::copy(good, good + kArchFields, r);
            r[f] = v;
            SystolicArray::from_row(r, st);
            CHECK(st != Status::Ok);
        }
    const double tiny[kArchFields] = {8, 8, 1, 1, 1024, 1024, 4};  // a one-word SRAM
    SystolicArray::from_row(tiny, st);
    CHECK(st == Status::SramTooSmall);

    const double eg[kEdgeTpuFields] = {4, 4, 4, 64, 32768, 2097152, 0, 20, 500, 1, 1, 4, 0, 0, 0, 2,
                                        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0};
    EdgeTpuArch::from_row(eg, st);
    CHECK(st == Status::Ok);
    for (int f = 0; f < kEdgeTpuFields; ++f)
        for (double v : {nan, inf, -1.0, 1e300}) {
            double r[kEdgeTpuFields];
            std::copy(eg, eg + kEdgeTpuFields, r);
            r[f] = v;
            EdgeTpuArch::from_row(r, st);
            CHECK(st == Status::InvalidArch);
        }
    const double en[kEnergyFields] = {0.3, 0.1, 1.25, 8192, 160, 0.002, 0.0005, 0};
    EnergyTable::from_row(en, st);
    CHECK(st == Status::Ok);
    for (int f = 0; f < kEnergyFields; ++f) {
        double r[kEnergyFields];
        std::copy(en, en + kEnergyFields, r);
        r[f] = nan;
        EnergyTable::from_row(r, st);
        CHECK(st == Status::InvalidEnergy);
    }
}

std::vector<std::int64_t> random_layer_rows(int n) {
    std::vector<std::int64_t> rows;
    for (int i = 0; i < n; ++i) {
        const std::int64_t g = uniform(0, 3) == 0 ? uniform(1, 4) : 1;
        Layer l = conv(uniform(1, 2), g * uniform(1, 40), g * uniform(1, 40), uniform(1, 40), uniform(1, 40), uniform(1, 3),
                       uniform(1, 3), uniform(1, 3), uniform(0, 1), g);
        if (l.r > l.h + 2 * l.pad_h || l.s > l.w + 2 * l.pad_w) l.r = l.s = 1, l.p = l.h, l.q = l.w, l.stride_h = l.stride_w = 1, l.pad_h = l.pad_w = 0;
        if (uniform(0, 9) == 0) l.k = 0;  // some invalid rows
        const std::int64_t row[kLayerFields] = {l.n, l.k, l.c, l.p, l.q, l.r, l.s, l.h, l.w, l.stride_h, l.stride_w,
                                                l.pad_h, l.pad_w, 1, 1, l.groups, uniform(0, 3), uniform(0, 8)};
        rows.insert(rows.end(), row, row + kLayerFields);
    }
    return rows;
}

void test_systolic_batch_threads_and_ranges() {
    const int L = 37, A = 300;  // 11,100 pairs: several threads really run
    const std::vector<std::int64_t> layers = random_layer_rows(L);
    std::vector<double> archs;
    for (int a = 0; a < A; ++a) {
        const double r[kArchFields] = {double(uniform(1, 64)), double(uniform(1, 64)), double(uniform(0, 2)),
                                       double(uniform(1, 4096)), double(uniform(128, 65536)), double(uniform(128, 65536)),
                                       double(uniform(1, 40)) / 4.0};
        archs.insert(archs.end(), r, r + kArchFields);
    }
    const std::size_t P = static_cast<std::size_t>(L) * A;
    auto run = [&](int threads, std::int64_t chunk, std::vector<std::int32_t>& st, std::vector<std::int64_t>& in,
                   std::vector<double>& fl) {
        st.assign(P, -7);
        in.assign(P * kSystolicIntFields, -7);
        fl.assign(P * kSystolicFloatFields, -7.0);
        if (chunk <= 0) {
            evaluate_systolic_batch(layers.data(), L, kLayerFields, archs.data(), A, threads, st.data(), in.data(), fl.data());
            return;
        }
        for (std::int64_t b = 0; b < static_cast<std::int64_t>(P); b += chunk)
            evaluate_systolic_batch_range(layers.data(), L, kLayerFields, archs.data(), A, threads, st.data(), in.data(),
                                          fl.data(), b, b + chunk);
    };
    std::vector<std::int32_t> s1, s2;
    std::vector<std::int64_t> i1, i2;
    std::vector<double> f1, f2;
    run(1, 0, s1, i1, f1);
    int ok = 0, sram = 0;
    for (auto s : s1) ok += s == 0, sram += s == static_cast<int>(Status::SramTooSmall);
    CHECK(ok > 0);
    CHECK(sram > 0);
    for (int threads : {2, 3, 8, 0, 1000000}) {
        for (std::int64_t chunk : {std::int64_t{0}, std::int64_t{1}, std::int64_t{4097}, std::int64_t{5000}}) {
            if (chunk == 1 && threads != 2) continue;  // slow-ish; once is enough
            run(threads, chunk, s2, i2, f2);
            CHECK(s1 == s2);
            CHECK(i1 == i2);
            CHECK(std::memcmp(f1.data(), f2.data(), f1.size() * sizeof(double)) == 0);
        }
    }
    // Empty batches write nothing.
    evaluate_systolic_batch(layers.data(), 0, kLayerFields, archs.data(), A, 2, nullptr, nullptr, nullptr);
    evaluate_systolic_batch(layers.data(), L, kLayerFields, archs.data(), 0, 2, nullptr, nullptr, nullptr);
}

const double kEdgeArch[kEdgeTpuFields] = {4, 4, 4, 64, 32768, 2097152, 0, 20, 500, 1, 1, 4, 7500, 0, 0, 2,
                                            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0};
const double kEnergy[kEnergyFields] = {0.3, 0.1, 1.25, 8192, 160, 0.002, 0.0005, 0};

void test_edgetpu_mapper() {
    Status st = Status::Ok, est = Status::Ok;
    const EdgeTpuArch a = EdgeTpuArch::from_row(kEdgeArch, st);
    const EnergyTable e = EnergyTable::from_row(kEnergy, est);
    CHECK(st == Status::Ok && est == Status::Ok);
    const Layer l = conv(1, 64, 32, 56, 56, 3, 3, 1, 1, 1);
    LayerContext ctx;
    for (const Metric metric : {Metric::Latency, Metric::Energy, Metric::Edp}) {
        MapperOptions opt;
        opt.metric = metric;
        opt.complete = true;
        const EdgeTpuCost best = map_edgetpu_layer(l, a, e, ctx, opt);
        CHECK(best.status == Status::Ok);
        CHECK(best.v[F_mappings_evaluated] >= 1 && best.v[F_mappings_evaluated] <= best.v[F_map_space_size]);
        // The mapper's choice is the optimum of the whole map space.
        double best_metric = std::numeric_limits<double>::infinity();
        bool truncated = true;
        const std::vector<Mapping> space = edgetpu_map_space(l, a, MapConstraints{}, 4000000, truncated);
        CHECK(!truncated && space.size() > 1000);
        for (const Mapping& m : space) {
            const EdgeTpuCost c = evaluate_edgetpu_mapping(l, a, e, ctx, m);
            if (c.status != Status::Ok) continue;
            const double v = metric == Metric::Latency ? c.v[F_cycles]
                             : metric == Metric::Energy ? c.v[F_energy_pj]
                                                        : c.v[F_cycles] * c.v[F_energy_pj];
            best_metric = std::min(best_metric, v);
        }
        const double got = metric == Metric::Latency ? best.v[F_cycles]
                           : metric == Metric::Energy ? best.v[F_energy_pj]
                                                      : best.v[F_cycles] * best.v[F_energy_pj];
        CHECK(got == best_metric);
        for (int f = 0; f < kEdgeTpuOutFields; ++f) CHECK(std::isfinite(best.v[f]) && best.v[f] >= 0.0);
        CHECK(best.v[F_utilization] <= 1.0);
    }
    // A mapping from outside the map space is refused, not indexed out of bounds.
    Mapping m;
    m.spatial[2] = 99;
    CHECK(evaluate_edgetpu_mapping(l, a, e, ctx, m).status == Status::NoMapping);
    m = Mapping{};
    m.tiles[DimK] = 0;
    CHECK(evaluate_edgetpu_mapping(l, a, e, ctx, m).status == Status::NoMapping);
    // The largest layers the core accepts: bounded time, finite results (or a status), in every metric.
    const std::int64_t big = std::int64_t{1} << 31;
    Layer huge = conv(1, 1, 1, 8, 8, 1, 1, 1, 0, 1);
    huge.n = huge.k = huge.c = huge.p = huge.q = huge.h = huge.w = big;
    Layer dil = conv(1, 4, 4, 1, 1, 1, 1, 1, 0, 1);
    dil.p = std::int64_t{1} << 22, dil.r = std::int64_t{1} << 20, dil.h = std::int64_t{1} << 24, dil.dilation_h = 2;
    const auto t0 = std::chrono::steady_clock::now();
    for (const Layer& x : {huge, dil}) {
        CHECK(*x.invalid_field() == '\0');
        for (const Metric metric : {Metric::Latency, Metric::Energy}) {
            MapperOptions opt;
            opt.metric = metric;
            const EdgeTpuCost c = map_edgetpu_layer(x, a, e, ctx, opt);
            if (c.status == Status::Ok)
                for (int f = 0; f < kEdgeTpuOutFields; ++f) CHECK(std::isfinite(c.v[f]) && c.v[f] >= 0.0);
            else
                CHECK(c.status == Status::NoMapping || c.status == Status::Overflow);
        }
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("edgetpu mapper on the largest layers: %.3f s\n", secs);
    CHECK(secs < 30.0);
}

void test_edgetpu_batch_threads_and_ranges() {
    const int L = 9, A = 24;
    const std::vector<std::int64_t> layers = random_layer_rows(L);
    std::vector<double> archs;
    for (int i = 0; i < A; ++i) {
        double r[kEdgeTpuFields];
        std::copy(kEdgeArch, kEdgeArch + kEdgeTpuFields, r);
        r[0] = double(uniform(1, 8)), r[2] = double(uniform(1, 8)), r[3] = double(uniform(1, 128));
        r[4] = double(uniform(64, 65536)), r[5] = double(uniform(1024, 1 << 22));
        if (i == 5) r[7] = -1;  // an invalid architecture in the middle
        archs.insert(archs.end(), r, r + kEdgeTpuFields);
    }
    auto run = [&](int threads, std::int64_t chunk, std::vector<std::int32_t>& st, std::vector<double>& out,
                   std::vector<double>& tot) {
        MapperOptions opt;
        opt.threads = threads;
        st.assign(static_cast<std::size_t>(A) * L, -7);
        out.assign(static_cast<std::size_t>(A) * L * kEdgeTpuOutFields, -7.0);
        tot.assign(static_cast<std::size_t>(A) * kEdgeTpuTotals, -7.0);
        if (chunk <= 0) {
            evaluate_edgetpu_batch(layers.data(), L, kLayerFields, archs.data(), A, kEnergy, 1, opt, st.data(), out.data(), tot.data());
            return;
        }
        for (std::int64_t b = 0; b < A; b += chunk)
            evaluate_edgetpu_batch_range(layers.data(), L, kLayerFields, archs.data(), A, kEnergy, 1, opt, st.data(),
                                         out.data(), tot.data(), b, b + chunk);
    };
    std::vector<std::int32_t> s1, s2;
    std::vector<double> o1, o2, t1, t2;
    run(1, 0, s1, o1, t1);
    CHECK(s1[5 * L] == static_cast<int>(Status::InvalidArch));
    for (int threads : {2, 5, 0, 1000000})
        for (std::int64_t chunk : {std::int64_t{0}, std::int64_t{1}, std::int64_t{7}}) {
            run(threads, chunk, s2, o2, t2);
            CHECK(s1 == s2);
            CHECK(std::memcmp(o1.data(), o2.data(), o1.size() * sizeof(double)) == 0);
            CHECK(std::memcmp(t1.data(), t2.data(), t1.size() * sizeof(double)) == 0);
        }
}

void test_parallel_ranges() {
    for (int threads : {1, 2, 3, 7, 64}) {
        for (std::int64_t total : {std::int64_t{0}, std::int64_t{1}, std::int64_t{5}, std::int64_t{1000}}) {
            std::vector<int> seen(static_cast<std::size_t>(total), 0);
            parallel_ranges(threads, 0, total, [&](std::int64_t b, std::int64_t e) {
                for (std::int64_t i = b; i < e; ++i) ++seen[static_cast<std::size_t>(i)];
            });
            bool once = true;
            for (int s : seen) once = once && s == 1;
            CHECK(once);
        }
        // An exception in any range reaches the caller after every thread has joined; no std::terminate.
        bool caught = false;
        try {
            parallel_ranges(threads, 0, 100, [&](std::int64_t b, std::int64_t) {
                if (b == 0) throw std::runtime_error("boom");
            });
        } catch (const std::runtime_error&) {
            caught = true;
        }
        CHECK(caught);
    }
    CHECK(resolve_threads(0, 1) == 1);
    CHECK(resolve_threads(1000000, 1000000) == max_worker_threads());
    CHECK(resolve_threads(3, 0) == 1);
}

// Division by an invariant divisor (array rows and columns) against the hardware division: every d to 4096 and
// powers of two +-1 to 2^62 and INT64_MAX, numerators small, near multiples of d, random and near INT64_MAX.
void test_divisor() {
    constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
    std::vector<std::int64_t> ds;
    for (std::int64_t d = 1; d <= 4096; ++d) ds.push_back(d);
    for (int e = 12; e <= 62; ++e)
        for (std::int64_t k = -1; k <= 1; ++k) ds.push_back((std::int64_t{1} << e) + k);
    ds.push_back(kMax);
    std::int64_t wrong = 0;
    for (const std::int64_t d : ds) {
        const Divisor div(d);
        std::vector<std::int64_t> ns = {0, 1, d - 1, d, d < kMax ? d + 1 : d, kMax, kMax - 1, kMax - d, (kMax / d) * d,
                                        (kMax / d) * d - 1};
        for (int i = 0; i < 20; ++i) ns.push_back(static_cast<std::int64_t>(next_u64() >> 1));
        for (int i = 0; i < 20; ++i) ns.push_back(uniform(0, 1 << 20));
        for (const std::int64_t n : ns) {
            if (n < 0) continue;
            wrong += div.div(n) != n / d;
            wrong += div.ceil_div(n) != ceil_div(n, d);
        }
    }
    CHECK_EQ(wrong, 0);
}

}  // namespace

int main() {
    const auto t0 = std::chrono::steady_clock::now();
    test_touched_positions();
    test_divisor();
    test_systolic_closed_forms();
    test_systolic_large_and_overflow();
    test_validation();
    test_systolic_batch_threads_and_ranges();
    test_edgetpu_mapper();
    test_edgetpu_batch_threads_and_ranges();
    test_parallel_ranges();
    run_mapper_table_tests();  // test_mapper_tables.cpp
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("codesign core tests: %d checks, %d failures, %.2f s\n", g_checks, g_failures, secs);
    return g_failures == 0 ? 0 : 1;
}
