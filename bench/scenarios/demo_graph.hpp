// The demo's dependency graph, shared by the scenarios that run under its
// faults (`demo`, `progressive`): four dependencies — inventory, pricing,
// payments, recommendations — each with its fault schedule (a slow latency
// tail on inventory, a brownout on pricing, steady errors on payments, an
// outage of recommendations) and its policies per mode (`bulwark`: suited to
// each dependency; `naive`: immediate retries, nothing else; `none`: one
// attempt). Policies are JSON texts validated by parse_bulwark_config, as a
// user's config file would be, so a scenario may extend a dependency's text
// (another key) and still cannot run a combination the runtime rejects.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "bulwark/runtime/chaos/fault_schedule.hpp"
#include "bulwark/runtime/config/dependency_config.hpp"

namespace bulwark::bench {

inline constexpr int demo_dependency_count = 4;

/// Indices into `demo_dependency_names`.
inline constexpr int demo_inventory = 0;
inline constexpr int demo_pricing = 1;
inline constexpr int demo_payments = 2;
inline constexpr int demo_recommendations = 3;

extern const char* const demo_dependency_names[demo_dependency_count];

/// The fault windows in seconds of the run (schedules and charts).
inline constexpr double demo_brownout_start = 15, demo_brownout_end = 30;
inline constexpr double demo_outage_start = 35, demo_outage_end = 50;

/// The fault schedule of dependency `dep` (the same in every mode).
fault_schedule demo_fault_schedule(int dep);

/// The members of dependency `dep`'s JSON object (without braces) in `mode`
/// ("bulwark", "naive" or "none"); a caller may append `, "key": ...`.
std::string demo_policy_text(const std::string& mode, int dep);

/// Parses `{"dependencies": {name: {text}, ...}}` for the given (dependency,
/// text) pairs and returns the configs in that order; throws
/// std::runtime_error naming `label` and every error if it does not validate.
std::vector<dependency_config>
parse_demo_configs(const std::vector<std::pair<int, std::string>>& texts,
                   const std::string& label);

/// All four dependencies' configs in `mode`, in index order.
std::vector<dependency_config> demo_configs(const std::string& mode);

/// The chaos transport's and the dependency actor's seeds of `dep` for run
/// seed `seed`: the same in every mode and every scenario on this graph.
inline std::uint64_t demo_chaos_seed(std::uint64_t seed, int dep) {
  return seed * 31 + static_cast<std::uint64_t>(dep);
}
inline std::uint64_t demo_dependency_seed(std::uint64_t seed, int dep) {
  return seed * 131 + static_cast<std::uint64_t>(dep);
}

/// The q-quantile of `xs` at rank round(q * (n - 1)); 0 if empty.
double demo_quantile(std::vector<double> xs, double q);

} // namespace bulwark::bench
