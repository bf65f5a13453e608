// The mapper's search over the map space (mapper/mapper.hpp): branch and bound over the whole space, or a seeded
// sample of it.
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>

#include "incumbent.hpp"
#include "listings.hpp"
#include "map_space.hpp"
#include "mirror.hpp"
#include "search_cache.hpp"

namespace codesign {

namespace detail {
namespace {

// One spatial unrolling's sub-space and its bound.
struct Candidate {
    Candidate() {}  // u and tr stay unset until the unrolling is expanded (Search::with_terms)
    Mapping m;
    const Unrolling* un = nullptr;    // its entry in the layer's unrollings
    Unrolled u;
    TileRange tr;                     // the tile choices' counts and ends (all the compact search needs)
    std::unique_ptr<TileChoices> tc;  // the tile choices listed: built for the complete space or a sample
    bool terms = false;               // u and tr set, u with unroll_terms (before any mapping of it is costed)
    int listing = -1;                 // its compact tilings (Listings), once listed; -1 before (or in the complete space)
    double lb_m = 0.0, lb_t = 0.0;
    // The floor of every mapping (unrolled_floor), whether lb_m/lb_t hold the sub-space's bound yet, the position
    // in the enumeration.
    double floor_m = 0.0, floor_t = 0.0;
    bool bounded = false;
    std::int64_t index = 0;
};

// Most nodes the complete search visits per layer (its time bound, well under a second): within it the search is
// exhaustive; past it (only for layers of extreme extents) the best mapping found so far is returned.
constexpr std::int64_t kMaxNodes = std::int64_t{1} << 20;

struct Search {
    std::int64_t nodes = 0;
    const Layer& l;
    const Prep& p;
    const EdgeTpuArch& a;
    const EnergyTable& e;
    const LayerContext& ctx;
    const MapperOptions& opt;
    SearchCache* cache;  // the batch's shared parts (null outside a batch)
    Best best;

    // The bounds of mapping m's order and lane stationarity over the box [lo, hi] (tiling_bounds) and its
    // first fill.
    void bounds(const Candidate& cand, const Mapping& m, const std::int64_t* lo, const std::int64_t* hi, double& bm,
                double& bt, double& fill) const {
        double cyc = 0.0, en = 0.0;
        tiling_bounds(l, p, cand.u, a, e, ctx, m, lo, hi, tile_bytes(l, cand.u, a, hi), cyc, en, fill);
        bm = metric_value(cyc, en, opt.metric);
        bt = tie_value(cyc, en, opt.metric);
    }

    // Could any tiling in the box [lo, hi] fit? Tiles shrink as counts grow, but for the output tile, which
    // widens to psum_bytes once C is split: checked at hi, with C whole when the box still allows it.
    bool may_fit(const Candidate& cand, const std::int64_t* lo, const std::int64_t* hi) const {
        TileBytes tb = tile_bytes(l, cand.u, a, hi);
        if (lo[DimC] == 1 && hi[DimC] > 1) tb.o *= double(a.act_bytes) / double(a.psum_bytes);
        return tiles_fit(l, tb, a);
    }

    // The first fill (cycles) of a tiling when both first tiles come from on-chip memory.
    double onchip_fill(const Candidate& cand, const std::int64_t* tiles) const {
        const TileBytes tb = tile_bytes(l, cand.u, a, tiles);
        const double bw = e.onchip_bytes_per_cycle > 0 ? e.onchip_bytes_per_cycle : double(a.simd * a.lanes);
        const bool w_in = (l.operand_is_activation() ? a.level_of[SpaceI] : a.level_of[SpaceW]) != LevelBypass;
        return ceil_exact((w_in ? tb.w : 0.0) / bw + (a.level_of[SpaceI] != LevelBypass ? tb.i : 0.0) / bw);
    }

    // Latency metric, first fill on chip: a leaf can match the incumbent only if its fill (integer cycles) is at
    // most the incumbent's latency less the rest of the node's bound. The fill only shrinks as counts grow, so
    // each open dimension needs at least the smallest count that meets it with every other open dimension at its
    // largest: lo is raised to it. False when no count does (nothing below can match).
    bool tighten_for_fill(const Candidate& cand, int d, std::int64_t* lo, const std::int64_t* hi, double rest) const {
        const double budget = std::floor(best.m - rest + 1e-6);
        std::int64_t t[kTiledDims];
        std::copy(hi, hi + kTiledDims, t);
        if (onchip_fill(cand, t) > budget) return false;
        for (int k = d + 1; k < kTiledDims; ++k) {
            int j = 0;
            while (cand.tc->count[k][j] < lo[k]) ++j;
            for (; j < cand.tc->n[k] - 1; ++j) {
                t[k] = cand.tc->count[k][j];
                if (onchip_fill(cand, t) <= budget) break;
            }
            lo[k] = cand.tc->count[k][j];
            t[k] = hi[k];
        }
        return true;
    }

    // Depth-first over the tile counts of dimension d onward (dimensions before d fixed in m.tiles; lo and hi the
    // range of each open dimension).
    void descend(const Candidate& cand, Mapping& m, int d, std::int64_t* lo, std::int64_t* hi) {
        if (++nodes > kMaxNodes) return;  // the time bound: the best found so far stands
        if (d == kTiledDims) {
            std::int32_t orders[kTileOrders];
            const int n = distinct_orders(m.tiles, opt.constraints, orders);
            if (std::find(orders, orders + n, m.order) == orders + n) return;  // repeats an earlier order's schedule
            best.consider(evaluate_prepared(l, p, cand.u, a, e, ctx, m));
            return;
        }
        const bool w_offchip = l.operand_is_activation() ? ctx.input_spilled : !ctx.weights_cached;
        const bool fill_on_chip = opt.metric == Metric::Latency && !w_offchip && !ctx.input_spilled;
        std::int64_t lo_in[kTiledDims];
        std::copy(lo, lo + kTiledDims, lo_in);
        const std::int64_t hi_d = hi[d];
        for (int j = 0; j < cand.tc->n[d]; ++j) {
            const std::int64_t t = cand.tc->count[d][j];
            if (t < lo_in[d]) continue;
            std::copy(lo_in, lo_in + kTiledDims, lo);
            m.tiles[d] = lo[d] = hi[d] = t;
            if (!may_fit(cand, lo, hi)) continue;  // nothing legal below
            double bm = 0.0, bt = 0.0, fill = 0.0;
            bounds(cand, m, lo, hi, bm, bt, fill);
            if (best.beaten(bm, bt)) continue;
            if (fill_on_chip && best.m < std::numeric_limits<double>::infinity()) {
                if (!tighten_for_fill(cand, d, lo, hi, bm - fill)) continue;
                bounds(cand, m, lo, hi, bm, bt, fill);
                if (best.beaten(bm, bt)) continue;
            }
            descend(cand, m, d + 1, lo, hi);
        }
        std::copy(lo_in, lo_in + kTiledDims, lo);
        hi[d] = hi_d;
    }

    // A strong incumbent before the exhaustive pass: from the finest tiling (every count at its largest: the
    // smallest tiles, the shortest first fill, always legal when the smallest tile fits), coarsen one dimension
    // at a time while the mapping improves. Coarser tiles move fewer bytes; the first fill bounds how far.
    void coarsen(const Candidate& cand, Mapping m) {
        int idx[kTiledDims];
        for (int d = 0; d < kTiledDims; ++d) {
            idx[d] = cand.tc->n[d] - 1;
            m.tiles[d] = cand.tc->count[d][idx[d]];
        }
        // Not counted as evaluated: the exhaustive pass visits these mappings again (the count stays within the space).
        const std::int32_t order = m.order;
        m.order = canonical_order(m.tiles, order, opt.constraints);
        best.consider(evaluate_prepared(l, p, cand.u, a, e, ctx, m), false);
        for (bool improved = true; improved;) {
            improved = false;
            for (int d = 0; d < kTiledDims; ++d) {
                while (idx[d] > 0) {
                    m.tiles[d] = cand.tc->count[d][idx[d] - 1];
                    m.order = canonical_order(m.tiles, order, opt.constraints);
                    if (!best.consider(evaluate_prepared(l, p, cand.u, a, e, ctx, m), false)) {
                        m.tiles[d] = cand.tc->count[d][idx[d]];
                        m.order = canonical_order(m.tiles, order, opt.constraints);
                        break;
                    }
                    --idx[d];
                    improved = true;
                }
            }
        }
    }

    template <typename Fn>
    void each_sub_space(const std::vector<Candidate>& cands, Fn&& fn) {
        std::int32_t orders[kTileOrders], inner[2];
        const int n_orders = allowed_orders(opt.constraints, orders), n_inner = lane_choices(opt.constraints, inner);
        for (const Candidate& cand : cands) {
            if (best.beaten(cand.lb_m, cand.lb_t)) continue;
            for (int oi = 0; oi < n_orders; ++oi)
                for (int ii = 0; ii < n_inner; ++ii) {
                    Mapping m = cand.m;
                    m.order = orders[oi];
                    m.inner = inner[ii];
                    fn(cand, m);
                }
        }
    }

    // Whether the bound over the range of a candidate's compact tilings (tighter than the lattice's) is beaten.
    bool compact_beaten(const Candidate& cand, TilingSpan tilings) {
        std::int64_t lo[kTiledDims], hi[kTiledDims];
        for (int d = 0; d < kTiledDims; ++d) {
            lo[d] = hi[d] = tilings[0][static_cast<std::size_t>(d)];
            for (const Tiling& t : tilings) {
                lo[d] = std::min(lo[d], t[static_cast<std::size_t>(d)]);
                hi[d] = std::max(hi[d], t[static_cast<std::size_t>(d)]);
            }
        }
        double bm[kTileOrders], bt[kTileOrders];
        const int n = order_bounds(cand, lo, hi, bm, bt);
        for (int i = 0; i < n; ++i)
            if (!best.beaten(bm[i], bt[i])) return false;
        return true;
    }

    // The bounds (metric bm[i], tie value bt[i]) of each allowed order over the box [lo, hi] (tiling_bounds_orders;
    // both lane stationarities at once, inner -1, unless the constraints fix one). Returns how many orders.
    int order_bounds(const Candidate& cand, const std::int64_t* lo, const std::int64_t* hi, double* bm,
                     double* bt) const {
        std::int32_t orders[kTileOrders], inner[2];
        const int n_orders = allowed_orders(opt.constraints, orders), n_inner = lane_choices(opt.constraints, inner);
        Mapping m = cand.m;
        m.inner = n_inner == 1 ? inner[0] : -1;
        double cyc[kTileOrders], en[kTileOrders];
        tiling_bounds_orders(l, p, cand.u, a, e, ctx, m, orders, n_orders, lo, hi, tile_bytes(l, cand.u, a, hi), cyc, en);
        for (int i = 0; i < n_orders; ++i) {
            bm[i] = metric_value(cyc[i], en[i], opt.metric);
            bt[i] = tie_value(cyc[i], en[i], opt.metric);
        }
        return n_orders;
    }

    // A sub-space's bound: the least over the allowed orders, both lane stationarities at once (inner -1), tile
    // counts anywhere in their range.
    void bound(Candidate& cand) const {
        with_terms(cand);
        double bm[kTileOrders], bt[kTileOrders];
        const int n = order_bounds(cand, cand.tr.lo, cand.tr.hi, bm, bt);
        double lb_m = std::numeric_limits<double>::infinity(), lb_t = lb_m;
        for (int i = 0; i < n; ++i)
            if (bm[i] < lb_m || (bm[i] == lb_m && bt[i] < lb_t)) lb_m = bm[i], lb_t = bt[i];
        cand.lb_m = lb_m, cand.lb_t = lb_t;
        cand.bounded = true;
    }

    // The compact map space, best first: each spatial unrolling's listed tilings, in every distinct order and lane
    // stationarity, the spatial unrollings in order of their bound (stable: enumeration order on a tie), as an
    // exhaustive pass over them would visit them, but a sub-space's bound is computed only when its floor
    // (unrolled_floor: no tile terms, never above the bound) comes first in the queue. A floor pops before the
    // bounds it does not exceed, so sub-spaces are searched in the order of their bounds; the search stops at the
    // first key the incumbent beats (every later key is larger).
    void compact_space(std::vector<Candidate>& cands, bool lean) {
        struct Key {
            double m, t;
            int bounded;  // 0: the floor (expands first on a tie), 1: the bound
            std::int64_t index;
            bool operator>(const Key& o) const {
                if (m != o.m) return m > o.m;
                if (t != o.t) return t > o.t;
                if (bounded != o.bounded) return bounded > o.bounded;
                return index > o.index;
            }
        };
        thread_local std::vector<Key> heap_buffer;
        std::vector<Key>& heap = heap_buffer;  // its address once (each use of a thread_local in a shared library
                                               // may call __tls_get_addr)
        heap.clear();
        for (const Candidate& c : cands) heap.push_back({c.floor_m, c.floor_t, 0, c.index});
        const auto later = [](const Key& x, const Key& y) { return x > y; };
        std::make_heap(heap.begin(), heap.end(), later);
        std::int32_t inner[2];
        const int n_inner = lane_choices(opt.constraints, inner);
        while (!heap.empty()) {
            std::pop_heap(heap.begin(), heap.end(), later);
            const Key k = heap.back();
            heap.pop_back();
            if (best.beaten(k.m, k.t)) break;
            Candidate& cand = cands[static_cast<std::size_t>(k.index)];
            if (!k.bounded) {
                bound(cand);
                heap.push_back({cand.lb_m, cand.lb_t, 1, k.index});
                std::push_heap(heap.begin(), heap.end(), later);
                continue;
            }
            cand.listing = listed(cand.u);  // built when first needed
            const TilingSpan tilings = compact(cand);
            if (tilings.empty() || compact_beaten(cand, tilings)) continue;
            for (const Tiling& t : tilings) {
                Mapping m = cand.m;
                std::copy(t.begin(), t.end(), m.tiles);
                const TilingTerms tt = tiling_terms(l, cand.u, a, m.tiles);  // the same for every order and inner
                std::int32_t orders[kTileOrders];
                const int n_orders = distinct_orders_of(m.tiles, opt.constraints, orders);
                for (int oi = 0; oi < n_orders; ++oi) {
                    m.order = orders[oi];
                    if (lean && n_inner == 2 && score_lanes(cand, m, tt)) continue;  // both inners in one pass
                    for (int ii = 0; ii < n_inner; ++ii) {
                        m.inner = inner[ii];
                        if (lean) {
                            double cycles = 0.0, energy = 0.0;
                            const bool ok = score_prepared(l, p, cand.u, a, e, ctx, m, tt, cycles, energy);
                            best.consider_score(ok, cycles, energy, cand.u, m);
                        } else {
                            best.consider(evaluate_prepared(l, p, cand.u, a, e, ctx, m));
                        }
                    }
                }
            }
        }
    }

    // The listing of an unrolling's compact tilings (Listings: made once per per-PE share).
    Listings& listings;
    const UnrollingList* unrollings = nullptr;  // the layer's (each candidate's entry in it)
    int listed(const Unrolled& u) {
        std::array<double, kDims> share;
        std::copy(u.share, u.share + kDims, share.begin());
        for (std::size_t i = 0; i < listings.entries.size(); ++i)
            if (listings.entries[i].share == share) return static_cast<int>(i);
        const std::size_t begin = listings.pool.size();
        if (cache != nullptr) {
            cache->compact(l, u, a, listings.pool);
        } else {
            compact_tilings(l, u, a, opt.constraints, listings.pool);
        }
        listings.entries.push_back({share, begin, listings.pool.size()});
        return static_cast<int>(listings.entries.size() - 1);
    }
    TilingSpan compact(const Candidate& cand) const {
        if (cand.listing < 0) return {nullptr, nullptr};
        const Listings::Entry& entry = listings.entries[static_cast<std::size_t>(cand.listing)];
        return {listings.pool.data() + entry.begin, listings.pool.data() + entry.end};
    }

    // Scores mapping m with weight- then output-stationary lanes (inner 0, 1: the order the search lists them) in
    // one pass, as two scores; false when score_prepared_lanes cannot (the caller scores each inner then).
    bool score_lanes(const Candidate& cand, Mapping m, const TilingTerms& tt) {
        double cycles = 0.0, energy[2] = {0.0, 0.0};
        bool ok[2] = {false, false};
        if (!score_prepared_lanes(l, p, cand.u, a, e, ctx, m, tt, cycles, energy, ok)) return false;
        for (std::int32_t inner = 0; inner < 2; ++inner) {
            m.inner = inner;
            best.consider_score(ok[inner], cycles, energy[inner], cand.u, m);
        }
        return true;
    }

    // Builds the record of a scored incumbent. False when that record is not Ok although its score was (a field
    // outside cycles and energy beyond double range): the caller then searches again with full records.
    bool resolve() {
        if (best.scored_u == nullptr) return true;
        best.cost = evaluate_prepared(l, p, *best.scored_u, a, e, ctx, best.scored_m);
        best.scored_u = nullptr;
        return best.cost.status == Status::Ok;
    }

    // Completes a candidate's unrolling (its shares and tile range, unroll_terms) before a mapping of it is costed.
    void with_terms(Candidate& cand) const {
        if (!cand.terms) {
            unrollings->expand(*cand.un, cand.u, cand.tr);
            unroll_terms(l, p, a, cand.m, cand.u);
        }
        cand.terms = true;
    }

    // Lists every candidate's tile choices and completes its unrolling (the complete space and a sample walk them).
    void list_choices(std::vector<Candidate>& cands) const {
        for (Candidate& c : cands) {
            with_terms(c);
            if (!c.tc) c.tc = std::make_unique<TileChoices>(tile_choices(c.u, opt.constraints));
        }
    }

    void whole_space(std::vector<Candidate>& cands) {
        list_choices(cands);
        for (Candidate& c : cands)
            if (!c.bounded) bound(c);
        std::stable_sort(cands.begin(), cands.end(), [](const Candidate& x, const Candidate& y) {
            return x.lb_m < y.lb_m || (x.lb_m == y.lb_m && x.lb_t < y.lb_t);
        });
        each_sub_space(cands, [&](const Candidate& cand, const Mapping& m) { coarsen(cand, m); });
        each_sub_space(cands, [&](const Candidate& cand, Mapping m) {
            std::int64_t lo[kTiledDims], hi[kTiledDims];
            std::copy(cand.tr.lo, cand.tr.lo + kTiledDims, lo);
            std::copy(cand.tr.hi, cand.tr.hi + kTiledDims, hi);
            descend(cand, m, 0, lo, hi);
        });
    }

    // A seeded sample of `budget` mappings (with replacement; legal or not), stopped early by patience.
    void sample(std::vector<Candidate>& cands) {
        list_choices(cands);
        std::uint64_t state = opt.seed ^ 0xC0DE5167ULL;
        std::int32_t orders[kTileOrders], inner[2];
        const int n_orders = allowed_orders(opt.constraints, orders), n_inner = lane_choices(opt.constraints, inner);
        std::int64_t since_best = 0;
        for (std::int64_t i = 0; i < opt.budget; ++i) {
            const Candidate& cand = cands[splitmix64(state) % cands.size()];
            Mapping m = cand.m;
            const TilingSpan tilings = compact(cand);
            if (!tilings.empty()) {
                const Tiling& t = tilings[splitmix64(state) % tilings.size()];
                std::copy(t.begin(), t.end(), m.tiles);
            } else {
                for (int d = 0; d < kTiledDims; ++d)
                    m.tiles[d] = cand.tc->count[d][splitmix64(state) % static_cast<std::uint64_t>(cand.tc->n[d])];
            }
            m.order = canonical_order(m.tiles, orders[splitmix64(state) % static_cast<std::uint64_t>(n_orders)],
                                      opt.constraints);
            m.inner = inner[splitmix64(state) % static_cast<std::uint64_t>(n_inner)];
            if (best.consider(evaluate_prepared(l, p, cand.u, a, e, ctx, m))) {
                since_best = 0;
            } else if (opt.patience > 0 && ++since_best >= opt.patience) {
                break;
            }
        }
    }
};

}  // namespace
}  // namespace detail

EdgeTpuCost map_edgetpu_layer(const Layer& l, const EdgeTpuArch& a, const EnergyTable& e, const LayerContext& ctx,
                              const MapperOptions& opt) {
    return detail::map_mirrored(l, a, opt, [&](const EdgeTpuArch& arch, bool) {
        return detail::search_layer(l, arch, e, ctx, opt, nullptr);
    });
}

namespace detail {

EdgeTpuCost search_layer(const Layer& l, const EdgeTpuArch& a, const EnergyTable& e, const LayerContext& ctx,
                         const MapperOptions& opt, SearchCache* cache) {
    if (*l.invalid_field() != '\0') {
        return failed(Status::InvalidLayer);
    }
    if (!l.is_mac()) {
        EdgeTpuCost c = evaluate_vector_layer(l, a, e, ctx);
        c.v[F_mappings_evaluated] = 1.0;
        c.v[F_map_space_size] = 1.0;
        return c;
    }
    EdgeTpuCost none;
    double smallest[2];
    if (!smallest_tile_bytes(l, a, smallest)) {
        none.status = Status::NoMapping;
        return none;
    }
    const Prep p = prepare(l, a, e);
    thread_local Listings listings_buffer;  // bound to references once (see compact_space's heap)
    Listings& listings = listings_buffer;
    listings.clear();
    Search search{0, l, p, a, e, ctx, opt, cache, Best{opt.metric}, listings};
    // Each spatial unrolling's sub-space and its floor (its bound is computed when needed). One buffer per thread,
    // reused across layers (a fresh vector of a few hundred KiB per layer costs more in page faults than the search).
    thread_local UnrollingList own_buffer;
    UnrollingList& own = own_buffer;
    const UnrollingList* unrollings = &own;
    if (cache != nullptr) {
        unrollings = &cache->unrollings(p, a);
    } else {
        list_unrollings(p, a, opt.constraints, own);
    }
    search.unrollings = unrollings;
    thread_local std::vector<Candidate> cands_buffer;
    std::vector<Candidate>& cands = cands_buffer;
    cands.clear();
    for (const Unrolling& un : unrollings->list) {
        Candidate& cand = cands.emplace_back();
        cand.m = un.m, cand.un = &un;
        double floor_cycles = 0.0, floor_pj = 0.0;
        if (opt.metric == Metric::Latency) {  // the cycles rank: the energy floor is only the tie value
            unrolled_floor(p, un.x.compute, a, e, floor_cycles, floor_pj);
        } else {
            double t[kDims], share[kDims];
            unrollings->table->extents(un.x, t, share);
            unrolled_floor_traffic(l, p, un.x.compute, t, share, un.m, a, e, floor_cycles, floor_pj);
        }
        cand.floor_m = metric_value(floor_cycles, floor_pj, opt.metric);
        cand.floor_t = tie_value(floor_cycles, floor_pj, opt.metric);
        cand.index = static_cast<std::int64_t>(cands.size() - 1);
    }
    const double candidates = unrollings->map_space_size;  // mappings in the space before the capacity check
    if (cands.empty()) {
        none.status = Status::ConstraintViolated;
        return none;
    }
    if (opt.budget > 0 && double(opt.budget) < candidates) {
        search.sample(cands);
    } else {
        if (!opt.complete) {
            search.compact_space(cands, true);  // tilings scored, the winner's record built once
            if (!search.resolve()) {            // a record that scores Ok but is not: full records throughout
                search.best = Best{opt.metric};
                for (Candidate& c : cands) c.listing = -1;
                search.compact_space(cands, false);
            }
        }
        // The complete space when asked, or when the compact one holds no legal mapping.
        if (opt.complete || search.best.m == std::numeric_limits<double>::infinity()) search.whole_space(cands);
    }
    EdgeTpuCost best = search.best.cost;
    if (search.best.m == std::numeric_limits<double>::infinity()) {
        best = EdgeTpuCost{};
        best.status = opt.constraints.any() ? Status::ConstraintViolated : Status::NoMapping;
    }
    best.v[F_mappings_evaluated] = static_cast<double>(search.best.evaluated);
    best.v[F_map_space_size] = candidates;
    return best;
}

}  // namespace detail

}  // namespace codesign
