// What a sliding window holds right now: how many calls, how many of them
// failed, how many were slow, and the two rates a circuit breaker compares
// with its thresholds. A plain value, so observers and events can copy it.
#pragma once

#include <cstdint>

namespace bulwark {

struct window_snapshot {
  std::uint64_t calls = 0;
  std::uint64_t failures = 0;
  std::uint64_t slow_calls = 0;
  /// failures / calls as a fraction in [0, 1]; 0 when there are no calls.
  double failure_rate = 0.0;
  /// slow_calls / calls as a fraction in [0, 1]; 0 when there are no calls.
  double slow_call_rate = 0.0;

  /// Builds a snapshot from counts, computing the rates.
  static constexpr window_snapshot of(std::uint64_t calls,
                                      std::uint64_t failures,
                                      std::uint64_t slow_calls) noexcept {
    window_snapshot result;
    result.calls = calls;
    result.failures = failures;
    result.slow_calls = slow_calls;
    if (calls > 0) {
      result.failure_rate =
        static_cast<double>(failures) / static_cast<double>(calls);
      result.slow_call_rate =
        static_cast<double>(slow_calls) / static_cast<double>(calls);
    }
    return result;
  }
};

} // namespace bulwark
