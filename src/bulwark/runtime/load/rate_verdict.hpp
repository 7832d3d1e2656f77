// Whether an open-loop run held its target rate, and the sentence that says
// so. A generator that silently sends fewer requests than asked measures a
// different experiment, so the verdict is printed with every result:
// "held 5,000 req/s (achieved 4,998)" or "achieved 4,210 req/s of 5,000:
// the generator or the target is saturated". The achieved rate counts the
// requests actually written within the run's scheduled duration: a generator
// that falls behind (its CPU, or every connection busy on a slow target)
// writes fewer than intended in that time.
#pragma once

#include <cstdint>
#include <string>

#include "bulwark/runtime/core/time.hpp"

namespace bulwark {

struct rate_verdict {
  double target_per_s = 0.0;
  double achieved_per_s = 0.0;
  /// |achieved - target| / target.
  double rate_error = 0.0;
  /// achieved >= (1 - tolerance) * target.
  bool held = false;
  std::string message;
};

/// The verdict for a run of `scheduled` duration at `target_per_s` that
/// wrote `sent_in_time` requests within it. `tolerance` is a fraction
/// (0.01 = 1%).
rate_verdict judge_rate(double target_per_s, std::uint64_t sent_in_time,
                        duration scheduled, double tolerance = 0.01);

/// `x` rounded to a whole number with thousands separators ("4,210").
std::string format_thousands(double x);

} // namespace bulwark
