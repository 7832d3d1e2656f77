// What an objective tracker reports (objective_tracker::snapshot): counters
// since start and burn rates per window, in integers so they travel in the
// stats messages and the metric table as every other counter does (burn
// rates in thousandths, targets in millionths; the table scales them back).
#pragma once

#include <cstdint>

#include "bulwark/runtime/objective/objective_window.hpp"

namespace bulwark {

struct objective_stats {
  /// Calls answered while the objective was on, and those that failed it.
  std::uint64_t events = 0;
  std::uint64_t bad_availability = 0;
  std::uint64_t bad_latency = 0;
  /// The targets in millionths (999000 for 99.9%); 0 when not tracked.
  std::uint64_t availability_target_ppm = 0;
  std::uint64_t latency_target_ppm = 0;
  /// The latency threshold, in nanoseconds; 0 when not tracked.
  std::uint64_t latency_threshold_ns = 0;
  /// Burn rates (error rate over the window / error budget) in thousandths,
  /// indexed by objective_window: 1000 spends the budget exactly over the
  /// objective's period.
  std::uint64_t availability_burn_milli[objective_window_count] = {};
  std::uint64_t latency_burn_milli[objective_window_count] = {};
};

} // namespace bulwark
