// The incumbent of the mapper's search (search.cpp) and the rule that ranks mappings: the metric's value, then a tie
// value (energy under the latency metric, else cycles), the first found on a tie. Internal to the core.
#pragma once

#include <cstdint>
#include <limits>

#include "../model/edgetpu_mapping_cost.hpp"
#include "codesign/mapper/mapper.hpp"

namespace codesign::detail {

inline double metric_value(double cycles, double energy, Metric metric) {
    switch (metric) {
        case Metric::Latency: return cycles;
        case Metric::Energy: return energy;
        case Metric::Edp: return cycles * energy;
    }
    return cycles;
}
inline double tie_value(double cycles, double energy, Metric metric) { return metric == Metric::Latency ? energy : cycles; }

inline std::uint64_t splitmix64(std::uint64_t& state) {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

// The incumbent of a search and the rule that keeps it (metric, then the tie value; the first found on a tie).
// It holds the incumbent's full record, or, when it came from a score (consider_score), its mapping and
// unrolling until resolve() builds the record.
struct Best {
    explicit Best(Metric mt) : metric(mt) {}
    Metric metric;
    EdgeTpuCost cost;
    double m = std::numeric_limits<double>::infinity(), t = std::numeric_limits<double>::infinity();
    std::int64_t evaluated = 0;
    const Unrolled* scored_u = nullptr;  // set: the incumbent is scored_m on scored_u, its record not built yet
    Mapping scored_m;

    bool consider(const EdgeTpuCost& c, bool counted = true) {
        evaluated += counted ? 1 : 0;
        if (c.status != Status::Ok) return false;
        if (!improves(c.v[F_cycles], c.v[F_energy_pj])) return false;
        cost = c;
        scored_u = nullptr;
        return true;
    }
    void consider_score(bool ok, double cycles, double energy, const Unrolled& u, const Mapping& mapping) {
        ++evaluated;
        if (!ok || !improves(cycles, energy)) return;
        scored_u = &u;
        scored_m = mapping;
    }
    bool improves(double cycles, double energy) {
        const double mv = metric_value(cycles, energy, metric);
        const double tv = tie_value(cycles, energy, metric);
        if (mv < m || (mv == m && tv < t)) {
            m = mv, t = tv;
            return true;
        }
        return false;
    }
    // No mapping whose bounds are (lb_m, lb_t) can beat the incumbent. The slack covers a tight bound that rounds
    // above the value it bounds.
    bool beaten(double lb_m, double lb_t) const {
        const double lm = lb_m * (1.0 - 1e-9), lt = lb_t * (1.0 - 1e-9);
        return lm > m || (lm >= m && lt > t);
    }
};

}  // namespace codesign::detail
